"""Erasing a patient: every personal column emptied, the clinic's books kept, and erasure
that lasts (later deliveries, reconcile, links, new bookings), on both databases."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import JSON, LargeBinary, String, Text, func, select

from tests.cal_api_fake import API_KEY, FakeCalApi, example_bookings, serving
from tests.conftest import (
    CONSULTANT_PASSWORD,
    booking_document,
    csrf_token_from,
    deliver,
    fixture_json,
    log_in,
    post_delivery,
)
from webapp.auth.consultants import create_consultant
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Consultant,
    ConsultantRole,
    Consultation,
    ConsultationStatus,
    PatientMerge,
    PatientNote,
    PatientPhoto,
    PatientProfile,
    QuestionnaireDraft,
    QuestionnaireSubmission,
    User,
    WebhookEvent,
)
from webapp.privacy.erasure import erase_patient
from webapp.privacy.personal_data import COLUMNS, ERASED_BODY, Personal
from webapp.privacy.retention import add_years
from webapp.questionnaire.links import questionnaire_token
from webapp.treatment.assessment import AssessmentDraft, record_assessment
from webapp.treatment.links import quote_token
from webapp.treatment.quotes import make_quote, send_quote
from webapp.treatment.responses import accept_quote, ask_about_quote

ADMIN_EMAIL = "admin@clinic.example"
# What the seeded patient is made of: erasure must leave none of it anywhere.
CANARY = "Zyxwv"
NAME = f"Oliver {CANARY}"
EMAIL = f"oliver.{CANARY.lower()}@example.co.uk"
PHONE_DIGITS = "7700900123"
UID = "r8KqT2mWv5XbN7pLc3YdZa"


@pytest.fixture
def admin_client(app, client):
    with app.app_context():
        create_consultant(
            ADMIN_EMAIL, "Ayla Admin", CONSULTANT_PASSWORD, "Europe/Istanbul", ConsultantRole.ADMIN
        )
        db.session.commit()
    assert log_in(client, ADMIN_EMAIL).status_code == 302
    return client


def booked(client, uid: str = UID, start: datetime | None = None, **changes: Any) -> dict[str, Any]:
    """The fixture's booking for the canary patient (at ``start`` when given, for 15
    minutes), delivered; returns the answer."""
    document = booking_document(uid, email=EMAIL, name=NAME, **changes)
    document["payload"]["title"] = f"Hair Transplant Consultation between Dr. Selin and {NAME}"
    if start is not None:
        document["payload"]["startTime"] = start.isoformat()
        document["payload"]["endTime"] = (start + timedelta(minutes=15)).isoformat()
    return deliver(client, document)


def erase_by_form(client, patient_id: int, confirmation: str | None = None):
    page = client.get(f"/patients/{patient_id}/erase")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        f"/patients/{patient_id}/erase",
        data={"csrf_token": token, "confirmation": confirmation or str(patient_id)},
    )


def test_every_column_of_every_table_is_classified(app):
    """A new column must say whether it holds a patient's data (and erasure then empties
    it) or why it stays: this fails until it does."""
    columns = {
        (table.name, column.name)
        for table in db.metadata.tables.values()
        for column in table.columns
    }
    classified = {(table, column) for table, kinds in COLUMNS.items() for column in kinds}

    assert sorted(columns - classified) == [], "classify these in webapp/privacy/personal_data.py"
    assert sorted(classified - columns) == [], "these classified columns no longer exist"


def canary_value(column) -> Any:
    """Something of the patient's for a column of this type."""
    if isinstance(column.type, LargeBinary):
        return f"{CANARY} bytes".encode()
    if isinstance(column.type, JSON):
        return {"said": f"{CANARY} said so"}
    if isinstance(column.type, String | Text):
        return f"{CANARY} {column.name}"[: column.type.length or 100]
    raise AssertionError(f"no canary for {column}")


def fill_personal_columns(record) -> None:
    """Give every personal column of ``record`` a value of the patient's, where the seed
    left it empty (the derived ones are left to their own code)."""
    table = record.__table__
    for name, kind in COLUMNS[table.name].items():
        if isinstance(kind, Personal) and not kind.how and getattr(record, name) in (None, "", {}):
            setattr(record, name, canary_value(table.c[name]))


def seed_everything(client, consultant_id: int) -> dict[str, list[int]]:
    """A patient with data in every personal column of every table; returns the rows'
    ids by table."""
    answer = booked(client, answers={"goals": f"{CANARY}'s own words"})
    patient_id = answer["patient_id"]
    rows: dict[str, list[int]] = {}
    patient = db.session.get(PatientProfile, patient_id)
    consultation = db.session.get(Consultation, answer["consultation_id"])
    # A second seat of a seated booking the patient holds, and their merged-away record.
    seat = Consultation(
        patient=patient,
        cal_booking_uid="SeatedBooking0001",
        seat_key=EMAIL,
        start_time=datetime.now(UTC) - timedelta(days=40),
        title=f"Group call between Dr. Selin and {NAME}",
        status=ConsultationStatus.CANCELLED,
        cancellation_reason=f"{CANARY} could not come",
    )
    merged = PatientProfile(
        user=User(email=f"old.{EMAIL}", name=NAME), name=NAME, email=f"old.{EMAIL}",
        phone="+447700900123", merged_into=patient,
    )  # fmt: skip
    other = PatientProfile(user=User(email="someone.else@example.com"), name="Someone Else")
    db.session.add_all([seat, merged, other])
    db.session.flush()
    patient.possible_duplicate_of_id = other.id
    other.possible_duplicate_of_id = patient.id
    submission = QuestionnaireSubmission(
        patient_profile_id=patient_id, consultation_id=consultation.id, cal_booking_uid=UID,
        answers={"goals": f"{CANARY}'s goals"}, typed_name=NAME,
    )  # fmt: skip
    pending = QuestionnaireSubmission(
        cal_booking_uid=UID, answers={"goals": f"{CANARY} pending"}, typed_email=EMAIL
    )
    draft = QuestionnaireDraft(
        browser_key_hash="a" * 64, link_key=f"patient:{patient_id}", answers={"city": CANARY}
    )
    booking_draft = QuestionnaireDraft(
        browser_key_hash="b" * 64, link_key=f"booking:{UID}", answers={"city": CANARY}
    )
    db.session.add_all([submission, pending, draft, booking_draft])
    db.session.flush()
    photos = [
        PatientPhoto(patient_profile_id=patient_id, questionnaire_submission_id=submission.id,
                     view="front", content=b"", thumbnail=b"", width=2, height=2),
        PatientPhoto(draft_id=draft.id, view="top", content=b"", thumbnail=b"", width=2, height=2),
        PatientPhoto(cal_booking_uid=UID, view="crown", content=b"", thumbnail=b"", width=2,
                     height=2),
    ]  # fmt: skip
    note = PatientNote(patient_profile_id=patient_id, consultant_id=consultant_id, body="")
    merge = PatientMerge(
        survivor_id=patient_id, merged_id=merged.id, consultant_id=consultant_id, snapshot={}
    )
    db.session.add_all([*photos, note, merge])
    # The consultation's outcome: an assessment, a quote sent, accepted and asked about.
    who = db.session.get(Consultant, consultant_id)
    assessment = record_assessment(
        patient,
        AssessmentDraft("norwood_4", "good", 80, 1600, 2200, "fue", "not_suitable",
                        f"{CANARY} smokes", f"{CANARY} should wait"),
        who,
    )  # fmt: skip
    quote = make_quote(patient, who, "en")
    send_quote(quote, who)
    signed = accept_quote(quote, NAME, True)
    asked = ask_about_quote(quote, f"Can {CANARY} bring a friend?")
    db.session.flush()
    for record in (patient, patient.user, merged, merged.user, consultation, seat, submission,
                   pending, draft, booking_draft, *photos, note, merge, assessment, quote,
                   signed, asked):  # fmt: skip
        fill_personal_columns(record)
        rows.setdefault(record.__table__.name, []).append(record.id)
    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.booking_uid == UID))
    rows["webhook_events"] = [event.id]
    db.session.commit()
    return rows


def personal_values(table_name: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Every personal column of these rows, read back from the database."""
    table = db.metadata.tables[table_name]
    names = [name for name, kind in COLUMNS[table_name].items() if isinstance(kind, Personal)]
    rows = db.session.execute(
        select(table.c.id, *(table.c[n] for n in names)).where(table.c.id.in_(ids))
    )
    return {row.id: {name: getattr(row, name) for name in names} for row in rows}


def holds_the_patient(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bytes):
        text = value.decode(errors="replace")
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return CANARY.lower() in text.lower() or PHONE_DIGITS in text


def test_erasure_empties_every_personal_column_and_leaves_the_patient_nowhere(
    app, admin_client, consultant
):
    with app.app_context():
        rows = seed_everything(admin_client, consultant)
        patient_id = rows["patient_profiles"][0]
        for table, ids in rows.items():
            for row_id, values in personal_values(table, ids).items():
                for column, value in values.items():
                    if COLUMNS[table][column].how == "":
                        assert value not in (None, "", {}, b""), (
                            f"{table}.{column} of {row_id} seeded"
                        )

    response = erase_by_form(admin_client, patient_id)

    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        for table, ids in rows.items():
            for row_id, values in personal_values(table, ids).items():
                for column, value in values.items():
                    kind = COLUMNS[table][column]
                    assert not holds_the_patient(value), f"{table}.{column} of row {row_id}"
                    if not kind.how:
                        assert value == kind.erased, f"{table}.{column} of row {row_id}"
        assert db.session.scalar(select(func.count()).select_from(PatientPhoto)) == 0
        assert db.session.scalar(select(func.count()).select_from(QuestionnaireDraft)) == 0
        # Nowhere in the database: every text, JSON and binary column of every table.
        for table in db.metadata.tables.values():
            readable = [
                c for c in table.columns if isinstance(c.type, String | Text | JSON | LargeBinary)
            ]
            for row in db.session.execute(select(*readable)) if readable else []:
                for column, value in zip(readable, row, strict=True):
                    assert not holds_the_patient(value), f"{table.name}.{column.name}: {value!r}"


def test_erasure_keeps_the_books_and_names_the_patient_erased_everywhere(
    app, admin_client, consultant
):
    start = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)  # on Past
    answer = booked(admin_client, start=start)
    patient_id = answer["patient_id"]

    response = erase_by_form(admin_client, patient_id)

    assert response.status_code == 302
    with app.app_context():
        consultation = db.session.get(Consultation, answer["consultation_id"])
        assert consultation.status == "scheduled"
        assert consultation.start_time == start
        assert consultation.title == "Hair Transplant Consultation"
        assert consultation.organizer_name == "Dr. Selin Aydin"
        patient = db.session.get(PatientProfile, patient_id)
        assert patient.erased_at is not None
        erased = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.erased"))
        assert erased.patient_profile_id == patient_id
        assert erased.consultant_id is not None
        assert not holds_the_patient(erased.details)
        stored = db.session.scalar(select(WebhookEvent))
        assert stored.body == ERASED_BODY
        assert stored.status == "processed" and len(stored.body_sha256) == 64
    label = f"Erased patient #{patient_id}"
    page = admin_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert label in page and "Oliver" not in page
    dashboard = admin_client.get("/?tab=past").get_data(as_text=True)
    assert label in dashboard
    assert "Oliver" not in admin_client.get("/?q=oliver").get_data(as_text=True)
    assert label in admin_client.get("/?q=erased").get_data(as_text=True)


def test_erasing_twice_is_harmless_and_asks_for_the_typed_number(app, admin_client):
    patient_id = booked(admin_client)["patient_id"]

    wrong = erase_by_form(admin_client, patient_id, confirmation="ERASE")
    assert wrong.status_code == 400
    assert "Type the patient's number" in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PatientProfile, patient_id).erased_at is None

    assert erase_by_form(admin_client, patient_id).status_code == 302
    again = admin_client.post(
        f"/patients/{patient_id}/erase",
        data={
            "csrf_token": csrf_token_from(
                admin_client.get(f"/patients/{patient_id}").get_data(as_text=True)
            ),
            "confirmation": str(patient_id),
        },
    )
    assert again.status_code == 302
    with app.app_context():
        erasures = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "patient.erased")
        )
        assert erasures == 1


def test_only_admins_erase_and_only_with_a_csrf_token(app, client, consultant):
    assert log_in(client).status_code == 302
    patient_id = booked(client)["patient_id"]
    token = csrf_token_from(client.get(f"/patients/{patient_id}").get_data(as_text=True))

    assert client.get(f"/patients/{patient_id}/erase").status_code == 403
    refused = client.post(
        f"/patients/{patient_id}/erase", data={"csrf_token": token, "confirmation": str(patient_id)}
    )
    assert refused.status_code == 403
    assert "Erase patient" not in client.get(f"/patients/{patient_id}").get_data(as_text=True)
    with app.app_context():
        create_consultant(ADMIN_EMAIL, "Ayla", CONSULTANT_PASSWORD, "UTC", ConsultantRole.ADMIN)
        db.session.commit()
    client.post("/logout", data={"csrf_token": token})
    assert log_in(client, ADMIN_EMAIL).status_code == 302
    no_token = client.post(f"/patients/{patient_id}/erase", data={"confirmation": str(patient_id)})
    assert no_token.status_code == 400
    assert client.get("/patients/999999/erase").status_code == 404
    with app.app_context():
        assert db.session.get(PatientProfile, patient_id).erased_at is None


def test_the_law_keeps_a_record_seen_recently(app, admin_client):
    answer = booked(admin_client)
    app.config["MEDICAL_RECORDS_MIN_YEARS"] = 10
    seen = datetime.now(UTC) - timedelta(days=30)
    with app.app_context():
        consultation = db.session.get(Consultation, answer["consultation_id"])
        consultation.start_time, consultation.status = seen, ConsultationStatus.COMPLETED
        db.session.commit()
    until = f"{add_years(seen, 10):%d %b %Y}"

    page = admin_client.get(f"/patients/{answer['patient_id']}/erase").get_data(as_text=True)
    refused = erase_by_form(admin_client, answer["patient_id"])

    assert until in page and 'name="confirmation"' not in page
    assert refused.status_code == 409
    assert until in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PatientProfile, answer["patient_id"]).name == NAME
        # A cancelled booking is no visit: the record may go.
        db.session.get(Consultation, answer["consultation_id"]).status = "cancelled"
        db.session.commit()
    assert erase_by_form(admin_client, answer["patient_id"]).status_code == 302


def test_a_later_delivery_updates_only_time_and_status_and_keeps_no_body(app, admin_client):
    patient_id = booked(admin_client)["patient_id"]
    assert erase_by_form(admin_client, patient_id).status_code == 302

    cancelled = fixture_json("booking_cancelled.json")
    cancelled["payload"]["uid"] = UID
    for attendee in cancelled["payload"].get("attendees", []):
        attendee.update(email=EMAIL, name=NAME)
    cancelled["payload"]["cancellationReason"] = f"{CANARY} changed his mind"
    answer = deliver(admin_client, cancelled)

    with app.app_context():
        patient = db.session.get(PatientProfile, patient_id)
        assert answer["patient_id"] == patient_id
        assert (patient.name, patient.email, patient.phone) == (None, None, None)
        assert (patient.user.name, patient.user.email, patient.user.phone_number) == (None,) * 3
        consultation = db.session.get(Consultation, answer["consultation_id"])
        assert consultation.status == "cancelled"
        assert consultation.cancellation_reason is None
        assert consultation.attendee_email is None and consultation.attendee_phone is None
        event = db.session.get(WebhookEvent, answer["event_id"])
        assert event.body == ERASED_BODY and event.status == "processed"


def test_a_new_booking_by_the_same_email_or_phone_makes_a_new_patient(app, admin_client):
    erased_id = booked(admin_client)["patient_id"]
    assert erase_by_form(admin_client, erased_id).status_code == 302

    again = booked(admin_client, uid="NewBookingAfterErasure1", booking_id=90999)
    by_phone = deliver(
        admin_client,
        booking_document("NewBookingByPhone00001", email="other@example.com", name="Other",
                         phone="+44 7700 900123", booking_id=91000),
    )  # fmt: skip

    assert again["patient_created"] is True and again["patient_id"] != erased_id
    with app.app_context():
        fresh = db.session.get(PatientProfile, again["patient_id"])
        assert fresh.possible_duplicate_of_id is None
        assert by_phone["patient_id"] != erased_id
        assert db.session.get(PatientProfile, erased_id).name is None


def test_questionnaire_links_of_an_erased_patient_stop_working(app, admin_client):
    patient_id = booked(admin_client)["patient_id"]
    with app.test_request_context():
        signed = questionnaire_token(db.session.get(PatientProfile, patient_id))
    assert admin_client.get(f"/questionnaire/{signed}").status_code == 200

    assert erase_by_form(admin_client, patient_id).status_code == 302

    assert admin_client.get(f"/questionnaire/{signed}").status_code == 404
    assert admin_client.get(f"/questionnaire/{UID}").status_code == 404
    assert admin_client.post(f"/questionnaire/{UID}", data={}).status_code in (400, 404)


def test_quote_links_of_an_erased_patient_stop_working_and_no_new_outcome_is_recorded(
    app, admin_client, consultant
):
    patient_id = booked(admin_client)["patient_id"]
    with app.test_request_context():
        patient = db.session.get(PatientProfile, patient_id)
        who = db.session.get(Consultant, consultant)
        quote = make_quote(patient, who, "en")
        send_quote(quote, who)
        db.session.commit()
        link = quote_token(quote)
    assert admin_client.get(f"/quote/{link}").status_code == 200

    assert erase_by_form(admin_client, patient_id).status_code == 302

    assert admin_client.get(f"/quote/{link}").status_code == 404
    page = admin_client.get(f"/patients/{patient_id}/assessment")
    assert page.status_code == 409
    assert "erased" in page.get_data(as_text=True)


def test_merged_away_records_are_erased_with_their_survivor_and_cannot_be_erased_alone(
    app, admin_client
):
    survivor_id = booked(admin_client)["patient_id"]
    with app.app_context():
        merged = PatientProfile(
            user=User(email="old@example.com", name="Old Name"),
            name="Old Name",
            email="old@example.com",
            merged_into_id=survivor_id,
        )
        db.session.add(merged)
        db.session.commit()
        merged_id = merged.id

    assert erase_by_form(admin_client, merged_id).status_code == 409
    assert erase_by_form(admin_client, survivor_id).status_code == 302
    with app.app_context():
        record = db.session.get(PatientProfile, merged_id)
        assert record.erased_at is not None and record.name is None
        assert record.user.email is None


def test_reconcile_after_erasure_writes_no_contact_back(app, runner):
    listed_at = datetime(2026, 11, 29, 9, 12, tzinfo=UTC)
    mateo = "qH7mX2vKp9LwR4tYc8NbZs"
    with time_machine.travel(listed_at, tick=True), serving(FakeCalApi(example_bookings())) as fake:
        app.config.update(CAL_API_URL=fake.url, CAL_API_KEY=API_KEY)
        since = ["cal", "reconcile", "--since", "2026-11-20T00:00:00Z"]
        assert runner.invoke(args=since).exit_code == 0
        with app.app_context():
            consultation = db.session.scalar(
                select(Consultation).where(Consultation.cal_booking_uid == mateo)
            )
            patient_id = consultation.patient_profile_id
            patients = db.session.scalar(select(func.count()).select_from(PatientProfile))
            erase_patient(consultation.patient, None, datetime.now(UTC))
            db.session.commit()
        cancelled = copy.deepcopy(fake.bookings[mateo])
        cancelled |= {"status": "cancelled", "cancellationReason": "Mateo is busy",
                      "updatedAt": "2026-11-29T09:00:00.000Z"}  # fmt: skip
        fake.put(cancelled)

        result = runner.invoke(args=since)

    assert result.exit_code == 0, result.output
    with app.app_context():
        consultation = db.session.scalar(
            select(Consultation).where(Consultation.cal_booking_uid == mateo)
        )
        assert consultation.status == "cancelled"
        assert consultation.cancellation_reason is None
        assert consultation.attendee_phone is None and consultation.booking_answers is None
        patient = db.session.get(PatientProfile, patient_id)
        assert (patient.name, patient.email, patient.phone, patient.user.email) == (None,) * 4
        assert db.session.scalar(select(func.count()).select_from(PatientProfile)) == patients


def test_a_post_to_erase_a_patient_that_does_not_exist_is_404(admin_client):
    token = csrf_token_from(admin_client.get("/").get_data(as_text=True))
    response = admin_client.post("/patients/424242/erase", data={"csrf_token": token})
    assert response.status_code == 404


def test_an_erased_booking_still_answers_a_repeat_delivery_as_a_duplicate(app, admin_client):
    document = booking_document(UID, email=EMAIL, name=NAME)
    patient_id = deliver(admin_client, document)["patient_id"]
    assert erase_by_form(admin_client, patient_id).status_code == 302

    repeat = post_delivery(admin_client, document)

    assert repeat.status_code == 200 and repeat.get_json()["status"] == "duplicate"


def test_the_shell_erases_after_asking_and_refuses_what_the_law_keeps(app, runner, client):
    seen = datetime.now(UTC) - timedelta(days=3)  # a consultation the law counts
    patient_id = booked(client, start=seen)["patient_id"]

    declined = runner.invoke(args=["patients", "erase", str(patient_id)], input="n\n")
    with app.app_context():
        assert db.session.get(PatientProfile, patient_id).name == NAME
    app.config["MEDICAL_RECORDS_MIN_YEARS"] = 50
    kept = runner.invoke(args=["patients", "erase", str(patient_id), "--yes"])
    app.config["MEDICAL_RECORDS_MIN_YEARS"] = 0
    erased = runner.invoke(args=["patients", "erase", str(patient_id)], input="y\n")
    again = runner.invoke(args=["patients", "erase", str(patient_id), "--yes"])

    assert declined.exit_code != 0
    assert kept.exit_code != 0 and "until" in kept.output
    assert erased.exit_code == 0, erased.output
    assert again.exit_code == 0 and "erased already" in again.output
    with app.app_context():
        patient = db.session.get(PatientProfile, patient_id)
        assert patient.erased_at is not None and patient.name is None
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.erased"))
        assert audit.consultant_id is None


def test_retention_lists_then_erases_patients_not_seen_in_n_years(app, runner, client):
    old_id = booked(client)["patient_id"]
    recent = booking_document("RecentBooking00000001", email="recent@example.com", phone=None)
    recent["payload"]["bookingId"] = 91001
    recent_id = deliver(client, recent)["patient_id"]
    now = datetime.now(UTC)
    with app.app_context():
        for patient_id, start in (
            (old_id, now - timedelta(days=365 * 6)),
            (recent_id, now - timedelta(days=30)),
        ):
            patient = db.session.get(PatientProfile, patient_id)
            patient.created_at = start - timedelta(days=1)
            for consultation in patient.consultations:
                consultation.start_time = start
                consultation.status = ConsultationStatus.COMPLETED
        db.session.commit()

    listed = runner.invoke(args=["patients", "retention", "--older-than-years", "5", "--dry-run"])
    app.config["MEDICAL_RECORDS_MIN_YEARS"] = 10
    kept_by_law = runner.invoke(
        args=["patients", "retention", "--older-than-years", "5", "--dry-run"]
    )
    app.config["MEDICAL_RECORDS_MIN_YEARS"] = 0
    erased = runner.invoke(args=["patients", "retention", "--older-than-years", "5", "--yes"])

    assert listed.exit_code == 0, listed.output
    assert f"patient #{old_id}:" in listed.output and f"#{recent_id}:" not in listed.output
    assert "0 patient(s)" in kept_by_law.output
    assert erased.exit_code == 0 and "Erased 1 patient(s)" in erased.output
    with app.app_context():
        assert db.session.get(PatientProfile, old_id).erased_at is not None
        assert db.session.get(PatientProfile, recent_id).erased_at is None


def test_an_erased_patients_record_takes_no_new_note(app, admin_client):
    patient_id = booked(admin_client)["patient_id"]
    assert erase_by_form(admin_client, patient_id).status_code == 302
    page = admin_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "takes no new notes" in page and 'name="body"' not in page

    admin_client.post(
        f"/patients/{patient_id}/notes",
        data={"csrf_token": csrf_token_from(page), "body": f"{CANARY} called back"},
    )

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PatientNote)) == 0


def test_deliveries_not_acted_on_keep_no_body_and_a_replay_changes_nothing(
    app, admin_client, runner
):
    answer = booked(admin_client)
    assert erase_by_form(admin_client, answer["patient_id"]).status_code == 302
    started = booking_document(UID, email=EMAIL, name=NAME)
    started["triggerEvent"] = "BOOKING_PAYMENT_INITIATED"

    stored = post_delivery(admin_client, started).get_json()
    replayed = runner.invoke(args=["cal", "replay", str(answer["event_id"])])

    assert stored["status"] == "ignored"
    assert replayed.exit_code == 0, replayed.output
    with app.app_context():
        assert db.session.get(WebhookEvent, stored["event_id"]).body == ERASED_BODY
        first = db.session.get(WebhookEvent, answer["event_id"])
        assert (first.status, first.body) == ("processed", ERASED_BODY)


def test_a_patient_with_no_consultation_is_erased_too(app, runner):
    with app.app_context():
        patient = PatientProfile(user=User(email=EMAIL, name=NAME), name=NAME, email=EMAIL)
        db.session.add(patient)
        db.session.commit()
        patient_id = patient.id

    result = runner.invoke(args=["patients", "erase", str(patient_id), "--yes"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        erased = db.session.get(PatientProfile, patient_id)
        assert (erased.name, erased.user.email, erased.erased_at is not None) == (None, None, True)


def test_an_erasure_that_fails_half_way_changes_nothing(app, client, monkeypatch):
    answer = booked(client)

    def broken(_ids: list[int]) -> int:
        raise RuntimeError("the database went away half way")

    monkeypatch.setattr("webapp.privacy.erasure.erase_notes", broken)
    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        with pytest.raises(RuntimeError):
            erase_patient(patient, None, datetime.now(UTC))
        db.session.rollback()

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert (patient.name, patient.erased_at) == (NAME, None)
        consultation = db.session.get(Consultation, answer["consultation_id"])
        assert consultation.attendee_email == EMAIL and consultation.booking_answers
        assert db.session.get(WebhookEvent, answer["event_id"]).body != ERASED_BODY


def test_a_reschedule_of_an_erased_patients_booking_carries_only_time_and_status(app, admin_client):
    first = booked(admin_client)
    assert erase_by_form(admin_client, first["patient_id"]).status_code == 302
    rescheduled = fixture_json("booking_rescheduled.json")  # replaces UID

    answer = deliver(admin_client, rescheduled)

    with app.app_context():
        assert answer["patient_id"] == first["patient_id"]
        new = db.session.get(Consultation, answer["consultation_id"])
        old = db.session.get(Consultation, first["consultation_id"])
        assert old.status == "rescheduled" and old.rescheduled_to_id == new.id
        assert new.start_time is not None and new.status == "scheduled"
        assert (new.title, new.attendee_email, new.attendee_phone, new.booking_answers) == (
            None,
            None,
            None,
            None,
        )
        assert new.organizer_name == "Dr. Selin Aydin"
        patient = db.session.get(PatientProfile, first["patient_id"])
        assert (patient.name, patient.email, patient.user.email) == (None, None, None)
        assert db.session.get(WebhookEvent, answer["event_id"]).body == ERASED_BODY
