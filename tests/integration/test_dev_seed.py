"""``flask dev seed``: made-up bookings a developer can look at, in development only."""

from __future__ import annotations

from sqlalchemy import distinct, func, select

from tests.conftest import count, deliver, fixture_json
from tests.integration.test_dashboard import page_text
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, QuestionnaireSubmission, User


def seed(app, runner, *arguments: str):
    app.config["APP_ENV"] = "development"  # the fixture puts it back
    return runner.invoke(args=["dev", "seed", *arguments])


def test_seed_refuses_outside_development(app, runner):
    result = runner.invoke(args=["dev", "seed"])

    assert result.exit_code != 0
    assert "APP_ENV=development only" in result.output
    with app.app_context():
        assert count(Consultation) == 0


def test_seed_makes_bookings_across_countries_languages_and_outcomes(app, runner):
    result = seed(app, runner, "--bookings", "400", "--random-seed", "5")

    assert result.exit_code == 0, result.output
    assert "Added 400 made-up patients" in result.output
    with app.app_context():
        assert count(User) == count(PatientProfile) == count(Consultation) == 400
        statuses = set(db.session.scalars(select(Consultation.status).distinct()))
        assert statuses == {
            "scheduled", "pending", "rescheduled", "cancelled", "rejected", "completed", "no_show"
        }  # fmt: skip
        assert db.session.scalar(select(func.count(distinct(PatientProfile.country)))) > 10
        assert db.session.scalar(select(func.count(distinct(Consultation.attendee_locale)))) >= 5
        answered = count(QuestionnaireSubmission)
        assert 200 < answered < 350
        # Each answer is the patient's, as the questionnaire would have left it.
        as_left = db.session.scalar(
            select(func.count())
            .select_from(QuestionnaireSubmission)
            .join(QuestionnaireSubmission.patient)
            .where(
                PatientProfile.questionnaire_completed_at == QuestionnaireSubmission.submitted_at
            )
        )
        assert as_left == answered


def test_seeded_patients_are_found_and_later_bookings_take_new_ids(app, runner, consultant_client):
    assert seed(app, runner, "--bookings", "30", "--random-seed", "1").exit_code == 0
    assert seed(app, runner, "--bookings", "30", "--random-seed", "2").exit_code == 0
    with app.app_context():
        name, email = db.session.execute(
            select(PatientProfile.name, PatientProfile.email).order_by(PatientProfile.id.desc())
        ).first()
        latest = db.session.scalar(select(func.max(PatientProfile.latest_booking_at)))
    assert latest is not None  # the database's triggers saw the bookings

    answer = deliver(consultant_client, fixture_json("booking_created.json"))

    assert answer["patient_created"]
    with app.app_context():
        assert count(PatientProfile) == 61
    assert name in page_text(consultant_client, f"/?q={email}")  # the search finds them


def test_seeded_patients_reach_every_stage_as_the_facts_give_it(app, runner):
    from webapp.models import PatientStage
    from webapp.treatment.stage import clinic_today, stage_counts, stored_stage_from_facts

    assert seed(app, runner, "--bookings", "2000", "--random-seed", "3").exit_code == 0
    with app.app_context():
        counts = stage_counts(clinic_today())
        assert all(counts[stage] > 0 for stage in PatientStage), counts
        # The stored stage is the one stage.py works out from the seeded facts.
        for patient in db.session.scalars(
            select(PatientProfile).where(PatientProfile.stage.is_not(None)).limit(300)
        ):
            assert (patient.stage, patient.quote_valid_until) == stored_stage_from_facts(patient)
