"""Consultant logins: sessions, CSRF, expiry, rate limits and the headers of every page."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.cookiejar import CookieJar
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import HTTPCookieProcessor, OpenerDirector, build_opener

import pytest
import redis
from sqlalchemy import select, update

from tests.conftest import (
    CONSULTANT_EMAIL,
    CONSULTANT_PASSWORD,
    count,
    csrf_token_from,
    log_in,
    statements_sent,
)
from webapp import create_app
from webapp.auth.sessions import ABSOLUTE_LIMIT, IDLE_LIMIT
from webapp.extensions import db
from webapp.models import ConsultantSession, utcnow

IDLE_POLL = "/dashboard/updates?cursor=%7C0"
HTMX = {"HX-Request": "true"}
# Redis runs here and in CI; a run's keys carry a prefix of their own and are deleted after.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def age_session(app, *, seen: float = 0, login: float = 0) -> None:
    """Pretend every session's last activity and sign-in were this many seconds ago."""
    now = utcnow()
    with app.app_context():
        db.session.execute(
            update(ConsultantSession).values(
                last_active_at=now - timedelta(seconds=seen),
                created_at=now - timedelta(seconds=login),
            )
        )
        db.session.commit()


def last_active_seconds_ago(app) -> float:
    with app.app_context():
        (last_active,) = db.session.scalars(select(ConsultantSession.last_active_at)).all()
    return (utcnow() - last_active).total_seconds()


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


def log_in_with_query(client, query: str):
    """Log in through the real form posted to ``/login?<query>`` (``query`` sent as is)."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    form = {"email": CONSULTANT_EMAIL, "password": CONSULTANT_PASSWORD, "csrf_token": token}
    return client.post(f"/login?{query}", data=form)


def assert_on_site(location: str) -> None:
    """``location`` leads every browser to a path on this site.

    Browsers drop tabs and newlines, strip leading spaces and control characters and read
    a backslash as a slash before resolving, so none of these may appear at all.
    """
    assert all(char.isprintable() and char not in " \\" for char in location), repr(location)
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location
    assert urlsplit(urljoin("https://clinic.example/login", location)).netloc == "clinic.example"


EVIL_NEXT = [
    "//evil.example/",
    "///evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%09/evil.example",
    "%09//evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "%20//evil.example",
    "/%20/evil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/%5C/evil.example",
    "%5C/evil.example",
    "https://evil.example",
    "https:evil.example",
    "http:/evil.example",
    "HTTPS%3A%2F%2Fevil.example",
    "javascript:alert(1)",
    "JaVaScRiPt%3Aalert(1)",
    "%09javascript:alert(1)",
    "data:text/html,hi",
    "evil.example",
    "@evil.example",
    "/%E2%80%A8/evil.example",
    "/%C2%85/evil.example",
    "%E3%80%80//evil.example",
    "%EF%BC%8F%EF%BC%8Fevil.example",
    "/%EF%BC%8F/evil.example",
    "/%7F/evil.example",
    "/%2509/evil.example",
    "/%255C/evil.example",
    "next=/one&next=//evil.example",
]


@pytest.mark.parametrize("evil", ["/%00/evil.example", "%00//evil.example", "/%01/evil.example"])
def test_a_next_with_a_control_character_is_refused_before_anyone_logs_in(client, consultant, evil):
    response = log_in_with_query(client, f"next={evil}")

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert client.get("/").status_code == 302  # still logged out


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_login_never_sends_the_consultant_off_site_whatever_next_holds(client, consultant, evil):
    query = evil if evil.startswith("next=") else f"next={evil}"

    response = log_in_with_query(client, query)

    assert response.status_code == 302
    assert_on_site(response.headers["Location"])
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("next=/patients/3", "/patients/3"),
        ("next=%2Fpatients%2F3%3Ftab%3Dhistory", "/patients/3?tab=history"),
        ("next=/%3Ftab%3Dpast%26q%3D%25C3%2596zge", "/?tab=past&q=%C3%96zge"),
        ("next=/@evil.example", "/@evil.example"),
        ("", "/"),
        ("next=", "/"),
    ],
)
def test_login_goes_back_to_the_page_asked_for_on_this_site(client, consultant, query, location):
    response = log_in_with_query(client, query)

    assert response.status_code == 302
    assert response.headers["Location"] == location


def test_the_page_to_return_to_is_never_taken_off_site_from_htmx_headers(client):
    response = client.get(
        IDLE_POLL,
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost//evil.example/x"},
    )

    assert response.status_code == 401
    assert "evil" not in response.headers["HX-Redirect"]


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


def copy_session_cookie(app, client):
    """A second client holding a copy of ``client``'s session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def log_out(client):
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_a_poll_answered_after_logging_out_writes_no_cookie_over_the_log_outs(
    app, consultant_client
):
    """A poll in flight when the consultant logs out answers after the log-out; had it set
    the cookie (every answer refreshes a permanent session's), it would put back the old
    one, or one saying "expired", over the one saying they logged out."""
    in_flight = copy_session_cookie(app, consultant_client)
    assert "Set-Cookie" not in consultant_client.get(IDLE_POLL, headers=HTMX).headers

    log_out(consultant_client)
    poll = in_flight.get(IDLE_POLL, headers=HTMX)

    assert poll.status_code == 401
    assert poll.headers["HX-Redirect"].startswith("/login")
    assert "Set-Cookie" not in poll.headers
    assert "You have logged out" in consultant_client.get("/login").get_data(as_text=True)


def test_a_poll_that_finds_its_session_ended_elsewhere_sends_the_page_to_say_so(
    app, consultant_client
):
    ended = copy_session_cookie(app, consultant_client)
    log_out(consultant_client)  # as another device ending this session would

    poll = ended.get(IDLE_POLL, headers=HTMX)

    assert poll.status_code == 401
    login = ended.get(poll.headers["HX-Redirect"]).get_data(as_text=True)
    assert "session has expired" in login


def add_consultant(app, email: str) -> None:
    from webapp.auth.consultants import create_consultant

    with app.app_context():
        create_consultant(email, "Dr. Deniz Kaya", CONSULTANT_PASSWORD, "Europe/Istanbul")
        db.session.commit()


def test_a_session_cookie_copied_before_logout_stops_working_at_logout(app, consultant_client):
    copied = copy_session_cookie(app, consultant_client)
    assert copied.get("/").status_code == 200

    log_out(consultant_client)

    response = copied.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    poll = copied.get(IDLE_POLL, headers={"HX-Request": "true"})
    assert poll.status_code == 401
    assert poll.headers["HX-Redirect"].startswith("/login")


def test_logout_ends_that_session_only(app, consultant_client):
    add_consultant(app, "deniz@clinic.example")
    colleague = app.test_client()
    assert log_in(colleague, "deniz@clinic.example").status_code == 302
    tablet = app.test_client()
    assert log_in(tablet).status_code == 302

    log_out(tablet)

    assert tablet.get("/").status_code == 302
    assert consultant_client.get("/").status_code == 200
    assert consultant_client.get(IDLE_POLL, headers={"HX-Request": "true"}).status_code == 204
    assert colleague.get("/").status_code == 200
    with app.app_context():
        assert count(ConsultantSession) == 2


def test_a_cookie_naming_no_session_row_is_refused_as_an_expired_session(consultant_client):
    with consultant_client.session_transaction() as session:
        del session["session_key"]  # as a cookie from before server-side sessions

    response = consultant_client.get("/")

    assert response.headers["Location"].startswith("/login")
    assert "session has expired" in consultant_client.get("/login").text


def test_a_forged_session_key_names_no_one(consultant_client):
    with consultant_client.session_transaction() as session:
        session["session_key"] = "guessed"

    assert consultant_client.get("/").status_code == 302


def test_a_new_password_ends_every_session_of_that_consultant(app, runner, consultant_client):
    add_consultant(app, "deniz@clinic.example")
    colleague = app.test_client()
    assert log_in(colleague, "deniz@clinic.example").status_code == 302

    result = runner.invoke(
        args=[
            "consultants",
            "set-password",
            " Selin@Clinic.example",
            "--password",
            "a brand new passphrase",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "selin" not in result.output  # ids in output, like the logs
    assert consultant_client.get("/").status_code == 302
    assert colleague.get("/").status_code == 200
    assert log_in(consultant_client).status_code == 401
    assert log_in(consultant_client, password="a brand new passphrase").status_code == 302


def test_set_password_refuses_a_short_password_and_an_unknown_email(runner, consultant_client):
    short = runner.invoke(
        args=["consultants", "set-password", CONSULTANT_EMAIL, "--password", "short"]
    )
    unknown = runner.invoke(
        args=["consultants", "set-password", "x@clinic.example", "--password", "long enough pw"]
    )

    assert short.exit_code != 0 and "at least 12" in short.output
    assert unknown.exit_code != 0 and "no consultant" in unknown.output
    assert consultant_client.get("/").status_code == 200


def test_the_idle_poll_checks_its_session_and_consultant_in_one_statement_and_writes_nothing(
    app, consultant_client
):
    with statements_sent(app) as statements:
        response = consultant_client.get(IDLE_POLL, headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert len(statements) == 2, statements  # the session with its consultant; the cursor
    (session_check,) = [sql for sql in statements if "CONSULTANT_SESSIONS" in sql]
    assert "JOIN CONSULTANTS" in session_check
    writes = ("INSERT", "UPDATE", "DELETE")
    assert not [sql for sql in statements if sql.startswith(writes)], statements


def test_a_session_idle_for_thirty_minutes_is_expired(app, consultant_client):
    age_session(app, seen=IDLE_LIMIT.total_seconds() + 5, login=3600)

    response = consultant_client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "session has expired" in consultant_client.get("/login").get_data(as_text=True)


def test_a_session_older_than_twelve_hours_is_expired_even_when_active(app, consultant_client):
    age_session(app, seen=10, login=ABSOLUTE_LIMIT.total_seconds() + 5)

    assert consultant_client.get("/").status_code == 302


def test_an_expired_session_is_refused_on_the_poll_with_a_redirect_to_login(app, consultant_client):
    age_session(app, seen=IDLE_LIMIT.total_seconds() + 5, login=3600)

    response = consultant_client.get(
        "/dashboard/updates?cursor=%7C0", headers={"HX-Request": "true"}
    )

    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_polling_does_not_count_as_activity_but_pages_do(app, consultant_client):
    age_session(app, seen=600, login=600)
    consultant_client.get("/dashboard/updates?cursor=%7C0", headers={"HX-Request": "true"})
    assert last_active_seconds_ago(app) >= 599

    consultant_client.get("/")
    assert last_active_seconds_ago(app) < 5


def test_activity_is_written_at_most_once_a_minute(app, consultant_client):
    age_session(app, seen=30, login=30)

    with statements_sent(app) as statements:
        assert consultant_client.get("/").status_code == 200

    assert not [sql for sql in statements if sql.startswith("UPDATE")], statements
    assert last_active_seconds_ago(app) >= 29


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


def serve_worker(settings: dict[str, Any], ports: Any) -> None:
    """One worker as gunicorn would fork it: a process and an app of its own, on a free port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(settings))
    ports.put(server.server_port)
    server.serve_forever()


@pytest.fixture
def start_workers(app, consultant) -> Iterator[Callable[..., list[str]]]:
    """Start worker processes serving this test's database; yields a starter of base URLs."""
    # Fresh processes, not forks of this one (its threads and open connections must not be
    # copied), started by a fork server that has imported the app once for all of them.
    spawn = multiprocessing.get_context("forkserver")
    spawn.set_forkserver_preload(["webapp", __name__])
    processes = []

    def start(count: int, **overrides: str) -> list[str]:
        settings = {
            name: app.config[name]
            for name in ("SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "SECRET_KEY")
        } | overrides
        ports = spawn.Queue()
        for _ in range(count):
            process = spawn.Process(target=serve_worker, args=(settings, ports), daemon=True)
            process.start()
            processes.append(process)
        return [f"http://127.0.0.1:{ports.get(timeout=60)}" for _ in range(count)]

    yield start
    for process in processes:
        process.terminate()
        process.join(timeout=10)


def attempt_login(browser: OpenerDirector, base_url: str, password: str) -> int:
    """A sign-in through the real form on the worker at ``base_url``; returns the status."""
    with browser.open(f"{base_url}/login", timeout=30) as page:
        token = csrf_token_from(page.read().decode())
    form = {"email": CONSULTANT_EMAIL, "password": password, "csrf_token": token}
    try:
        with browser.open(f"{base_url}/login", urlencode(form).encode(), timeout=30) as answer:
            return answer.status
    except HTTPError as refused:
        return refused.code


def redis_keys(prefix: str) -> list[bytes]:
    with redis.Redis.from_url(REDIS_URL) as store:
        return list(store.scan_iter(match=f"*{prefix}*"))


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A rate-limit key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    keys = redis_keys(prefix)
    if keys:
        with redis.Redis.from_url(REDIS_URL) as store:
            store.delete(*keys)


def test_a_shared_store_makes_every_worker_count_the_same_attempts(start_workers, redis_prefix):
    workers = start_workers(2, RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=redis_prefix)
    attacker = build_opener(HTTPCookieProcessor(CookieJar()))

    statuses = [attempt_login(attacker, workers[i % 2], "wrong password!") for i in range(8)]

    assert statuses == [401] * 5 + [429] * 3
    assert attempt_login(attacker, workers[0], CONSULTANT_PASSWORD) == 429
    assert attempt_login(attacker, workers[1], CONSULTANT_PASSWORD) == 429
    assert redis_keys(redis_prefix)


def test_with_memory_each_worker_counts_alone_which_is_why_production_refuses_it(start_workers):
    workers = start_workers(2, RATELIMIT_STORAGE_URI="memory://")
    attacker = build_opener(HTTPCookieProcessor(CookieJar()))

    statuses = [attempt_login(attacker, workers[i % 2], "wrong password!") for i in range(12)]

    assert statuses == [401] * 10 + [429] * 2


def test_while_the_shared_store_is_down_sign_in_works_and_each_worker_still_limits(
    start_workers,
):
    (worker,) = start_workers(1, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    consultant_browser = build_opener(HTTPCookieProcessor(CookieJar()))
    attacker = build_opener(HTTPCookieProcessor(CookieJar()))

    assert attempt_login(consultant_browser, worker, CONSULTANT_PASSWORD) == 200  # the dashboard
    statuses = [attempt_login(attacker, worker, "wrong password!") for _ in range(6)]

    assert statuses == [401] * 5 + [429]


def test_the_session_cookie_is_http_only_and_same_site_lax(client, consultant):
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


def test_consultants_create_makes_a_login_that_signs_in_by_its_normalised_email(app, runner):
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
