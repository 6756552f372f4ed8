"""The treatment services: assessment versions, quotes and their versions, the patient's
signed link and answers, and the stage each fact gives the patient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import deliver, fixture_body
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Consultant,
    DepositPayment,
    PatientProfile,
    PatientStage,
    SurgeryDate,
)
from webapp.treatment.assessment import AssessmentDraft, current_assessment, record_assessment
from webapp.treatment.links import QuoteLinkError, forget_quote_links, quote_of_token, quote_token
from webapp.treatment.quotes import QuoteLockedError, make_quote, new_version, send_quote
from webapp.treatment.responses import (
    AnswerInvalidError,
    QuoteClosedError,
    accept_quote,
    ask_about_quote,
    decline_quote,
    record_view,
)
from webapp.treatment.settings import clinic_settings
from webapp.treatment.stage import (
    clinic_today,
    refresh_stage,
    stage_counts,
    stage_history,
    stage_of,
)

DRAFT = AssessmentDraft(
    pattern="norwood_4",
    donor_quality="good",
    donor_density=80,
    grafts_min=1600,
    grafts_max=2200,
    technique="sapphire_fue",
    suitability="suitable",
    unsuitable_reason=None,
    recommendations="Finasteride for six months before.",
)


@pytest.fixture
def patient_id(consultant_client) -> int:
    return deliver(consultant_client, fixture_body("booking_created.json"))["patient_id"]


def assessed_and_quoted(app, patient_id: int, consultant: int):
    settings = clinic_settings()
    settings.currency = "EUR"
    settings.procedure_price_minor = 150_000
    settings.price_per_graft_minor = 50
    settings.deposit_percent = 10
    settings.inclusions = {"en": "Hotel, transfers", "tr": "Otel, transferler"}
    patient = db.session.get(PatientProfile, patient_id)
    who = db.session.get(Consultant, consultant)
    record_assessment(patient, DRAFT, who)
    quote = make_quote(patient, who, "tr")
    db.session.commit()
    return patient, who, quote


def test_a_quote_is_made_from_the_assessment_and_settings(app, patient_id, consultant):
    with app.app_context():
        patient, _, quote = assessed_and_quoted(app, patient_id, consultant)

        assert patient.stage == PatientStage.ASSESSED
        assert quote.quote_number == f"Q-{clinic_today().year}-000001"
        assert [(line.grafts, line.price_minor) for line in quote.lines] == [(2200, 260_000)]
        assert quote.deposit_minor == 26_000
        assert quote.inclusions == "Otel, transferler"
        assert quote.valid_until == clinic_today() + timedelta(days=30)


def test_the_link_finds_the_newest_sent_version_and_the_answers_move_the_stage(
    app, patient_id, consultant
):
    with app.app_context():
        patient, who, quote = assessed_and_quoted(app, patient_id, consultant)
        with pytest.raises(QuoteLinkError):  # a draft is not the patient's to see
            quote_of_token(quote_token(quote))
        send_quote(quote, who)
        token = quote_token(quote)
        assert quote_of_token(token).id == quote.id
        assert patient.stage == PatientStage.QUOTE_SENT

        second = new_version(quote, who)
        with pytest.raises(QuoteLockedError):
            send_quote(quote, who)
        send_quote(second, who)
        assert quote_of_token(token).id == second.id
        with pytest.raises(QuoteClosedError):
            accept_quote(quote, "Ayşe Yılmaz", True)

        record_view(second)
        assert patient.stage == PatientStage.QUOTE_VIEWED
        ask_about_quote(second, "Is PRP included?")
        decline_quote(second, "Too far")
        assert patient.stage == PatientStage.DECLINED
        with pytest.raises(AnswerInvalidError):
            accept_quote(second, "Ayşe", False)
        response = accept_quote(second, "  Ayşe   Yılmaz ", True)
        assert (response.typed_name, response.quote_version) == ("Ayşe Yılmaz", 2)
        assert patient.stage == PatientStage.ACCEPTED
        with pytest.raises(QuoteLockedError):
            new_version(second, who)

        db.session.add(
            DepositPayment(
                quote_id=second.id,
                amount_minor=26_000,
                currency="EUR",
                received_on=clinic_today(),
                consultant_id=who.id,
            )
        )
        refresh_stage(patient)
        assert patient.stage == PatientStage.DEPOSIT_RECEIVED
        db.session.add(
            SurgeryDate(quote_id=second.id, surgery_on=clinic_today(), consultant_id=who.id)
        )
        refresh_stage(patient)
        db.session.commit()
        # The booking is not completed yet: the history starts with the assessment.
        assert [stage for stage, _ in stage_history(patient, clinic_today())] == [
            "assessed",
            "quote_sent",
            "quote_viewed",
            "declined",
            "accepted",
            "deposit_received",
            "surgery_scheduled",
        ]
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert {"assessment.recorded", "quote.created", "quote.sent", "quote.accepted"} <= set(
            actions
        )

        forget_quote_links(patient)
        with pytest.raises(QuoteLinkError):
            quote_of_token(token)


def test_a_tampered_token_names_nothing(app, patient_id, consultant):
    with app.app_context():
        _, who, quote = assessed_and_quoted(app, patient_id, consultant)
        send_quote(quote, who)
        token = quote_token(quote)
        for bad in (token[:-2] + "xx", "nonsense", token + "a", ""):
            with pytest.raises(QuoteLinkError):
                quote_of_token(bad)


def test_an_unanswered_quote_expires_on_the_clock_and_is_counted(app, patient_id, consultant):
    with app.app_context():
        patient, who, quote = assessed_and_quoted(app, patient_id, consultant)
        send_quote(quote, who)
        db.session.commit()
        today = clinic_today()
        later = quote.valid_until + timedelta(days=1)

        assert stage_of(patient, today) == PatientStage.QUOTE_SENT
        assert stage_of(patient, later) == PatientStage.EXPIRED
        assert stage_counts(today)["quote_sent"] == 1
        assert stage_counts(later)["quote_sent"] == 0
        assert stage_counts(later)["expired"] == 1
        with pytest.raises(QuoteClosedError):
            accept_quote(quote, "Ayşe", True, now=datetime.now(UTC) + timedelta(days=40))


def test_an_edit_of_the_assessment_is_a_new_version(app, patient_id, consultant):
    with app.app_context():
        patient = db.session.get(PatientProfile, patient_id)
        who = db.session.get(Consultant, consultant)
        first = record_assessment(patient, DRAFT, who)
        second = record_assessment(patient, DRAFT, who)
        db.session.commit()
        assert second.replaces_id == first.id
        assert current_assessment(patient).id == second.id


def test_a_completed_consultation_makes_the_patient_consulted_and_undoing_it_does_not(
    app, patient_id
):
    from webapp.cal.events import change_status
    from webapp.models import ConsultationStatus

    with app.app_context():
        patient = db.session.get(PatientProfile, patient_id)
        consultation = patient.consultations[0]
        change_status(consultation, ConsultationStatus.COMPLETED, datetime.now(UTC))
        db.session.commit()
        assert patient.stage == PatientStage.CONSULTED
        change_status(
            consultation, ConsultationStatus.NO_SHOW, datetime.now(UTC) + timedelta(minutes=1)
        )
        db.session.commit()
        assert patient.stage is None
        assert [stage for stage, _ in stage_history(patient, clinic_today())] == ["consulted"]
