"""A consultation's status through every trigger, in any order of arrival, and `flask cal`."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import empty_database, fixture_body, fixture_json, post_delivery
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, User, WebhookEvent

CREATED_UID = "r8KqT2mWv5XbN7pLc3YdZa"
RESCHEDULED_UID = "h3ZtW9qLs2KdF6mXv8NcRb"
CANCELLATION_REASON = "Decided to postpone the procedure"
PATIENT_DETAILS = ("Oliver", "Bennett", "oliver.bennett", "Oliver.Bennett", "7700900123")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def deliver(client, document: dict[str, Any] | bytes) -> dict[str, Any]:
    response = post_delivery(client, document)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] in ("processed", "duplicate"), answer
    return answer


def deliver_fixture(client, name: str) -> dict[str, Any]:
    return deliver(client, fixture_body(name))


def variant(name: str, trigger: str | None = None, created_at: str | None = None, **payload):
    """A fixture with another trigger, send time or payload fields."""
    document = fixture_json(name)
    if trigger is not None:
        document["triggerEvent"] = trigger
    if created_at is not None:
        document["createdAt"] = created_at
    document["payload"].update(payload)
    return document


def no_show(uid: str, booking_id: int, marked: bool, created_at: str) -> dict[str, Any]:
    """BOOKING_NO_SHOW_UPDATED as Cal.com sends it for an attendee."""
    return {
        "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
        "createdAt": created_at,
        "payload": {
            "bookingUid": uid,
            "bookingId": booking_id,
            "message": "x_marked_as_no_show" if marked else "x_unmarked_as_no_show",
            "attendees": [{"email": "Oliver.Bennett@Example.co.uk", "noShow": marked}],
        },
    }


def consultation(uid: str) -> Consultation:
    return db.session.scalar(select(Consultation).where(Consultation.cal_booking_uid == uid))


def status_of(app, uid: str) -> str | None:
    with app.app_context():
        found = consultation(uid)
        return None if found is None else found.status


def start_again() -> None:
    """Release this context's session, then empty the database for the next run."""
    db.session.remove()
    empty_database()


def booking_state() -> dict[str, Any]:
    """Everything that should not depend on the order deliveries arrived in, by booking uid."""
    return {
        "patients": count(PatientProfile),
        "users": count(User),
        "consultations": {
            c.cal_booking_uid: {
                "status": c.status,
                "rescheduled_to": c.rescheduled_to.cal_booking_uid if c.rescheduled_to else None,
                "cancellation_reason": c.cancellation_reason,
                "patient": c.patient.email,
                "start_time": c.start_time,
                "end_time": c.end_time,
                "cal_booking_id": c.cal_booking_id,
            }
            for c in db.session.scalars(select(Consultation))
        },
    }


# --- One trigger at a time ------------------------------------------------------------------


def test_booking_created_is_scheduled(app, client):
    deliver_fixture(client, "booking_created.json")

    assert status_of(app, CREATED_UID) == "scheduled"


def test_booking_requested_is_pending_until_created(app, client):
    requested = variant(
        "booking_created.json",
        "BOOKING_REQUESTED",
        "2026-11-02T09:10:00.000Z",
        status="PENDING",
    )

    deliver(client, requested)
    assert status_of(app, CREATED_UID) == "pending"

    deliver_fixture(client, "booking_created.json")
    assert status_of(app, CREATED_UID) == "scheduled"
    with app.app_context():
        assert (count(PatientProfile), count(Consultation)) == (1, 1)


def test_booking_rescheduled_makes_a_new_consultation_for_the_same_patient(app, client):
    created = deliver_fixture(client, "booking_created.json")

    rescheduled = deliver_fixture(client, "booking_rescheduled.json")

    assert rescheduled["consultation_id"] != created["consultation_id"]
    assert rescheduled["patient_id"] == created["patient_id"]
    assert rescheduled["patient_created"] is False
    with app.app_context():
        old = consultation(CREATED_UID)
        new = consultation(RESCHEDULED_UID)
        assert old.status == "rescheduled"
        assert old.rescheduled_to_id == new.id
        assert new.status == "scheduled"
        assert new.patient_profile_id == old.patient_profile_id
        assert new.cal_booking_id == 90377
        assert (count(PatientProfile), count(Consultation)) == (1, 2)


def test_booking_requested_with_reschedule_uid_reschedules_into_a_pending_booking(app, client):
    deliver_fixture(client, "booking_created.json")
    requested = variant("booking_rescheduled.json", "BOOKING_REQUESTED", status="PENDING")

    deliver(client, requested)

    with app.app_context():
        old = consultation(CREATED_UID)
        new = consultation(RESCHEDULED_UID)
        assert new.status == "pending"
        assert old.status == "rescheduled"
        assert old.rescheduled_to_id == new.id
        assert new.patient_profile_id == old.patient_profile_id
        assert (count(PatientProfile), count(Consultation)) == (1, 2)


def test_booking_cancelled_records_the_reason(app, client):
    deliver_fixture(client, "booking_created.json")
    deliver_fixture(client, "booking_rescheduled.json")

    deliver_fixture(client, "booking_cancelled.json")

    with app.app_context():
        cancelled = consultation(RESCHEDULED_UID)
        assert cancelled.status == "cancelled"
        assert cancelled.cancellation_reason == CANCELLATION_REASON
        assert consultation(CREATED_UID).status == "rescheduled"


def test_booking_rejected_is_rejected(app, client):
    deliver(
        client,
        variant(
            "booking_created.json",
            "BOOKING_REQUESTED",
            "2026-11-02T09:10:00.000Z",
            status="PENDING",
        ),
    )
    rejected = variant(
        "booking_created.json",
        "BOOKING_REJECTED",
        "2026-11-02T15:00:00.000Z",
        status="REJECTED",
        rejectionReason="Please send photos first",
    )

    deliver(client, rejected)

    with app.app_context():
        found = consultation(CREATED_UID)
        assert found.status == "rejected"
        assert found.cancellation_reason == "Please send photos first"


def test_meeting_ended_is_completed(app, client):
    deliver_fixture(client, "booking_created.json")
    deliver_fixture(client, "booking_rescheduled.json")

    deliver_fixture(client, "meeting_ended.json")

    assert status_of(app, RESCHEDULED_UID) == "completed"
    assert status_of(app, CREATED_UID) == "rescheduled"
    with app.app_context():
        assert (count(PatientProfile), count(Consultation)) == (1, 2)


def test_meeting_ended_alone_still_finds_its_patient(app, client):
    answer = deliver_fixture(client, "meeting_ended.json")

    assert status_of(app, RESCHEDULED_UID) == "completed"
    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.email == "oliver.bennett@example.co.uk"


def test_no_show_is_marked_and_unmarked(app, client):
    deliver_fixture(client, "booking_created.json")

    deliver(client, no_show(CREATED_UID, 90211, True, "2026-11-05T10:05:00.000Z"))
    assert status_of(app, CREATED_UID) == "no_show"

    deliver(client, no_show(CREATED_UID, 90211, False, "2026-11-05T10:10:00.000Z"))
    assert status_of(app, CREATED_UID) == "scheduled"
    with app.app_context():
        assert (count(PatientProfile), count(Consultation)) == (1, 1)


# --- Out of order ---------------------------------------------------------------------------

IN_ORDER = ("booking_created.json", "booking_rescheduled.json", "booking_cancelled.json")


@pytest.mark.parametrize(
    "order", list(itertools.permutations(IN_ORDER)), ids=lambda order: "-".join(order)
)
def test_any_order_of_created_rescheduled_cancelled_ends_in_the_in_order_state(app, client, order):
    for name in IN_ORDER:
        deliver_fixture(client, name)
    with app.app_context():
        expected = booking_state()
        start_again()

    for name in order:
        deliver_fixture(client, name)

    with app.app_context():
        assert booking_state() == expected
        assert expected["patients"] == 1
        assert expected["users"] == 1
        assert set(expected["consultations"]) == {CREATED_UID, RESCHEDULED_UID}
        old = expected["consultations"][CREATED_UID]
        new = expected["consultations"][RESCHEDULED_UID]
        assert (old["status"], old["rescheduled_to"]) == ("rescheduled", RESCHEDULED_UID)
        assert (new["status"], new["cancellation_reason"]) == ("cancelled", CANCELLATION_REASON)
        assert new["rescheduled_to"] is None
        assert old["cal_booking_id"] == 90211


def test_cancel_before_create_stays_cancelled(app, client):
    cancelled = variant(
        "booking_created.json",
        "BOOKING_CANCELLED",
        "2026-11-02T12:00:00.000Z",
        status="CANCELLED",
        cancellationReason=CANCELLATION_REASON,
    )

    deliver(client, cancelled)
    deliver_fixture(client, "booking_created.json")

    with app.app_context():
        found = consultation(CREATED_UID)
        assert found.status == "cancelled"
        assert found.cancellation_reason == CANCELLATION_REASON
        assert found.cal_booking_id == 90211
        assert (count(PatientProfile), count(Consultation)) == (1, 1)


def final_states(app, client, *sequences) -> list[dict[str, Any]]:
    """The booking state after delivering each sequence of documents on an empty database."""
    states = []
    for documents in sequences:
        for document in documents:
            deliver(client, document)
        with app.app_context():
            states.append(booking_state())
            start_again()
    return states


def both_orders(app, client, first, second) -> list[dict[str, Any]]:
    """The booking state after ``first, second`` and after ``second, first``."""
    return final_states(app, client, (first, second), (second, first))


def test_the_later_of_two_cancellations_wins_in_either_order(app, client):
    earlier = variant(
        "booking_cancelled.json",
        created_at="2026-11-06T08:00:00.000Z",
        cancellationReason="Too expensive",
    )
    later = variant("booking_cancelled.json", created_at="2026-11-06T09:00:00.000Z")

    in_order, reversed_order = both_orders(app, client, earlier, later)

    assert in_order == reversed_order
    reason = in_order["consultations"][RESCHEDULED_UID]["cancellation_reason"]
    assert reason == CANCELLATION_REASON


def test_a_later_booking_created_beats_an_earlier_request_in_either_order(app, client):
    requested = variant(
        "booking_created.json", "BOOKING_REQUESTED", "2026-11-02T09:00:00.000Z", status="PENDING"
    )
    created = fixture_json("booking_created.json")

    in_order, reversed_order = both_orders(app, client, requested, created)

    assert in_order == reversed_order
    assert in_order["consultations"][CREATED_UID]["status"] == "scheduled"


def test_a_later_request_beats_an_earlier_booking_created_in_either_order(app, client):
    created = fixture_json("booking_created.json")
    requested = variant(
        "booking_created.json", "BOOKING_REQUESTED", "2026-11-02T10:00:00.000Z", status="PENDING"
    )

    in_order, reversed_order = both_orders(app, client, created, requested)

    assert in_order == reversed_order
    assert in_order["consultations"][CREATED_UID]["status"] == "pending"


# A no-show mark and its unmarking five minutes later: while the meeting runs (it ends at
# 10:15) and after it has ended.
NO_SHOW_TIMES = {
    "during-the-meeting": ("2026-11-05T10:05:00.000Z", "2026-11-05T10:10:00.000Z"),
    "after-the-meeting": ("2026-11-05T10:30:00.000Z", "2026-11-05T10:35:00.000Z"),
}


@pytest.mark.parametrize("timing", NO_SHOW_TIMES)
def test_a_later_no_show_unmark_beats_an_earlier_mark_in_either_order(app, client, timing):
    marked_at, unmarked_at = NO_SHOW_TIMES[timing]
    created = fixture_json("booking_created.json")
    mark = no_show(CREATED_UID, 90211, True, marked_at)
    unmark = no_show(CREATED_UID, 90211, False, unmarked_at)

    in_order, reversed_order = final_states(
        app, client, (created, mark, unmark), (created, unmark, mark)
    )

    assert in_order == reversed_order
    assert in_order["consultations"][CREATED_UID]["status"] != "no_show"


def test_a_later_no_show_unmark_arriving_first_leaves_the_booking_scheduled(app, client):
    deliver_fixture(client, "booking_created.json")
    marked_at, unmarked_at = NO_SHOW_TIMES["during-the-meeting"]

    deliver(client, no_show(CREATED_UID, 90211, False, unmarked_at))
    deliver(client, no_show(CREATED_UID, 90211, True, marked_at))

    assert status_of(app, CREATED_UID) == "scheduled"


@pytest.mark.parametrize("timing", NO_SHOW_TIMES)
def test_an_earlier_no_show_unmark_never_undoes_a_later_mark_in_either_order(app, client, timing):
    unmarked_at, marked_at = NO_SHOW_TIMES[timing]
    created = fixture_json("booking_created.json")
    unmark = no_show(CREATED_UID, 90211, False, unmarked_at)
    mark = no_show(CREATED_UID, 90211, True, marked_at)

    in_order, reversed_order = final_states(
        app, client, (created, unmark, mark), (created, mark, unmark)
    )

    assert in_order == reversed_order
    assert in_order["consultations"][CREATED_UID]["status"] == "no_show"


@pytest.mark.parametrize("meeting_first", [True, False], ids=["meeting-first", "cancel-first"])
def test_meeting_ended_never_turns_a_cancelled_booking_into_completed(app, client, meeting_first):
    deliver_fixture(client, "booking_created.json")
    deliver_fixture(client, "booking_rescheduled.json")
    names = ["meeting_ended.json", "booking_cancelled.json"]
    for name in names if meeting_first else reversed(names):
        deliver_fixture(client, name)

    with app.app_context():
        found = consultation(RESCHEDULED_UID)
        assert found.status == "cancelled"
        assert found.cancellation_reason == CANCELLATION_REASON


# --- flask cal events / replay --------------------------------------------------------------


def explode(*args, **kwargs):
    raise RuntimeError("simulated bug")


def row_snapshot() -> dict[str, Any]:
    """Every row the webhook writes, as plain values."""

    def values(model) -> list[tuple[Any, ...]]:
        columns = model.__table__.columns
        rows = db.session.scalars(select(model).order_by(model.id))
        return [tuple(getattr(row, column.key) for column in columns) for row in rows]

    return {
        model.__tablename__: values(model)
        for model in (User, PatientProfile, Consultation, WebhookEvent)
    }


def test_replay_failed_processes_the_event_once_the_bug_is_fixed(app, client, runner, monkeypatch):
    monkeypatch.setattr("webapp.cal.events.change_status", explode)
    failed = post_delivery(client, fixture_body("booking_created.json")).get_json()
    assert failed["status"] == "failed"
    monkeypatch.undo()

    result = runner.invoke(args=["cal", "replay", "--failed"])

    assert result.exit_code == 0, result.output
    assert str(failed["event_id"]) in result.output
    assert "processed" in result.output
    with app.app_context():
        event = db.session.get(WebhookEvent, failed["event_id"])
        assert event.status == "processed"
        assert event.error is None
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)
        assert count(WebhookEvent) == 1
        found = consultation(CREATED_UID)
        assert found.status == "scheduled"
        assert event.consultation_id == found.id
        assert event.patient_profile_id == found.patient_profile_id

    again = runner.invoke(args=["cal", "replay", "--failed"])

    assert again.exit_code == 0, again.output
    with app.app_context():
        assert (count(User), count(PatientProfile), count(Consultation)) == (1, 1, 1)


def test_replaying_a_processed_event_changes_nothing(app, client, runner):
    answer = deliver_fixture(client, "booking_created.json")
    deliver_fixture(client, "booking_rescheduled.json")
    deliver_fixture(client, "booking_cancelled.json")
    with app.app_context():
        before = row_snapshot()
        event_ids = [str(event_id) for event_id in db.session.scalars(select(WebhookEvent.id))]

    result = runner.invoke(args=["cal", "replay", str(answer["event_id"])])
    everything = runner.invoke(args=["cal", "replay", *event_ids])

    assert result.exit_code == 0, result.output
    assert everything.exit_code == 0, everything.output
    with app.app_context():
        assert row_snapshot() == before


def test_cal_events_lists_ids_and_status_without_patient_details(app, client, runner, monkeypatch):
    processed = deliver_fixture(client, "booking_created.json")
    monkeypatch.setattr("webapp.cal.events.change_status", explode)
    failed = post_delivery(client, fixture_body("booking_rescheduled.json")).get_json()
    monkeypatch.undo()
    assert failed["status"] == "failed"

    listing = runner.invoke(args=["cal", "events"])
    only_failed = runner.invoke(args=["cal", "events", "--status", "failed"])

    assert listing.exit_code == 0, listing.output
    assert only_failed.exit_code == 0, only_failed.output
    lines = listing.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == str(failed["event_id"])
    assert "failed" in lines[0]
    assert lines[1].split()[0] == str(processed["event_id"])
    assert "processed" in lines[1]
    failed_lines = only_failed.output.strip().splitlines()
    assert len(failed_lines) == 1
    assert failed_lines[0].split()[0] == str(failed["event_id"])
    for output in (listing.output, only_failed.output):
        for detail in PATIENT_DETAILS:
            assert detail not in output


def test_cal_events_never_prints_patient_details_quoted_by_a_failure(
    app, client, runner, monkeypatch
):
    def explode_quoting(consultation, *_args):
        patient = consultation.patient
        raise ValueError(f"cannot store the booking of {patient.name} <{patient.email}>")

    monkeypatch.setattr("webapp.cal.events.change_status", explode_quoting)
    failed = post_delivery(client, fixture_body("booking_created.json")).get_json()
    monkeypatch.undo()
    assert failed["status"] == "failed"

    listing = runner.invoke(args=["cal", "events"])
    only_failed = runner.invoke(args=["cal", "events", "--status", "failed"])

    for output in (listing.output, only_failed.output):
        assert str(failed["event_id"]) in output
        assert "failed" in output
        for detail in PATIENT_DETAILS:
            assert detail not in output


def test_an_overlong_name_never_leaks_patient_details_into_answers_or_cal_events(
    app, client, runner
):
    document = fixture_json("booking_created.json")
    document["payload"]["responses"]["name"]["value"] = "Oliver " + "Bennett" * 40

    response = post_delivery(client, document)
    listing = runner.invoke(args=["cal", "events"])

    assert response.status_code == 200
    assert listing.exit_code == 0, listing.output
    for output in (response.get_data(as_text=True), listing.output):
        for detail in PATIENT_DETAILS:
            assert detail not in output


def test_cal_events_with_nothing_stored_says_so(app, runner):
    result = runner.invoke(args=["cal", "events", "--status", "failed"])

    assert result.exit_code == 0
    assert "no deliveries stored" in result.output


def test_cal_replay_with_an_unknown_id_errors(app, client, runner):
    deliver_fixture(client, "booking_created.json")

    result = runner.invoke(args=["cal", "replay", "424242"])

    assert result.exit_code != 0
    assert "424242" in result.output
    with app.app_context():
        assert db.session.scalar(select(WebhookEvent.status)) == "processed"


def test_cal_replay_without_ids_or_failed_is_a_usage_error(app, runner):
    result = runner.invoke(args=["cal", "replay"])

    assert result.exit_code == 2
