"""Every way to the questionnaire, and what a submission does to the one patient it is for.

A patient arrives by a booking uid we already have, by one whose webhook has not arrived
yet, or by a signed link a consultant copied; whatever the order of webhook and answer,
the clinic ends with one patient per person and every submission kept.
"""

from __future__ import annotations

import html
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import itsdangerous.timed
import pytest
from sqlalchemy import select

from tests.conftest import csrf_token_from, fixture_body, fixture_json, post_delivery
from tests.integration.test_questionnaire_form import (
    BOOKING_UID,
    IDENTITY,
    THANKS,
    count,
    submit,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, QuestionnaireSubmission, User
from webapp.questionnaire.services import LINK_MAX_AGE, questionnaire_token

INVALID_LINK = "This questionnaire link is not valid."


def deliver_booking(client, document=None) -> dict:
    """Post the fixture booking (or ``document``) through the webhook; its JSON answer."""
    response = post_delivery(client, document or fixture_body("booking_created.json"))
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] == "processed", answer
    return answer


def only(model):
    (row,) = db.session.scalars(select(model)).all()
    return row


def identity_inputs(page: str) -> set[str]:
    return {name for name in ("name", "email", "phone") if f'name="{name}"' in page}


def any_csrf_token(client) -> str:
    """A valid CSRF token for this client's session, from a page that carries one."""
    return csrf_token_from(client.get(THANKS).get_data(as_text=True))


def signed_link_path(consultant_client, patient_id: int) -> str:
    """The path of the questionnaire link shown on the patient's page."""
    page = consultant_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    match = re.search(r'<input id="questionnaire-link"[^>]*\bvalue="([^"]+)"', page)
    assert match, "the patient page shows no questionnaire link"
    return urlsplit(html.unescape(match.group(1))).path


def log_out(client) -> None:
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


@pytest.fixture
def booking(client) -> dict:
    """The fixture booking has arrived; the webhook's answer (patient and consultation ids)."""
    return deliver_booking(client)


# --- (a) A booking we already have ---------------------------------------------------------


def test_a_known_booking_greets_the_patient_and_asks_no_identity(client, booking):
    response = client.get(f"/questionnaire/{BOOKING_UID}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Hello Oliver," in page
    assert "About you" not in page
    assert identity_inputs(page) == set()


def test_a_known_bookings_answers_update_that_patient(app, client, booking):
    answers = valid_answers(country="Ireland", age_range="46-55", gender="other")
    # Identity fields posted anyway are not the form's: they change nobody's details.
    answers |= {"name": "Mallory", "email": "mallory@example.com"}
    before = datetime.now(UTC)

    response = submit(client, BOOKING_UID, answers)

    assert response.status_code == 302
    assert response.headers["Location"] == THANKS
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        patient = only(PatientProfile)
        assert patient.id == booking["patient_id"]
        assert (patient.name, patient.email) == ("Oliver Bennett", "oliver.bennett@example.co.uk")
        assert only(User).email == "oliver.bennett@example.co.uk"
        assert patient.location == "Ireland"
        assert (patient.age_range, patient.gender) == ("46-55", "other")
        assert patient.questionnaire_answers["country"] == "Ireland"
        assert patient.questionnaire_answers["medications_details"] == "Aspirin 75 mg daily"
        assert patient.questionnaire_answers["hair_loss_areas"] == ["crown", "top"]
        assert before - timedelta(seconds=1) <= patient.questionnaire_completed_at
        assert patient.questionnaire_completed_at <= datetime.now(UTC)
        submission = only(QuestionnaireSubmission)
        assert submission.patient_profile_id == patient.id
        assert submission.consultation_id == booking["consultation_id"]
        assert submission.cal_booking_uid == BOOKING_UID
        assert submission.answers == patient.questionnaire_answers
        assert submission.submitted_at == patient.questionnaire_completed_at


# --- (b) A booking whose webhook has not arrived yet ---------------------------------------


def test_an_unknown_booking_asks_who_is_answering(client):
    response = client.get(f"/questionnaire/{BOOKING_UID}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "About you" in page
    assert identity_inputs(page) == {"name", "email", "phone"}
    assert "Hello" not in page


def test_an_unknown_bookings_answer_creates_the_patient_and_the_webhook_joins_them(app, client):
    typed = {
        "name": "  Oliver Bennett ",
        "email": " Oliver.Bennett@Example.co.uk ",
        "phone": "+44 7700 900123",
    }

    response = submit(client, BOOKING_UID, valid_answers(**typed))

    assert response.status_code == 302
    assert response.headers["Location"] == THANKS
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 0)
        patient = only(PatientProfile)
        patient_id = patient.id
        assert patient.name == "Oliver Bennett"
        assert patient.email == "oliver.bennett@example.co.uk"
        assert patient.phone == "+447700900123"
        assert only(User).email == "oliver.bennett@example.co.uk"
        assert patient.location == "United Kingdom"
        assert patient.questionnaire_completed_at is not None
        submission = only(QuestionnaireSubmission)
        assert submission.patient_profile_id == patient_id
        assert submission.cal_booking_uid == BOOKING_UID
        assert submission.consultation_id is None

    # Coming back before the booking arrives: anyone could have invented this uid, so the
    # page greets no one and asks again who is answering.
    again = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)
    assert "Oliver" not in again and "email" in identity_inputs(again)

    answer = deliver_booking(client)

    assert answer["patient_created"] is False
    assert answer["patient_id"] == patient_id
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        consultation = only(Consultation)
        assert consultation.patient_profile_id == patient_id
        assert consultation.cal_booking_uid == BOOKING_UID
        assert only(QuestionnaireSubmission).consultation_id == consultation.id


def test_an_answer_under_another_email_still_joins_the_booking_by_its_uid(app, client):
    typed = {"name": "Olly Bennett", "email": "olly.private@example.org", "phone": ""}
    assert submit(client, BOOKING_UID, valid_answers(**typed)).status_code == 302
    with app.app_context():
        patient_id = only(PatientProfile).id

    answer = deliver_booking(client)

    assert answer["patient_id"] == patient_id
    assert answer["patient_created"] is False
    with app.app_context():
        assert (count(User), count(PatientProfile)) == (1, 1)
        patient = only(PatientProfile)
        assert patient.email == "olly.private@example.org"  # never overwritten
        assert patient.phone == "+447700900123"  # the booking gave what was missing
        consultation = only(Consultation)
        assert consultation.patient_profile_id == patient_id
        assert only(QuestionnaireSubmission).consultation_id == consultation.id


# --- (c) Either order, one patient ---------------------------------------------------------


@pytest.mark.parametrize(
    "order",
    ["webhook-then-questionnaire", "questionnaire-then-webhook", "form-opened-before-webhook"],
)
def test_webhook_and_questionnaire_in_any_order_end_with_one_patient(app, client, order):
    answers = valid_answers(**IDENTITY)
    if order == "webhook-then-questionnaire":
        deliver_booking(client)
        assert submit(client, BOOKING_UID, answers).status_code == 302
    elif order == "questionnaire-then-webhook":
        assert submit(client, BOOKING_UID, answers).status_code == 302
        deliver_booking(client)
    else:  # the form asked who is answering; the booking arrived before it was sent
        page = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)
        assert "About you" in page
        deliver_booking(client)
        data = answers | {"csrf_token": csrf_token_from(page)}
        assert client.post(f"/questionnaire/{BOOKING_UID}", data=data).status_code == 302

    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        patient = only(PatientProfile)
        consultation = only(Consultation)
        submission = only(QuestionnaireSubmission)
        assert consultation.patient_profile_id == patient.id
        assert submission.patient_profile_id == patient.id
        assert submission.consultation_id == consultation.id
        assert patient.email == "oliver.bennett@example.co.uk"
        assert patient.questionnaire_completed_at is not None
        assert patient.age_range == "36-45"


# --- (d) A signed link from the patient page -----------------------------------------------


def test_a_signed_link_from_the_patient_page_leads_to_that_patient(app, consultant_client, booking):
    path = signed_link_path(consultant_client, booking["patient_id"])
    assert path.startswith("/questionnaire/") and "." in path
    log_out(consultant_client)

    response = consultant_client.get(path)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Hello Oliver," in page
    assert identity_inputs(page) == set()
    token = path.removeprefix("/questionnaire/")
    assert submit(consultant_client, token, valid_answers(country="Wales")).status_code == 302
    with app.app_context():
        assert (count(User), count(PatientProfile)) == (1, 1)
        patient = only(PatientProfile)
        assert patient.id == booking["patient_id"]
        assert patient.location == "Wales"
        assert patient.questionnaire_completed_at is not None
        submission = only(QuestionnaireSubmission)
        assert submission.patient_profile_id == booking["patient_id"]
        assert submission.consultation_id == booking["consultation_id"]


def test_a_signed_link_names_its_own_patient_among_several(app, consultant_client, booking):
    other = fixture_json("booking_created.json")
    other["payload"]["uid"] = "zZ9otherBookingUid0001"
    attendee = other["payload"]["attendees"][0]
    attendee.update(name="Amira Haddad", email="amira@example.org", phoneNumber="+905321234567")
    other["payload"]["responses"]["name"]["value"] = "Amira Haddad"
    other["payload"]["responses"]["email"]["value"] = "amira@example.org"
    other["payload"]["responses"]["attendeePhoneNumber"]["value"] = "+905321234567"
    amira = deliver_booking(consultant_client, other)
    assert amira["patient_id"] != booking["patient_id"]
    path = signed_link_path(consultant_client, amira["patient_id"])
    log_out(consultant_client)

    assert "Hello Amira," in consultant_client.get(path).get_data(as_text=True)
    token = path.removeprefix("/questionnaire/")
    assert submit(consultant_client, token, valid_answers()).status_code == 302
    with app.app_context():
        submission = only(QuestionnaireSubmission)
        assert submission.patient_profile_id == amira["patient_id"]
        assert submission.consultation_id == amira["consultation_id"]
        oliver = db.session.get(PatientProfile, booking["patient_id"])
        assert oliver.questionnaire_completed_at is None


# --- (e) Links that are not ours ------------------------------------------------------------


def _tamper(token: str) -> str:
    """Change the first character of the signature (all six of its bits are signature;
    the last character's low bits are base64 padding and may decode the same)."""
    head, _, signature = token.rpartition(".")
    first = "B" if signature[0] != "B" else "C"
    return f"{head}.{first}{signature[1:]}"


def test_a_tampered_signed_link_is_not_found_and_stores_nothing(app, consultant_client, booking):
    token = signed_link_path(consultant_client, booking["patient_id"]).removeprefix(
        "/questionnaire/"
    )
    log_out(consultant_client)
    client = consultant_client
    tampered = _tamper(token)
    assert tampered != token

    response = client.get(f"/questionnaire/{tampered}")

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert INVALID_LINK in page
    assert "Traceback" not in page and "Oliver" not in page
    data = valid_answers() | {"csrf_token": any_csrf_token(client)}
    assert client.post(f"/questionnaire/{tampered}", data=data).status_code == 404
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0
    assert client.get(f"/questionnaire/{token}").status_code == 200  # the real one still works


def test_a_link_signed_with_another_key_is_not_found(app, client, booking):
    forged = itsdangerous.URLSafeTimedSerializer("not our secret", salt="questionnaire-link")
    token = forged.dumps({"patient": booking["patient_id"]})

    response = client.get(f"/questionnaire/{token}")

    assert response.status_code == 404
    assert INVALID_LINK in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "garbage",
    ["a b", "..", "a.b", "abc", "x" * 101, "r8KqT2mW%3Cscript%3E", "%2E%2E"],
    ids=["space", "dots", "dotted", "too-short", "too-long", "markup", "encoded-dots"],
)
def test_a_link_that_cannot_be_a_booking_is_not_found(client, booking, garbage):
    response = client.get(f"/questionnaire/{garbage}")

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert INVALID_LINK in page
    assert "Traceback" not in page and "Oliver" not in page


# --- (f) An expired link --------------------------------------------------------------------


def token_signed_ago(app, monkeypatch, patient_id: int, age: timedelta) -> str:
    """A link for the patient as if signed ``age`` ago (itsdangerous stamps its tokens
    with ``int(time.time())`` of the ``time`` module it imported)."""
    signed_at = time.time() - age.total_seconds()
    with monkeypatch.context() as patched, app.app_context():
        patched.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: signed_at))
        return questionnaire_token(db.session.get(PatientProfile, patient_id))


def test_an_expired_link_answers_410_and_says_how_to_get_a_new_one(
    app, client, booking, monkeypatch
):
    token = token_signed_ago(app, monkeypatch, booking["patient_id"], timedelta(days=31))

    response = client.get(f"/questionnaire/{token}")

    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "This link has expired" in page
    assert f"{LINK_MAX_AGE.days} days" in page
    assert "To get a new one" in page
    assert "Traceback" not in page and "Oliver" not in page
    assert 'name="consent"' not in page
    data = valid_answers() | {"csrf_token": any_csrf_token(client)}
    assert client.post(f"/questionnaire/{token}", data=data).status_code == 410
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0
        assert only(PatientProfile).questionnaire_completed_at is None


def test_a_link_younger_than_thirty_days_still_works(app, client, booking, monkeypatch):
    token = token_signed_ago(app, monkeypatch, booking["patient_id"], timedelta(days=29))

    response = client.get(f"/questionnaire/{token}")

    assert response.status_code == 200
    assert "Hello Oliver," in response.get_data(as_text=True)


# --- (g) Sending the questionnaire again ----------------------------------------------------


def questionnaire_section(page: str) -> dict[str, dict[str, str]]:
    """The patient page's answers: {section: {question: answer html}}."""
    start = page.index('id="questionnaire-heading"')
    end = page.index('aria-labelledby="consultations-heading"')
    sections: dict[str, dict[str, str]] = {}
    for heading, body in re.findall(
        r"<h3>(.*?)</h3>(.*?)(?=<h3>|</section>)", page[start:end], re.S
    ):
        rows = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", body, re.S)
        sections[html.unescape(heading)] = {
            html.unescape(question): answer.strip() for question, answer in rows
        }
    return sections


def answer_text(answer_html: str) -> str:
    return html.unescape(re.sub(r"\s*<mark[^>]*>.*?</mark>", "", answer_html)).strip()


def is_marked_changed(answer_html: str) -> bool:
    return bool(re.search(r'<mark class="changed">\s*Changed\s*</mark>', answer_html))


MEDICAL_QUESTIONS = {
    "conditions": "Do you have any medical conditions?",
    "medications": "Do you take any medications or supplements?",
    "allergies": "Do you have any allergies?",
    "surgeries": "Have you had surgery before?",
    "recent_events": "Any illness, surgery or major stress in the last six months?",
}


def test_a_second_submission_updates_the_profile_keeps_history_and_marks_changes(
    app, consultant_client, booking
):
    patient_client = app.test_client()
    assert submit(patient_client, BOOKING_UID, valid_answers()).status_code == 302
    second = valid_answers(
        country="Ireland",
        allergies="yes",
        allergies_details="Penicillin",
        goals="",
        previous_treatments=None,
        treatment_results="",
    )

    assert submit(patient_client, BOOKING_UID, second).status_code == 302

    with app.app_context():
        assert (count(User), count(PatientProfile), count(QuestionnaireSubmission)) == (1, 1, 2)
        patient = only(PatientProfile)
        assert patient.location == "Ireland"
        answers = patient.questionnaire_answers
        assert answers["allergies"] == "yes"
        assert answers["allergies_details"] == "Penicillin"
        assert answers["goals"] == "A denser crown"  # left blank: the earlier answer stays
        assert answers["treatment_results"] == "Slowed it down for a year"
        first, latest = db.session.scalars(
            select(QuestionnaireSubmission).order_by(QuestionnaireSubmission.id)
        ).all()
        assert first.answers["allergies"] == "none"  # history is kept as sent
        assert first.answers["goals"] == "A denser crown"
        assert latest.answers["goals"] == ""
        assert {first.patient_profile_id, latest.patient_profile_id} == {patient.id}
        assert {first.consultation_id, latest.consultation_id} == {booking["consultation_id"]}
        assert latest.submitted_at >= first.submitted_at
        assert patient.questionnaire_completed_at == latest.submitted_at

    page = consultant_client.get(f"/patients/{booking['patient_id']}").get_data(as_text=True)
    assert "2 submissions" in page
    sections = questionnaire_section(page)
    assert list(sections) == ["Basic", "Medical", "Hair loss"]
    assert answer_text(sections["Basic"]["Country of residence"]) == "Ireland"
    assert answer_text(sections["Basic"]["Age range"]) == "36-45"
    assert answer_text(sections["Basic"]["Gender"]) == "Male"
    assert set(sections["Medical"]) == set(MEDICAL_QUESTIONS.values())
    medical = sections["Medical"]
    assert answer_text(medical[MEDICAL_QUESTIONS["allergies"]]) == "Yes: Penicillin"
    assert answer_text(medical[MEDICAL_QUESTIONS["medications"]]) == "Yes: Aspirin 75 mg daily"
    assert answer_text(medical[MEDICAL_QUESTIONS["conditions"]]) == "None"
    hair = sections["Hair loss"]
    assert answer_text(hair["Where are you losing hair?"]) == "Crown, Top"
    assert answer_text(hair["Your goals, and questions for the consultant"]) == "A denser crown"
    assert is_marked_changed(medical[MEDICAL_QUESTIONS["allergies"]])
    for name in ("conditions", "medications", "surgeries", "recent_events"):
        assert not is_marked_changed(medical[MEDICAL_QUESTIONS[name]]), name
    for section in ("Basic", "Hair loss"):  # the country changed, but it is not medical
        assert not any(is_marked_changed(answer) for answer in sections[section].values())


def test_changed_details_and_a_yes_turned_none_are_both_marked(app, consultant_client, booking):
    patient_client = app.test_client()
    first = valid_answers(surgeries="yes", surgeries_details="Knee, 2019")
    second = valid_answers(medications_details="Aspirin 100 mg daily", surgeries="none")
    assert submit(patient_client, BOOKING_UID, first).status_code == 302
    assert submit(patient_client, BOOKING_UID, second).status_code == 302

    page = consultant_client.get(f"/patients/{booking['patient_id']}").get_data(as_text=True)

    medical = questionnaire_section(page)["Medical"]
    assert is_marked_changed(medical[MEDICAL_QUESTIONS["medications"]])
    assert is_marked_changed(medical[MEDICAL_QUESTIONS["surgeries"]])
    assert answer_text(medical[MEDICAL_QUESTIONS["surgeries"]]) == "None"  # details cleared
    for name in ("conditions", "allergies", "recent_events"):
        assert not is_marked_changed(medical[MEDICAL_QUESTIONS[name]]), name


def test_changes_are_marked_against_the_previous_submission_only(app, consultant_client, booking):
    patient_client = app.test_client()
    for answers in (
        valid_answers(),
        valid_answers(allergies="yes", allergies_details="Latex"),
        valid_answers(allergies="yes", allergies_details="Latex"),
    ):
        assert submit(patient_client, BOOKING_UID, answers).status_code == 302

    page = consultant_client.get(f"/patients/{booking['patient_id']}").get_data(as_text=True)

    assert "3 submissions" in page
    medical = questionnaire_section(page)["Medical"]
    assert not any(is_marked_changed(answer) for answer in medical.values())
    with app.app_context():
        assert (count(PatientProfile), count(QuestionnaireSubmission)) == (1, 3)


def test_a_single_submission_marks_nothing_changed(app, consultant_client, booking):
    assert submit(app.test_client(), BOOKING_UID, valid_answers()).status_code == 302

    page = consultant_client.get(f"/patients/{booking['patient_id']}").get_data(as_text=True)

    assert "1 submission)" in page
    assert "Changed" not in page[page.index('id="questionnaire-heading"') :]


# --- (h) The dashboard learns of it ---------------------------------------------------------


def test_the_dashboard_poll_shows_the_questionnaire_completed(app, consultant_client):
    upcoming = fixture_json("booking_created.json")
    upcoming["payload"]["startTime"] = "2099-01-01T10:00:00Z"
    upcoming["payload"]["endTime"] = "2099-01-01T10:15:00Z"
    consultation_id = deliver_booking(consultant_client, upcoming)["consultation_id"]
    dashboard = consultant_client.get("/").get_data(as_text=True)
    match = re.search(r'<div id="poller"[^>]*?hx-get="([^"]+)"', dashboard, re.S)
    assert match, "the dashboard has no poller"
    poll = html.unescape(match.group(1))
    row = re.search(rf'<tr id="consultation-{consultation_id}".*?</tr>', dashboard, re.S)
    assert row and "Not yet" in row.group(0)
    assert consultant_client.get(poll, headers={"HX-Request": "true"}).status_code == 204

    assert submit(app.test_client(), BOOKING_UID, valid_answers()).status_code == 302
    response = consultant_client.get(poll, headers={"HX-Request": "true"})

    assert response.status_code == 200
    row = re.search(
        rf'<tr id="consultation-{consultation_id}".*?</tr>', response.get_data(as_text=True), re.S
    )
    assert row, "the poll does not send the patient's row"
    assert re.search(r'<span class="questionnaire done">\s*Completed\s*</span>', row.group(0))
    assert "Not yet" not in row.group(0)


# --- (i) The thank-you page -----------------------------------------------------------------


@pytest.mark.parametrize("booked_first", [True, False], ids=["known", "unknown"])
def test_the_thank_you_page_carries_no_patient_data(client, booked_first):
    if booked_first:
        deliver_booking(client)
    answers = valid_answers(**IDENTITY, country="Scotland", goals="Secret goal text")

    response = submit(client, BOOKING_UID, answers)

    assert response.status_code == 302
    assert response.headers["Location"] == THANKS
    thanks = client.get(response.headers["Location"])
    assert thanks.status_code == 200
    page = thanks.get_data(as_text=True)
    assert "Thank you" in page and "What happens next" in page
    for private in (
        "Oliver",
        "Bennett",
        "oliver.bennett",
        "7700",
        "Scotland",
        "Aspirin",
        "Secret goal",
        BOOKING_UID,
    ):
        assert private not in page, private


# --- (j) Logs -------------------------------------------------------------------------------


def test_no_log_line_carries_the_patients_identity_or_answers(app, client, caplog):
    caplog.set_level(logging.INFO)
    answers = valid_answers(**IDENTITY, country="Scotland", goals="Secret goal text")

    refused = submit(client, BOOKING_UID, answers | {"consent": ""})
    accepted = submit(client, BOOKING_UID, answers)
    deliver_booking(client)
    again = submit(client, BOOKING_UID, answers | {"medications_details": "Warfarin"})

    assert (refused.status_code, accepted.status_code, again.status_code) == (400, 302, 302)
    assert "questionnaire submission" in caplog.text  # the submissions were logged, by id
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    for private in (
        "Oliver",
        "Bennett",
        "oliver.bennett",
        "7700",
        "900123",
        "Scotland",
        "Aspirin",
        "Warfarin",
        "Secret goal",
        "Slowed it down",
        "36-45",
    ):
        assert private not in logged, private
