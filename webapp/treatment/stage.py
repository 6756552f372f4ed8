"""Where each patient stands after the consultation: the one place that decides a stage.

A stage follows from facts, never typed: a completed consultation (``consulted``), an
assessment (``assessed``), the patient's current quote (the newest version sent) and what
became of it (sent, viewed, accepted, declined), a deposit received and a surgery date.
``refresh_stage`` works it out and stores it on the patient, with a row of history when it
changes; every write of such a fact calls it in the same transaction.

``expired`` is the clock's part: a quote sent or viewed whose ``valid_until`` day has passed
in the clinic's time zone without an answer. It is never stored; the stored stage keeps
the day the quote is valid until beside it (``quote_valid_until``), so the dashboard's
filter and counts read "expired" as a range of one index (``stage_condition``).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, and_, case, exists, func, select

from webapp.extensions import db
from webapp.models import (
    Assessment,
    Consultation,
    ConsultationStatus,
    DepositPayment,
    PatientProfile,
    PatientStage,
    PatientStageChange,
    Quote,
    QuoteResponse,
    QuoteResponseKind,
    SurgeryDate,
    utcnow,
)

# Stages in the order a patient goes through them (the dashboard's filter and counts).
STAGES = {
    PatientStage.CONSULTED: "Consulted",
    PatientStage.ASSESSED: "Assessed",
    PatientStage.QUOTE_SENT: "Quote sent",
    PatientStage.QUOTE_VIEWED: "Quote viewed",
    PatientStage.ACCEPTED: "Accepted",
    PatientStage.DECLINED: "Declined",
    PatientStage.EXPIRED: "Expired",
    PatientStage.DEPOSIT_RECEIVED: "Deposit received",
    PatientStage.SURGERY_SCHEDULED: "Surgery scheduled",
}
# Stages waiting for the patient's answer: they become "expired" when the quote's day passes.
WAITING = (PatientStage.QUOTE_SENT, PatientStage.QUOTE_VIEWED)


def clinic_today(now: datetime | None = None) -> date:
    """The day it is in the clinic's time zone (``CLINIC_TIMEZONE``): quotes are valid
    until the end of their day there."""
    zone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    return (now or utcnow()).astimezone(zone).date()


def current_quote(patient: PatientProfile) -> Quote | None:
    """The patient's quote that counts: the version sent most recently (drafts do not)."""
    return db.session.scalar(
        select(Quote)
        .where(Quote.patient_profile_id == patient.id, Quote.sent_at.is_not(None))
        .order_by(Quote.sent_at.desc(), Quote.id.desc())
        .limit(1)
    )


def decision(quote: Quote) -> QuoteResponse | None:
    """The patient's latest acceptance or decline of this version, if any."""
    return db.session.scalar(
        select(QuoteResponse)
        .where(
            QuoteResponse.quote_id == quote.id,
            QuoteResponse.kind.in_([QuoteResponseKind.ACCEPTED, QuoteResponseKind.DECLINED]),
        )
        .order_by(QuoteResponse.created_at.desc(), QuoteResponse.id.desc())
        .limit(1)
    )


def stored_stage_from_facts(patient: PatientProfile) -> tuple[str | None, date | None]:
    """The stage the facts give the patient, and the day their waiting quote is valid
    until (``None`` unless the stage waits for the patient's answer)."""
    quote = current_quote(patient)
    if quote is not None:
        if _has(SurgeryDate, quote):
            return PatientStage.SURGERY_SCHEDULED, None
        if _has(DepositPayment, quote):
            return PatientStage.DEPOSIT_RECEIVED, None
        answer = decision(quote)
        if answer is not None:
            return PatientStage(answer.kind), None
        if quote.viewed_at is not None:
            return PatientStage.QUOTE_VIEWED, quote.valid_until
        return PatientStage.QUOTE_SENT, quote.valid_until
    assessed = select(Assessment.id).where(Assessment.patient_profile_id == patient.id)
    if db.session.scalar(select(exists(assessed))):
        return PatientStage.ASSESSED, None
    consulted = select(Consultation.id).where(
        Consultation.patient_profile_id == patient.id,
        Consultation.status == ConsultationStatus.COMPLETED,
    )
    if db.session.scalar(select(exists(consulted))):
        return PatientStage.CONSULTED, None
    return None, None


def _has(model: type[DepositPayment] | type[SurgeryDate], quote: Quote) -> bool:
    return bool(
        db.session.scalar(select(exists(select(model.id).where(model.quote_id == quote.id))))
    )


def refresh_stage(patient: PatientProfile, now: datetime | None = None) -> str | None:
    """Work the patient's stage out from the facts and store it; when it changed, append it
    to their history at ``now``. Flushes; the caller commits. Returns the stored stage."""
    db.session.flush()  # the facts just written count
    stage, valid_until = stored_stage_from_facts(patient)
    patient.quote_valid_until = valid_until
    if stage != patient.stage:
        at = now or utcnow()
        patient.stage = stage
        patient.stage_changed_at = at if stage is not None else None
        if stage is not None:
            db.session.add(PatientStageChange(patient_profile_id=patient.id, stage=stage, at=at))
    db.session.flush()
    return stage


def stage_of(patient: PatientProfile, today: date) -> str | None:
    """The patient's stage as it reads on ``today`` (a waiting quote past its day is
    ``expired``), from what ``refresh_stage`` stored."""
    if (
        patient.stage in WAITING
        and patient.quote_valid_until is not None
        and patient.quote_valid_until < today
    ):
        return PatientStage.EXPIRED
    return patient.stage


def stage_condition(stage: str, today: date) -> ColumnElement[bool]:
    """The patients in ``stage`` on ``today``: one range of the stage index."""
    if stage == PatientStage.EXPIRED:
        return and_(
            PatientProfile.stage.in_([str(s) for s in WAITING]),
            PatientProfile.quote_valid_until < today,
        )
    if stage in WAITING:
        return and_(PatientProfile.stage == stage, PatientProfile.quote_valid_until >= today)
    return PatientProfile.stage == stage


def stage_counts(today: date) -> dict[str, int]:
    """How many patients are in each stage on ``today`` (every stage, zeros included),
    counted off the stage index alone."""
    expired = case((stage_condition(PatientStage.EXPIRED, today), True), else_=False)
    rows = db.session.execute(
        select(PatientProfile.stage, expired, func.count())
        .where(PatientProfile.stage.is_not(None))
        .group_by(PatientProfile.stage, expired)
    ).all()
    counts = dict.fromkeys(map(str, STAGES), 0)
    for stage, is_expired, count in rows:
        counts[PatientStage.EXPIRED if is_expired else stage] += count
    return counts


def stage_history(patient: PatientProfile, today: date) -> list[tuple[str, datetime | date]]:
    """The stages the patient went through, oldest first, with when; a waiting quote past
    its day ends the list as ``expired``, with the last day it was valid."""
    history: list[tuple[str, datetime | date]] = [
        (change.stage, change.at)
        for change in db.session.scalars(
            select(PatientStageChange)
            .where(PatientStageChange.patient_profile_id == patient.id)
            .order_by(PatientStageChange.at, PatientStageChange.id)
        )
    ]
    if stage_of(patient, today) == PatientStage.EXPIRED and patient.quote_valid_until:
        history.append((PatientStage.EXPIRED, patient.quote_valid_until))
    return history


def funnel_facts(patient_id: ColumnElement[int]) -> tuple[ColumnElement[bool], ...]:
    """What the funnel's steps follow from, for the patient ``patient_id`` (a column of the
    enclosing query), each fact alone: an assessment of theirs, a quote of theirs sent, a
    quote of theirs accepted. ``reached_steps`` turns them into the steps; asking each fact
    once lets the database read each table once."""
    assessed = exists(select(Assessment.id).where(Assessment.patient_profile_id == patient_id))
    sent = exists(
        select(Quote.id).where(Quote.patient_profile_id == patient_id, Quote.sent_at.is_not(None))
    )
    accepted = exists(
        select(QuoteResponse.id)
        .join(Quote, Quote.id == QuoteResponse.quote_id)
        .where(
            Quote.patient_profile_id == patient_id,
            QuoteResponse.kind == QuoteResponseKind.ACCEPTED,
        )
    )
    return assessed, sent, accepted


def reached_steps(assessed: bool, sent: bool, accepted: bool) -> tuple[bool, bool, bool]:
    """Which steps of the funnel a patient with these facts got to: assessed (or sent a
    quote, which follows an assessment), sent a quote (or accepted one), accepted. Each
    step holds the next, so counts of them never grow along the funnel."""
    return assessed or sent or accepted, sent or accepted, accepted
