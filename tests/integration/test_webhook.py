"""The webhook's answers and what each stores: the table of the pipeline issue, row by row."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from tests.conftest import deliver, fixture_body, fixture_json, post_delivery
from webapp import create_app
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, User, WebhookEvent


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_booking_created_for_a_new_patient_creates_user_profile_and_consultation(app, client):
    response = post_delivery(client, fixture_body("booking_created.json"))

    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "processed"
    assert answer["patient_created"] is True
    with app.app_context():
        consultation = db.session.get(Consultation, answer["consultation_id"])
        assert consultation.cal_booking_uid == "r8KqT2mWv5XbN7pLc3YdZa"
        assert consultation.status == "scheduled"
        patient = consultation.patient
        assert patient.id == answer["patient_id"]
        assert patient.name == "Oliver Bennett"
        assert patient.email == "oliver.bennett@example.co.uk"
        assert patient.phone == "+447700900123"
        assert patient.location == "United Kingdom"
        assert patient.user.email == "oliver.bennett@example.co.uk"
        assert patient.user.phone_number == "+447700900123"
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        event = db.session.scalar(select(WebhookEvent))
        assert (event.status, event.trigger_event) == ("processed", "BOOKING_CREATED")
        assert event.body == fixture_body("booking_created.json")


def test_the_same_delivery_again_is_a_duplicate_and_stores_nothing_new(app, client):
    first = post_delivery(client, fixture_body("booking_created.json")).get_json()
    again = post_delivery(client, fixture_body("booking_created.json"))

    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate"
    assert again.get_json()["consultation_id"] == first["consultation_id"]
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        assert count(WebhookEvent) == 1


def test_a_resent_event_with_a_new_send_time_is_kept_and_marked_duplicate(app, client):
    post_delivery(client, fixture_body("booking_created.json"))
    resent = fixture_json("booking_created.json") | {"createdAt": "2026-11-02T09:15:00.000Z"}

    answer = post_delivery(client, resent).get_json()

    assert answer["status"] == "duplicate"
    with app.app_context():
        assert count(WebhookEvent) == 2
        assert (count(PatientProfile), count(Consultation)) == (1, 1)


def test_ping_is_acknowledged_and_stored(app, client):
    response = post_delivery(client, fixture_body("ping.json"))

    assert response.status_code == 200
    assert response.get_json()["status"] == "processed"
    with app.app_context():
        assert db.session.scalar(select(WebhookEvent.trigger_event)) == "PING"
        assert count(PatientProfile) == 0


def test_a_trigger_we_do_not_act_on_is_stored_and_ignored(app, client):
    document = fixture_json("booking_created.json") | {"triggerEvent": "BOOKING_PAYMENT_INITIATED"}

    response = post_delivery(client, document)

    assert response.status_code == 200
    assert response.get_json()["status"] == "ignored"
    with app.app_context():
        assert db.session.scalar(select(WebhookEvent.status)) == "ignored"
        assert count(PatientProfile) == 0


def test_an_unknown_trigger_is_stored_and_ignored(app, client):
    response = post_delivery(client, {"triggerEvent": "SOMETHING_NEW", "payload": {"x": 1}})

    assert response.status_code == 200
    assert response.get_json()["status"] == "ignored"


def test_missing_signature_is_refused_and_nothing_stored(app, client):
    response = post_delivery(client, fixture_body("booking_created.json"), secret=None)

    assert response.status_code == 401
    assert "signature" in response.get_json()["error"]
    with app.app_context():
        assert count(WebhookEvent) == 0


def test_wrong_signature_is_refused(app, client):
    response = post_delivery(client, fixture_body("booking_created.json"), secret="not-ours")

    assert response.status_code == 401
    with app.app_context():
        assert count(WebhookEvent) == 0


def test_no_secret_provided_is_refused_while_a_secret_is_set(app, client):
    response = post_delivery(
        client, fixture_body("booking_created.json"), signature="no-secret-provided"
    )

    assert response.status_code == 401


def test_a_signature_over_reserialised_json_is_refused(app, client):
    body = fixture_body("booking_created.json")
    from webapp.cal.signature import sign

    signature = sign(json.dumps(json.loads(body)).encode(), "test-webhook-secret")
    assert post_delivery(client, body, signature=signature).status_code == 401


def test_a_body_that_is_not_json_is_rejected_and_kept(app, client):
    response = post_delivery(client, b"this is not json")

    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]
    with app.app_context():
        event = db.session.scalar(select(WebhookEvent))
        assert event.status == "rejected"
        assert event.body == b"this is not json"


def test_json_without_a_booking_uid_is_rejected_naming_the_problem(app, client):
    document = fixture_json("booking_created.json")
    del document["payload"]["uid"]

    response = post_delivery(client, document)

    assert response.status_code == 400
    assert response.get_json()["error"] == "payload has no booking uid"
    with app.app_context():
        assert db.session.scalar(select(WebhookEvent.status)) == "rejected"
        assert count(PatientProfile) == 0


def test_json_without_an_attendee_email_is_rejected_naming_the_problem(app, client):
    document = fixture_json("booking_created.json")
    del document["payload"]["responses"]["email"]
    for attendee in document["payload"]["attendees"]:
        del attendee["email"]

    response = post_delivery(client, document)

    assert response.status_code == 400
    assert response.get_json()["error"] == "payload has no attendee email"


def test_an_unreadable_attendee_email_is_rejected(app, client):
    document = fixture_json("booking_created.json")
    document["payload"]["responses"]["email"]["value"] = "not an address"

    response = post_delivery(client, document)

    assert response.status_code == 400
    assert "not a valid address" in response.get_json()["error"]


def test_a_json_array_is_rejected(app, client):
    response = post_delivery(client, b"[1, 2]")

    assert response.status_code == 400
    assert response.get_json()["error"] == "body must be a JSON object"


def test_a_body_over_one_mebibyte_is_refused_before_anything_is_stored(app, client):
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'

    response = post_delivery(client, body)

    assert response.status_code == 413
    assert "1 MiB" in response.get_json()["error"]
    with app.app_context():
        assert count(WebhookEvent) == 0


def test_database_unreachable_keeps_the_delivery_in_the_spool_and_answers_202(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
            "CAL_WEBHOOK_SECRET": "test-webhook-secret",
            "CAL_SPOOL_DIR": str(tmp_path / "spool"),
        }
    )

    response = post_delivery(app.test_client(), fixture_body("booking_created.json"))

    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"
    assert "Traceback" not in response.get_data(as_text=True)
    assert len(list((tmp_path / "spool").iterdir())) == 1


def test_a_bug_while_applying_keeps_the_event_failed_without_a_partial_patient(
    app, client, monkeypatch
):
    def explode(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("webapp.cal.events.change_status", explode)

    response = post_delivery(client, fixture_body("booking_created.json"))

    assert response.status_code == 200
    assert response.get_json()["status"] == "failed"
    with app.app_context():
        event = db.session.scalar(select(WebhookEvent))
        assert event.status == "failed"
        assert event.error.startswith("RuntimeError while applying")
        assert "simulated bug" not in event.error  # messages can quote patient data
        assert (count(User), count(PatientProfile), count(Consultation)) == (0, 0, 0)


def test_the_legacy_envelope_still_creates_the_patient(app, client):
    response = post_delivery(client, fixture_body("booking_created_legacy_envelope.json"))

    assert response.status_code == 200
    with app.app_context():
        consultation = db.session.scalar(select(Consultation))
        assert consultation.cal_booking_uid == "cal_booking_12345"
        patient = consultation.patient
        assert (patient.name, patient.email) == ("John Doe", "john.doe@example.com")
        assert patient.phone == "+15551234567"
        assert patient.location == "New York, NY"
        assert consultation.attendee_timezone == "America/New_York"


def test_webhook_answers_carry_no_patient_details(app, client):
    answer = post_delivery(client, fixture_body("booking_created.json")).get_data(as_text=True)

    for detail in ("Oliver", "oliver", "7700900123", "United Kingdom"):
        assert detail not in answer


def test_get_on_the_webhook_is_a_json_405(client):
    response = client.get("/webhooks/cal")

    assert response.status_code == 405
    assert response.get_json()["status"] == 405


def test_overlong_free_text_is_cut_to_fit_and_an_overlong_uid_is_rejected(app, client):
    document = fixture_json("booking_created.json")
    document["payload"]["responses"]["name"]["value"] = "N" * 500
    document["payload"]["responses"]["country"]["value"] = "C" * 500

    assert post_delivery(client, document).get_json()["status"] == "processed"
    with app.app_context():
        patient = db.session.scalar(select(PatientProfile))
        assert patient.name == "N" * 200
        assert patient.location == "C" * 200

    document["payload"]["uid"] = "u" * 101
    response = post_delivery(client, document)
    assert response.status_code == 400
    assert response.get_json()["error"] == "booking uid is longer than 100 characters"


def test_what_a_new_booking_does_not_know_yet_is_stored_as_sql_null(app, client):
    answer = deliver(client, fixture_json("booking_created.json"))

    with app.app_context():
        answers_absent = db.session.scalar(
            select(PatientProfile.questionnaire_answers.is_(None)).where(
                PatientProfile.id == answer["patient_id"]
            )
        )
        attendance_absent = db.session.scalar(
            select(Consultation.attendance.is_(None)).where(
                Consultation.id == answer["consultation_id"]
            )
        )
    # Absent, not the JSON text "null": one absence reads one way in SQL too.
    assert answers_absent and attendance_absent
