"""``/quote/<token>``: the patient's quote, open without a login, in their language; and
``/quotes/<id>/send``: the consultant's ways to send its link, with the patient's answers.

The token is the quote's signed link (``webapp.treatment.links``): it always shows the
newest version sent, answers 404 when tampered or unknown and 410 once the quote expired.
The patient's answers are plain POSTs that come back to the page (POST, redirect, GET),
so the page works without JavaScript; the services in ``webapp.treatment.responses``
decide what may be answered.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from webapp.audit import trail
from webapp.extensions import db, limiter
from webapp.models import Assessment, Quote, QuoteResponse, QuoteResponseKind
from webapp.patients.views import is_page_view
from webapp.questionnaire.language import current_language, use_booking_locale
from webapp.quote.answers import quote_answers
from webapp.quote.forms import ANSWER_FORMS, AcceptForm, DeclineForm, QuestionForm, QuoteAnswerForm
from webapp.quote.sending import send_options
from webapp.treatment.assessment import PATTERNS, TECHNIQUES
from webapp.treatment.links import QuoteLinkError, quote_of_token
from webapp.treatment.money import format_money
from webapp.treatment.quotes import QuoteLockedError, is_expired, send_quote
from webapp.treatment.responses import (
    AnswerInvalidError,
    QuoteClosedError,
    accept_quote,
    ask_about_quote,
    decline_quote,
    record_view,
)
from webapp.treatment.stage import decision

logger = logging.getLogger(__name__)
bp = Blueprint("quote", __name__)

# What an answer that no longer fits the quote says (the page is shown again with it).
CHANGED = "changed"
CLOSED = "closed"


@bp.app_template_filter("money")
def money(minor: int, currency: str) -> str:
    """An amount in the smallest unit, as the page's language writes that currency."""
    return format_money(minor, currency, current_language())


@bp.app_template_filter("local_date")
def local_date(value: date) -> str:
    """A day as the page's language writes it in full words ("7. Dezember 2026")."""
    return format_date(value, "long", locale=current_language())


@bp.app_template_filter("local_number")
def local_number(value: int) -> str:
    """A whole number with the page's language's grouping ("2.200" in German)."""
    return format_decimal(value, locale=current_language())


@bp.route("/quote/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def show(token: str) -> Response | tuple[str, int]:
    """The patient's quote: the plan, the price, the terms, and their answer.

    Opening it counts as the patient's view (not a signed-in consultant's preview). A POST
    carries one answer (``answer`` = accept, decline or question) and the version the page
    showed: an answer to a version replaced meanwhile, to an expired quote or one accepted
    already is refused (409 or 410) and changes nothing.
    """
    try:
        quote = quote_of_token(token)
    except QuoteLinkError:
        return render_template("quote/invalid.html"), 404
    use_booking_locale(quote.language)
    if is_expired(quote):
        return render_template("quote/expired.html", quote=quote), 410
    if request.method == "POST":
        return _answer(token, quote)
    if is_patients_view():
        record_view(quote)
        db.session.commit()
    return _render(quote)


# Apps that fetch a link to draw its preview when it is pasted into a message (WhatsApp's on
# the sender's phone, among others): such a fetch is not the patient reading the quote.
LINK_PREVIEW_AGENTS = re.compile(
    r"WhatsApp|facebookexternalhit|Facebot|TelegramBot|Slackbot|Twitterbot|Discordbot|"
    r"LinkedInBot|Googlebot|bingbot|SkypeUriPreview|Applebot|Viber|Signal",
    re.IGNORECASE,
)


def is_patients_view() -> bool:
    """Whether this GET is the patient looking at their quote: a page view (no prefetch),
    not a link preview's fetch, and not a signed-in consultant checking the link."""
    agent = request.headers.get("User-Agent", "")
    return (
        is_page_view()
        and not LINK_PREVIEW_AGENTS.search(agent)
        and not current_user.is_authenticated
    )


def _answer(token: str, quote: Quote) -> Response | tuple[str, int]:
    kind = request.form.get("answer", "")
    form_class = ANSWER_FORMS.get(kind)
    if form_class is None:
        abort(400, "the answer is missing or unknown")
    form = form_class(prefix=kind)
    if not form.validate():
        return _render(quote, {kind: form}), 400
    if form.version.data != quote.version:
        return _render(quote, problem=CHANGED), 409
    try:
        response = _record(quote, form)
    except QuoteClosedError:
        db.session.rollback()
        return _render(quote, problem=CLOSED), 409
    except AnswerInvalidError:
        db.session.rollback()
        return _render(quote, {kind: form}), 400
    db.session.commit()
    logger.info("quote %s answered: %s (response %s)", quote.id, kind, response.id)
    return redirect(url_for("quote.show", token=token, _anchor="answer"), 303)


def _record(quote: Quote, form: QuoteAnswerForm) -> QuoteResponse:
    if isinstance(form, AcceptForm):
        return accept_quote(quote, form.typed_name.data or "", bool(form.terms_accepted.data))
    if isinstance(form, DeclineForm):
        return decline_quote(quote, form.reason.data)
    assert isinstance(form, QuestionForm)
    return ask_about_quote(quote, form.question.data or "")


def _render(
    quote: Quote, posted: dict[str, QuoteAnswerForm] | None = None, problem: str | None = None
) -> str:
    """The page, with every answer's form (the one ``posted`` as the patient sent it)."""
    posted = posted or {}
    forms = {
        kind: posted.get(kind) or form_class(formdata=None, prefix=kind, version=quote.version)
        for kind, form_class in ANSWER_FORMS.items()
    }
    answers = quote_answers(quote)
    return render_template(
        "quote/page.html",
        quote=quote,
        lines=list(quote.lines),
        assessment=db.session.get(Assessment, quote.assessment_id) if quote.assessment_id else None,
        decision=decision(quote),
        questions=[answer for answer in answers if answer.kind == QuoteResponseKind.QUESTION],
        patterns=PATTERNS,
        techniques=TECHNIQUES,
        forms=forms,
        problem=problem,
        posted=next(iter(posted), None),
    )


@bp.route("/quotes/<int:quote_id>/send", methods=["GET", "POST"])
@login_required
def send(quote_id: int) -> Response | str:
    """The consultant's ways to send a quote's link, and what the patient answered.

    A POST marks the draft sent (from then on it never changes); the link then works, and
    Copy, WhatsApp and email carry it in the quote's language.
    """
    quote = db.session.scalar(
        db.select(Quote)
        .where(Quote.id == quote_id)
        .options(selectinload(Quote.lines), selectinload(Quote.patient))
    )
    if quote is None:
        abort(404, "There is no such quote.")
    if request.method == "POST":
        try:
            send_quote(quote, current_user)
        except QuoteLockedError:
            db.session.rollback()
            flash("This quote was sent already; a change makes a new version.", "warning")
        else:
            db.session.commit()
            flash(f"Quote {quote.quote_number} is sent: share its link now.", "success")
        return redirect(url_for("quote.send", quote_id=quote.id))
    page = render_template(
        "quote/send.html",
        quote=quote,
        patient=quote.patient,
        send=send_options(quote) if quote.sent_at is not None else None,
        answers=quote_answers(quote),
    )
    if is_page_view():  # the patient's answers are part of their record: who saw them
        trail.record("patient.viewed", current_user, quote.patient, {"quote_id": quote.id})
        db.session.commit()
    return page
