"""The insights as a clinic manager uses them: on a laptop (1440×900) and a phone (390×844),
the charts drawn under the app's Content Security Policy from the tables beside them,
a period and a filter chosen, a chart's table the database's numbers, the keyboard
stepping through a chart, and no axe-core violation. Screenshots land in
tests/browser/artifacts/ (git-ignored) to look at."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from random import Random
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.browser.test_live_dashboard import log_in
from webapp.demo.bookings import add_bookings
from webapp.extensions import db
from webapp.models import Consultation, ConsultationStatus, PatientProfile

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
CLINIC = ZoneInfo("Europe/Istanbul")


def seed(app: Flask) -> None:
    """A few hundred bookings over the last months, as `flask dev seed` makes them."""
    with app.app_context():
        add_bookings(300, Random(2026), datetime.now(UTC), days_back=120, days_ahead=14)
        db.session.commit()


def booked_in_week(app: Flask, monday: date, country: str) -> int:
    """The database's count of the week's bookings from ``country`` (rescheduled ones
    count where they moved to)."""
    start = datetime.combine(monday, time(), tzinfo=CLINIC)
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Consultation)
            .join(Consultation.patient)
            .where(
                Consultation.start_time >= start,
                Consultation.start_time < start + timedelta(weeks=1),
                Consultation.status != ConsultationStatus.RESCHEDULED,
                PatientProfile.country == country,
            )
        )


def table_rows(page: Page, slug: str) -> list[list[str]]:
    return page.locator(f"#table-{slug} tbody tr").evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.textContent.trim()))"
    )


def test_a_manager_picks_a_period_and_a_country_and_the_table_is_the_databases(
    page: Page, app: Flask, live_server: str, consultant: int
) -> None:
    seed(app)
    refused: list[str] = []  # what the browser's Content Security Policy blocked
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server)

    page.get_by_role("link", name="Insights").click()

    expect(page.get_by_role("heading", name="Insights", level=1)).to_be_visible()
    page.wait_for_load_state("load")
    # Every chart is drawn, by Chart.js, under the app's CSP (no inline script or style).
    drawn = page.locator("figure.chart canvas").evaluate_all(
        "canvases => canvases.map(canvas => Boolean(window.Chart.getChart(canvas)))"
    )
    assert drawn and all(drawn)
    assert refused == []
    assert len(table_rows(page, "outcomes")) == 12

    page.get_by_role("link", name="Last 4 weeks").click()
    expect(page.locator("#table-outcomes tbody tr")).to_have_count(4)
    page.get_by_label("Country", exact=True).select_option("Germany")
    page.get_by_role("button", name="Show").click()

    expect(page.get_by_text("Only the bookings from Germany.")).to_be_visible()
    rows = table_rows(page, "outcomes")
    assert len(rows) == 4
    csv = page.get_by_role(
        "link", name="Download the numbers of “Bookings per week, by outcome” (CSV)"
    ).get_attribute("href")
    assert csv and "country=Germany" in csv
    first = date.fromisoformat(csv.split("from=")[1].split("&")[0])
    shown = [int(row[-1]) for row in rows]  # each week's bookings
    expected = [booked_in_week(app, first + timedelta(weeks=week), "Germany") for week in range(4)]
    assert shown == expected
    assert sum(expected) > 0
    # The chart shows the table's numbers.
    plotted = page.locator("#chart-outcomes canvas").evaluate(
        "canvas => window.Chart.getChart(canvas).data.datasets.map(set => set.data)"
    )
    assert [sum(week) for week in zip(*plotted, strict=True)] == shown


def test_a_chart_steps_through_its_weeks_with_the_keyboard(
    page: Page, app: Flask, live_server: str, consultant: int
) -> None:
    seed(app)
    log_in(page, live_server)
    page.goto(f"{live_server}/insights")
    page.wait_for_load_state("load")
    canvas = page.locator("#chart-outcomes canvas")

    canvas.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")

    active = canvas.evaluate(
        "canvas => window.Chart.getChart(canvas).tooltip.getActiveElements().map(e => e.index)"
    )
    assert active and set(active) == {1}
    page.keyboard.press("End")
    assert (
        canvas.evaluate(
            "canvas => window.Chart.getChart(canvas).tooltip.getActiveElements()[0].index"
        )
        == 11
    )
    page.keyboard.press("Escape")
    assert (
        canvas.evaluate(
            "canvas => window.Chart.getChart(canvas).tooltip.getActiveElements().length"
        )
        == 0
    )


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_the_insights_fit_the_screen_and_pass_axe(
    browser: Browser, app: Flask, live_server: str, consultant: int, width: int, height: int
) -> None:
    seed(app)
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    log_in(page, live_server)

    page.goto(f"{live_server}/insights")

    expect(page.locator("#chart-consultants canvas")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"insights-{width}x{height}.png"))
    page.screenshot(path=str(ARTIFACTS / f"insights-{width}x{height}-full.png"), full_page=True)
    assert horizontal_overflow(page) <= 0
    for section in page.locator("section.insight").all():
        box = section.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert accessibility_violations(page) == []
    context.close()
