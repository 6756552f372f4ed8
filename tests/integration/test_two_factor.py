"""Two-factor sign-in: enrolment, the code step, replays, recovery codes, limits and
REQUIRE_TWO_FACTOR."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from tests.conftest import CONSULTANT_EMAIL, count, csrf_token_from, log_in
from webapp.extensions import db
from webapp.models import AuditEvent, Consultant, ConsultantSession, RecoveryCode

IDLE_POLL = "/dashboard/updates?cursor=%7C0"


def post_form(client, path: str, data: dict[str, str], page: str | None = None):
    """Post ``data`` to ``path`` with the CSRF token of ``page`` (default: ``path``)."""
    token = csrf_token_from(client.get(page or path).text)
    return client.post(path, data=data | {"csrf_token": token})


def key_on(page: str) -> str:
    """The authenticator key an enrolment page shows as text."""
    match = re.search(r'id="secret">([A-Z2-7 ]+)<', page)
    assert match, "no key on the page"
    return match[1].replace(" ", "")


def recovery_codes_on(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code></li>", page)


def code_for(key: str, at: datetime | None = None) -> str:
    return pyotp.TOTP(key).at(at or datetime.now(UTC))


def enrol_from_account(client) -> tuple[str, list[str]]:
    """Turn two-factor on from /account; returns the key and the recovery codes."""
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    key = key_on(page.text)
    confirmed = post_form(client, "/account/two-factor", {"code": code_for(key)})
    assert confirmed.status_code == 200, confirmed.text
    return key, recovery_codes_on(confirmed.text)


@pytest.fixture
def enrolled(app, consultant_client) -> tuple[str, list[str]]:
    """The consultant has two-factor on; their key and recovery codes. They are signed out."""
    key, codes = enrol_from_account(consultant_client)
    post_form(consultant_client, "/logout", {}, page="/")
    # The code that confirmed enrolment is used; later tests sign in with the next step's.
    with app.app_context():
        db.session.execute(db.update(Consultant).values(totp_last_step=None))
        db.session.commit()
    return key, codes


def test_enrolment_shows_a_qr_code_drawn_here_and_the_key_as_text(consultant_client):
    page = consultant_client.get("/account/two-factor").text

    assert "<svg" in page and "<path" in page
    assert "http" not in page.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org", ""
    )
    assert len(key_on(page)) == 32
    # A reload shows the same key: a QR code already scanned still works.
    assert key_on(consultant_client.get("/account/two-factor").text) == key_on(page)


def test_enrolment_needs_a_right_code_and_gives_ten_recovery_codes_once(app, consultant_client):
    page = consultant_client.get("/account/two-factor").text
    wrong = post_form(consultant_client, "/account/two-factor", {"code": "000000"})
    assert wrong.status_code == 401

    right = post_form(consultant_client, "/account/two-factor", {"code": code_for(key_on(page))})

    codes = recovery_codes_on(right.text)
    assert len(codes) == len(set(codes)) == 10
    with app.app_context():
        stored = list(db.session.scalars(select(RecoveryCode.code_hash)))
        actions = list(db.session.scalars(select(AuditEvent.action)))
    assert len(stored) == 10 and not {code.replace("-", "") for code in codes} & set(stored)
    assert "consultant.two_factor_enabled" in actions
    account = consultant_client.get("/account").text
    assert "10 recovery codes remain" in account
    assert codes[0] not in account


def test_sign_in_asks_for_the_code_after_the_password_and_nothing_opens_before(client, enrolled):
    key, _codes = enrolled
    response = log_in(client)

    assert response.headers["Location"] == "/login/code"
    assert client.get("/").status_code == 302
    assert client.get(IDLE_POLL, headers={"HX-Request": "true"}).status_code == 401
    assert client.get("/login").headers["Location"] == "/login/code"

    signed_in = post_form(client, "/login/code", {"code": code_for(key)})

    assert signed_in.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_code_works_once_and_a_replay_in_its_window_is_refused(app, enrolled):
    key, _codes = enrolled
    code = code_for(key)
    first, second = app.test_client(), app.test_client()
    log_in(first)
    log_in(second)

    assert post_form(first, "/login/code", {"code": code}).status_code == 302
    replay = post_form(second, "/login/code", {"code": code})

    assert replay.status_code == 401
    assert "used already" in replay.text
    assert second.get("/").status_code == 302


def test_a_code_from_an_earlier_step_than_the_last_used_is_refused(client, enrolled):
    key, _codes = enrolled
    now = datetime.now(UTC)
    log_in(client)
    assert post_form(client, "/login/code", {"code": code_for(key, now)}).status_code == 302
    post_form(client, "/logout", {}, page="/")
    log_in(client)

    earlier = post_form(client, "/login/code", {"code": code_for(key, now - timedelta(seconds=30))})

    assert earlier.status_code == 401


def test_a_recovery_code_signs_in_once_and_says_how_many_remain(app, client, enrolled):
    _key, codes = enrolled
    log_in(client)

    used = post_form(client, "/login/code", {"code": codes[3].upper().replace("-", " ")})

    assert used.headers["Location"] == "/"
    assert "9 recovery codes remain" in client.get("/").text
    post_form(client, "/logout", {}, page="/")
    log_in(client)
    assert post_form(client, "/login/code", {"code": codes[3]}).status_code == 401
    with app.app_context():
        assert count(RecoveryCode) == 9


def test_new_recovery_codes_need_the_password_and_replace_the_old_ones(client, enrolled):
    key, codes = enrolled
    log_in(client)
    post_form(client, "/login/code", {"code": code_for(key)})

    refused = post_form(
        client, "/account/recovery-codes", {"current_password": "not my password"}, "/account"
    )
    renewed = post_form(
        client,
        "/account/recovery-codes",
        {"current_password": "correct horse battery staple"},
        "/account",
    )

    assert refused.status_code == 401
    fresh = recovery_codes_on(renewed.text)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    post_form(client, "/logout", {}, page="/")
    log_in(client)
    assert post_form(client, "/login/code", {"code": codes[0]}).status_code == 401
    assert post_form(client, "/login/code", {"code": fresh[0]}).status_code == 302


def test_an_unfinished_code_step_expires_after_five_minutes(client, enrolled):
    key, _codes = enrolled
    with time_machine.travel(datetime.now(UTC), tick=True) as clock:
        log_in(client)
        token = csrf_token_from(client.get("/login/code").text)
        clock.shift(timedelta(minutes=5, seconds=5))

        late = client.post("/login/code", data={"code": code_for(key), "csrf_token": token})

        assert late.headers["Location"] == "/login"
        assert "Enter your password again" in client.get("/login").text
        assert client.get("/").status_code == 302


def test_codes_are_limited_per_account(client, enrolled):
    key, _codes = enrolled
    log_in(client)
    for _ in range(5):
        assert post_form(client, "/login/code", {"code": "123456"}).status_code == 401

    limited = post_form(client, "/login/code", {"code": code_for(key)})

    assert limited.status_code == 429
    assert "Too many sign-in attempts" in limited.text


def test_codes_are_limited_per_address_across_accounts(app, client, enrolled):
    from webapp.auth.consultants import create_consultant

    with app.app_context():
        for number in range(4):
            other = create_consultant(
                f"dr{number}@clinic.example", f"Dr {number}", "correct horse battery staple", "UTC"
            )
            other.totp_secret = pyotp.random_base32()
            other.two_factor_enabled_at = datetime.now(UTC)
        db.session.commit()
    statuses = []
    for number in range(4):
        browser = app.test_client()  # the same address, a browser of its own per account
        log_in(browser, f"dr{number}@clinic.example")
        statuses += [
            post_form(browser, "/login/code", {"code": "123456"}).status_code for _ in range(5)
        ]
    log_in(client)
    statuses.append(post_form(client, "/login/code", {"code": code_for(enrolled[0])}).status_code)

    assert statuses == [401] * 20 + [429]


@pytest.fixture
def two_factor_required(app):
    app.config["REQUIRE_TWO_FACTOR"] = True


def test_when_required_a_consultant_without_it_enrols_right_after_the_password(
    app, client, consultant, two_factor_required
):
    response = log_in(client)

    assert response.headers["Location"] == "/login/two-factor"
    for path in ("/", "/account", "/patients/1"):
        assert client.get(path).headers["Location"].startswith("/login"), path
    page = client.get("/login/two-factor")
    assert "Set up two-factor sign-in" in page.text

    done = post_form(client, "/login/two-factor", {"code": code_for(key_on(page.text))})

    assert done.status_code == 200
    assert len(recovery_codes_on(done.text)) == 10
    assert client.get("/").status_code == 200
    with app.app_context():
        assert db.session.get(Consultant, consultant).has_two_factor


def test_require_two_factor_is_on_in_production_and_off_elsewhere_by_default(tmp_path):
    from webapp.config import ConfigError, load_settings

    production = {
        "APP_ENV": "production",
        "SECRET_KEY": "k" * 32,
        "CAL_WEBHOOK_SECRET": "s",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    }
    assert load_settings(tmp_path, production)["REQUIRE_TWO_FACTOR"] is True
    assert (
        load_settings(tmp_path, production | {"REQUIRE_TWO_FACTOR": "off"})["REQUIRE_TWO_FACTOR"]
        is False
    )
    assert load_settings(tmp_path, {"APP_ENV": "testing"})["REQUIRE_TWO_FACTOR"] is False
    assert (
        load_settings(tmp_path, {"APP_ENV": "development", "REQUIRE_TWO_FACTOR": "1"})[
            "REQUIRE_TWO_FACTOR"
        ]
        is True
    )
    with pytest.raises(ConfigError, match="REQUIRE_TWO_FACTOR"):
        load_settings(tmp_path, {"APP_ENV": "testing", "REQUIRE_TWO_FACTOR": "maybe"})


def test_reset_two_factor_from_the_shell_ends_sessions_and_asks_for_enrolment_again(
    app, runner, client, enrolled, two_factor_required
):
    key, _codes = enrolled
    log_in(client)
    post_form(client, "/login/code", {"code": code_for(key)})

    result = runner.invoke(args=["consultants", "reset-two-factor", CONSULTANT_EMAIL])

    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302
    assert log_in(client).headers["Location"] == "/login/two-factor"
    with app.app_context():
        assert count(RecoveryCode) == 0 and count(ConsultantSession) == 0
        actions = list(db.session.scalars(select(AuditEvent.action)))
    assert "consultant.two_factor_reset" in actions
