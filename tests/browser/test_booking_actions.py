"""A consultant acts on bookings in Cal.com from a real browser, against the fake API: the row
says the action is under way, then shows its result in place; a second tab sees the change
on its next poll; the confirmation step and a refusal read well and pass axe-core on a
laptop and a phone. Screenshots land in tests/browser/artifacts/ (git-ignored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.browser.test_dashboard_layout import screenshot
from tests.browser.test_live_dashboard import LIVE_DEADLINE_MS, log_in
from tests.cal_api_fake import FakeCalApi, api_booking

pytestmark = pytest.mark.browser
SIZES = [("laptop", 1440, 900), ("phone", 390, 844)]
REASON = "Dr. Brandt is in surgery that morning; we are sorry for the change."


PEOPLE = [
    ("pendingMateoAlvarez0001", "pending", "Mateo Alvarez", "mateo@example.com", "+34611222333"),
    ("acceptedIngridSolberg01", "accepted", "Ingrid Solberg", "ingrid@example.no", "+4791234567"),
    ("acceptedOliverBennett01", "accepted", "Oliver Bennett", "oliver@example.uk", "+447700900123"),
]


def seed(cal_com: FakeCalApi) -> None:
    """A request waiting for confirmation and two upcoming bookings, made in Cal.com for the
    next three days; their deliveries applied by the app."""
    for days, (uid, status, name, email, phone) in enumerate(PEOPLE, 1):
        start = (datetime.now(UTC) + timedelta(days=days)).replace(second=0, microsecond=0)
        made = api_booking(uid, start=start, status=status, name=name, email=email, phone=phone)
        cal_com.book(made)
    assert [answer["status"] for answer in cal_com.send_webhooks()] == ["processed"] * 3


def signed_in(browser: Browser, live_server: str, width: int, height: int) -> Page:
    """A consultant's page at this size, signed in on the dashboard (axe-core may run)."""
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    log_in(page, live_server)
    return page


def row_of(page: Page, name: str):
    return page.locator("tr.booking", has=page.get_by_role("link", name=name, exact=True))


def test_confirming_a_pending_booking_changes_its_row_and_a_second_tab_sees_it(
    browser: Browser, live_server: str, consultant: int, cal_com: FakeCalApi
) -> None:
    seed(cal_com)
    first = signed_in(browser, live_server, 1440, 900)
    second = first.context.new_page()  # a second tab of the same browser
    second.goto(live_server)
    second.wait_for_load_state("load")
    problems: list[str] = []
    first.on("pageerror", lambda error: problems.append(str(error)))
    row = row_of(first, "Mateo Alvarez")
    expect(row).to_contain_text("Pending")
    expect(row.get_by_role("button", name="Confirm")).to_be_visible()
    expect(row.get_by_text("Decline…")).to_be_visible()
    screenshot(first, "actions-pending-laptop")
    first.evaluate("window.__notReloaded = true")
    cal_com.delay = 1.0  # long enough to see the action under way

    row.get_by_role("button", name="Confirm").click()

    expect(row.get_by_role("button", name="Confirming…")).to_be_visible()
    expect(row.get_by_role("button", name="Confirming…")).to_be_disabled()
    expect(row).to_contain_text("Scheduled", timeout=LIVE_DEADLINE_MS)
    expect(row.get_by_role("status")).to_have_text("Confirmed in Cal.com.")
    expect(row.get_by_role("button", name="Confirm")).to_have_count(0)
    assert first.evaluate("window.__notReloaded") is True
    screenshot(first, "actions-confirmed-laptop")
    cal_com.delay = 0
    expect(row_of(second, "Mateo Alvarez")).to_contain_text("Scheduled", timeout=LIVE_DEADLINE_MS)
    # Cal.com's delivery of the confirmation comes after; the row stays as it is.
    assert [answer["trigger"] for answer in cal_com.send_webhooks()] == ["BOOKING_CREATED"]
    expect(row_of(second, "Mateo Alvarez")).to_contain_text("Scheduled")
    assert accessibility_violations(first) == []
    assert problems == []
    assert [path for path, _body in cal_com.actions()] == [
        "/v2/bookings/pendingMateoAlvarez0001/confirm"
    ]


@pytest.mark.parametrize(("size", "width", "height"), SIZES)
def test_cancelling_asks_for_the_reason_and_a_confirmation_in_the_row(
    browser: Browser, live_server: str, consultant: int, cal_com: FakeCalApi, size, width, height
) -> None:
    seed(cal_com)
    page = signed_in(browser, live_server, width, height)
    row = row_of(page, "Ingrid Solberg")
    if size == "phone":
        screenshot(page, "actions-pending-phone")

    row.get_by_text("Cancel…").click()
    row.get_by_label("Reason for cancelling, sent to the patient").fill(REASON)
    row.get_by_role("button", name="Continue").click()

    step = row.get_by_role("group", name="Cancel this booking in Cal.com?")
    expect(step).to_contain_text("Cal.com cancels it and emails the patient.")
    expect(step).to_contain_text(REASON)
    expect(step).to_be_focused()
    assert cal_com.actions() == []
    assert horizontal_overflow(page) <= 0
    assert accessibility_violations(page) == []
    screenshot(page, f"actions-cancel-step-{size}")

    step.get_by_role("button", name="Go back").click()
    expect(row.get_by_text("Cancel…")).to_be_visible()
    row.get_by_text("Cancel…").click()
    row.get_by_label("Reason for cancelling, sent to the patient").fill(REASON)
    row.get_by_role("button", name="Continue").click()
    row.get_by_role("button", name="Cancel the booking").click()

    expect(row).to_contain_text("Cancelled")
    expect(row.get_by_role("status")).to_have_text("Cancelled in Cal.com.")
    assert cal_com.actions() == [
        ("/v2/bookings/acceptedIngridSolberg01/cancel", {"cancellationReason": REASON})
    ]
    screenshot(page, f"actions-cancelled-{size}")


@pytest.mark.parametrize(("size", "width", "height"), SIZES)
def test_a_refusal_says_on_the_row_whose_key_cal_com_needs(
    browser: Browser, live_server: str, consultant: int, cal_com: FakeCalApi, size, width, height
) -> None:
    seed(cal_com)
    cal_com.others.add("pendingMateoAlvarez0001")  # another organizer's booking
    page = signed_in(browser, live_server, width, height)
    row = row_of(page, "Mateo Alvarez")

    row.get_by_role("button", name="Confirm").click()

    alert = row.get_by_role("alert")
    expect(alert).to_contain_text("the API key's account may not change this booking")
    expect(alert).to_contain_text("Dr. Lena Brandt (lena.brandt@example-clinic.com)")
    expect(alert).to_be_focused()
    expect(row).to_contain_text("Pending")
    expect(row.get_by_role("button", name="Confirm")).to_be_enabled()  # try again later
    assert horizontal_overflow(page) <= 0
    assert accessibility_violations(page) == []
    screenshot(page, f"actions-refused-{size}")


@pytest.mark.parametrize(("size", "width", "height"), SIZES)
def test_the_patient_page_offers_the_actions_and_its_confirmation_step_is_a_page(
    browser: Browser, live_server: str, consultant: int, cal_com: FakeCalApi, size, width, height
) -> None:
    seed(cal_com)
    page = signed_in(browser, live_server, width, height)
    page.get_by_role("link", name="Mateo Alvarez", exact=True).click()
    booking = page.locator("article[id^=consultation-]")
    expect(booking.get_by_role("button", name="Confirm")).to_be_visible()
    assert accessibility_violations(page) == []
    booking.scroll_into_view_if_needed()
    screenshot(page, f"actions-patient-page-{size}")

    booking.get_by_text("Decline…").click()
    booking.get_by_label("Reason for declining, sent to the patient").fill(REASON)
    booking.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Before Cal.com emails the patient")).to_be_visible()
    expect(
        page.get_by_role("group", name="Decline this booking request in Cal.com?")
    ).to_be_focused()
    assert horizontal_overflow(page) <= 0
    assert accessibility_violations(page) == []
    screenshot(page, f"actions-decline-page-{size}")
    page.get_by_role("button", name="Decline the request").click()

    expect(page.get_by_role("status").filter(has_text="Declined in Cal.com.")).to_be_visible()
    expect(page.locator("article[id^=consultation-] .status")).to_have_text("Rejected")
    expect(page.locator("main")).to_contain_text(REASON)


@pytest.mark.parametrize(("size", "width", "height"), SIZES)
def test_a_no_show_is_marked_in_cal_com_and_lifted_again_on_the_past_tab(
    browser: Browser, live_server: str, consultant: int, cal_com: FakeCalApi, size, width, height
) -> None:
    started = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    cal_com.book(api_booking("pastMateoAlvarez000001", start=started, name="Mateo Alvarez"))
    assert [answer["status"] for answer in cal_com.send_webhooks()] == ["processed"]
    page = signed_in(browser, live_server, width, height)
    page.locator("#tabs a[data-tab='past']").click()
    row = row_of(page, "Mateo Alvarez")
    for label in ("Mark completed", "Mark no-show", "Consultant did not join"):
        expect(row.get_by_role("button", name=label)).to_be_visible()
    assert horizontal_overflow(page) <= 0
    assert accessibility_violations(page) == []
    screenshot(page, f"actions-past-{size}")

    row.get_by_role("button", name="Mark no-show").click()

    expect(row.locator(".status")).to_have_text("No show")
    expect(row.get_by_role("status")).to_have_text("Marked as a no-show in Cal.com.")
    row.get_by_role("button", name="Mark attended").click()
    expect(row.locator(".status")).to_have_text("Completed")
    assert [body for _path, body in cal_com.actions()] == [
        {"attendees": [{"email": "mateo.alvarez@example.com", "absent": absent}]}
        for absent in (True, False)
    ]
    screenshot(page, f"actions-attended-{size}")


def test_an_answer_that_is_not_a_row_still_says_on_the_row_that_it_failed(
    browser: Browser, live_server: str, consultant: int, cal_com: FakeCalApi
) -> None:
    seed(cal_com)
    page = signed_in(browser, live_server, 1440, 900)
    # A page whose CSRF token no longer holds (the app's secret changed, say): the app
    # answers its error page, which is not a row.
    page.evaluate(
        """() => {
             document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRFToken": "stale"}));
             document.querySelectorAll("[name=csrf_token]").forEach(i => { i.value = "stale"; });
           }"""
    )
    row = row_of(page, "Mateo Alvarez")

    row.get_by_role("button", name="Confirm").click()

    expect(row.get_by_role("alert")).to_have_text(
        "That did not work (HTTP 400). Reload the page and try again."
    )
    expect(row.get_by_role("button", name="Confirm")).to_be_enabled()
    expect(row).to_contain_text("Pending")
    assert cal_com.actions() == []
