"""The consultant's treatment pages in Chromium: the settings, assessing from the dashboard
row (the graft range filled from the grade), making and sending a quote from the patient
page, and the dashboard's stage filter; on a laptop and a phone, axe-core on every page.
Screenshots go to tests/browser/artifacts/ (git-ignored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.browser.test_dashboard_layout import screenshot
from tests.browser.test_live_dashboard import deliver, log_in, upcoming_booking
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole, PatientProfile
from webapp.treatment.assessment import AssessmentDraft, record_assessment
from webapp.treatment.quotes import make_quote

NAME = "Oliver Bennett"
SIZES = [("laptop", 1440, 900), ("phone", 390, 844)]


def consulted_patient(app: Flask, live_server: str, consultant: int) -> int:
    """A booking that started an hour ago, its consultant made an admin; the patient's id."""
    booking = upcoming_booking()
    booking["payload"]["startTime"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    booking["payload"]["endTime"] = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    patient_id = deliver(live_server, booking)["patient_id"]
    with app.app_context():
        db.session.get(Consultant, consultant).role = ConsultantRole.ADMIN
        db.session.commit()
    return patient_id


def signed_in(browser: Browser, live_server: str, width: int, height: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    log_in(page, live_server)
    return page


def check(page: Page, shot: str) -> None:
    """No axe-core violation, no sideways scroll; then the screenshot."""
    assert accessibility_violations(page) == []
    assert horizontal_overflow(page) <= 0
    screenshot(page, shot)


def test_settings_assessment_and_quote_from_row_to_sent_link(
    browser: Browser, app: Flask, live_server: str, consultant: int
) -> None:
    patient_id = consulted_patient(app, live_server, consultant)
    page = signed_in(browser, live_server, 1440, 900)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server}/settings")
    page.get_by_label("Procedure price").fill("1500")
    page.get_by_label("Price per graft").fill("1.00")
    page.get_by_label("A percent of the total").check()
    page.get_by_label("Deposit percent").fill("10")
    page.locator("#texts_en-inclusions").fill("Surgery, 2 hotel nights, airport transfers, PRP")
    check(page, "treatment-settings-laptop")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved")).to_be_visible()

    page.goto(f"{live_server}/?q=Bennett")
    row = page.locator("tr.booking", has=page.get_by_role("link", name=NAME, exact=True))
    row.get_by_role("link", name=f"Assess {NAME}").click()
    expect(page.get_by_role("heading", name=f"Assessment of {NAME}")).to_be_visible()
    page.get_by_label("Hair-loss pattern").select_option("norwood_5")
    expect(page.get_by_label("Grafts from")).to_have_value("2000")
    expect(page.get_by_label("Grafts to")).to_have_value("2500")
    expect(page.locator("[data-graft-hint]")).to_contain_text("2500–2800 with the crown")
    page.get_by_label("Grafts to").fill("2400")
    page.get_by_label("Good").check()
    page.get_by_label("Technique").select_option("sapphire_fue")
    page.get_by_label("Suitable", exact=True).check()
    page.get_by_label("Recommendations").fill("Finasteride for a year after surgery.")
    check(page, "treatment-assessment-laptop")
    page.get_by_role("button", name="Save assessment").click()

    expect(page.locator("#treatment .stage").first).to_have_text("Assessed")
    page.get_by_role("button", name="Make a quote").click()
    expect(page.get_by_role("heading", name="Quote Q-")).to_be_visible()
    expect(page.get_by_label("Procedure")).to_have_value("Hair transplant (Sapphire FUE)")
    expect(page.get_by_label("Price", exact=True)).to_have_value("3900.00")
    expect(page.get_by_label("Deposit")).to_have_value("390.00")
    expect(page.get_by_label("Included", exact=True)).to_have_value(
        "Surgery, 2 hotel nights, airport transfers, PRP"
    )
    page.get_by_role("button", name="Add a line").click()
    page.locator("#lines-1-description").fill("Extra PRP session")
    page.locator("#lines-1-price").fill("150")
    check(page, "treatment-quote-editor-laptop")
    page.get_by_role("button", name="Save and send").click()

    expect(page.locator("#treatment .stage").first).to_have_text("Quote sent")
    card = page.locator(".quote-card").first
    expect(card).to_contain_text("€4,050.00")
    assert "/quote/" in card.get_by_label("The patient's link").input_value()
    page.locator("#treatment").scroll_into_view_if_needed()
    check(page, "treatment-patient-page-laptop")
    assert problems == []

    page.goto(f"{live_server}/?q=Bennett&stage=quote_sent")
    expect(page.locator("tr.booking")).to_have_count(1)
    expect(page.get_by_label("Stage")).to_have_value("quote_sent")
    expect(page.locator("tr.booking .stage")).to_have_text("Quote sent")
    check(page, "treatment-dashboard-stage-laptop")
    page.get_by_label("Stage").select_option("accepted")
    expect(page.locator("tr.booking")).to_have_count(0)
    with app.app_context():
        assert db.session.get(PatientProfile, patient_id).stage == "quote_sent"


@pytest.mark.parametrize(("name", "width", "height"), SIZES)
def test_the_treatment_pages_fit_a_phone_and_a_laptop(
    browser: Browser,
    app: Flask,
    live_server: str,
    consultant: int,
    name: str,
    width: int,
    height: int,
) -> None:
    patient_id = consulted_patient(app, live_server, consultant)
    with app.app_context():
        patient = db.session.get(PatientProfile, patient_id)
        who = db.session.get(Consultant, consultant)
        draft = AssessmentDraft(
            "norwood_3v", "moderate", 70, 1600, 2200, "dhi", "suitable", None, "PRP first."
        )
        record_assessment(patient, draft, who)
        quote_id = make_quote(patient, who, "tr").id
        db.session.commit()
    page = signed_in(browser, live_server, width, height)
    for url, shot in (
        (f"/patients/{patient_id}/assessment", "treatment-assessment"),
        (f"/quotes/{quote_id}/edit", "treatment-quote-editor"),
        ("/settings", "treatment-settings"),
        (f"/patients/{patient_id}#treatment", "treatment-patient-page"),
        ("/?q=Bennett", "treatment-dashboard-stage"),
    ):
        page.goto(f"{live_server}{url}")
        check(page, f"{shot}-{name}")
