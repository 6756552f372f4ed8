"""The patient's answers on their quote's page: opening it, accepting, declining, asking.

Each takes the version the page showed (the newest sent: ``links.quote_of_token``),
records the answer, refreshes the patient's stage, and marks the patient's consultations
changed (``consultations_changed``) so every open dashboard shows it at its next poll.
No patient data goes to a log or the audit trail: ids only.
"""

from __future__ import annotations

from datetime import datetime

from webapp.audit.trail import record
from webapp.dashboard.changes import consultations_changed
from webapp.extensions import db
from webapp.models import Quote, QuoteResponse, QuoteResponseKind, utcnow
from webapp.treatment.quotes import is_accepted, is_expired, newest_version
from webapp.treatment.stage import clinic_today, refresh_stage

MAX_NAME = 200
MAX_TEXT = 2000


class QuoteClosedError(ValueError):
    """The quote cannot take that answer: it is not sent, was replaced by a newer version,
    has expired, or was accepted already."""


class AnswerInvalidError(ValueError):
    """The answer lacks what it needs (a typed name, the terms ticked, a question's text)
    or is too long."""


def record_view(quote: Quote, now: datetime | None = None) -> None:
    """Note that the patient opened this version (the first time counts). Flushes."""
    if quote.sent_at is None or quote.viewed_at is not None:
        return
    now = now or utcnow()
    quote.viewed_at = now
    record("quote.viewed", None, quote.patient, {"quote_id": quote.id, "version": quote.version})
    refresh_stage(quote.patient, now)
    consultations_changed(quote.patient_profile_id)


def _check_open(quote: Quote, now: datetime) -> None:
    if quote.sent_at is None or newest_version(quote).id != quote.id:
        raise QuoteClosedError("not the quote's current version")
    if is_accepted(quote):
        raise QuoteClosedError("accepted already")
    if is_expired(quote, clinic_today(now)):
        raise QuoteClosedError("expired")


def _answer(
    quote: Quote, kind: QuoteResponseKind, now: datetime, **fields: object
) -> QuoteResponse:
    response = QuoteResponse(
        quote_id=quote.id, kind=kind, quote_version=quote.version, created_at=now, **fields
    )
    db.session.add(response)
    db.session.flush()
    record(
        f"quote.{kind}" if kind != QuoteResponseKind.QUESTION else "quote.question_asked",
        None,
        quote.patient,
        {"quote_id": quote.id, "version": quote.version, "response_id": response.id},
    )
    refresh_stage(quote.patient, now)
    consultations_changed(quote.patient_profile_id)
    return response


def accept_quote(
    quote: Quote, typed_name: str, terms_accepted: bool, now: datetime | None = None
) -> QuoteResponse:
    """The patient accepts this version: their typed name, the terms ticked, the version and
    the time are kept. Raises ``AnswerInvalidError`` without a name or the tick, and
    ``QuoteClosedError`` when the quote is closed. Flushes; the caller commits."""
    now = now or utcnow()
    name = " ".join(typed_name.split())
    if not name or len(name) > MAX_NAME or not terms_accepted:
        raise AnswerInvalidError("a typed name and the terms ticked are required")
    _check_open(quote, now)
    return _answer(quote, QuoteResponseKind.ACCEPTED, now, typed_name=name, terms_accepted=True)


def decline_quote(quote: Quote, reason: str | None, now: datetime | None = None) -> QuoteResponse:
    """The patient declines this version, with an optional reason. Raises
    ``QuoteClosedError`` when the quote is closed, ``AnswerInvalidError`` for a reason too
    long. Flushes; the caller commits."""
    now = now or utcnow()
    text = (reason or "").strip()
    if len(text) > MAX_TEXT:
        raise AnswerInvalidError("the reason is too long")
    _check_open(quote, now)
    return _answer(quote, QuoteResponseKind.DECLINED, now, text=text or None)


def ask_about_quote(quote: Quote, question: str, now: datetime | None = None) -> QuoteResponse:
    """The patient asks a question about this version (allowed while it is the current
    version, even once expired or accepted: the clinic should hear it). Raises
    ``AnswerInvalidError`` for an empty or too long question, ``QuoteClosedError`` for a
    replaced version. Flushes; the caller commits."""
    now = now or utcnow()
    text = question.strip()
    if not text or len(text) > MAX_TEXT:
        raise AnswerInvalidError("a question is required")
    if quote.sent_at is None or newest_version(quote).id != quote.id:
        raise QuoteClosedError("not the quote's current version")
    return _answer(quote, QuoteResponseKind.QUESTION, now, text=text)
