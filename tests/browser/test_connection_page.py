"""The connection page on a laptop and a phone when stored deliveries cannot be read: it
says so in words, fits the screen and passes axe-core. Screenshots go to
tests/browser/artifacts/ (git-ignored)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.browser.test_live_dashboard import log_in
from webapp.extensions import db
from webapp.models import EventStatus, WebhookEvent

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
STORED = [
    (b'{"triggerEvent": "BOOKING_CREATED", "payload": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
     EventStatus.REJECTED),
    (b'{"triggerEvent": "BOOKING_CREATED", "payload": {"id": ' + b"7" * 5000 + b"}}",
     EventStatus.FAILED),
    (b"New booking: Oliver Bennett, Thu 5 Nov 10:00", EventStatus.REJECTED),
]  # fmt: skip


def store_unreadable_deliveries(app: Flask) -> None:
    with app.app_context():
        for body, status in STORED:
            db.session.add(
                WebhookEvent(
                    received_at=datetime.now(UTC),
                    status=status,
                    body=body,
                    body_sha256=hashlib.sha256(body).hexdigest(),
                    error="RuntimeError while applying" if status == EventStatus.FAILED else None,
                )
            )
        db.session.commit()


@pytest.mark.parametrize(("name", "width", "height"), [("laptop", 1440, 900), ("phone", 390, 844)])
def test_unreadable_deliveries_are_named_on_a_page_that_fits_and_passes_axe(
    browser: Browser, app: Flask, live_server: str, consultant: int, name, width, height
) -> None:
    store_unreadable_deliveries(app)
    page = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = page.new_page()
    log_in(page, live_server)
    expect(page.locator(".connection-banner")).to_contain_text("custom payload template")

    page.goto(f"{live_server}/connection")

    problems = page.locator("section[aria-labelledby=problems]")
    expect(problems).to_contain_text("Unreadable body: body nests deeper than 64 levels")
    expect(problems).to_contain_text("Unreadable body: body has a number with more than 20")
    expect(problems).to_contain_text("Cal.com is sending a custom payload template")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"connection-{name}.png"), full_page=True)
    overflow = horizontal_overflow(page)
    assert overflow <= 0, f"{overflow}px of horizontal scroll"
    assert accessibility_violations(page) == []
