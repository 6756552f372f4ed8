"""Which patient a booking belongs to: the clinic's six analysis cases and the matching rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.conftest import booking_document, count, deliver, post_delivery
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, User
from webapp.patients.contact import ContactDetails, normalise_phone
from webapp.patients.matching import CANDIDATES, create_patient, find_or_create_patient

OLIVER_EMAIL = "oliver.bennett@example.co.uk"
OLIVER_PHONE = "+447700900123"
GUEST_EMAIL = "emma.bennett@example.co.uk"
GARBAGE_PHONE = "ask for my wife"


def patient_by_email(email: str) -> PatientProfile:
    return db.session.scalar(select(PatientProfile).where(PatientProfile.email == email))


# --- The six cases of the clinic's analysis -------------------------------------------------


def test_case_new_patient_creates_user_profile_and_consultation(app, client):
    answer = deliver(client, booking_document())

    assert answer["patient_created"] is True
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.email == OLIVER_EMAIL
        assert patient.name == "Oliver Bennett"
        assert patient.user.email == OLIVER_EMAIL
        assert patient.user.name == "Oliver Bennett"
        consultation = db.session.get(Consultation, answer["consultation_id"])
        assert consultation.patient_profile_id == patient.id
        assert consultation.cal_booking_uid == "r8KqT2mWv5XbN7pLc3YdZa"
        assert consultation.status == "scheduled"


def test_case_existing_patient_books_again_with_differently_written_email(app, client):
    first = deliver(client, booking_document())

    second = deliver(
        client,
        booking_document(
            "Zx81SecondBookingUid000",
            email="  OLIVER.Bennett@EXAMPLE.co.UK ",
            created_at="2026-12-01T08:00:00.000Z",
            booking_id=91000,
        ),
    )

    assert second["patient_created"] is False
    assert second["patient_id"] == first["patient_id"]
    assert second["consultation_id"] != first["consultation_id"]
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 2)
        patient = db.session.get(PatientProfile, first["patient_id"])
        assert patient.email == OLIVER_EMAIL
        assert patient.user.email == OLIVER_EMAIL
        assert sorted(c.cal_booking_uid for c in patient.consultations) == [
            "Zx81SecondBookingUid000",
            "r8KqT2mWv5XbN7pLc3YdZa",
        ]


def test_case_with_phone_stores_e164_on_profile_user_and_consultation(app, client):
    answer = deliver(client, booking_document(phone="+44 7700 900456"))

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.phone == "+447700900456"
        assert patient.user.phone_number == "+447700900456"
        consultation = db.session.get(Consultation, answer["consultation_id"])
        assert consultation.attendee_phone == "+447700900456"


def test_case_with_phone_in_a_custom_question_only_stores_it_in_e164_everywhere(app, client):
    document = booking_document(phone=None, answers={"whatsapp": "+90 532 123 45 67"})

    answer = deliver(client, document)

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.phone == "+905321234567"
        assert patient.user.phone_number == "+905321234567"
        assert db.session.get(Consultation, answer["consultation_id"]).attendee_phone == (
            "+905321234567"
        )


def test_case_without_phone_leaves_phone_empty(app, client):
    answer = deliver(client, booking_document(phone=None))

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.phone is None
        assert patient.user.phone_number is None
        assert db.session.get(Consultation, answer["consultation_id"]).attendee_phone is None
        assert patient.user.email == OLIVER_EMAIL


def test_case_with_location_takes_custom_answers_and_never_the_meeting_location(app, client):
    document = booking_document(country="Germany", answers={"city": "Hamburg"})
    payload = document["payload"]
    payload["location"] = "Nisantasi Hair Clinic, Istanbul"
    payload["responses"]["location"]["value"] = {
        "value": "phone",
        "optionValue": "+905551112233",
    }

    answer = deliver(client, document)

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.location is not None
        assert "Hamburg" in patient.location
        assert "Germany" in patient.location
        for meeting in ("Nisantasi", "Istanbul", "phone", "+90555", "integrations", "daily"):
            assert meeting not in patient.location


def test_without_location_answers_the_meeting_location_is_not_stored(app, client):
    document = booking_document(country=None)
    document["payload"]["location"] = "Nisantasi Hair Clinic, Istanbul"
    document["payload"]["responses"]["location"]["value"] = {
        "value": "inPerson",
        "optionValue": "Nisantasi Hair Clinic, Istanbul",
    }

    answer = deliver(client, document)

    with app.app_context():
        assert db.session.get(PatientProfile, answer["patient_id"]).location is None


def test_case_duplicate_booking_same_uid_twice_keeps_one_consultation(app, client):
    first = deliver(client, booking_document())

    again = post_delivery(client, booking_document(created_at="2026-11-02T09:20:00.000Z"))

    assert again.status_code == 200
    answer = again.get_json()
    assert answer["status"] in ("duplicate", "processed")
    assert answer["consultation_id"] == first["consultation_id"]
    assert answer["patient_id"] == first["patient_id"]
    assert answer["patient_created"] is False
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)


# --- Matching rules through the webhook -----------------------------------------------------


def test_same_phone_and_a_patient_without_email_is_that_patient(app, client):
    with app.app_context():
        existing = create_patient(
            ContactDetails(email=None, name="Ayse Yilmaz", phone=normalise_phone("+905321234567"))
        )
        db.session.commit()
        existing_id = existing.id

    answer = deliver(
        client,
        booking_document(email="ayse@example.com", name="Ayse Y.", phone="+90 532 123 45 67"),
    )

    assert answer["patient_created"] is False
    assert answer["patient_id"] == existing_id
    with app.app_context():
        assert (count(User), count(PatientProfile)) == (1, 1)
        patient = db.session.get(PatientProfile, existing_id)
        assert patient.email == "ayse@example.com"
        assert patient.user.email == "ayse@example.com"
        assert patient.name == "Ayse Yilmaz"
        assert patient.phone == "+905321234567"
        assert patient.possible_duplicate_of_id is None


def test_same_phone_and_a_different_email_is_a_new_patient_flagged_as_possible_duplicate(
    app, client
):
    first = deliver(client, booking_document())

    second = deliver(
        client,
        booking_document(
            "Emma0000000000000000001",
            email="emma.b@example.org",
            name="Emma Bennett",
            phone="+44 7700 900123",
            created_at="2026-11-03T10:00:00.000Z",
        ),
    )

    assert second["patient_created"] is True
    assert second["patient_id"] != first["patient_id"]
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (2, 2, 2)
        oliver = db.session.get(PatientProfile, first["patient_id"])
        emma = db.session.get(PatientProfile, second["patient_id"])
        assert emma.possible_duplicate_of_id == oliver.id
        assert oliver.possible_duplicate_of_id is None
        assert (oliver.email, oliver.name) == (OLIVER_EMAIL, "Oliver Bennett")
        assert (emma.email, emma.name, emma.phone) == (
            "emma.b@example.org",
            "Emma Bennett",
            OLIVER_PHONE,
        )
        assert emma.user.email == "emma.b@example.org"
        assert db.session.get(Consultation, second["consultation_id"]).patient_profile_id == (
            emma.id
        )
        assert db.session.get(Consultation, first["consultation_id"]).patient_profile_id == (
            oliver.id
        )


def test_guests_never_become_users_or_patients(app, client):
    document = booking_document()
    document["payload"]["attendees"][1]["name"] = "Emma Bennett"
    document["payload"]["attendees"][1]["phoneNumber"] = "+447700900777"

    answer = deliver(client, document)

    with app.app_context():
        assert (count(User), count(PatientProfile)) == (1, 1)
        assert db.session.scalar(select(User).where(User.email == GUEST_EMAIL)) is None
        assert patient_by_email(GUEST_EMAIL) is None
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.email == OLIVER_EMAIL
        assert patient.phone == OLIVER_PHONE


def test_a_guest_who_is_already_a_patient_does_not_get_the_bookers_consultation(app, client):
    emma = deliver(
        client,
        booking_document(
            "Emma0000000000000000001", email=GUEST_EMAIL, name="Emma Bennett", phone=None
        ),
    )

    oliver = deliver(client, booking_document(created_at="2026-11-04T09:00:00.000Z"))

    assert oliver["patient_created"] is True
    assert oliver["patient_id"] != emma["patient_id"]
    with app.app_context():
        consultation = db.session.get(Consultation, oliver["consultation_id"])
        assert consultation.patient.email == OLIVER_EMAIL
        assert len(db.session.get(PatientProfile, emma["patient_id"]).consultations) == 1


def test_a_later_booking_never_overwrites_or_blanks_existing_details(app, client):
    first = deliver(client, booking_document())

    deliver(
        client,
        booking_document(
            "Zx81SecondBookingUid000",
            name="Olly B",
            phone="+44 7700 900999",
            country="Spain",
            created_at="2026-12-01T08:00:00.000Z",
        ),
    )
    deliver(
        client,
        booking_document(
            "Zx81ThirdBookingUid0000",
            name="Oliver",
            phone=None,
            country=None,
            created_at="2026-12-02T08:00:00.000Z",
        ),
    )

    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 3)
        patient = db.session.get(PatientProfile, first["patient_id"])
        assert patient.name == "Oliver Bennett"
        assert patient.phone == OLIVER_PHONE
        assert patient.location == "United Kingdom"
        assert patient.timezone == "Europe/London"
        assert patient.user.name == "Oliver Bennett"
        assert patient.user.phone_number == OLIVER_PHONE
        assert patient.user.email == OLIVER_EMAIL


def test_a_new_phone_and_location_fill_empty_details(app, client):
    first = deliver(client, booking_document(phone=None, country=None))
    with app.app_context():
        patient = db.session.get(PatientProfile, first["patient_id"])
        assert (patient.phone, patient.location) == (None, None)

    second = deliver(
        client,
        booking_document(
            "Zx81SecondBookingUid000",
            phone="+44 7700 900456",
            country="Ireland",
            created_at="2026-12-01T08:00:00.000Z",
        ),
    )

    assert second["patient_id"] == first["patient_id"]
    with app.app_context():
        patient = db.session.get(PatientProfile, first["patient_id"])
        assert patient.phone == "+447700900456"
        assert patient.user.phone_number == "+447700900456"
        assert patient.location == "Ireland"
        assert count(PatientProfile) == 1


def test_an_unparseable_phone_is_stored_as_typed(app, client):
    answer = deliver(client, booking_document(phone=GARBAGE_PHONE))

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.phone == GARBAGE_PHONE
        assert patient.user.phone_number == GARBAGE_PHONE
        assert db.session.get(Consultation, answer["consultation_id"]).attendee_phone == (
            GARBAGE_PHONE
        )


def test_an_unparseable_phone_is_never_used_for_matching(app, client):
    first = deliver(client, booking_document(phone=GARBAGE_PHONE))
    second = deliver(
        client,
        booking_document(
            "Emma0000000000000000001",
            email="emma.b@example.org",
            name="Emma Bennett",
            phone=GARBAGE_PHONE,
            created_at="2026-11-03T10:00:00.000Z",
        ),
    )

    assert second["patient_created"] is True
    assert second["patient_id"] != first["patient_id"]
    with app.app_context():
        assert count(PatientProfile) == 2
        for patient in db.session.scalars(select(PatientProfile)):
            assert patient.possible_duplicate_of_id is None
            assert patient.phone == GARBAGE_PHONE


def test_an_unparseable_phone_does_not_match_a_patient_without_email(app, client):
    with app.app_context():
        create_patient(ContactDetails(email=None, name="Someone", phone=normalise_phone("12")))
        db.session.commit()

    answer = deliver(client, booking_document(phone="12"))

    assert answer["patient_created"] is True
    with app.app_context():
        assert count(PatientProfile) == 2
        assert db.session.get(PatientProfile, answer["patient_id"]).email == OLIVER_EMAIL


def test_users_email_holds_the_email_and_phone_number_never_an_email(app, client):
    deliver(client, booking_document())
    deliver(
        client, booking_document("NoPhone0000000000000001", email="nophone@example.com", phone=None)
    )

    with app.app_context():
        users = {user.email: user.phone_number for user in db.session.scalars(select(User))}
        assert users == {OLIVER_EMAIL: OLIVER_PHONE, "nophone@example.com": None}
        for user in db.session.scalars(select(User)):
            assert "@" in user.email
            assert user.phone_number is None or "@" not in user.phone_number


# --- find_or_create_patient, rule by rule ---------------------------------------------------


def details(email: str | None, phone: str | None = None, **extra: Any) -> ContactDetails:
    return ContactDetails(email=email, phone=normalise_phone(phone), **extra)


def test_rule_new_creates_user_and_profile(app):
    with app.app_context():
        match = find_or_create_patient(
            details("ayse@example.com", "+90 532 123 45 67", name="Ayse", location="Izmir")
        )
        db.session.commit()

        assert (match.rule, match.created) == ("new", True)
        patient = match.patient
        assert (patient.email, patient.phone, patient.name, patient.location) == (
            "ayse@example.com",
            "+905321234567",
            "Ayse",
            "Izmir",
        )
        assert (patient.user.email, patient.user.phone_number) == (
            "ayse@example.com",
            "+905321234567",
        )
        assert patient.possible_duplicate_of_id is None


def test_rule_email_finds_the_patient_and_only_fills_missing_details(app):
    with app.app_context():
        existing = create_patient(details("ayse@example.com", name="Ayse"))
        db.session.commit()

        match = find_or_create_patient(
            details("ayse@example.com", "+905321234567", name="Someone Else", location="Izmir")
        )

        assert (match.rule, match.created) == ("email", False)
        assert match.patient.id == existing.id
        assert match.patient.name == "Ayse"
        assert match.patient.user.name == "Ayse"
        assert match.patient.phone == "+905321234567"
        assert match.patient.user.phone_number == "+905321234567"
        assert match.patient.location == "Izmir"
        assert count(PatientProfile) == 1


def test_rule_phone_finds_the_patient_without_email_and_gives_them_the_email(app):
    with app.app_context():
        existing = create_patient(details(None, "+905321234567", name="Ayse"))
        db.session.commit()

        match = find_or_create_patient(details("ayse@example.com", "+90 532 123 4567", name="A"))
        db.session.commit()

        assert (match.rule, match.created) == ("phone", False)
        assert match.patient.id == existing.id
        assert match.patient.email == "ayse@example.com"
        assert match.patient.user.email == "ayse@example.com"
        assert match.patient.name == "Ayse"
        assert (count(User), count(PatientProfile)) == (1, 1)


def test_rule_new_possible_duplicate_for_a_shared_phone_with_a_different_email(app):
    with app.app_context():
        existing = create_patient(details("ayse@example.com", "+905321234567", name="Ayse"))
        db.session.commit()

        match = find_or_create_patient(details("mehmet@example.com", "+905321234567"))
        db.session.commit()

        assert (match.rule, match.created) == ("new-possible-duplicate", True)
        assert match.patient.id != existing.id
        assert match.patient.possible_duplicate_of_id == existing.id
        assert match.patient.email == "mehmet@example.com"
        assert match.patient.user.email == "mehmet@example.com"
        assert existing.email == "ayse@example.com"
        assert (count(User), count(PatientProfile)) == (2, 2)


def test_rule_an_unparseable_phone_is_stored_as_typed_and_never_matched(app):
    with app.app_context():
        create_patient(details(None, GARBAGE_PHONE))
        create_patient(details("ayse@example.com", GARBAGE_PHONE))
        db.session.commit()

        match = find_or_create_patient(details("mehmet@example.com", GARBAGE_PHONE))
        db.session.commit()

        assert (match.rule, match.created) == ("new", True)
        assert match.patient.possible_duplicate_of_id is None
        assert match.patient.phone == GARBAGE_PHONE
        assert match.patient.user.phone_number == GARBAGE_PHONE
        assert count(PatientProfile) == 3


def test_an_email_typed_into_the_phone_question_never_lands_in_phone_number(app, client):
    answer = deliver(client, booking_document(phone="oliver.bennett@example.co.uk"))

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.user.email == OLIVER_EMAIL
        assert patient.user.phone_number is None or "@" not in patient.user.phone_number


# --- The clinic's phone region ----------------------------------------------------------------


def test_a_national_number_is_read_in_the_clinics_region(app, client):
    app.config["PHONE_DEFAULT_REGION"] = "GB"

    answer = deliver(client, booking_document(phone="07700 900456"))

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.phone == "+447700900456"
        assert patient.user.phone_number == "+447700900456"


def test_a_national_number_without_a_clinic_region_is_kept_as_typed(app, client):
    answer = deliver(client, booking_document(phone="07700 900456"))

    with app.app_context():
        assert db.session.get(PatientProfile, answer["patient_id"]).phone == "07700 900456"


# --- Cost that does not grow with the clinic ----------------------------------------------------


def full_scans(statement: Any, parameters: dict[str, Any]) -> list[str]:
    """The steps of ``statement``'s plan that read a whole table (or a whole index) instead
    of looking rows up: on PostgreSQL with sequential scans priced out, so that a plan
    can only avoid them where an index answers; on SQLite, its ``SCAN`` steps."""
    connection = db.session.connection()
    compiled = statement.compile(connection)
    values = compiled.construct_params(parameters)
    if connection.dialect.name == "sqlite":
        positional = tuple(values[name] for name in compiled.positiontup)
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", positional).all()
        return [row.detail for row in plan if row.detail.startswith("SCAN ")]
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    (plan,) = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", values).scalar()
    steps, scans = [plan["Plan"]], []
    while steps:
        step = steps.pop()
        steps.extend(step.get("Plans", []))
        reads_a_table = "Relation Name" in step and step["Node Type"] != "Bitmap Heap Scan"
        if reads_a_table and "Index Cond" not in step:
            scans.append(f"{step['Node Type']} on {step['Relation Name']}")
    return scans


def test_a_bookings_patient_is_looked_up_through_indexes_not_by_reading_every_patient(app):
    # A lookup that reads every patient makes each delivery slower as the clinic grows.
    with app.app_context():
        create_patient(details(OLIVER_EMAIL, OLIVER_PHONE, name="Oliver Bennett"))

        assert full_scans(CANDIDATES, {"email": OLIVER_EMAIL, "phone": OLIVER_PHONE}) == []
        assert full_scans(CANDIDATES, {"email": None, "phone": OLIVER_PHONE}) == []
