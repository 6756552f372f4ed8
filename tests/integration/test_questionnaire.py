"""The patient questionnaire: validation, every way in, and one patient whatever the order."""

from __future__ import annotations

import html
import logging
import re

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token_from, fixture_body, fixture_json, post_delivery
from webapp.extensions import db
from webapp.models import (
    Consultation,
    PatientProfile,
    QuestionnaireSubmission,
    User,
)

BOOKING_UID = "r8KqT2mWv5XbN7pLc3YdZa"
MEDICAL = ("conditions", "medications", "allergies", "surgeries", "recent_events")


def valid_answers(**changes) -> dict:
    answers = {
        "country": "United Kingdom",
        "age_range": "36-45",
        "gender": "male",
        "conditions": "none",
        "medications": "yes",
        "medications_details": "Aspirin 75 mg daily",
        "allergies": "none",
        "surgeries": "none",
        "recent_events": "none",
        "hair_loss_started": "2_5",
        "hair_loss_onset": "gradual",
        "hair_loss_areas": ["crown", "top"],
        "family_history": ["father"],
        "previous_treatments": ["minoxidil"],
        "treatment_results": "Slowed it for a year",
        "goals": "A denser crown",
        "consent": "y",
    }
    answers.update(changes)
    return {key: value for key, value in answers.items() if value is not None}


def submit(client, token: str, answers: dict):
    page = client.get(f"/questionnaire/{token}")
    data = answers | {"csrf_token": csrf_token_from(page.get_data(as_text=True))}
    return client.post(f"/questionnaire/{token}", data=data)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def errors(response) -> list[str]:
    found = re.findall(r'class="field-error">([^<]+)<', response.get_data(as_text=True))
    return [html.unescape(error) for error in found]


@pytest.fixture
def booked(client):
    """The fixture booking has arrived through the webhook."""
    assert post_delivery(client, fixture_body("booking_created.json")).status_code == 200


# --- Validation ------------------------------------------------------------------------------


def test_a_complete_answer_is_thanked_without_patient_data_in_the_url(client, booked):
    response = submit(client, BOOKING_UID, valid_answers())

    assert response.status_code == 302
    assert response.headers["Location"] == "/questionnaire/thanks"
    thanks = client.get("/questionnaire/thanks").get_data(as_text=True)
    assert "What happens next" in thanks
    assert "Oliver" not in thanks


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("country", "Tell us where you live."),
        ("age_range", "Choose your age range."),
        ("gender", "Choose an answer."),
        *[(question, "Choose none or yes.") for question in MEDICAL],
        ("hair_loss_started", "Choose when it started."),
        ("hair_loss_onset", "Choose sudden or gradual."),
        ("hair_loss_areas", "Choose at least one area."),
        ("family_history", "Choose at least one answer."),
        ("consent", "We need your consent to process your health data."),
    ],
)
def test_each_required_answer_is_asked_for_by_name(app, client, booked, field, message):
    answers = valid_answers()
    del answers[field]

    response = submit(client, BOOKING_UID, answers)

    assert response.status_code == 400
    assert errors(response) == [message]
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0


@pytest.mark.parametrize("question", MEDICAL)
def test_yes_without_details_is_refused(client, booked, question):
    response = submit(
        client, BOOKING_UID, valid_answers(**{question: "yes", f"{question}_details": "  "})
    )

    assert response.status_code == 400
    assert errors(response) == ["You answered yes: please give the details."]


@pytest.mark.parametrize(
    "changes",
    [
        {"age_range": "17"},
        {"gender": "x"},
        {"conditions": "maybe"},
        {"hair_loss_started": "yesterday"},
        {"hair_loss_areas": ["legs"]},
        {"family_history": ["cousin"]},
        {"previous_treatments": ["magic"]},
    ],
)
def test_an_invalid_choice_is_refused(client, booked, changes):
    response = submit(client, BOOKING_UID, valid_answers(**changes))

    assert response.status_code == 400
    assert len(errors(response)) == 1


def test_none_cannot_be_combined_with_a_side_of_the_family(client, booked):
    response = submit(client, BOOKING_UID, valid_answers(family_history=["none", "father"]))

    assert errors(response) == ["Choose 'None' alone, or the sides of your family."]


def test_treatments_tried_need_their_results(client, booked):
    response = submit(client, BOOKING_UID, valid_answers(treatment_results=""))

    assert errors(response) == ["Tell us how the treatments you chose worked for you."]


def test_overlong_details_are_refused(client, booked):
    response = submit(client, BOOKING_UID, valid_answers(medications_details="x" * 2001))

    assert response.status_code == 400
    assert len(errors(response)) == 1


def test_a_form_with_errors_keeps_everything_the_patient_typed(client, booked):
    response = submit(client, BOOKING_UID, valid_answers(consent=None, goals="Fuller hairline"))
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert 'value="United Kingdom"' in page
    assert "Aspirin 75 mg daily" in page and "Fuller hairline" in page
    assert re.search(r'value="36-45"[^>]*checked|checked[^>]*value="36-45"', page)
    assert re.search(r'value="crown"[^>]*checked|checked[^>]*value="crown"', page)
    assert 'aria-invalid="true"' in page
    assert "Some answers need attention" in page


def test_a_submission_without_the_csrf_token_is_refused(app, client, booked):
    response = client.post(f"/questionnaire/{BOOKING_UID}", data=valid_answers())

    assert response.status_code == 400
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0


def test_the_form_labels_every_input_and_groups_choices(client, booked):
    page = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)

    for field_id in ("country", "medications_details", "goals", "consent"):
        assert f'for="{field_id}"' in page
    assert page.count("<fieldset") >= 11
    assert "<legend>Age range</legend>" in page


# --- Ways in ---------------------------------------------------------------------------------


def test_a_known_booking_greets_the_patient_and_updates_that_profile(app, client, booked):
    page = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)
    assert "Hello Oliver," in page
    assert 'name="email"' not in page

    submit(client, BOOKING_UID, valid_answers(country="Scotland"))

    with app.app_context():
        assert count(PatientProfile) == 1
        patient = db.session.scalar(select(PatientProfile))
        assert patient.location == "Scotland"
        assert (patient.age_range, patient.gender) == ("36-45", "male")
        assert patient.questionnaire_answers["medications_details"] == "Aspirin 75 mg daily"
        assert patient.questionnaire_completed_at is not None
        submission = db.session.scalar(select(QuestionnaireSubmission))
        consultation = db.session.scalar(select(Consultation))
        assert submission.consultation_id == consultation.id
        assert submission.patient_profile_id == patient.id


def test_cal_com_redirect_keeps_only_the_booking_uid(client, booked):
    response = client.get(
        f"/questionnaire?uid={BOOKING_UID}&attendeeName=Oliver+Bennett&phone=%2B447700900123"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/questionnaire/{BOOKING_UID}"
    assert client.get("/questionnaire?attendeeName=Oliver").status_code == 404


def test_an_unknown_booking_asks_who_is_answering_and_the_webhook_joins_that_patient(app, client):
    page = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)
    assert "About you" in page and 'name="email"' in page

    identity = {
        "name": "Oliver Bennett",
        "email": " Oliver.Bennett@Example.co.uk ",
        "phone": "+44 7700 900123",
    }
    assert submit(client, BOOKING_UID, valid_answers(**identity)).status_code == 302
    with app.app_context():
        patient = db.session.scalar(select(PatientProfile))
        assert (patient.email, patient.phone) == ("oliver.bennett@example.co.uk", "+447700900123")
        assert db.session.scalar(select(QuestionnaireSubmission.cal_booking_uid)) == BOOKING_UID

    answer = post_delivery(client, fixture_body("booking_created.json")).get_json()

    assert answer["patient_created"] is False
    with app.app_context():
        assert (count(User), count(PatientProfile)) == (1, 1)
        assert answer["patient_id"] == patient.id
        assert (
            db.session.scalar(select(QuestionnaireSubmission.consultation_id))
            == answer["consultation_id"]
        )


def test_an_answer_under_another_email_still_joins_the_booking_by_its_uid(app, client):
    identity = {"name": "Oliver B", "email": "oliver.private@example.org"}
    submit(client, BOOKING_UID, valid_answers(**identity))

    answer = post_delivery(client, fixture_body("booking_created.json")).get_json()

    with app.app_context():
        assert count(PatientProfile) == 1
        assert db.session.get(Consultation, answer["consultation_id"]).patient.email == (
            "oliver.private@example.org"
        )


@pytest.mark.parametrize(
    "webhook_first", [True, False], ids=["webhook-first", "questionnaire-first"]
)
def test_either_order_ends_with_one_patient(app, client, webhook_first):
    identity = {"name": "Oliver Bennett", "email": "oliver.bennett@example.co.uk"}
    if webhook_first:
        post_delivery(client, fixture_body("booking_created.json"))
    submit(client, BOOKING_UID, valid_answers(**identity))
    if not webhook_first:
        post_delivery(client, fixture_body("booking_created.json"))

    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        patient = db.session.scalar(select(PatientProfile))
        assert patient.questionnaire_completed_at is not None
        assert db.session.scalar(select(Consultation.patient_profile_id)) == patient.id


def signed_link(consultant_client, patient_id: int) -> str:
    page = consultant_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    link = html.unescape(re.search(r'id="questionnaire-link"[^>]*value="([^"]+)"', page).group(1))
    return link.removeprefix("http://localhost/questionnaire/")


def test_a_signed_link_from_the_patient_page_leads_to_that_patient(app, consultant_client, booked):
    token = signed_link(consultant_client, 1)
    consultant_client.post(
        "/logout", data={"csrf_token": csrf_token_from(consultant_client.get("/").text)}
    )

    assert "Hello Oliver," in consultant_client.get(f"/questionnaire/{token}").get_data(
        as_text=True
    )
    assert submit(consultant_client, token, valid_answers()).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(QuestionnaireSubmission.patient_profile_id)) == 1


def test_a_tampered_link_is_not_found(consultant_client, booked):
    token = signed_link(consultant_client, 1)
    body, _, signature = token.rpartition(".")
    # The signature's first character carries real bits (its last may not).
    tampered = f"{body}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"

    response = consultant_client.get(f"/questionnaire/{tampered}")

    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)
    assert consultant_client.get("/questionnaire/a b").status_code == 404


def test_an_expired_link_says_so_and_how_to_get_a_new_one(app, client, booked, monkeypatch):
    from webapp.questionnaire import services

    with app.test_request_context():
        patient = db.session.get(PatientProfile, 1)
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: 1_000_000_000)
        token = services.questionnaire_token(patient)
    monkeypatch.undo()

    response = client.get(f"/questionnaire/{token}")

    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "This link has expired" in page and "new one" in page


# --- What a submission does -------------------------------------------------------------------


def test_a_second_submission_updates_keeps_history_and_marks_changed_medical_answers(
    app, consultant_client, booked
):
    client = consultant_client
    submit(client, BOOKING_UID, valid_answers())
    submit(
        client,
        BOOKING_UID,
        valid_answers(
            allergies="yes",
            allergies_details="Penicillin",
            goals="",
            previous_treatments=None,
            treatment_results="",
        ),
    )

    with app.app_context():
        assert count(PatientProfile) == 1
        assert count(QuestionnaireSubmission) == 2
        answers = db.session.scalar(select(PatientProfile)).questionnaire_answers
        assert answers["allergies_details"] == "Penicillin"
        assert answers["goals"] == "A denser crown"  # left blank: the earlier answer stays
        assert answers["treatment_results"] == "Slowed it for a year"
    page = client.get("/patients/1").get_data(as_text=True)
    for section in ("<h3>Basic</h3>", "<h3>Medical</h3>", "<h3>Hair loss</h3>"):
        assert section in page
    allergies = page[page.index("Do you have any allergies?") :][:200]
    assert "Yes: Penicillin" in allergies and "Changed" in allergies
    medications = page[page.index("Do you take any medications") :][:200]
    assert "Changed" not in medications


def test_the_dashboard_poll_shows_the_questionnaire_completed(app, consultant_client):
    upcoming = fixture_json("booking_created.json")
    upcoming["payload"]["startTime"] = "2099-01-01T10:00:00Z"
    upcoming["payload"]["endTime"] = "2099-01-01T10:15:00Z"
    consultation_id = post_delivery(consultant_client, upcoming).get_json()["consultation_id"]
    page = consultant_client.get("/").get_data(as_text=True)
    poll = html.unescape(re.search(r'id="poller"[^>]*hx-get="([^"]+)"', page, re.S).group(1))

    submit(consultant_client, BOOKING_UID, valid_answers())
    response = consultant_client.get(poll, headers={"HX-Request": "true"})

    assert response.status_code == 200
    row = re.search(
        rf'<tr id="consultation-{consultation_id}".*?</tr>', response.get_data(as_text=True), re.S
    ).group(0)
    assert "Completed" in row


def test_no_log_line_carries_the_patients_answers_or_identity(client, caplog):
    caplog.set_level(logging.INFO)
    identity = {"name": "Oliver Bennett", "email": "oliver.bennett@example.co.uk"}

    submit(client, BOOKING_UID, valid_answers(**identity))

    for secret in ("Oliver", "oliver.bennett", "Aspirin", "United Kingdom"):
        assert secret not in caplog.text


def test_an_invented_uid_cannot_change_an_existing_patients_profile(app, client, booked):
    invented = "InventedUid0000000000"
    stranger = {"name": "Someone", "email": "oliver.bennett@example.co.uk"}

    assert submit(client, invented, valid_answers(country="Mars", **stranger)).status_code == 302

    with app.app_context():
        patient = db.session.scalar(select(PatientProfile))
        assert patient.location == "United Kingdom"
        assert patient.questionnaire_answers is None
        assert patient.questionnaire_completed_at is None
        assert count(QuestionnaireSubmission) == 1  # kept, waiting for a real booking
    page = client.get(f"/questionnaire/{invented}").get_data(as_text=True)
    assert "Oliver" not in page


def test_waiting_answers_apply_when_their_booking_arrives(app, client, booked):
    second = fixture_json("booking_created.json")
    second["payload"]["uid"] = "SecondBookingUid000000"
    identity = {"name": "Oliver Bennett", "email": "oliver.bennett@example.co.uk"}
    submit(client, "SecondBookingUid000000", valid_answers(country="Wales", **identity))

    post_delivery(client, second)

    with app.app_context():
        assert count(PatientProfile) == 1
        patient = db.session.scalar(select(PatientProfile))
        assert patient.location == "Wales"
        assert patient.questionnaire_completed_at is not None
