"""What a delivery costs the database: a count of statements, deterministic unlike time."""

from __future__ import annotations

from tests.conftest import booking_document, deliver, post_delivery, statements_sent

# A new patient's booking: store the event, look up the booking, the patient and answers
# sent before the booking, insert user, profile and consultation, record the outcome.
# PostgreSQL looks the three up in one statement and inserts the three rows in one.
# Savepoints are transaction control, counted apart.
NEW_PATIENT_STATEMENTS = 8
NEW_PATIENT_STATEMENTS_ON_POSTGRESQL = 4
NEW_PATIENT_SAVEPOINT_CONTROL = 2
SAVEPOINT_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT")


def split(sent: list[str]) -> tuple[list[str], list[str]]:
    control = [statement for statement in sent if statement.startswith(SAVEPOINT_CONTROL)]
    return [statement for statement in sent if statement not in control], control


def test_a_new_patients_booking_costs_at_most_eight_statements(app, client):
    with statements_sent(app) as sent:
        answer = deliver(client, booking_document())

    assert answer["patient_created"] is True
    work, control = split(sent)
    assert len(work) <= NEW_PATIENT_STATEMENTS, work
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert len(work) == NEW_PATIENT_STATEMENTS_ON_POSTGRESQL, work
    assert len(control) <= NEW_PATIENT_SAVEPOINT_CONTROL, control
    assert sum(statement.startswith("INSERT INTO WEBHOOK_EVENTS") for statement in work) == 1
    assert sum(statement.startswith("UPDATE WEBHOOK_EVENTS") for statement in work) == 1


def test_a_byte_identical_repeat_costs_two_statements_and_stores_nothing(app, client):
    deliver(client, booking_document())

    with statements_sent(app) as sent:
        response = post_delivery(client, booking_document())

    assert response.status_code == 200
    assert response.get_json()["status"] == "duplicate"
    work, control = split(sent)
    assert control == []
    assert len(work) == 2, work  # the insert that found the hash taken, and reading the original
