"""Making, versioning and sending quotes.

A quote is made from the patient's latest assessment and the clinic's settings, so the
consultant retypes neither; it is a draft they may edit until they send it. A quote sent is
never changed: editing it makes a new version (same number, ``version`` + 1) that
``replaces`` it, and once sent, the patient's old link shows that one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from webapp.audit.trail import record
from webapp.dashboard.changes import consultations_changed
from webapp.extensions import db
from webapp.models import (
    Assessment,
    Consultant,
    DepositPayment,
    PatientProfile,
    PatientStage,
    Quote,
    QuoteLine,
    SurgeryDate,
    utcnow,
)
from webapp.treatment.assessment import TECHNIQUES, current_assessment
from webapp.treatment.links import new_link_key
from webapp.treatment.money import percent_of
from webapp.treatment.settings import TEXT_FIELDS, clinic_settings, text_for
from webapp.treatment.stage import clinic_today, decision, refresh_stage


class QuoteLockedError(ValueError):
    """The quote cannot change that way: a sent version is never edited, and an accepted
    quote is never replaced."""


@dataclass(frozen=True)
class LineDraft:
    """A quote line as the consultant typed it; money in the smallest unit."""

    description: str
    grafts: int | None
    price_minor: int


def next_quote_number(today: date) -> str:
    """The next free quote number of ``today``'s year: ``Q-2026-000123``.

    Two quotes numbered at the same instant could take the same number; the unique
    (number, version) constraint refuses the second, which the request runs again
    (``retry_on_conflict``) to take the next.
    """
    prefix = f"Q-{today.year}-"
    highest = db.session.scalar(
        select(func.max(Quote.quote_number)).where(Quote.quote_number.startswith(prefix))
    )
    sequence = int(highest.removeprefix(prefix)) + 1 if highest else 1
    return f"{prefix}{sequence:06d}"


def suggested_lines(assessment: Assessment | None) -> list[LineDraft]:
    """The lines a new quote starts with: the procedure by the assessment's technique, with
    the grafts of its upper estimate, priced by the clinic's settings."""
    settings = clinic_settings()
    grafts = assessment.grafts_max if assessment is not None else None
    technique = TECHNIQUES.get(assessment.technique) if assessment is not None else None
    name = f"Hair transplant ({technique})" if technique else "Hair transplant"
    price = settings.procedure_price_minor + (grafts or 0) * settings.price_per_graft_minor
    return [LineDraft(name, grafts, price)]


def make_quote(
    patient: PatientProfile,
    consultant: Consultant,
    language: str,
    now: datetime | None = None,
) -> Quote:
    """A draft quote for the patient, prefilled from their latest assessment and the
    clinic's settings (currency, deposit, validity and texts in ``language``). Flushes and
    audits ``quote.created``; the caller commits."""
    now = now or utcnow()
    settings = clinic_settings()
    assessment = current_assessment(patient)
    quote = Quote(
        quote_number=next_quote_number(clinic_today(now)),
        version=1,
        link_key=new_link_key(),
        patient_profile_id=patient.id,
        assessment_id=assessment.id if assessment is not None else None,
        consultant_id=consultant.id,
        currency=settings.currency,
        language=language,
        valid_until=clinic_today(now) + timedelta(days=settings.validity_days),
        created_at=now,
        **{field: text_for(settings, field, language) for field in TEXT_FIELDS},
    )
    set_lines(quote, suggested_lines(assessment))
    quote.deposit_minor = default_deposit(quote.total_minor)
    db.session.add(quote)
    db.session.flush()
    record("quote.created", consultant, patient, {"quote_id": quote.id, "version": 1})
    refresh_stage(patient, now)
    return quote


def default_deposit(total_minor: int) -> int:
    """The clinic's deposit for a quote of ``total_minor``: its percent, else its amount."""
    settings = clinic_settings()
    if settings.deposit_percent:
        return percent_of(total_minor, settings.deposit_percent)
    return settings.deposit_minor


def set_lines(quote: Quote, lines: list[LineDraft]) -> None:
    """Replace a draft's lines. Raises ``QuoteLockedError`` once it is sent."""
    if quote.sent_at is not None:
        raise QuoteLockedError("a quote sent is never changed")
    quote.lines = [
        QuoteLine(
            position=i,
            description=line.description,
            grafts=line.grafts,
            price_minor=line.price_minor,
        )
        for i, line in enumerate(lines)
    ]


def new_version(quote: Quote, consultant: Consultant, now: datetime | None = None) -> Quote:
    """A draft that will replace the sent ``quote``: a copy with ``version`` + 1 (the
    existing draft when there is one). Raises ``QuoteLockedError`` for a draft (edit it)
    or an accepted quote. Flushes and audits ``quote.versioned``; the caller commits."""
    if quote.sent_at is None:
        raise QuoteLockedError("a draft is edited, not versioned")
    if is_accepted(quote):
        raise QuoteLockedError("an accepted quote is never replaced")
    existing = db.session.scalar(select(Quote).where(Quote.replaces_id == quote.id))
    if existing is not None:
        return existing
    copy = Quote(
        quote_number=quote.quote_number,
        version=quote.version + 1,
        replaces_id=quote.id,
        link_key=quote.link_key,
        patient_profile_id=quote.patient_profile_id,
        assessment_id=quote.assessment_id,
        consultant_id=consultant.id,
        currency=quote.currency,
        language=quote.language,
        valid_until=quote.valid_until,
        deposit_minor=quote.deposit_minor,
        note=quote.note,
        created_at=now or utcnow(),
        **{field: getattr(quote, field) for field in TEXT_FIELDS},
    )
    set_lines(copy, [LineDraft(x.description, x.grafts, x.price_minor) for x in quote.lines])
    db.session.add(copy)
    db.session.flush()
    record(
        "quote.versioned",
        consultant,
        quote.patient,
        {"quote_id": copy.id, "replaces_id": quote.id, "version": copy.version},
    )
    return copy


def send_quote(quote: Quote, consultant: Consultant, now: datetime | None = None) -> None:
    """Mark the draft sent (the consultant shares its link now): from here it never
    changes, and it replaces the version before. Refreshes the stage and the open
    dashboards; audits ``quote.sent``. Raises ``QuoteLockedError`` when it was sent."""
    if quote.sent_at is not None:
        raise QuoteLockedError("already sent")
    now = now or utcnow()
    quote.sent_at = now
    record(
        "quote.sent", consultant, quote.patient, {"quote_id": quote.id, "version": quote.version}
    )
    refresh_stage(quote.patient, now)
    consultations_changed(quote.patient_profile_id)


def newest_version(quote: Quote) -> Quote:
    """The newest sent version of ``quote``'s number: what the patient's link shows."""
    query = select(Quote).where(
        Quote.quote_number == quote.quote_number, Quote.sent_at.is_not(None)
    )
    return db.session.scalar(query.order_by(Quote.version.desc()).limit(1)) or quote


def is_expired(quote: Quote, today: date | None = None) -> bool:
    """Whether the quote's last valid day (in the clinic's zone) has passed without the
    patient accepting it."""
    return (today or clinic_today()) > quote.valid_until and not is_accepted(quote)


def is_accepted(quote: Quote) -> bool:
    """Whether the patient's latest decision on this version is an acceptance."""
    answer = decision(quote)
    return answer is not None and answer.kind == PatientStage.ACCEPTED


def record_deposit(
    quote: Quote, amount_minor: int, received_on: date, consultant: Consultant
) -> DepositPayment:
    """Record a deposit received for an accepted quote; refreshes the stage and the open
    dashboards and audits ``quote.deposit_recorded``. Raises ``QuoteLockedError`` unless
    the patient accepted this version. Flushes; the caller commits."""
    if not is_accepted(quote):
        raise QuoteLockedError("a deposit is for an accepted quote")
    deposit = DepositPayment(
        quote_id=quote.id,
        amount_minor=amount_minor,
        currency=quote.currency,
        received_on=received_on,
        consultant_id=consultant.id,
    )
    db.session.add(deposit)
    db.session.flush()
    record("quote.deposit_recorded", consultant, quote.patient, {"quote_id": quote.id})
    refresh_stage(quote.patient)
    consultations_changed(quote.patient_profile_id)
    return deposit


def record_surgery_date(quote: Quote, surgery_on: date, consultant: Consultant) -> SurgeryDate:
    """Record (or move) the surgery's day for an accepted quote; refreshes the stage and
    the open dashboards and audits ``quote.surgery_scheduled``. Raises ``QuoteLockedError``
    unless the patient accepted this version. Flushes; the caller commits."""
    if not is_accepted(quote):
        raise QuoteLockedError("a surgery date is for an accepted quote")
    surgery = SurgeryDate(quote_id=quote.id, surgery_on=surgery_on, consultant_id=consultant.id)
    db.session.add(surgery)
    db.session.flush()
    record("quote.surgery_scheduled", consultant, quote.patient, {"quote_id": quote.id})
    refresh_stage(quote.patient)
    consultations_changed(quote.patient_profile_id)
    return surgery
