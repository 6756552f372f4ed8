"""Consultant logins: sessions, CSRF, expiry, rate limits and the headers of every page."""

from __future__ import annotations

import time

from tests.conftest import CONSULTANT_EMAIL, csrf_token_from, log_in
from webapp.auth.sessions import ABSOLUTE_LIMIT, IDLE_LIMIT


def age_session(client, *, seen: float = 0, login: float = 0) -> None:
    """Pretend the last activity and the login were this many seconds ago."""
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - seen
        session["login_at"] = time.time() - login


def test_pages_with_patient_data_redirect_to_login_when_logged_out(client):
    for path in ("/", "/patients/1", "/dashboard/updates?cursor=%7C0"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login")


def test_htmx_requests_when_logged_out_are_sent_to_login_with_hx_redirect(client):
    response = client.get("/dashboard/updates?cursor=%7C0", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_login_with_the_right_password_opens_the_dashboard(client, consultant):
    response = log_in(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(client, consultant):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    form = {"email": CONSULTANT_EMAIL, "password": "correct horse battery staple"}

    response = client.post("/login?next=//evil.example/", data=form | {"csrf_token": token})

    assert response.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").text)})
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=/patients/3", data=form | {"csrf_token": token})
    assert response.headers["Location"] == "/patients/3"


def test_a_wrong_password_and_an_unknown_email_get_the_same_message(client, consultant):
    wrong_password = log_in(client, password="not the password")
    unknown_email = log_in(client, email="nobody@clinic.example")

    assert wrong_password.status_code == unknown_email.status_code == 401
    message = "Email or password is incorrect."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_email.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_without_a_csrf_token_is_refused(client, consultant):
    response = client.post(
        "/login", data={"email": CONSULTANT_EMAIL, "password": "correct horse battery staple"}
    )

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_needs_post_and_csrf(consultant_client):
    assert consultant_client.get("/logout").status_code == 405
    assert consultant_client.post("/logout").status_code == 400
    assert consultant_client.get("/").status_code == 200

    token = csrf_token_from(consultant_client.get("/").get_data(as_text=True))
    response = consultant_client.post("/logout", data={"csrf_token": token})

    assert response.status_code == 302
    assert consultant_client.get("/").status_code == 302


def test_htmx_requests_carry_the_csrf_token_in_hx_headers(consultant_client):
    page = consultant_client.get("/").get_data(as_text=True)

    assert 'hx-headers=\'{"X-CSRFToken": ' in page
    token = csrf_token_from(page)
    response = consultant_client.post(
        "/logout", headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert response.status_code == 302


def test_a_session_idle_for_thirty_minutes_is_expired(consultant_client):
    age_session(consultant_client, seen=IDLE_LIMIT.total_seconds() + 5, login=3600)

    response = consultant_client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "session has expired" in consultant_client.get("/login").get_data(as_text=True)


def test_a_session_older_than_twelve_hours_is_expired_even_when_active(consultant_client):
    age_session(consultant_client, seen=10, login=ABSOLUTE_LIMIT.total_seconds() + 5)

    assert consultant_client.get("/").status_code == 302


def test_an_expired_session_is_refused_on_the_poll_with_a_redirect_to_login(consultant_client):
    age_session(consultant_client, seen=IDLE_LIMIT.total_seconds() + 5, login=3600)

    response = consultant_client.get(
        "/dashboard/updates?cursor=%7C0", headers={"HX-Request": "true"}
    )

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_polling_does_not_count_as_activity_but_pages_do(consultant_client):
    age_session(consultant_client, seen=600, login=600)
    consultant_client.get("/dashboard/updates?cursor=%7C0", headers={"HX-Request": "true"})
    with consultant_client.session_transaction() as session:
        assert time.time() - session["seen_at"] >= 599

    consultant_client.get("/")
    with consultant_client.session_transaction() as session:
        assert time.time() - session["seen_at"] < 5


def test_login_attempts_are_limited_per_account(client, consultant):
    for _ in range(5):
        assert log_in(client, password="wrong password!").status_code == 401

    response = log_in(client)

    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.get_data(as_text=True)


def test_login_attempts_are_limited_per_address_across_accounts(client, consultant):
    for attempt in range(20):
        assert log_in(client, email=f"guess{attempt}@clinic.example").status_code == 401

    response = log_in(client, email="another@clinic.example")

    assert response.status_code == 429
    assert "nobody" not in response.get_data(as_text=True)


def test_session_cookie_flags(client, consultant):
    response = log_in(client)
    cookie = response.headers["Set-Cookie"]

    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_pages_carry_the_security_headers(consultant_client):
    response = consultant_client.get("/")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_consultants_create_command(app, runner):
    result = runner.invoke(
        args=[
            "consultants",
            "create",
            "New.Person@Clinic.example",
            "--name",
            "New Person",
            "--password",
            "a long enough password",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "new.person@clinic.example" in result.output
    client = app.test_client()
    assert log_in(client, "new.person@clinic.example", "a long enough password").status_code == 302


def test_consultants_create_refuses_a_short_password_and_a_taken_email(runner, consultant):
    short = runner.invoke(
        args=["consultants", "create", "x@clinic.example", "--name", "X", "--password", "short"]
    )
    taken = runner.invoke(
        args=[
            "consultants",
            "create",
            CONSULTANT_EMAIL,
            "--name",
            "X",
            "--password",
            "a long enough password",
        ]
    )

    assert short.exit_code != 0 and "at least 12" in short.output
    assert taken.exit_code != 0 and "exists" in taken.output


def test_passwords_are_stored_as_argon2_hashes(app, consultant):
    from webapp.extensions import db
    from webapp.models import Consultant

    with app.app_context():
        stored = db.session.get(Consultant, consultant).password_hash

    assert stored.startswith("$argon2id$")
