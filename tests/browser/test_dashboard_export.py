"""Export CSV as a consultant uses it: filter the dashboard, click, open the download; on a
laptop (1440×900) and a phone (390×844), the links fitting and no axe-core violation.
Screenshots land in tests/browser/artifacts/ (git-ignored) to look at."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.browser.test_live_dashboard import log_in
from webapp.demo.bookings import add_bookings
from webapp.extensions import db
from webapp.models import Consultation, ConsultationStatus, PatientProfile, User

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
NAMES = ("Jürgen Müller", "Özge Şahin", "ليلى الحسن")
GERMANS = 30  # more than a page


def seed(app: Flask) -> None:
    """Bookings as `flask dev seed` makes them, and more than a page of upcoming Germans,
    the first three named in three alphabets."""
    now = datetime.now(UTC)
    named = [*NAMES, *(f"Patient {number}" for number in range(GERMANS - len(NAMES)))]
    with app.app_context():
        add_bookings(150, Random(2026), now, days_back=30, days_ahead=30)
        for hours, name in enumerate(named, 30):
            patient = PatientProfile(
                user=User(email=f"p{hours}@example.de"),
                name=name,
                email=f"p{hours}@example.de",
                phone=f"+4915112345{hours}",
                country="Germany",
                timezone="Europe/Berlin",
            )
            db.session.add(
                Consultation(
                    patient=patient,
                    cal_booking_uid=f"export-browser-{hours}",
                    status=ConsultationStatus.SCHEDULED,
                    start_time=now + timedelta(hours=hours),
                    attendee_timezone="Europe/Berlin",
                )
            )
        db.session.commit()


def upcoming_in(app: Flask, country: str) -> int:
    """The database's count of upcoming live bookings of patients from ``country``."""
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Consultation)
            .join(Consultation.patient)
            .where(
                Consultation.start_time >= datetime.now(UTC),
                Consultation.status.in_(["scheduled", "pending"]),
                PatientProfile.country == country,
            )
        )


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_a_consultant_exports_the_filtered_dashboard(
    browser: Browser, app: Flask, live_server: str, consultant: int, width: int, height: int
) -> None:
    seed(app)
    # axe-core is injected as a script, which the app's Content Security Policy refuses.
    context = browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True, accept_downloads=True
    )
    page = context.new_page()
    log_in(page, live_server)

    page.get_by_label("Country", exact=True).select_option("Germany")
    expect(page.get_by_text("Filtered.")).to_be_visible()
    export = page.get_by_role("link", name="Export CSV")
    expect(export).to_have_attribute("href", "/export.csv?tab=upcoming&country=Germany")
    screenshot(page, f"dashboard-export-{width}x{height}")
    assert horizontal_overflow(page) <= 0
    assert accessibility_violations(page) == []

    with page.expect_download() as download_info:
        export.click()
    download = download_info.value
    body = Path(download.path()).read_bytes()

    assert download.suggested_filename.startswith("consultations-upcoming-")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    # Every page of the filtered view, not the one shown.
    assert len(rows) == upcoming_in(app, "Germany") > GERMANS
    assert {row["Country"] for row in rows} == {"Germany"}
    assert [row["Name"] for row in rows if row["Name"] in NAMES] == list(NAMES)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV for Excel (semicolons)").click()
    header = Path(download_info.value.path()).read_bytes().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Time (Europe/Istanbul);Patient's time;")
    context.close()
