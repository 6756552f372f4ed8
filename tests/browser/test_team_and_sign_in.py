"""The team runs itself in a browser: an invite, joining, enrolling two-factor, signing in
with a code and with a recovery code; deactivating a consultant whose dashboard is open;
logging out in one browser while another stays signed in."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.conftest import CONSULTANT_EMAIL, CONSULTANT_PASSWORD
from webapp.auth.consultants import create_consultant
from webapp.extensions import db
from webapp.models import ConsultantRole

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
ADMIN_EMAIL = "ada@clinic.example"
ADMIN_KEY = pyotp.random_base32()
INVITEE_PASSWORD = "violet kettle harbour"
LIVE_DEADLINE_MS = 3000


def context(browser: Browser, viewport: dict[str, int] = LAPTOP) -> BrowserContext:
    """A browser of its own (cookies and all); axe-core needs the CSP bypassed."""
    return browser.new_context(viewport=viewport, bypass_csp=True)


def looked_at(page: Page, name: str) -> None:
    """Screenshots at the laptop and the phone size; neither scrolls sideways, and axe-core
    finds nothing."""
    ARTIFACTS.mkdir(exist_ok=True)
    for label, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        overflow = horizontal_overflow(page)
        assert overflow <= 0, f"{name} at {label}: {overflow}px of horizontal scroll"
        assert accessibility_violations(page) == [], name
    page.set_viewport_size(LAPTOP)


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def dashboard_open(page: Page) -> None:
    expect(page.get_by_role("heading", name="Consultations")).to_be_visible()
    page.wait_for_load_state("load")  # htmx and app.js bind the poll before the load event


@pytest.fixture
def admin(app: Flask) -> int:
    """An admin with two-factor on (the key is ``ADMIN_KEY``); two-factor is required."""
    app.config["REQUIRE_TWO_FACTOR"] = True
    with app.app_context():
        made = create_consultant(
            ADMIN_EMAIL, "Ada Admin", CONSULTANT_PASSWORD, "Europe/London", ConsultantRole.ADMIN
        )
        made.totp_secret = ADMIN_KEY
        made.two_factor_enabled_at = datetime.now(UTC)
        db.session.commit()
        return made.id


def admin_signs_in(page: Page, base_url: str, look: bool = False) -> None:
    sign_in(page, base_url, ADMIN_EMAIL, CONSULTANT_PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    if look:
        looked_at(page, "code-step")
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(ADMIN_KEY).now())
    page.get_by_role("button", name="Sign in").click()
    dashboard_open(page)


def test_invite_join_enrol_then_sign_in_with_a_code_and_with_a_recovery_code(
    browser: Browser, live_server: str, admin: int
) -> None:
    admin_page = context(browser).new_page()
    admin_signs_in(admin_page, live_server, look=True)
    admin_page.get_by_role("link", name="Team").click()
    admin_page.get_by_label("Email").fill("nia@clinic.example")
    admin_page.get_by_label("Role", exact=True).select_option("consultant")
    admin_page.get_by_role("button", name="Make invite link").click()
    expect(
        admin_page.get_by_role("heading", name="Invite link for nia@clinic.example")
    ).to_be_visible()
    link = admin_page.get_by_role("textbox", name="Invite link").input_value()
    whatsapp = admin_page.get_by_role("button", name="Send by WhatsApp").get_attribute("href")
    mailto = admin_page.get_by_role("button", name="Send by email").get_attribute("href")
    assert whatsapp.startswith("https://wa.me/?text=") and link.split("/")[-1] in whatsapp
    assert mailto.startswith("mailto:nia@clinic.example?subject=")
    looked_at(admin_page, "team")

    invitee = context(browser, PHONE).new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Join the team")).to_be_visible()
    assert accessibility_violations(invitee) == []
    invitee.get_by_label("Your name").fill("Nia Nur")
    invitee.get_by_label("Your time zone").select_option("Europe/Berlin")
    invitee.get_by_label("New password", exact=True).fill("password1234")
    invitee.get_by_label("New password again").fill("password1234")
    invitee.get_by_role("button", name="Join").click()
    expect(invitee.locator(".field-error").first).to_contain_text("too easy to guess")
    invitee.get_by_label("New password", exact=True).fill(INVITEE_PASSWORD)
    invitee.get_by_label("New password again").fill(INVITEE_PASSWORD)
    invitee.get_by_role("button", name="Join").click()

    expect(invitee.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(invitee.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    looked_at(invitee, "enrolment")
    key = invitee.locator("#secret").inner_text().replace(" ", "")
    invitee.get_by_label("Code", exact=True).fill(pyotp.TOTP(key).now())
    invitee.get_by_role("button", name="Turn on two-factor").click()
    codes = invitee.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    assert accessibility_violations(invitee) == []
    invitee.get_by_role("button", name=re.compile("I have saved them")).click()
    dashboard_open(invitee)

    invitee.get_by_role("button", name="Log out").click()
    sign_in(invitee, live_server, "nia@clinic.example", INVITEE_PASSWORD)
    invitee.get_by_label("Code", exact=True).fill(codes[0])
    invitee.get_by_role("button", name="Sign in").click()
    dashboard_open(invitee)
    expect(invitee.get_by_role("status").first).to_contain_text("9 recovery codes remain")

    admin_page.goto(f"{live_server}/team")
    nia = admin_page.locator("tr", has_text="nia@clinic.example")
    expect(nia).to_contain_text("Nia Nur")
    expect(nia).to_contain_text("Europe/Berlin")
    expect(nia.locator("td[data-label='Two-factor']")).to_have_text("On")
    expect(admin_page.get_by_role("textbox", name="Invite link")).to_have_count(0)


def test_a_deactivated_consultants_open_dashboard_is_refused_at_its_next_poll(
    browser: Browser, app: Flask, live_server: str, admin: int, consultant: int
) -> None:
    app.config["REQUIRE_TWO_FACTOR"] = False  # the consultant signs in with a password alone
    consultant_page = context(browser).new_page()
    sign_in(consultant_page, live_server, CONSULTANT_EMAIL, CONSULTANT_PASSWORD)
    dashboard_open(consultant_page)
    admin_page = context(browser).new_page()
    admin_signs_in(admin_page, live_server)
    admin_page.goto(f"{live_server}/team")

    admin_page.get_by_role("button", name="Deactivate Dr. Selin Aydin").click()

    expect(admin_page.get_by_role("status").first).to_contain_text("is deactivated")
    expect(consultant_page).to_have_url(re.compile(r"/login"), timeout=LIVE_DEADLINE_MS)
    expect(consultant_page.get_by_role("status").first).to_contain_text("session has expired")
    sign_in(consultant_page, live_server, CONSULTANT_EMAIL, CONSULTANT_PASSWORD)
    expect(consultant_page.get_by_role("alert")).to_contain_text("incorrect")


def test_logging_out_in_one_browser_leaves_the_other_signed_in(
    browser: Browser, live_server: str, consultant: int
) -> None:
    laptop = context(browser).new_page()
    tablet = context(browser).new_page()
    for page in (laptop, tablet):
        sign_in(page, live_server, CONSULTANT_EMAIL, CONSULTANT_PASSWORD)
        dashboard_open(page)
    laptop.get_by_role("link", name="Account").click()
    expect(laptop.get_by_role("row")).to_have_count(3)  # the header and two sessions
    looked_at(laptop, "account")
    laptop.goto(f"{live_server}/")
    dashboard_open(laptop)
    laptop.evaluate("window.__notReloaded = true")

    tablet.get_by_role("button", name="Log out").click()

    expect(tablet.get_by_role("status").first).to_contain_text("You have logged out")
    laptop.wait_for_timeout(1500)  # three polls
    assert laptop.evaluate("window.__notReloaded") is True
    expect(laptop).to_have_url(f"{live_server}/")
    laptop.get_by_role("link", name="Account").click()
    expect(laptop.get_by_role("row")).to_have_count(2)
    expect(laptop.get_by_text("This session")).to_be_visible()
