"""Rows inserted with one Core INSERT (``insert_row``) behave as the unit of work's would,
and rows looked up by their ids first (``found_objects``) as an ORM query's would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select

from tests.conftest import count, statements_sent
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, User, search_text_for
from webapp.patients.contact import ContactDetails, normalise_phone
from webapp.patients.matching import CANDIDATE_IDS, CANDIDATES, create_patient
from webapp.rows import INSERTED_KEY, found_ids, found_objects, insert_row, loaded


def details(email: str, name: str = "Özge Yıldız") -> ContactDetails:
    return ContactDetails(
        email=email, name=name, phone=normalise_phone("+90 532 123 4567"), city="İstanbul"
    )


def test_an_inserted_patient_is_loaded_with_its_search_text_and_defaults(app):
    with app.app_context():
        patient = create_patient(details("ozge@example.com"))

        state = inspect(patient)
        assert state.persistent and not state.modified and not state.expired_attributes
        assert patient.search_text == search_text_for(
            "Özge Yıldız", "ozge@example.com", "+905321234567", "İstanbul", None
        )
        assert patient.created_at is not None and patient.updated_at is not None
        assert patient.user.email == "ozge@example.com"
        assert patient.user_id == patient.user.id is not None
        db.session.commit()

        stored = db.session.scalar(
            select(PatientProfile.search_text).where(PatientProfile.id == patient.id)
        )
        assert stored == patient.search_text
        assert db.session.get(User, patient.user_id).profile is patient


def test_a_rolled_back_savepoint_takes_its_inserted_rows_out_of_the_session(app):
    with app.app_context():
        kept = create_patient(details("kept@example.com"))
        with pytest.raises(RuntimeError), db.session.begin_nested():
            undone = create_patient(details("undone@example.com"))
            raise RuntimeError("a bug")

        assert undone not in db.session
        assert kept in db.session
        # SQLite gives the next row the id the undone one had: no clash in the session.
        again = create_patient(details("again@example.com"))
        db.session.commit()

        assert again.id is not None
        assert (count(User), count(PatientProfile)) == (2, 2)
        assert INSERTED_KEY not in db.session.info


def test_a_rolled_back_transaction_takes_its_inserted_rows_out_of_the_session(app):
    with app.app_context():
        undone = create_patient(details("undone@example.com"))
        db.session.rollback()

        assert undone not in db.session
        create_patient(details("again@example.com"))
        db.session.commit()
        assert count(PatientProfile) == 1


def test_a_released_savepoint_leaves_its_rows_to_the_outer_transaction(app):
    with app.app_context():
        with db.session.begin_nested():
            undone = create_patient(details("undone@example.com"))
        db.session.rollback()

        assert undone not in db.session
        assert count(PatientProfile) == 0


def test_only_new_objects_are_inserted(app):
    with app.app_context():
        patient = create_patient(details("ozge@example.com"))

        with pytest.raises(ValueError, match="not a new object"):
            insert_row(patient)


def test_a_new_patient_and_their_first_booking_are_inserted_together(app):
    start = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    with app.app_context():
        booking = Consultation(cal_booking_uid="FirstBooking", start_time=start, status="pending")

        with statements_sent(app) as sent:
            patient = create_patient(details("ozge@example.com"), first_booking=booking)

        inserts = [statement for statement in sent if "INSERT" in statement]
        assert len(inserts) == (1 if db.engine.dialect.name == "postgresql" else 3), sent
        assert inspect(booking).persistent and not inspect(booking).modified
        assert booking.patient_profile_id == patient.id and booking.patient is patient
        assert patient.user_id == patient.user.id
        patient_id = patient.id
        db.session.commit()
        db.session.expunge_all()

        stored = db.session.get(PatientProfile, patient_id)
        assert [c.cal_booking_uid for c in stored.consultations] == ["FirstBooking"]
        assert stored.user.email == "ozge@example.com"
        # The database's own trigger saw the booking its patient was inserted with.
        assert stored.latest_booking_at == start


def test_a_lookup_that_finds_no_ids_sends_one_statement_and_loads_nothing(app):
    with app.app_context():
        create_patient(details("ozge@example.com"))
        db.session.commit()

        with statements_sent(app) as sent:
            found = found_objects(
                CANDIDATE_IDS, CANDIDATES, {"email": "nobody@example.com", "phone": None}
            )

        assert found == []
        assert len(sent) == 1, sent
        assert sent[0].split()[:4] == ["SELECT", "PATIENT_PROFILES.ID", "FROM", "PATIENT_PROFILES"]


def test_a_lookup_loads_what_its_ids_find_in_order_after_flushing_pending_changes(app):
    phone = "+4915112345678"
    with app.app_context():
        ids = [create_patient(details(f"{name}@example.com")).id for name in ("a", "b", "c")]
        db.session.get(PatientProfile, ids[2]).phone = phone
        db.session.commit()
        db.session.expunge_all()
        first = db.session.get(PatientProfile, ids[0])
        first.phone = phone  # not flushed yet: the lookup must see it

        with statements_sent(app) as sent:
            found = found_objects(
                CANDIDATE_IDS, CANDIDATES, {"email": "b@example.com", "phone": phone}
            )

        assert [patient.id for patient in found] == ids
        assert found[0] is first
        assert all("user" in inspect(patient).dict for patient in found)  # loaded, no query
        assert [statement.split()[0] for statement in sent] == ["UPDATE", "SELECT", "SELECT"]


def test_several_lookups_find_their_ids_in_one_round_trip_on_postgresql(app):
    phone = "+4915112345678"
    with app.app_context():
        ids = [create_patient(details(f"{name}@example.com")).id for name in ("a", "b", "c")]
        db.session.commit()
        db.session.get(PatientProfile, ids[1]).phone = phone  # not flushed yet: must be seen
        newest_first = select(PatientProfile.id).order_by(PatientProfile.id.desc())
        none = select(PatientProfile.id).where(PatientProfile.id < 0)

        with statements_sent(app) as sent:
            found = found_ids(
                (CANDIDATE_IDS, newest_first, none), {"email": "a@example.com", "phone": phone}
            )

        assert found == [ids[:2], ids[::-1], []]
        lookups = [statement for statement in sent if statement.startswith("SELECT")]
        assert len(lookups) == (1 if db.engine.dialect.name == "postgresql" else 3), sent
        assert [patient.id for patient in loaded(CANDIDATES, found[0])] == ids[:2]
        assert loaded(CANDIDATES, []) == []
