"""What a delivery costs the database: a budget of statements, deterministic unlike time.

Every statement the app sends counts but transaction control (BEGIN, COMMIT); the savepoint
that applying runs in is budgeted apart, so that a second savepoint shows as plainly as a
new lookup.
"""

from __future__ import annotations

import pytest

from tests.conftest import (
    booking_document,
    deliver,
    fixture_json,
    post_delivery,
    statements_sent,
)

# A new patient's first booking: store the event, take the booking's lock (PostgreSQL
# only), look up the booking, the patient's candidates and answers sent before the booking,
# insert user, profile and consultation, record the outcome.
NEW_PATIENT_BUDGET = {"postgresql": 9, "sqlite": 8}
# A reschedule or a cancellation of a booking we hold.
KNOWN_BOOKING_BUDGET = 8
# A byte-identical repeat: the insert that finds its body hash taken, reading the original.
REPEAT_BUDGET = 3
SAVEPOINT_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT")
ONE_SAVEPOINT = ["SAVEPOINT", "RELEASE SAVEPOINT"]


def split(sent: list[str]) -> tuple[list[str], list[str]]:
    """The statements that do work, and the savepoint control apart (by its verb)."""
    control = [statement for statement in sent if statement.startswith(SAVEPOINT_CONTROL)]
    work = [statement for statement in sent if statement not in control]
    return work, [statement.split(" SA_")[0] for statement in control]


def backend(app) -> str:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    return "postgresql" if uri.startswith("postgresql") else "sqlite"


def test_a_new_patients_first_booking_stays_within_its_budget_in_one_savepoint(app, client):
    with statements_sent(app) as sent:
        answer = deliver(client, booking_document())

    assert answer["patient_created"] is True
    work, control = split(sent)
    assert len(work) <= NEW_PATIENT_BUDGET[backend(app)], work
    assert control == ONE_SAVEPOINT
    assert sum(statement.startswith("INSERT INTO WEBHOOK_EVENTS") for statement in work) == 1
    assert sum(statement.startswith("UPDATE WEBHOOK_EVENTS") for statement in work) == 1


@pytest.mark.parametrize("change", ["booking_rescheduled.json", "booking_cancelled.json"])
def test_a_change_to_a_known_booking_stays_within_its_budget_in_one_savepoint(app, client, change):
    deliver(client, fixture_json("booking_created.json"))
    if change == "booking_cancelled.json":  # it cancels the rescheduled booking
        deliver(client, fixture_json("booking_rescheduled.json"))

    with statements_sent(app) as sent:
        answer = deliver(client, fixture_json(change))

    assert answer["patient_created"] is False
    work, control = split(sent)
    assert len(work) <= KNOWN_BOOKING_BUDGET, work
    assert control == ONE_SAVEPOINT


def test_a_byte_identical_repeat_stays_within_its_budget_and_stores_nothing(app, client):
    deliver(client, booking_document())

    with statements_sent(app) as sent:
        response = post_delivery(client, booking_document())

    assert response.status_code == 200
    assert response.get_json()["status"] == "duplicate"
    work, control = split(sent)
    assert len(work) <= REPEAT_BUDGET, work
    assert control == []
    assert [statement.split()[0] for statement in work].count("INSERT") == 1
