"""Tab counts in a large clinic: the consultant's own tab is exact, the others may lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token_from, deliver
from tests.integration.test_dashboard import booking, cancellation, count, page_text
from webapp.dashboard import counts
from webapp.dashboard.queries import DashboardView, change_cursor
from webapp.extensions import db
from webapp.models import PatientProfile


@pytest.fixture
def large_clinic(monkeypatch):
    """Counts behave as past ``EXACT_COUNTS_BELOW`` consultations, with nothing remembered."""
    monkeypatch.setattr(counts, "EXACT_COUNTS_BELOW", 0)
    monkeypatch.setattr(counts, "OTHER_TABS", {})
    monkeypatch.setattr(counts, "SETTLED", {})


def test_in_a_small_clinic_every_tab_count_is_exact_on_every_request(consultant_client):
    created = booking("SmallClinic1", datetime.now(UTC) + timedelta(days=2))
    deliver(consultant_client, created)
    assert count(page_text(consultant_client, "/"), "cancelled") == 0

    deliver(consultant_client, cancellation(created))

    page = page_text(consultant_client, "/")
    assert count(page, "upcoming") == 0
    assert count(page, "cancelled") == 1


def test_in_a_large_clinic_the_own_tab_is_exact_and_the_others_lag_until_recounted(
    consultant_client, large_clinic, monkeypatch
):
    created = booking("LargeClinic1", datetime.now(UTC) + timedelta(days=2))
    deliver(consultant_client, created)
    page = page_text(consultant_client, "/")
    assert (count(page, "upcoming"), count(page, "cancelled")) == (1, 0)

    deliver(consultant_client, cancellation(created))

    page = page_text(consultant_client, "/")
    assert count(page, "upcoming") == 0  # the tab on screen: exact
    assert count(page, "cancelled") == 0  # another tab: last counted a moment ago
    page = page_text(consultant_client, "/?tab=cancelled")
    assert count(page, "cancelled") == 1  # exact once it is the tab on screen

    monkeypatch.setattr(counts, "OTHER_TABS_FRESH_FOR", timedelta(0))
    page = page_text(consultant_client, "/")
    assert (count(page, "upcoming"), count(page, "cancelled")) == (0, 1)


@pytest.mark.parametrize(("tab", "days"), [("upcoming", 3), ("past", -3)])
def test_bookings_at_the_same_time_list_the_latest_booked_first_and_the_tab_counts_them(
    consultant_client, large_clinic, tab, days
):
    start = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    for uid, name in (("SameTime1", "Ada Earlier"), ("SameTime2", "Bea Later")):
        deliver(
            consultant_client,
            booking(uid, start, email=f"{uid.lower()}@example.com", name=name),
        )

    page = page_text(consultant_client, f"/?tab={tab}")
    assert page.index("Bea Later") < page.index("Ada Earlier")
    assert count(page, tab) == 2


def test_in_a_large_clinic_the_own_tab_is_exact_at_once_when_an_old_booking_changes(
    consultant_client, large_clinic
):
    old = booking("OldBooking1", datetime.now(UTC) - timedelta(days=3))
    deliver(consultant_client, old)
    for _ in range(2):  # counted, then remembered
        assert count(page_text(consultant_client, "/?tab=past"), "past") == 1

    deliver(consultant_client, cancellation(old))

    assert count(page_text(consultant_client, "/?tab=past"), "past") == 0
    assert count(page_text(consultant_client, "/?tab=cancelled"), "cancelled") == 1


def test_a_booking_moves_from_upcoming_to_past_as_its_hour_passes_counts_remembered_or_not(
    app, consultant_client, large_clinic
):
    start = (datetime.now(UTC) + timedelta(days=30)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    deliver(consultant_client, booking("HourPasses1", start))
    deliver(
        consultant_client,
        booking("WeekBefore1", start - timedelta(days=7), email="week@example.com"),
    )
    before, after = start - timedelta(minutes=1), start + timedelta(minutes=1)

    with app.app_context():
        version = change_cursor()

        def counted(tab: str, now: datetime) -> int:
            view = DashboardView(tab=tab, query="", page=1, now=now, timezone=ZoneInfo("UTC"))
            return counts.tab_counts(view, version)[tab]

        # The first count is a full one; the others count the tab on screen, today's part
        # anew and the rest as remembered for this version of the data.
        assert counted("upcoming", before) == 1
        assert counted("past", before) == 1
        assert counted("past", after) == 2
        assert counted("upcoming", after) == 0
        assert counted("upcoming", before) == 1


def test_in_a_large_clinic_the_review_count_is_exact_at_once_after_a_dismissal(
    app, consultant_client, large_clinic
):
    now = datetime.now(UTC)
    deliver(consultant_client, booking("FlagOne1", now - timedelta(days=3)))
    flagged = booking("FlagTwo1", now + timedelta(days=3), email="other.bennett@example.com")
    deliver(consultant_client, flagged)  # same phone, another email: a possible duplicate
    for _ in range(2):  # counted, then remembered
        page = page_text(consultant_client, "/?tab=review")
        assert count(page, "review") == 2
    with app.app_context():
        flagged_id, kept_id = db.session.execute(
            select(PatientProfile.id, PatientProfile.possible_duplicate_of_id).where(
                PatientProfile.possible_duplicate_of_id.is_not(None)
            )
        ).one()
    token = csrf_token_from(page)

    consultant_client.post(
        f"/patients/{flagged_id}/dismiss-duplicate",
        data={"other_id": kept_id, "csrf_token": token},
    )

    assert count(page_text(consultant_client, "/?tab=review"), "review") == 0
