"""The Needs review tab, with the connection banner above it, on a laptop and a phone: the
pair side by side, nothing scrolling sideways. Screenshots go to tests/browser/artifacts/
(git-ignored)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.screen import horizontal_overflow
from tests.browser.test_live_dashboard import deliver, log_in, upcoming_booking
from tests.conftest import WEBHOOK_SECRET
from webapp.cal.signature import SIGNATURE_HEADER, sign

ARTIFACTS = Path(__file__).parent / "artifacts"


def reject(base_url: str, document: dict) -> None:
    """Post a signed delivery the app must keep as rejected (its answer is a 400)."""
    body = json.dumps(document).encode()
    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"{base_url}/webhooks/cal",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert refused.value.code == 400


@pytest.mark.parametrize(("name", "width", "height"), [("laptop", 1440, 900), ("phone", 390, 844)])
def test_the_review_tab_shows_the_pair_and_the_banner_without_horizontal_scroll(
    page: Page, live_server: str, consultant: int, name: str, width: int, height: int
) -> None:
    deliver(live_server, upcoming_booking())
    # Oliver's phone under another email: a new patient, flagged as a possible duplicate.
    shared = upcoming_booking()
    shared["payload"]["uid"] = "SharedPhoneBooking1"
    shared["payload"]["responses"]["email"]["value"] = "emma.bennett@example.co.uk"
    shared["payload"]["attendees"][0]["email"] = "emma.bennett@example.co.uk"
    deliver(live_server, shared)
    unreadable = upcoming_booking()
    unreadable["payload"]["responses"]["email"]["value"] = "not an address"
    unreadable["payload"]["attendees"][0]["email"] = "not an address"
    reject(live_server, unreadable)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server)

    page.goto(f"{live_server}/?tab=review")

    expect(page.get_by_role("heading", name="Same person? Patients 1 and 2")).to_be_visible()
    expect(page.locator(".connection-banner")).to_contain_text("Failed or rejected")
    expect(page.get_by_role("button", name="Different people")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-tab-{name}.png"), full_page=True)
    overflow = horizontal_overflow(page)
    assert overflow <= 0, f"{overflow}px of horizontal scroll"
