"""What a consultant does from the dashboard in a real browser: mark a past booking,
filter by country, search across tabs. Screenshots land in tests/browser/artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard_layout import PEOPLE, booking, screenshot
from tests.browser.test_live_dashboard import deliver, log_in

pytestmark = pytest.mark.browser


def seed_people(base_url: str) -> dict[str, int]:
    """A past booking (Özge, Turkey, two hours ago) and upcoming ones for the others;
    consultation ids by first name."""
    now = datetime.now(UTC)
    ids = {}
    for index, (name, email, phone, country, timezone) in enumerate(PEOPLE[:4]):
        start = now - timedelta(hours=2) if index == 0 else now + timedelta(days=index)
        answer = deliver(
            base_url,
            booking(
                index,
                start,
                name=name,
                email=email,
                phone=phone,
                country=country,
                timezone=timezone,
            ),
        )
        ids[name.split()[0]] = answer["consultation_id"]
    return ids


def test_a_past_booking_is_marked_no_show_in_place(
    page: Page, live_server: str, consultant: int
) -> None:
    ids = seed_people(live_server)
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server)
    page.locator("#tabs a[data-tab='past']").click()
    row = page.locator(f"#consultation-{ids['Özge']}")
    expect(row).to_contain_text("Scheduled")
    page.evaluate("window.__notReloaded = true")

    row.get_by_role("button", name="Mark no-show").click()

    expect(row).to_contain_text("No show")
    expect(row.get_by_role("button")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, "dashboard-marked-no-show")


def test_filters_and_search_update_the_list_and_the_address(
    page: Page, live_server: str, consultant: int
) -> None:
    ids = seed_people(live_server)
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server)

    page.get_by_label("Country", exact=True).select_option("United Kingdom")

    expect(page).to_have_url(f"{live_server}/?tab=upcoming&country=United+Kingdom")
    expect(page.locator("tr.booking")).to_have_count(1)
    expect(page.locator(f"#consultation-{ids['Oliver']}")).to_be_visible()
    expect(page.locator("#count-upcoming")).to_have_text("1")
    page.get_by_label("Country", exact=True).select_option("")
    expect(page.locator("tr.booking")).to_have_count(3)

    page.locator("#search").fill("OZGE")

    expect(page.locator("#results h2")).to_have_text("1 patient match “OZGE”, in every list")
    expect(page.locator(f"#consultation-{ids['Özge']}")).to_be_visible()  # a past booking
    expect(page.locator("tr.booking")).to_have_count(1)
    screenshot(page, "dashboard-search")
