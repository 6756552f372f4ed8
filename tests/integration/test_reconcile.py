"""`flask cal reconcile` against a local fake of Cal.com's API: what it creates, updates,
links and records, and that it changes nothing when it cannot read the API."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from tests.cal_api_fake import API_KEY, FakeCalApi, example_bookings, serving
from tests.conftest import deliver, fixture_json
from webapp.cal.api import CalApi
from webapp.cal.reconcile import OVERLAP, reconcile
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, ReconcileRun

SINCE = "2026-11-20T00:00:00Z"
# When Cal.com listed the example bookings: reconciliation's sweep around now finds the ones
# taking place then, whatever today is.
LISTED_AT = datetime(2026, 11, 29, 9, 12, tzinfo=UTC)
MATEO, OLD, NEW, INGRID = (
    "qH7mX2vKp9LwR4tYc8NbZs",
    "Wm5sD2pGa7YhK9rTq4EvNc",
    "Bn3yF6tRk8PqL2wXz5HmJd",
    "Tz4cN8wQe1RbV6kJm3XuLp",
)


@pytest.fixture(autouse=True)
def on_the_day_of_the_listing():
    """Every test runs on the day the example bookings were listed (the clock ticks on)."""
    with time_machine.travel(LISTED_AT, tick=True):
        yield


@pytest.fixture
def cal_api(app):
    """The fake API holding the four example bookings; the app points at it."""
    with serving(FakeCalApi(example_bookings())) as fake:
        app.config.update(CAL_API_URL=fake.url, CAL_API_KEY=API_KEY)
        yield fake


def run_cli(runner, *args: str):
    return runner.invoke(args=["cal", "reconcile", *args])


def consultation(uid: str) -> Consultation | None:
    return db.session.scalar(select(Consultation).where(Consultation.cal_booking_uid == uid))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def last_run() -> ReconcileRun:
    return db.session.scalar(select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(1))


def booking(uid: str) -> dict:
    return copy.deepcopy(next(b for b in example_bookings() if b["uid"] == uid))


def test_missing_bookings_are_created_with_cancellations_and_reschedules(app, runner, cal_api):
    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code == 0, result.output
    assert "created 4, updated 0" in result.output
    with app.app_context():
        assert consultation(MATEO).status == "scheduled"
        assert consultation(MATEO).patient.name == "Mateo Alvarez"
        assert consultation(MATEO).attendee_phone == "+34611222333"
        assert consultation(MATEO).booking_answers["country"]["value"] == "Spain"
        old, new = consultation(OLD), consultation(NEW)
        assert old.status == "rescheduled"
        assert old.rescheduled_to_id == new.id
        assert new.status == "scheduled"
        assert new.cancellation_reason is None
        assert old.patient_profile_id == new.patient_profile_id
        ingrid = consultation(INGRID)
        assert ingrid.status == "cancelled"
        assert ingrid.cancellation_reason == "Decided to wait until spring"
        assert ingrid.patient.name == "Ingrid Solberg"
        assert count(PatientProfile) == 3
        run = last_run()
        assert (run.status, run.dry_run, run.created, run.updated) == ("ok", False, 4, 0)
        assert sorted(run.missing_uids) == sorted([MATEO, OLD, NEW, INGRID])
        assert run.since == datetime(2026, 11, 20, tzinfo=UTC)
        assert run.finished_at is not None


def test_a_second_run_changes_nothing(app, runner, cal_api):
    assert run_cli(runner, "--since", SINCE).exit_code == 0

    again = run_cli(runner, "--since", SINCE)

    assert again.exit_code == 0, again.output
    assert "created 0, updated 0" in again.output
    with app.app_context():
        assert (count(Consultation), count(PatientProfile)) == (4, 3)
        assert last_run().missing_uids == []


def test_a_cancellation_we_missed_is_applied_with_its_reason(app, runner, cal_api):
    accepted = booking(INGRID) | {"status": "accepted", "cancellationReason": ""}
    accepted["updatedAt"] = accepted["createdAt"]
    cal_api.put(accepted)
    assert run_cli(runner, "--since", SINCE).exit_code == 0
    with app.app_context():
        assert consultation(INGRID).status == "scheduled"
    cal_api.put(booking(INGRID))

    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code == 0, result.output
    assert "updated 1" in result.output
    with app.app_context():
        assert consultation(INGRID).status == "cancelled"
        assert consultation(INGRID).cancellation_reason == "Decided to wait until spring"
        assert last_run().outdated_uids == [INGRID]


def test_a_reschedule_we_missed_links_both_bookings(app, runner, cal_api):
    old = booking(OLD) | {"status": "accepted", "updatedAt": booking(OLD)["createdAt"]}
    del old["rescheduledToUid"]
    cal_api.bookings = {OLD: old}
    assert run_cli(runner, "--since", SINCE).exit_code == 0
    # Cal.com now holds the pair; the new booking (created before ``SINCE``, taking place after
    # the sweep's days) is outside every window and is fetched by uid.
    new = booking(NEW) | {"createdAt": "2026-11-01T00:00:00.000Z"}
    new["updatedAt"] = new["createdAt"]
    cal_api.bookings = {OLD: booking(OLD), NEW: new}

    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code == 0, result.output
    assert any(r["path"] == f"/v2/bookings/{NEW}" for r in cal_api.requests)
    with app.app_context():
        old_consultation, new_consultation = consultation(OLD), consultation(NEW)
        assert old_consultation.status == "rescheduled"
        assert old_consultation.rescheduled_to_id == new_consultation.id
        assert new_consultation.status == "scheduled"
        run = last_run()
        assert (run.missing_uids, run.outdated_uids) == ([NEW], [OLD])


def test_pages_are_walked_until_a_short_one_with_the_version_header(
    app, runner, cal_api, monkeypatch
):
    monkeypatch.setattr("webapp.cal.api.PAGE_SIZE", 3)

    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code == 0, result.output
    assert "page 1: 3 bookings seen" in result.output
    assert "4 bookings seen" in result.output
    lists = [r for r in cal_api.requests if r["path"] == "/v2/bookings"]
    updated_pass = [r["params"] for r in lists if "afterUpdatedAt" in r["params"]]
    assert [p["skip"] for p in updated_pass] == ["0", "3"]
    assert all(p["sortUpdatedAt"] == "asc" and p["take"] == "3" for p in updated_pass)
    assert updated_pass[0]["afterUpdatedAt"] == "2026-11-20T00:00:00.000Z"
    assert any("afterCreatedAt" in r["params"] for r in lists)
    assert all(r["headers"].get("Cal-Api-Version") == "2024-08-13" for r in cal_api.requests)
    assert all("status" not in r["params"] for r in lists)
    with app.app_context():
        assert count(Consultation) == 4
        assert last_run().pages >= 5  # two passes of two pages, then the sweep


def test_a_429_waits_the_reset_seconds_and_repeats_the_same_page(app, cal_api):
    cal_api.throttle = 1
    cal_api.reset_seconds = 7
    waits: list[float] = []

    with app.app_context(), CalApi(cal_api.url, API_KEY, sleep=waits.append) as api:
        run = reconcile(api, datetime(2026, 11, 20, tzinfo=UTC))

        assert (run.status, run.created) == ("ok", 4)
    assert waits == [7.0]
    first, retried = cal_api.requests[0]["params"], cal_api.requests[1]["params"]
    assert first == retried


def test_an_exhausted_window_waits_before_the_next_request(app, cal_api):
    cal_api.remaining = 0
    cal_api.reset_seconds = 2
    waits: list[float] = []

    with app.app_context(), CalApi(cal_api.url, API_KEY, sleep=waits.append) as api:
        reconcile(api, datetime(2026, 11, 20, tzinfo=UTC))

    assert waits and set(waits) == {2.0}
    assert len(waits) == len(cal_api.requests) - 1


def test_a_wrong_key_exits_non_zero_and_changes_nothing(app, runner, cal_api):
    app.config["CAL_API_KEY"] = "cal_live_wrong"

    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code != 0
    assert "401" in result.output and "CAL_API_KEY" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert count(Consultation) == 0
        run = last_run()
        assert run.status == "failed"
        assert "API key" in run.error


def test_an_unreachable_api_exits_non_zero_and_changes_nothing(app, runner, monkeypatch):
    monkeypatch.setattr("webapp.cal.api.pause", lambda seconds: None)
    app.config.update(CAL_API_URL="http://127.0.0.1:1/v2", CAL_API_KEY=API_KEY)

    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code != 0
    assert "cannot reach Cal.com's API at http://127.0.0.1:1/v2" in result.output
    with app.app_context():
        assert count(Consultation) == 0
        assert last_run().status == "failed"


def test_without_a_key_reconciliation_is_off(app, runner):
    app.config["CAL_API_KEY"] = None

    result = run_cli(runner)

    assert result.exit_code != 0
    assert "CAL_API_KEY is not set" in result.output


def test_a_dry_run_reports_and_changes_nothing(app, runner, cal_api):
    result = run_cli(runner, "--since", SINCE, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "would create 4" in result.output
    with app.app_context():
        assert (count(Consultation), count(PatientProfile)) == (0, 0)
        run = last_run()
        assert (run.dry_run, run.status, run.created) == (True, "ok", 4)


def test_without_since_a_run_starts_at_the_last_successful_one_minus_the_overlap(
    app, runner, cal_api
):
    assert run_cli(runner, "--since", SINCE).exit_code == 0
    with app.app_context():
        first = last_run().started_at
    cal_api.requests.clear()

    assert run_cli(runner).exit_code == 0

    with app.app_context():
        assert last_run().since == first - OVERLAP


def test_the_first_run_without_since_looks_30_days_back(app, runner, cal_api):
    assert run_cli(runner).exit_code == 0

    with app.app_context():
        run = last_run()
        assert timedelta(days=29) < run.started_at - run.since <= timedelta(days=30)


def test_a_delivery_after_reconciliation_created_the_booking_doubles_nothing(
    app, client, runner, cal_api
):
    assert run_cli(runner, "--since", SINCE).exit_code == 0
    document = fixture_json("booking_created.json")
    document["payload"]["uid"] = MATEO
    document["payload"]["responses"]["email"]["value"] = "mateo.alvarez@example.com"
    document["payload"]["attendees"][0]["email"] = "mateo.alvarez@example.com"

    answer = deliver(client, document)

    with app.app_context():
        assert answer["consultation_id"] == consultation(MATEO).id
        assert count(Consultation) == 4
        assert count(PatientProfile) == 3
        assert consultation(MATEO).status == "scheduled"


def test_an_absent_booker_is_a_no_show(app, runner, cal_api):
    absent = booking(MATEO)
    absent["attendees"][0]["absent"] = True
    cal_api.put(absent)

    assert run_cli(runner, "--since", SINCE).exit_code == 0

    with app.app_context():
        assert consultation(MATEO).status == "no_show"
    assert "created 0, updated 0" in run_cli(runner, "--since", SINCE).output


def test_a_pending_booking_is_pending_and_a_rejected_one_rejected(app, runner, cal_api):
    cal_api.put(booking(MATEO) | {"status": "pending"})
    cal_api.put(booking(INGRID) | {"status": "rejected", "cancellationReason": "Fully booked"})

    assert run_cli(runner, "--since", SINCE).exit_code == 0

    with app.app_context():
        assert consultation(MATEO).status == "pending"
        assert consultation(INGRID).status == "rejected"
        assert consultation(INGRID).cancellation_reason == "Fully booked"


def test_the_fake_answers_like_cal_com_without_the_version_header(cal_api):
    import httpx

    answer = httpx.get(f"{cal_api.url}/bookings", headers={"Authorization": f"Bearer {API_KEY}"})

    assert answer.status_code == 200
    assert isinstance(answer.json()["data"], dict)


def test_the_sweep_finds_a_no_show_that_did_not_move_updated_at(app, runner, cal_api):
    assert run_cli(runner, "--since", SINCE).exit_code == 0
    # The meeting was yesterday; the flag lives in the attendee row, updatedAt stays old.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    absent = booking(MATEO) | {
        "start": yesterday.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "end": (yesterday + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    absent["attendees"][0]["absent"] = True
    cal_api.put(absent)

    result = run_cli(runner, "--since", "2026-11-25T00:00:00Z")

    assert result.exit_code == 0, result.output
    sweep = [r["params"] for r in cal_api.requests if "afterStart" in r["params"]]
    assert sweep and all("beforeEnd" in p and p["sortStart"] == "asc" for p in sweep)
    with app.app_context():
        assert consultation(MATEO).status == "no_show"
        assert last_run().outdated_uids == [MATEO]


def test_a_no_show_cal_com_lifted_is_lifted_here(app, runner, cal_api):
    absent = booking(MATEO)
    absent["attendees"][0]["absent"] = True
    cal_api.bookings = {MATEO: absent}
    assert run_cli(runner, "--since", SINCE).exit_code == 0
    with app.app_context():
        assert consultation(MATEO).status == "no_show"
    cal_api.bookings = {MATEO: booking(MATEO)}  # "absent": false again

    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code == 0, result.output
    with app.app_context():
        # The meeting (3 December) has not ended on the day of the listing.
        assert consultation(MATEO).status == "scheduled"
        assert consultation(MATEO).attendance["mateo.alvarez@example.com"]["no_show"] is False
        assert last_run().outdated_uids == [MATEO]
    assert "created 0, updated 0" in run_cli(runner, "--since", SINCE).output


def test_a_host_cal_com_marked_absent_is_shown_as_the_consultant_not_joining(app, runner, cal_api):
    cal_api.bookings = {MATEO: booking(MATEO) | {"absentHost": True}}

    assert run_cli(runner, "--since", SINCE).exit_code == 0

    with app.app_context():
        assert consultation(MATEO).host_no_show_at is not None
        assert consultation(MATEO).status == "scheduled"
    assert "created 0, updated 0" in run_cli(runner, "--since", SINCE).output


def test_a_confirmation_we_missed_turns_pending_into_scheduled(app, runner, cal_api):
    pending = booking(MATEO) | {"status": "pending"}
    cal_api.bookings = {MATEO: pending}
    assert run_cli(runner, "--since", SINCE).exit_code == 0
    confirmed = booking(MATEO) | {"updatedAt": "2026-11-22T08:00:00.000Z"}
    cal_api.bookings = {MATEO: confirmed}

    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert consultation(MATEO).status == "scheduled"
        assert last_run().outdated_uids == [MATEO]


def test_a_booking_that_cannot_be_applied_is_named_and_the_others_are_kept(
    app, runner, cal_api, monkeypatch
):
    from webapp.cal import reconcile as module

    real = module.apply_event

    def apply(booking, at, label):
        if booking.uid == INGRID:
            raise RuntimeError("simulated bug with Ingrid Solberg in its message")
        return real(booking, at, label)

    monkeypatch.setattr(module, "apply_event", apply)

    result = run_cli(runner, "--since", SINCE)

    assert result.exit_code != 0
    assert f"could not apply 1 booking(s): {INGRID}" in result.output
    assert "Ingrid" not in result.output
    with app.app_context():
        assert consultation(INGRID) is None
        assert count(Consultation) == 3
        run = last_run()
        assert run.status == "failed"
        assert INGRID not in run.missing_uids
