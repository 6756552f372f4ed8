"""The dashboard as a consultant sees it on a laptop (1440×900, 1280×800) and on a phone
(390×844): it fits without horizontal scroll, shows enough bookings, turns into cards on
the phone, and takes in a live booking at its place with "New", a title count and one
announcement. Screenshots land in tests/browser/artifacts/ (git-ignored) to look at."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.screen import horizontal_overflow
from tests.browser.test_live_dashboard import LIVE_DEADLINE_MS, deliver, log_in
from tests.conftest import fixture_json

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
LONG_EMAIL = "konstantinos.papadopoulos-wetherington.198@examplemail.co.uk"
LONG_NAME = "Maximiliana Papadopoulou-Wetherington Jr"
PEOPLE = [
    ("Özge Çelik", "ozge.celik@example.com.tr", "+905321234567", "Turkey", "Europe/Istanbul"),
    ("Oliver Bennett", "oliver@example.co.uk", "+447700900123", "United Kingdom", "Europe/London"),
    ("Sofía Martínez", "sofia@example.es", "+34612345678", "Spain", "Europe/Madrid"),
    ("Ahmed Al-Sayed", "ahmed@example.ae", "+971501234567", "United Arab Emirates", "Asia/Dubai"),
    ("Lucas Oliveira", "lucas@example.com.br", "+5511912345678", "Brazil", "America/Sao_Paulo"),
    ("Emma Johansson", "emma@example.se", "+46701234567", "Sweden", "Europe/Stockholm"),
    ("Jack Thompson", "jack@example.com.au", "+61412345678", "Australia", "Australia/Sydney"),
    ("Liam Walsh", "liam@example.ie", "+353851234567", "Ireland", "Europe/Dublin"),
]


def booking(
    index: int,
    start: datetime,
    *,
    name: str,
    email: str | None,
    phone: str,
    country: str,
    timezone: str,
    sent: datetime | None = None,
) -> dict:
    """The fixture booking as another patient, at ``start``, from ``timezone``."""
    document = fixture_json("booking_created.json")
    document["createdAt"] = (sent or datetime.now(UTC)).isoformat()
    payload = document["payload"]
    payload["uid"] = f"layout-{index:03d}"
    payload["bookingId"] = 50_000 + index
    payload["startTime"] = start.isoformat()
    payload["endTime"] = (start + timedelta(minutes=15)).isoformat()
    responses = payload["responses"]
    booker = payload["attendees"][0]
    email = email or f"{phone[1:]}@sms.cal.com"  # a phone-only booker
    responses["email"]["value"] = booker["email"] = email
    responses["name"]["value"] = booker["name"] = name
    responses["attendeePhoneNumber"]["value"] = booker["phoneNumber"] = phone
    responses["country"]["value"] = country
    payload["userFieldsResponses"]["country"]["value"] = country
    booker["timeZone"] = timezone
    return document


def seed(base_url: str, how_many: int = 24) -> None:
    """Upcoming bookings from many countries, one with a 60-character email and a
    40-character name, one booked by phone only, one starting in 25 minutes."""
    assert len(LONG_EMAIL) == 60 and len(LONG_NAME) == 40
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    deliver(
        base_url,
        booking(
            0,
            datetime.now(UTC) + timedelta(minutes=25, seconds=30),
            name=LONG_NAME,
            email=LONG_EMAIL,
            phone="+447700900999",
            country="United Kingdom",
            timezone="America/Los_Angeles",
        ),
    )
    deliver(
        base_url,
        booking(
            1,
            start,
            name="Ayşe Yılmaz",
            email=None,
            phone="+905551112233",
            country="Turkey",
            timezone="Europe/Istanbul",
        ),
    )
    for index in range(2, how_many):
        name, email, phone, country, timezone = PEOPLE[index % len(PEOPLE)]
        deliver(
            base_url,
            booking(
                index,
                start + timedelta(hours=index * 5),
                name=name,
                email=email.replace("@", f"{index}@"),
                phone=phone[:-2] + f"{index:02d}",
                country=country,
                timezone=timezone,
            ),
        )


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def rows_fully_visible(page: Page) -> int:
    return page.evaluate(
        """[...document.querySelectorAll('tr.booking')].filter(row => {
             const box = row.getBoundingClientRect();
             return box.top >= 0 && box.bottom <= window.innerHeight;
           }).length"""
    )


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (1280, 800)])
def test_the_laptop_dashboard_fits_without_scrolling_sideways_and_shows_eight_bookings(
    page: Page, live_server: str, consultant: int, width: int, height: int
) -> None:
    seed(live_server)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server)
    long_row = page.locator("tr.booking", has_text=LONG_NAME)
    expect(long_row).to_contain_text("in 2")  # "in 25 min" (or 24, by the time it loads)
    expect(long_row.locator("small.theirs")).to_contain_text("Los Angeles")

    screenshot(page, f"dashboard-{width}x{height}")

    assert horizontal_overflow(page) <= 0
    if height >= 900:
        assert rows_fully_visible(page) >= 8
    # The long email is cut, and shown whole on keyboard focus.
    email = long_row.get_by_role("link", name=LONG_EMAIL)
    assert email.evaluate("link => link.scrollWidth > link.clientWidth")
    email.focus()
    assert email.evaluate("link => link.scrollWidth <= link.clientWidth + 1")
    assert horizontal_overflow(page) <= 0
    screenshot(page, f"dashboard-{width}x{height}-email-focused")
    # A phone-only booker shows the phone where the email would be.
    expect(
        page.locator("tr.booking", has_text="Ayşe Yılmaz").locator("td.contact")
    ).to_contain_text("+905551112233")


def test_on_a_phone_every_booking_is_a_card_without_scrolling_sideways(
    page: Page, live_server: str, consultant: int
) -> None:
    seed(live_server, how_many=6)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server)
    rows = page.locator("tr.booking")
    expect(rows.first).to_be_visible()

    screenshot(page, "dashboard-390x844")

    assert horizontal_overflow(page) <= 0
    assert rows.first.evaluate("row => getComputedStyle(row).display") == "grid"
    assert (
        page.locator("table.consultations thead").evaluate("head => getComputedStyle(head).display")
        == "none"
    )
    for index in range(rows.count()):
        box = rows.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_a_live_booking_goes_in_at_its_place_is_new_counted_in_the_title_and_announced(
    page: Page, live_server: str, consultant: int
) -> None:
    now = datetime.now(UTC)
    for index, days in enumerate((1, 3, 5)):
        name, email, phone, country, timezone = PEOPLE[index]
        deliver(
            live_server,
            booking(
                index,
                now + timedelta(days=days),
                name=name,
                email=email,
                phone=phone,
                country=country,
                timezone=timezone,
            ),
        )
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server)
    expect(page).to_have_title("Consultations · Clinic bookings")
    assert page.locator("#results").get_attribute("aria-live") is None

    name, email, phone, country, timezone = PEOPLE[4]
    answer = deliver(
        live_server,
        booking(
            9,
            now + timedelta(days=2),
            name=name,
            email=email,
            phone=phone,
            country=country,
            timezone=timezone,
        ),
    )

    row = page.locator(f"#consultation-{answer['consultation_id']}")
    expect(row).to_be_visible(timeout=LIVE_DEADLINE_MS)
    expect(page).to_have_title("(1) Consultations · Clinic bookings")
    expect(row.locator(".badge-new")).to_have_text("New")
    assert row.evaluate("row => getComputedStyle(row.cells[0]).backgroundColor") == (
        "rgb(255, 243, 191)"  # --clinic-new, not the striped colour
    )
    order = page.locator("tr.booking").evaluate_all("rows => rows.map(row => row.id)")
    assert order.index(f"consultation-{answer['consultation_id']}") == 1  # day 2: second
    expect(page.locator("#announcer")).to_have_text(re.compile(r"^New booking: Lucas Oliveira, "))
    screenshot(page, "dashboard-live-new")

    # Seen: half in view for a few seconds, so "New" and the title count clear.
    expect(row.locator(".badge-new")).to_have_count(0, timeout=6000)
    expect(page).to_have_title("Consultations · Clinic bookings")
    expect(row).not_to_have_class(re.compile(r"\bis-new\b"))


def test_the_focus_is_visible_and_stays_on_the_tab_chosen(
    page: Page, live_server: str, consultant: int
) -> None:
    seed(live_server, how_many=3)
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server)
    past = page.locator("#tabs a[data-tab='past']")

    past.focus()
    page.keyboard.press("Enter")

    expect(page.locator("#results")).to_have_attribute("aria-label", "Past")
    expect(page.locator("#tabs a[data-tab='past']")).to_be_focused()
    expect(page.locator("#tabs a[data-tab='past']")).to_have_attribute("aria-current", "page")
    outline = page.locator("#tabs a[data-tab='past']").evaluate(
        "tab => [getComputedStyle(tab).outlineStyle, getComputedStyle(tab).outlineWidth,"
        " getComputedStyle(tab).outlineColor]"
    )
    assert outline == ["solid", "3px", "rgb(11, 46, 89)"]  # #0b2e59 on white: 13:1
    screenshot(page, "dashboard-tab-focus")


def test_copy_link_puts_the_signed_questionnaire_link_on_the_clipboard(
    page: Page, live_server: str, consultant: int
) -> None:
    seed(live_server, how_many=2)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    log_in(page, live_server)
    copy = page.locator("tr.booking").first.locator("a[data-copy]")

    copy.click()

    expect(copy).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == copy.get_attribute("href")
    assert re.fullmatch(rf"{live_server}/questionnaire/[\w-]+\.[\w-]+\.[\w-]+", copied)
    assert len(page.context.pages) == 1  # copied, not opened
