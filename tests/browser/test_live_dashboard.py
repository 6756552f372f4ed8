"""A consultant's browser sees a booking appear, then change, without reloading."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import CONSULTANT_EMAIL, CONSULTANT_PASSWORD, WEBHOOK_SECRET, fixture_json
from webapp.cal.signature import SIGNATURE_HEADER, sign

pytestmark = pytest.mark.browser
LIVE_DEADLINE_MS = 3000


def deliver(base_url: str, document: dict) -> dict:
    """Post a signed delivery to the served app, as Cal.com would; return its JSON answer."""
    body = json.dumps(document).encode()
    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"{base_url}/webhooks/cal",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
        return json.loads(response.read())


def upcoming_booking(trigger: str = "BOOKING_CREATED", sent: datetime | None = None) -> dict:
    """The fixture booking, moved two days ahead so that it is upcoming."""
    document = fixture_json("booking_created.json")
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    document["triggerEvent"] = trigger
    document["createdAt"] = (sent or datetime.now(UTC)).isoformat()
    document["payload"]["startTime"] = start.isoformat()
    document["payload"]["endTime"] = (start + timedelta(minutes=15)).isoformat()
    if trigger == "BOOKING_CANCELLED":
        document["payload"]["cancellationReason"] = "Decided to postpone the procedure"
    return document


def log_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(CONSULTANT_EMAIL)
    page.get_by_label("Password").fill(CONSULTANT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Consultations")).to_be_visible()
    # The heading shows while the page is still parsed; htmx and app.js (deferred) bind the
    # filters and the poll before the load event. A change made sooner would go unheard.
    page.wait_for_load_state("load")


def test_a_new_booking_appears_live_then_changes_in_place(
    page: Page, live_server: str, consultant: int
) -> None:
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server)
    expect(page.locator("#empty-state")).to_contain_text("/webhooks/cal")
    page.evaluate("window.__notReloaded = true")
    search = page.locator("#search")
    search.focus()

    answer = deliver(live_server, upcoming_booking())

    row = page.locator(f"#consultation-{answer['consultation_id']}")
    expect(row).to_be_visible(timeout=LIVE_DEADLINE_MS)
    expect(row).to_contain_text("Oliver Bennett")
    expect(row).to_contain_text("oliver.bennett@example.co.uk")
    expect(row).to_contain_text("+447700900123")
    expect(row).to_contain_text("United Kingdom")
    expect(row).to_contain_text("New")
    expect(row).to_contain_text("Scheduled")
    expect(page.locator("#count-upcoming")).to_have_text("1")
    expect(page.locator("#empty-state")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    expect(search).to_be_focused()

    deliver(
        live_server, upcoming_booking("BOOKING_CANCELLED", datetime.now(UTC) + timedelta(seconds=1))
    )

    expect(row).to_contain_text("Cancelled", timeout=LIVE_DEADLINE_MS)
    expect(page.locator(f"#consultation-{answer['consultation_id']}")).to_have_count(1)
    expect(page.locator("#count-cancelled")).to_have_text("1")
    expect(page.locator("#count-upcoming")).to_have_text("0")
    assert page.evaluate("window.__notReloaded") is True

    row.get_by_role("link", name="Oliver Bennett", exact=True).click()
    expect(page.get_by_role("heading", name="Oliver Bennett")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Decided to postpone the procedure")
    expect(page.locator("main")).to_contain_text("Which country do you live in?")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_an_expired_session_sends_the_polling_page_to_login(
    page: Page, live_server: str, consultant: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(page, live_server)
    # Polls keep coming but are not activity, so a short idle limit runs out while they do.
    monkeypatch.setattr("webapp.auth.sessions.IDLE_LIMIT", timedelta(seconds=1))

    expect(page).to_have_url(f"{live_server}/login", timeout=LIVE_DEADLINE_MS * 2)
    expect(page.get_by_role("status")).to_contain_text("Your session has expired")
