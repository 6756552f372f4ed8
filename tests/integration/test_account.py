"""/account: a consultant's password, time zone and sessions."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import CONSULTANT_PASSWORD, count, csrf_token_from, log_in
from webapp.extensions import db
from webapp.models import AuditEvent, Consultant, ConsultantSession

IDLE_POLL = "/dashboard/updates?cursor=%7C0"
NEW_PASSWORD = "violet kettle harbour"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def post_form(client, path: str, data: dict[str, str]):
    token = csrf_token_from(client.get("/account").text)
    return client.post(path, data=data | {"csrf_token": token})


def browser(app, user_agent: str):
    """A signed-in browser that names itself ``user_agent``."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert log_in(client).status_code == 302
    return client


def change_password(client, current: str, new: str, again: str | None = None):
    return post_form(
        client,
        "/account/password",
        {"current_password": current, "password": new, "password_again": again or new},
    )


def test_the_account_lists_each_session_with_its_device_and_address(app, consultant):
    laptop = browser(app, FIREFOX)
    browser(app, IPHONE)

    page = laptop.get("/account").text

    assert "Firefox 133 on Windows" in page
    assert "Mobile Safari 17 on iOS" in page
    assert page.count("127.0.0.1") == 2
    assert page.count("This session") == 1


def test_ending_one_session_leaves_the_others(app, consultant):
    laptop, phone = browser(app, FIREFOX), browser(app, IPHONE)
    with app.app_context():
        phone_session = db.session.scalar(
            select(ConsultantSession.id).where(ConsultantSession.device.like("Mobile Safari%"))
        )

    post_form(laptop, f"/account/sessions/{phone_session}/end", {})

    assert phone.get(IDLE_POLL, headers={"HX-Request": "true"}).status_code == 401
    assert laptop.get("/").status_code == 200


def test_a_consultant_cannot_end_someone_elses_session(app, consultant):
    from webapp.auth.consultants import create_consultant

    with app.app_context():
        create_consultant("deniz@clinic.example", "Dr. Deniz Kaya", CONSULTANT_PASSWORD, "UTC")
        db.session.commit()
    colleague = app.test_client()
    log_in(colleague, "deniz@clinic.example")
    with app.app_context():
        theirs = db.session.scalar(
            select(ConsultantSession.id)
            .join(Consultant)
            .where(Consultant.email == "deniz@clinic.example")
        )

    post_form(browser(app, FIREFOX), f"/account/sessions/{theirs}/end", {})

    assert colleague.get("/").status_code == 200


def test_end_all_other_sessions_keeps_this_one(app, consultant):
    laptop, phone, tablet = (browser(app, agent) for agent in (FIREFOX, IPHONE, IPHONE))

    post_form(laptop, "/account/sessions/end-others", {})

    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert tablet.get("/").status_code == 302
    with app.app_context():
        assert count(ConsultantSession) == 1


def test_a_new_password_needs_the_current_one_and_ends_every_other_session(app, consultant):
    laptop, phone = browser(app, FIREFOX), browser(app, IPHONE)

    wrong = change_password(laptop, "not my password", NEW_PASSWORD)
    assert wrong.status_code == 401 and "not your current password" in wrong.text
    changed = change_password(laptop, CONSULTANT_PASSWORD, NEW_PASSWORD)

    assert changed.status_code == 302
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert log_in(app.test_client()).status_code == 401
    assert log_in(app.test_client(), password=NEW_PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.action)) == "consultant.password_changed"


def test_a_weak_or_short_new_password_is_refused_with_the_reason(app, consultant):
    laptop = browser(app, FIREFOX)

    short = change_password(laptop, CONSULTANT_PASSWORD, "short")
    guessable = change_password(laptop, CONSULTANT_PASSWORD, "aydin12345678")
    mistyped = change_password(laptop, CONSULTANT_PASSWORD, NEW_PASSWORD, "violet kettle harbor")

    assert short.status_code == guessable.status_code == mistyped.status_code == 400
    assert "at least 12 characters" in short.text
    assert "too easy to guess" in guessable.text
    assert "The two passwords differ" in mistyped.text
    assert log_in(app.test_client()).status_code == 302  # the password stayed


def test_the_time_zone_is_the_consultants_choice_among_real_zones(app, consultant):
    laptop = browser(app, FIREFOX)

    changed = post_form(laptop, "/account/timezone", {"timezone": "America/New_York"})
    bogus = post_form(laptop, "/account/timezone", {"timezone": "Mars/Olympus_Mons"})

    assert changed.status_code == 302 and bogus.status_code == 400
    with app.app_context():
        assert db.session.get(Consultant, consultant).timezone == "America/New_York"
    assert re.search(r'<option selected value="America/New_York">', laptop.get("/account").text)
