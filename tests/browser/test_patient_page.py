"""The patient page on a laptop and a phone: the summary first, nothing cut off, no
horizontal scroll. Screenshots go to tests/browser/artifacts/ (git-ignored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.screen import horizontal_overflow
from tests.browser.test_live_dashboard import deliver, log_in, upcoming_booking
from webapp.extensions import db
from webapp.models import Consultant, PatientNote, PatientProfile

ARTIFACTS = Path(__file__).parent / "artifacts"
LONG_EMAIL = "maximilian.alexander.featherstonehaugh-smythe@example-clinic.co.uk"
LONG_NAME = "Maximilian Alexander Featherstonehaugh-Smythe"


def seed_patient(app: Flask, live_server: str) -> int:
    """An upcoming booking from a patient with a long name and email, a questionnaire
    that raises chips, and a note."""
    booking = upcoming_booking()
    payload = booking["payload"]
    payload["startTime"] = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    payload["responses"]["email"]["value"] = LONG_EMAIL
    payload["responses"]["name"]["value"] = LONG_NAME
    payload["attendees"][0].update(email=LONG_EMAIL, name=LONG_NAME)
    patient_id = deliver(live_server, booking)["patient_id"]
    with app.app_context():
        patient = db.session.get(PatientProfile, patient_id)
        patient.questionnaire_answers = {
            "country": "United Kingdom",
            "medications": "yes",
            "medications_details": "Warfarin 5 mg daily, and vitamin D",
            "allergies": "yes",
            "allergies_details": "Penicillin (rash), latex",
            "surgeries": "yes",
            "surgeries_details": "Knee arthroscopy in 2019",
            "conditions": "yes",
            "conditions_details": "Type 2 diabetes, controlled with metformin",
        }
        patient.questionnaire_completed_at = datetime.now(UTC)
        consultant = db.session.scalars(db.select(Consultant)).one()
        db.session.add(
            PatientNote(
                patient_profile_id=patient_id,
                consultant_id=consultant.id,
                body="Asked to be called after 18:00 UK time. " * 4,
            )
        )
        db.session.commit()
    return patient_id


@pytest.mark.parametrize(("name", "width", "height"), [("laptop", 1440, 900), ("phone", 390, 844)])
def test_the_patient_page_shows_its_summary_first_without_horizontal_scroll(
    page: Page, app: Flask, live_server: str, consultant: int, name: str, width: int, height: int
) -> None:
    patient_id = seed_patient(app, live_server)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server)

    page.goto(f"{live_server}/patients/{patient_id}")

    expect(page.get_by_role("heading", name=LONG_NAME)).to_be_visible()
    summary = page.locator(".patient-summary")
    expect(summary.locator(".chip-blood-thinner")).to_contain_text("Warfarin")
    expect(summary.get_by_role("link", name="Join (Cal Video)")).to_be_visible()
    expect(summary.get_by_role("link", name="WhatsApp")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"patient-page-{name}.png"), full_page=False)
    page.screenshot(path=str(ARTIFACTS / f"patient-page-{name}-full.png"), full_page=True)

    overflow = horizontal_overflow(page)
    assert overflow <= 0, f"{overflow}px of horizontal scroll"
    # The next consultation and the first chip are on the first screen.
    for locator in (summary.locator(".summary-times"), summary.locator(".chip").first):
        box = locator.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, box
    # Nothing sticks out of the page's width.
    sticking_out = page.evaluate(
        """(width) => [...document.querySelectorAll('main *')]
              .filter(e => e.checkVisibility() && !e.closest('.overflow-auto')
                           && e.getBoundingClientRect().right > width)
              .map(e => e.outerHTML.slice(0, 80))""",
        width,
    )
    assert sticking_out == []
