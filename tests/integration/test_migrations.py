"""`flask db upgrade` on an empty database gives exactly the models' schema (no drift)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from tests.conftest import BACKENDS, app_settings, scratch_postgresql_database
from webapp import create_app
from webapp.database.schema import declared_for
from webapp.extensions import db


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """A brand-new, empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgresql_database("migrations") as url:
        yield url


def insert_users(connection, *emails: str) -> None:
    """Users 1, 2, ... with these emails, written in SQL: the schema under test may be behind
    the models."""
    connection.execute(
        text("INSERT INTO users (id, email, created_at) VALUES (:id, :email, CURRENT_TIMESTAMP)"),
        [{"id": number, "email": email} for number, email in enumerate(emails, 1)],
    )


def test_upgrade_on_an_empty_database_matches_the_models(empty_database_url, tmp_path):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            # As migrations/env.py compares: an index declared for PostgreSQL only is no
            # difference on SQLite.
            dialect = connection.dialect.name
            context = MigrationContext.configure(
                connection,
                opts={"include_object": lambda item, *_: declared_for(item, dialect)},
            )
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()

    assert differences == []


def test_upgrade_creates_the_constraints_that_make_orphans_impossible(empty_database_url, tmp_path):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        profiles = {c["name"]: c for c in inspector.get_columns("patient_profiles")}
        consultations = {c["name"]: c for c in inspector.get_columns("consultations")}
        unique = {
            tuple(u["column_names"]) for u in inspector.get_unique_constraints("consultations")
        }
        users = {c["name"] for c in inspector.get_columns("users")}
        db.engine.dispose()

    assert profiles["user_id"]["nullable"] is False
    assert consultations["patient_profile_id"]["nullable"] is False
    assert ("cal_booking_uid", "seat_key") in unique
    assert {"email", "phone_number"} <= users


def test_downgrade_then_upgrade_round_trips(empty_database_url, tmp_path):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "consultations" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_the_search_text_migration_fills_existing_patients(empty_database_url, tmp_path):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade(revision="a06810799689")
        with db.engine.begin() as connection:
            insert_users(connection, "ozge@example.com")
            connection.execute(
                text(
                    "INSERT INTO patient_profiles (id, user_id, name, email, phone, created_at, "
                    "updated_at) VALUES (1, 1, 'Özge Çelik', 'ozge@example.com', '+905321234567', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            stored = connection.execute(text("SELECT search_text FROM patient_profiles")).scalar()
        db.engine.dispose()

    # Folded (accents and case) by the later migration, with the city and country lines.
    assert stored == "ozge celik\nozge@example.com\n905321234567\n\n"


def test_the_pending_answers_migration_keeps_every_submission(empty_database_url, tmp_path):
    """Answers still waiting for their booking become pending; the rest stay as they were,
    and a downgrade files the pending ones under the patient again."""
    app = create_app(app_settings(empty_database_url, tmp_path))
    statements = [
        "INSERT INTO users (id, email, created_at) "
        "VALUES (1, 'ann@example.com', CURRENT_TIMESTAMP)",
        "INSERT INTO patient_profiles (id, user_id, email, search_text, created_at, updated_at) "
        "VALUES (1, 1, 'ann@example.com', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO consultations (id, patient_profile_id, cal_booking_uid, status, created_at, "
        "updated_at) VALUES (1, 1, 'ArrivedUid0001', 'scheduled', CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP)",
        "INSERT INTO questionnaire_submissions (id, patient_profile_id, consultation_id, "
        "cal_booking_uid, answers, submitted_at) VALUES "
        "(1, 1, 1, 'ArrivedUid0001', '{}', CURRENT_TIMESTAMP), "
        "(2, 1, NULL, 'WaitingUid0001', '{}', CURRENT_TIMESTAMP), "
        "(3, 1, NULL, NULL, '{}', CURRENT_TIMESTAMP)",
    ]
    query = text(
        "SELECT id, patient_profile_id, typed_email FROM questionnaire_submissions ORDER BY id"
    )
    with app.app_context():
        upgrade(revision="bf23967a2057")
        with db.engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
        upgrade(revision="c5e55105a003")
        with db.engine.connect() as connection:
            upgraded = [tuple(row) for row in connection.execute(query)]
        downgrade(revision="bf23967a2057")
        with db.engine.connect() as connection:
            downgraded = [
                tuple(row)
                for row in connection.execute(
                    text("SELECT id, patient_profile_id FROM questionnaire_submissions")
                )
            ]
        db.engine.dispose()

    assert upgraded == [(1, 1, None), (2, None, "ann@example.com"), (3, 1, None)]
    assert sorted(downgraded) == [(1, 1), (2, 1), (3, 1)]


def test_the_country_migration_takes_the_country_from_earlier_answers(empty_database_url, tmp_path):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade(revision="c5e55105a001")
        with db.engine.begin() as connection:
            insert_users(connection, "a@example.com", "b@example.com")
            connection.execute(
                text(
                    "INSERT INTO patient_profiles (id, user_id, search_text, questionnaire_answers,"
                    " created_at, updated_at) VALUES "
                    "(1, 1, '', '{\"country\": \" Norway \"}', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP),"
                    "(2, 2, '', NULL, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            countries = connection.execute(
                text("SELECT id, country FROM patient_profiles ORDER BY id")
            ).all()
        db.engine.dispose()

    assert [tuple(row) for row in countries] == [(1, "Norway"), (2, None)]


def test_the_folded_search_migration_refolds_every_patient_and_indexes_on_postgresql(
    empty_database_url, tmp_path
):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade(revision="c5e55105a015")
        with db.engine.begin() as connection:
            insert_users(connection, "hans@example.com", "ayse@example.com")
            connection.execute(
                text(
                    "INSERT INTO patient_profiles (id, user_id, name, email, phone, city, country,"
                    " search_text, created_at, updated_at) VALUES "
                    "(1, 1, 'Hans Müller', 'hans@example.com', '+491701234567', 'München',"
                    " 'Germany', 'hans müller', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    "(2, 2, 'Ayşe Yılmaz', 'ayse@example.com', NULL, 'İzmir', NULL, '',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(revision="c5e55105a011")
        with db.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT search_text FROM patient_profiles ORDER BY id")
            ).scalars()
            stored = list(stored)
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("patient_profiles")}
        downgrade(revision="c5e55105a015")
        after_downgrade = {
            index["name"] for index in inspect(db.engine).get_indexes("patient_profiles")
        }
        dialect = db.engine.dialect.name
        db.engine.dispose()

    assert stored == [
        "hans muller\nhans@example.com\n491701234567\nmunchen\ngermany",
        "ayse yilmaz\nayse@example.com\n\nizmir\n",
    ]
    trigram = "ix_patient_profiles_search_text_trgm"
    assert (trigram in indexes) == (dialect == "postgresql")
    assert trigram not in after_downgrade


def test_the_search_index_migration_indexes_existing_patients_on_sqlite(
    empty_database_url, tmp_path
):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade(revision="c5e55105a018")
        with db.engine.begin() as connection:
            insert_users(connection, "hans@example.com")
            connection.execute(
                text(
                    "INSERT INTO patient_profiles (id, user_id, name, search_text, created_at,"
                    " updated_at) VALUES (1, 1, 'Hans Müller', 'hans muller', CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                )
            )
        upgrade(revision="c5e55105a019")
        dialect = db.engine.dialect.name
        with db.engine.connect() as connection:
            found = (
                connection.execute(
                    text(
                        "SELECT rowid FROM patient_profiles_search WHERE search_text LIKE '%mull%'"
                    )
                ).all()
                if dialect == "sqlite"
                else None
            )
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("consultations")}
        downgrade(revision="c5e55105a018")
        tables_after_downgrade = set(inspect(db.engine).get_table_names())
        db.engine.dispose()

    assert "ix_consultations_patient_profile_id_start_time" in indexes
    assert "ix_consultations_patient_profile_id" not in indexes
    if dialect == "sqlite":
        assert found == [(1,)]
    assert "patient_profiles_search" not in tables_after_downgrade


def test_the_latest_booking_migration_fills_existing_patients_and_keeps_them_after(
    empty_database_url, tmp_path
):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade(revision="c5e55105a019")
        with db.engine.begin() as connection:
            insert_users(connection, "a@example.com", "b@example.com", "c@example.com")
            connection.execute(
                text(
                    "INSERT INTO patient_profiles (id, user_id, search_text, created_at,"
                    " updated_at) VALUES (1, 1, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    " (2, 2, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    " (3, 3, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            # Patient 1: two bookings; patient 2: one of unknown time; patient 3: none.
            connection.execute(
                text(
                    "INSERT INTO consultations (patient_profile_id, cal_booking_uid, status,"
                    " start_time, created_at, updated_at) VALUES"
                    " (1, 'uid-1a', 'scheduled', '2026-12-01 09:00:00+00:00',"
                    " '2026-11-01 00:00:00+00:00', '2026-11-01 00:00:00+00:00'),"
                    " (1, 'uid-1b', 'scheduled', '2026-12-05 09:00:00+00:00',"
                    " '2026-11-01 00:00:00+00:00', '2026-11-01 00:00:00+00:00'),"
                    " (2, 'uid-2', 'pending', NULL,"
                    " '2026-11-02 00:00:00+00:00', '2026-11-02 00:00:00+00:00')"
                )
            )
        upgrade(revision="c5e55105a021")
        query = text("SELECT id, latest_booking_at FROM patient_profiles ORDER BY id")
        with db.engine.begin() as connection:
            filled = [(row[0], row[1]) for row in connection.execute(query)]
            connection.execute(
                text(
                    "UPDATE consultations SET start_time = '2026-12-09 09:00:00+00:00'"
                    " WHERE cal_booking_uid = 'uid-2'"
                )
            )
            kept = [(row[0], row[1]) for row in connection.execute(query)]
        downgrade(revision="c5e55105a019")
        columns = {column["name"] for column in inspect(db.engine).get_columns("patient_profiles")}
        db.engine.dispose()

    def day(value) -> str | None:
        return None if value is None else str(value)[:10]

    assert [(patient, day(at)) for patient, at in filled] == [
        (1, "2026-12-05"),
        (2, "2026-11-02"),  # unknown time: counts from when it was booked
        (3, None),
    ]
    assert [(patient, day(at)) for patient, at in kept] == [
        (1, "2026-12-05"),
        (2, "2026-12-09"),  # the trigger followed the new start time
        (3, None),
    ]
    assert "latest_booking_at" not in columns


def test_the_optional_json_migration_turns_stored_json_null_into_sql_null(
    empty_database_url, tmp_path
):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade(revision="c5e55105a021")
        with db.engine.begin() as connection:
            insert_users(connection, "a@example.com", "b@example.com")
            connection.execute(
                text(
                    "INSERT INTO patient_profiles (id, user_id, search_text, questionnaire_answers,"
                    " created_at, updated_at) VALUES"
                    " (1, 1, '', 'null', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    """ (2, 2, '', '{"age_range": "30-39"}', CURRENT_TIMESTAMP,"""
                    " CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO consultations (patient_profile_id, cal_booking_uid, status,"
                    " booking_answers, attendance, created_at, updated_at) VALUES"
                    " (1, 'uid-1', 'scheduled', 'null', 'null',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),"
                    """ (2, 'uid-2', 'scheduled', '{"notes": "null"}', 'null',"""
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(revision="c5e55105a022")
        with db.engine.begin() as connection:
            profiles = connection.execute(
                text(
                    "SELECT id, CAST(questionnaire_answers AS TEXT) FROM patient_profiles"
                    " ORDER BY id"
                )
            ).all()
            consultations = connection.execute(
                text(
                    "SELECT cal_booking_uid, CAST(booking_answers AS TEXT),"
                    " CAST(attendance AS TEXT) FROM consultations ORDER BY cal_booking_uid"
                )
            ).all()
        db.engine.dispose()

    assert [(id_, answers) for id_, answers in profiles] == [
        (1, None),
        (2, '{"age_range": "30-39"}'),
    ]
    assert [tuple(row) for row in consultations] == [
        ("uid-1", None, None),
        ("uid-2", '{"notes": "null"}', None),
    ]


def test_the_roles_migration_makes_the_longest_serving_consultant_the_admin(
    empty_database_url, tmp_path
):
    app = create_app(app_settings(empty_database_url, tmp_path))
    with app.app_context():
        upgrade(revision="c5e55105a022")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO consultants (id, email, name, password_hash, timezone,"
                    " session_version, created_at) VALUES (:id, :email, :name, 'x',"
                    " 'Europe/Istanbul', 0, CURRENT_TIMESTAMP)"
                ),
                [
                    {"id": 1, "email": "first@clinic.example", "name": "First"},
                    {"id": 2, "email": "second@clinic.example", "name": "Second"},
                ],
            )
        upgrade(revision="c5e55105a023")
        with db.engine.connect() as connection:
            roles = connection.execute(text("SELECT id, role FROM consultants ORDER BY id")).all()
        db.engine.dispose()

    assert [tuple(row) for row in roles] == [(1, "admin"), (2, "consultant")]
