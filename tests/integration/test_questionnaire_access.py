"""Every way to the questionnaire, and whose answers they become.

Cal.com's booking decides who a booking's patient is. A patient arrives by the uid of a
booking we have (greeted by first name; the answers go to that booking's patient), by the
uid of a booking whose delivery has not arrived (the answers are pending: no patient, no
name, shown nowhere, until the delivery names the patient), or by a signed link a
consultant copied (the only way in that shows earlier answers). Whatever is typed into the
form never moves a booking, changes another patient or shows anyone another's details.
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
from sqlalchemy import select, update

from tests.conftest import FIXTURE_BOOKING_UID as BOOKING_UID
from tests.conftest import (
    TYPED_IDENTITY,
    booking_document,
    count,
    csrf_token_from,
    deliver,
    fixture_body,
    fixture_json,
    send_steps,
    submit,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, QuestionnaireSubmission, User
from webapp.questionnaire.links import LINK_MAX_AGE, questionnaire_token
from webapp.questionnaire.questions import STEP_NAMES

INVALID_LINK = "This questionnaire link is not valid."
THANKS = "/questionnaire/thanks"
INVENTED_UID = "InventedUid0000000000"


def only(model):
    (row,) = db.session.scalars(select(model)).all()
    return row


def identity_inputs(page: str) -> set[str]:
    return {name for name in ("name", "email", "phone") if f'name="{name}"' in page}


def any_csrf_token(client) -> str:
    """A valid CSRF token for this client's session, from a page that carries one."""
    return csrf_token_from(client.get("/login").get_data(as_text=True))


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


def checked(page: str, name: str) -> set[str]:
    """The values of the ticked inputs called ``name`` on a rendered form."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return {re.search(r'value="([^"]*)"', i).group(1) for i in inputs if "checked" in i}


@pytest.fixture
def booking(client) -> dict:
    """The fixture booking has arrived; the webhook's answer (patient and consultation ids)."""
    return deliver(client, fixture_body("booking_created.json"))


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


def test_a_booking_uid_never_shows_stored_answers_or_contact_details(client, booking):
    assert submit(client, BOOKING_UID, valid_answers(country="Ireland")).status_code == 302

    page = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)

    assert "Hello Oliver," in page
    for stored in ("Ireland", "Aspirin", "Slowed it down", "A denser crown", "Bennett", "7700"):
        assert stored not in page, stored
    assert "oliver.bennett" not in page.lower()
    for name in ("age_range", "gender", "medications", "hair_loss_areas", "consent"):
        assert checked(page, name) == set(), name


def test_cal_com_redirect_keeps_only_the_booking_uid(client, booking):
    response = client.get(
        f"/questionnaire?uid={BOOKING_UID}&attendeeName=Oliver+Bennett&phone=%2B447700900123"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/questionnaire/{BOOKING_UID}"
    assert client.get("/questionnaire?attendeeName=Oliver").status_code == 404


# --- (b) A booking whose delivery has not arrived yet ---------------------------------------


def test_an_unknown_booking_asks_who_is_answering(client):
    response = client.get(f"/questionnaire/{BOOKING_UID}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "About you" in page
    assert identity_inputs(page) == {"name", "email", "phone"}
    assert "Hello" not in page


def test_answers_before_the_booking_wait_pending_until_its_delivery_names_the_patient(app, client):
    typed = {
        "name": "  Oliver Bennett ",
        "email": " Oliver.Bennett@Example.co.uk ",
        "phone": "+44 7700 900123",
    }

    response = submit(client, BOOKING_UID, valid_answers(country="Scotland", **typed))

    assert response.status_code == 302
    assert response.headers["Location"] == THANKS
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (0, 0, 0)
        submission = only(QuestionnaireSubmission)
        assert submission.patient_profile_id is None
        assert submission.consultation_id is None
        assert submission.cal_booking_uid == BOOKING_UID
        assert submission.typed_name == "Oliver Bennett"
        assert submission.typed_email == "oliver.bennett@example.co.uk"
        assert submission.typed_phone == "+447700900123"
    # Coming back before the booking arrives: anyone could have invented this uid, so the
    # page greets no one and asks again who is answering.
    again = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)
    assert "Oliver" not in again and "email" in identity_inputs(again)

    answer = deliver(client, booking_document())

    assert answer["patient_created"] is True
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        patient = only(PatientProfile)
        submission = only(QuestionnaireSubmission)
        assert patient.id == answer["patient_id"]
        assert submission.patient_profile_id == patient.id
        assert submission.consultation_id == answer["consultation_id"]
        assert patient.questionnaire_completed_at == submission.submitted_at
        assert patient.questionnaire_answers == submission.answers
        assert (patient.location, patient.age_range) == ("Scotland", "36-45")
    greeted = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)
    assert "Hello Oliver," in greeted and identity_inputs(greeted) == set()


def test_answers_under_another_email_go_to_the_bookings_patient_and_the_page_says_so(
    app, consultant_client
):
    typed = {"name": "Olly B", "email": "olly.private@example.org", "phone": "+44 7700 900999"}
    assert submit(app.test_client(), BOOKING_UID, valid_answers(**typed)).status_code == 302

    answer = deliver(consultant_client, booking_document(phone=None))

    with app.app_context():
        assert (count(User), count(PatientProfile)) == (1, 1)
        patient = only(PatientProfile)
        assert patient.id == answer["patient_id"]
        assert only(QuestionnaireSubmission).patient_profile_id == patient.id
        assert patient.questionnaire_completed_at is not None
        # What was typed never fills or changes the patient's contact details.
        assert (patient.name, patient.email, patient.phone) == (
            "Oliver Bennett",
            "oliver.bennett@example.co.uk",
            None,
        )
        assert (patient.user.name, patient.user.email, patient.user.phone_number) == (
            "Oliver Bennett",
            "oliver.bennett@example.co.uk",
            None,
        )
    page = consultant_client.get(f"/patients/{answer['patient_id']}").get_data(as_text=True)
    note = re.search(r'<aside class="[^"]*typed-email.*?</aside>', page, re.S)
    assert note, "the patient page does not say another email was typed"
    assert "olly.private@example.org" in note.group(0)
    assert "+447700900999" in note.group(0)


def test_answers_typed_with_the_bookings_own_email_raise_no_note(app, consultant_client):
    answers = valid_answers(**TYPED_IDENTITY)
    assert submit(app.test_client(), BOOKING_UID, answers).status_code == 302

    answer = deliver(consultant_client, booking_document())

    page = consultant_client.get(f"/patients/{answer['patient_id']}").get_data(as_text=True)
    assert "1 submission)" in page
    assert "typed-email" not in page


def test_pending_answers_of_a_replaced_booking_attach_when_the_reschedule_arrives(app, client):
    assert submit(client, BOOKING_UID, valid_answers(**TYPED_IDENTITY)).status_code == 302

    answer = deliver(client, fixture_body("booking_rescheduled.json"))

    with app.app_context():
        replaced = db.session.scalar(
            select(Consultation).where(Consultation.cal_booking_uid == BOOKING_UID)
        )
        submission = only(QuestionnaireSubmission)
        assert submission.consultation_id == replaced.id
        assert submission.patient_profile_id == answer["patient_id"]
        assert only(PatientProfile).questionnaire_completed_at == submission.submitted_at


def test_several_pending_answers_apply_in_the_order_they_were_sent(app, client):
    first = valid_answers(**TYPED_IDENTITY, allergies="yes", allergies_details="Latex")
    latest = valid_answers(**TYPED_IDENTITY, country="Wales")
    assert submit(client, BOOKING_UID, first).status_code == 302
    assert submit(client, BOOKING_UID, latest).status_code == 302

    deliver(client, booking_document())

    with app.app_context():
        patient = only(PatientProfile)
        assert count(QuestionnaireSubmission) == 2
        assert patient.location == "Wales"
        assert patient.questionnaire_answers["allergies"] == "none"
        assert patient.questionnaire_completed_at == max(
            db.session.scalars(select(QuestionnaireSubmission.submitted_at))
        )


# --- (c) Either order, one patient ---------------------------------------------------------


@pytest.mark.parametrize(
    "order",
    ["webhook-then-questionnaire", "questionnaire-then-webhook", "form-opened-before-webhook"],
)
def test_webhook_and_questionnaire_in_any_order_end_with_one_patient(app, client, order):
    answers = valid_answers(**TYPED_IDENTITY)
    if order == "webhook-then-questionnaire":
        deliver(client, booking_document())
        assert submit(client, BOOKING_UID, answers).status_code == 302
    elif order == "questionnaire-then-webhook":
        assert submit(client, BOOKING_UID, answers).status_code == 302
        deliver(client, booking_document())
    else:  # the form asked who is answering; the booking arrived before it was sent
        page = client.get(f"/questionnaire/{BOOKING_UID}").get_data(as_text=True)
        assert "About you" in page
        deliver(client, booking_document())
        response = send_steps(client, BOOKING_UID, answers, csrf_token_from(page))
        assert response.status_code == 302
        assert response.headers["Location"] == THANKS

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
    amira = deliver(consultant_client, other)
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


def test_only_a_signed_link_shows_the_patients_earlier_answers(app, consultant_client, booking):
    answers = valid_answers(country="Ireland", gender="other", hair_loss_areas=["temples"])
    assert submit(app.test_client(), BOOKING_UID, answers).status_code == 302
    path = signed_link_path(consultant_client, booking["patient_id"])
    log_out(consultant_client)

    def every_step(path: str) -> str:
        return "".join(
            consultant_client.get(f"{path}?step={step}").get_data(as_text=True)
            for step in STEP_NAMES
        )

    signed = every_step(path)
    by_uid = every_step(f"/questionnaire/{BOOKING_UID}")

    assert 'value="Ireland"' in signed
    assert "Aspirin 75 mg daily" in signed
    assert checked(signed, "gender") == {"other"}
    assert checked(signed, "hair_loss_areas") == {"temples"}
    assert checked(signed, "consent") == set()  # consent is given anew each time
    assert "Ireland" not in by_uid and "Aspirin" not in by_uid
    assert checked(by_uid, "gender") == set()


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
    consultation_id = deliver(consultant_client, upcoming)["consultation_id"]
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
        deliver(client, booking_document())
    answers = valid_answers(**TYPED_IDENTITY, country="Scotland", goals="Secret goal text")

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
    answers = valid_answers(**TYPED_IDENTITY, country="Scotland", goals="Secret goal text")

    refused = submit(client, BOOKING_UID, answers | {"consent": ""})
    accepted = submit(client, BOOKING_UID, answers)
    deliver(client, booking_document())
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


# --- (k) Typing someone else's email takes nothing of theirs --------------------------------

VICTIM = {"email": "vera.victim@example.org", "name": "Vera Victim", "phone": None}
ATTACKER_TYPES = {
    "name": "Vera Victim",
    "email": "vera.victim@example.org",
    "phone": "+44 7700 900666",
}


def victim_booking(client) -> dict:
    """An existing patient with no phone and no location on record."""
    return deliver(client, booking_document("VictimBookingUid00001", **VICTIM, country=None))


def assert_victim_untouched(victim: dict) -> None:
    patient = db.session.get(PatientProfile, victim["patient_id"])
    assert (patient.name, patient.email, patient.phone) == (
        "Vera Victim",
        "vera.victim@example.org",
        None,
    )
    assert patient.user.phone_number is None
    assert patient.location is None
    assert patient.questionnaire_answers is None
    assert patient.questionnaire_completed_at is None
    assert [c.cal_booking_uid for c in patient.consultations] == ["VictimBookingUid00001"]


def test_an_attackers_own_booking_never_lands_on_the_patient_whose_email_they_typed(
    app, consultant_client
):
    victim = victim_booking(consultant_client)
    attacker = app.test_client()
    uid = "AttackerBookingUid001"
    answers = valid_answers(country="Mars", **ATTACKER_TYPES)
    assert submit(attacker, uid, answers).status_code == 302

    answer = deliver(
        consultant_client,
        booking_document(
            uid, email="mallory@example.com", name="Mallory Smith", phone=None, country=None
        ),
    )

    assert answer["patient_created"] is True
    assert answer["patient_id"] != victim["patient_id"]
    with app.app_context():
        assert (count(User), count(PatientProfile)) == (2, 2)
        assert_victim_untouched(victim)
        mallory = db.session.get(PatientProfile, answer["patient_id"])
        assert mallory.email == "mallory@example.com"
        assert [c.cal_booking_uid for c in mallory.consultations] == [uid]
        assert mallory.questionnaire_completed_at is not None
        assert mallory.location == "Mars"  # her own answer, on her own profile
        assert only(QuestionnaireSubmission).patient_profile_id == mallory.id
    page = attacker.get(f"/questionnaire/{uid}").get_data(as_text=True)
    assert "Hello Mallory," in page and "Vera" not in page
    victim_page = consultant_client.get(f"/patients/{victim['patient_id']}").get_data(as_text=True)
    assert "The patient has not sent the questionnaire yet." in victim_page


def test_an_invented_uid_changes_no_existing_patient_and_shows_on_no_page(app, consultant_client):
    victim = victim_booking(consultant_client)
    attacker = app.test_client()
    answers = valid_answers(country="Mars", allergies="yes", allergies_details="Everything")

    response = submit(attacker, INVENTED_UID, answers | ATTACKER_TYPES)

    assert response.status_code == 302
    with app.app_context():
        assert_victim_untouched(victim)
        assert only(QuestionnaireSubmission).patient_profile_id is None
    page = attacker.get(f"/questionnaire/{INVENTED_UID}").get_data(as_text=True)
    assert "Vera" not in page and "Hello" not in page
    victim_page = consultant_client.get(f"/patients/{victim['patient_id']}").get_data(as_text=True)
    assert "The patient has not sent the questionnaire yet." in victim_page
    assert "submission" not in victim_page and "Changed" not in victim_page
    assert "Everything" not in victim_page


def test_an_invented_uid_adds_no_submission_to_a_patient_who_answered(app, consultant_client):
    victim = victim_booking(consultant_client)
    assert submit(app.test_client(), "VictimBookingUid00001", valid_answers()).status_code == 302
    changed = valid_answers(allergies="yes", allergies_details="Everything", country="Mars")

    assert submit(app.test_client(), INVENTED_UID, changed | ATTACKER_TYPES).status_code == 302

    with app.app_context():
        patient = db.session.get(PatientProfile, victim["patient_id"])
        assert patient.phone is None
        assert patient.location == "United Kingdom"  # her own answer, not the invented one
        assert patient.questionnaire_answers["allergies"] == "none"
    page = consultant_client.get(f"/patients/{victim['patient_id']}").get_data(as_text=True)
    assert "1 submission)" in page
    assert "Changed" not in page[page.index('id="questionnaire-heading"') :]
    assert "Everything" not in page


def test_answers_planted_for_a_future_patient_never_become_theirs(app, consultant_client):
    planted = {"name": "Fiona Future", "email": "fiona@example.com", "phone": ""}
    assert submit(app.test_client(), INVENTED_UID, valid_answers(**planted)).status_code == 302
    with app.app_context():
        assert (count(User), count(PatientProfile)) == (0, 0)

    answer = deliver(
        consultant_client,
        booking_document("FionaRealBookingUid01", email="fiona@example.com", name="Fiona Future"),
    )

    assert answer["patient_created"] is True
    with app.app_context():
        fiona = db.session.get(PatientProfile, answer["patient_id"])
        assert fiona.questionnaire_answers is None
        assert fiona.questionnaire_completed_at is None
        assert only(QuestionnaireSubmission).patient_profile_id is None
    page = consultant_client.get(f"/patients/{answer['patient_id']}").get_data(as_text=True)
    assert "The patient has not sent the questionnaire yet." in page
    assert "Aspirin" not in page


# --- (l) Pending answers Cal.com never confirms ---------------------------------------------


def sent_days_ago(submission_id: int, days: int) -> None:
    db.session.execute(
        update(QuestionnaireSubmission)
        .where(QuestionnaireSubmission.id == submission_id)
        .values(submitted_at=datetime.now(UTC) - timedelta(days=days))
    )
    db.session.commit()


def test_purge_pending_deletes_unconfirmed_answers_older_than_30_days(app, client, runner):
    answers = valid_answers(**TYPED_IDENTITY)
    for uid in ("NeverConfirmedUid0001", "RecentPendingUid00001", BOOKING_UID):
        assert submit(client, uid, answers).status_code == 302
    deliver(client, booking_document())  # confirms the third
    with app.app_context():
        stale, recent, confirmed = db.session.scalars(
            select(QuestionnaireSubmission.id).order_by(QuestionnaireSubmission.id)
        ).all()
        sent_days_ago(stale, 31)
        sent_days_ago(recent, 29)
        sent_days_ago(confirmed, 45)

    result = runner.invoke(args=["questionnaire", "purge-pending"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"deleted 1 pending questionnaire submissions: {stale}",
        "deleted 0 questionnaire drafts older than 30 days",
    ]
    with app.app_context():
        kept = set(db.session.scalars(select(QuestionnaireSubmission.id)))
        assert kept == {recent, confirmed}
        assert only(PatientProfile).questionnaire_completed_at is not None
    again = runner.invoke(args=["questionnaire", "purge-pending"])
    assert again.output.splitlines()[0] == "deleted 0 pending questionnaire submissions"
