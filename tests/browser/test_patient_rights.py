"""Exporting and erasing a patient from the patient page, as an admin, on a laptop and a
phone: the ZIP downloads, the typed confirmation erases, and the page then names an
"Erased patient #<id>"; axe-core finds nothing on any page. Screenshots go to
tests/browser/artifacts/ (git-ignored)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.browser.test_live_dashboard import log_in
from tests.browser.test_patient_page import LONG_NAME, seed_patient
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole, PatientProfile

ARTIFACTS = Path(__file__).parent / "artifacts"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def check_page(page: Page) -> None:
    assert accessibility_violations(page) == []
    overflow = horizontal_overflow(page)
    assert overflow <= 0, f"{overflow}px of horizontal scroll"


@pytest.mark.parametrize(("name", "width", "height"), [("laptop", 1440, 900), ("phone", 390, 844)])
def test_an_admin_exports_then_erases_a_patient_from_the_patient_page(
    browser: Browser,
    app: Flask,
    live_server: str,
    consultant: int,
    name: str,
    width: int,
    height: int,
) -> None:
    patient_id = seed_patient(app, live_server)
    with app.app_context():
        db.session.get(Consultant, consultant).role = ConsultantRole.ADMIN
        db.session.commit()
    # The context bypasses the Content Security Policy so that axe-core can be injected.
    context = browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True, accept_downloads=True
    )
    page = context.new_page()
    log_in(page, live_server)
    page.goto(f"{live_server}/patients/{patient_id}")

    record = page.locator(".patient-record")
    record.scroll_into_view_if_needed()
    expect(record.get_by_role("link", name="Export record (ZIP)")).to_be_visible()
    shot(page, f"rights-patient-page-{name}")
    check_page(page)
    with page.expect_download() as download:
        record.get_by_role("link", name="Export record (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert json.loads(archive.read("patient.json"))["profile"]["name"] == LONG_NAME

    record.get_by_role("link", name="Erase patient…").click()
    expect(page.get_by_role("heading", name=f"Erase patient #{patient_id}")).to_be_visible()
    page.get_by_label("Type the patient's number").fill("erase")
    page.get_by_role("button", name=f"Erase patient #{patient_id}").click()
    expect(page.get_by_role("alert")).to_contain_text("Type the patient's number")
    check_page(page)
    page.get_by_label("Type the patient's number").fill(str(patient_id))
    shot(page, f"rights-erase-confirmation-{name}")
    page.get_by_role("button", name=f"Erase patient #{patient_id}").click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(f"Erased patient #{patient_id}")
    expect(page.locator(".erased-banner")).to_be_visible()
    assert LONG_NAME not in page.content()
    shot(page, f"rights-erased-patient-{name}")
    check_page(page)
    page.goto(f"{live_server}/?tab=upcoming")
    expect(page.get_by_text(f"Erased patient #{patient_id}").first).to_be_visible()
    shot(page, f"rights-dashboard-erased-{name}")
    with app.app_context():
        assert db.session.get(PatientProfile, patient_id).erased_at is not None
    context.close()
