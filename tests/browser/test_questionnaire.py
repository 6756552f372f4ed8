"""A patient fills the questionnaire from the booking link; the consultant sees it live."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.test_live_dashboard import LIVE_DEADLINE_MS, deliver, log_in, upcoming_booking


def test_a_patient_fills_the_questionnaire_and_the_dashboard_shows_it_completed(
    page: Page, browser: Browser, live_server: str, consultant: int
) -> None:
    booking = upcoming_booking()
    answer = deliver(live_server, booking)
    log_in(page, live_server)
    row = page.locator(f"#consultation-{answer['consultation_id']}")
    expect(row).to_contain_text("Not yet")
    page.evaluate("window.__notReloaded = true")

    patient = browser.new_context().new_page()
    patient.set_viewport_size({"width": 390, "height": 844})  # a phone
    patient.goto(f"{live_server}/questionnaire/{booking['payload']['uid']}")
    expect(patient.get_by_role("heading", name="Hello Oliver,")).to_be_visible()
    patient.get_by_role("button", name="Send my answers").click()
    expect(patient.get_by_role("alert")).to_contain_text("Some answers need attention")

    patient.get_by_label("Country of residence").fill("United Kingdom")
    patient.get_by_label("36-45").check()
    patient.get_by_label("Male", exact=True).check()
    for question in ("conditions", "allergies", "surgeries", "recent_events"):
        patient.locator(f"input[name={question}][value=none]").check()
    patient.locator("input[name=medications][value=yes]").check()
    patient.locator("textarea[name=medications_details]").fill("Aspirin 75 mg daily")
    patient.get_by_label("2–5 years ago").check()
    patient.get_by_label("Gradually").check()
    patient.get_by_label("Crown").check()
    patient.get_by_label("Father's side").check()
    patient.get_by_label("I agree that the clinic processes my health data").check()
    patient.get_by_role("button", name="Send my answers").click()
    expect(patient.get_by_role("heading", name="Thank you")).to_be_visible()
    assert patient.url == f"{live_server}/questionnaire/thanks"

    expect(row).to_contain_text("Completed", timeout=LIVE_DEADLINE_MS)
    assert page.evaluate("window.__notReloaded") is True

    row.get_by_role("link", name="Oliver Bennett", exact=True).click()
    main = page.locator("main")
    expect(main).to_contain_text("Yes: Aspirin 75 mg daily")
    expect(main).to_contain_text("2–5 years ago")
    expect(page.get_by_role("heading", name="Hair loss")).to_be_visible()
