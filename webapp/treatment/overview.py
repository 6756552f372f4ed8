"""What the patient page shows of the treatment: the stage and its history, the assessment
and its versions, every quote version with its lines and answers, deposits and surgery
dates. Everything is loaded here, so the templates send no query."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import (
    Assessment,
    DepositPayment,
    PatientProfile,
    PatientStage,
    Quote,
    SurgeryDate,
)
from webapp.treatment.assessment import assessment_versions
from webapp.treatment.quotes import is_expired
from webapp.treatment.stage import decision, stage_history, stage_of


@dataclass(frozen=True)
class QuoteView:
    """One version of a quote as the consultant sees it."""

    quote: Quote
    state: str  # draft, sent, viewed, accepted, declined, expired, replaced
    deposits: list[DepositPayment]
    surgery: SurgeryDate | None

    @property
    def accepted(self) -> bool:
        return self.state == PatientStage.ACCEPTED


@dataclass(frozen=True)
class PatientTreatment:
    """The patient page's treatment sections."""

    stage: str | None
    history: list[tuple[str, datetime | date]]
    assessment: Assessment | None
    earlier_assessments: list[Assessment]
    quotes: list[QuoteView]


def patient_treatment(patient: PatientProfile, today: date) -> PatientTreatment:
    """Everything the patient page shows of the patient's treatment on ``today``."""
    assessments = assessment_versions(patient)
    quotes = list(
        db.session.scalars(
            select(Quote)
            .where(Quote.patient_profile_id == patient.id)
            .options(
                selectinload(Quote.lines),
                selectinload(Quote.responses),
                selectinload(Quote.consultant),
            )
            .order_by(Quote.created_at.desc(), Quote.id.desc())
        )
    )
    ids = [quote.id for quote in quotes]
    deposits: dict[int, list[DepositPayment]] = defaultdict(list)
    for deposit in db.session.scalars(
        select(DepositPayment)
        .where(DepositPayment.quote_id.in_(ids))
        .order_by(DepositPayment.recorded_at)
    ):
        deposits[deposit.quote_id].append(deposit)
    surgeries = {
        surgery.quote_id: surgery
        for surgery in db.session.scalars(
            select(SurgeryDate)
            .where(SurgeryDate.quote_id.in_(ids))
            .order_by(SurgeryDate.recorded_at)
        )
    }
    replaced = {quote.replaces_id for quote in quotes if quote.sent_at and quote.replaces_id}
    return PatientTreatment(
        stage=stage_of(patient, today),
        history=stage_history(patient, today),
        assessment=assessments[0] if assessments else None,
        earlier_assessments=assessments[1:],
        quotes=[
            QuoteView(
                quote,
                _state(quote, replaced, today),
                deposits.get(quote.id, []),
                surgeries.get(quote.id),
            )
            for quote in quotes
        ],
    )


def _state(quote: Quote, replaced: set[int | None], today: date) -> str:
    if quote.sent_at is None:
        return "draft"
    if quote.id in replaced:
        return "replaced"
    answer = decision(quote)
    if answer is not None:
        return answer.kind
    if is_expired(quote, today):
        return PatientStage.EXPIRED
    return "viewed" if quote.viewed_at else "sent"
