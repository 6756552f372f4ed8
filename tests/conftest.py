"""Fixtures: an app per test on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from webapp import create_app
from webapp.cal.signature import SIGNATURE_HEADER, sign
from webapp.config import database_url, engine_options
from webapp.extensions import db, limiter

os.environ["APP_ENV"] = "testing"
FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_SECRET = "test-webhook-secret"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
# How often a server a test starts (the app, the fake Cal.com API) looks whether it should
# stop: shutting it down at the end of a test waits that long at most (by default 0.5 s).
SERVER_POLL_SECONDS = 0.05


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--days-ahead",
        type=int,
        default=0,
        metavar="DAYS",
        help="run with the clock moved DAYS ahead, so that a test that would fail on a later "
        "day fails now (browser tests cannot: Chromium keeps its own clock)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Move the clock ahead (``--days-ahead``) before any test module is imported, so that
    whatever a module or a test reads as now (Python's clock, in every thread of this
    process) is that later day; it keeps ticking from there."""
    days = config.getoption("--days-ahead")
    if days:
        later = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        later.start()
        config.add_cleanup(later.stop)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run browser tests with the clock moved: Chromium's clock stays today."""
    browser = any(item.get_closest_marker("browser") for item in items)
    if browser and config.getoption("--days-ahead"):
        raise pytest.UsageError("--days-ahead runs the unit and integration tests only")


def app_settings(url: str, instance: Path) -> dict[str, Any]:
    """Overrides that point an app at ``url`` the way the environment would."""
    uri = database_url(url, instance)
    return {
        "SQLALCHEMY_DATABASE_URI": uri,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(uri),
        "CAL_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "RATELIMIT_STORAGE_URI": "memory://",
        "CAL_SPOOL_DIR": str(instance / "spool"),
    }


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id at its cheapest parameters: the same kind of hash and the same checks, for a
    hundredth of the CPU (the deployed parameters cost some 0.35 s of CPU to create and check
    a password, and most tests create a consultant and log in). The hash an unknown email
    is checked against gets the same parameters, so that it still costs what a real one
    does. Processes a test starts keep the deployed parameters."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("webapp.auth.consultants.PASSWORD_HASHER", cheap)
        patch.setattr("webapp.auth.consultants.UNKNOWN_EMAIL_HASH", cheap.hash("nobody's password"))
        yield


@pytest.fixture(scope="session", params=BACKENDS)
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The database the tests of one backend share; its schema is built once."""
    with backend_database(request.param, tmp_path_factory) as url:
        yield url


@contextmanager
def backend_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of ``backend`` ("sqlite" or "postgresql") with the models' schema.

    On PostgreSQL each test run gets a database of its own on the TEST_DATABASE_URL server,
    so that runs never trip over each other, and drops it at the end.
    """
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'clinic.db'}"
        build_schema(url, tmp_path_factory.getbasetemp())
        yield url
        return
    with scratch_postgresql_database("tests") as url:
        build_schema(url, tmp_path_factory.getbasetemp())
        yield url


@contextmanager
def scratch_postgresql_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the TEST_DATABASE_URL server, dropped afterwards."""
    server = make_url(database_url(os.environ["TEST_DATABASE_URL"], Path()))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def build_schema(url: str, instance: Path) -> None:
    """Create the models' tables (the migrations are checked against them separately)."""
    app = create_app(app_settings(url, instance))
    with app.app_context():
        db.create_all()
        db.engine.dispose()


@pytest.fixture(scope="session")
def built_apps() -> dict[str, Flask]:
    """The app of each database, built once per worker."""
    return {}


@pytest.fixture
def app(
    request: pytest.FixtureRequest,
    backend_url: str,
    tmp_path: Path,
    built_apps: dict[str, Flask],
) -> Iterator[Flask]:
    """The app on a database emptied before the test, as if just built.

    Building an app registers every route, compiles every template and makes an engine that
    compiles every SQL statement and opens new connections (some 60 ms in all), so the tests
    of one database share one, and each starts as if it were new: the settings and
    extensions it was built with (what a test changes is put back afterwards), a spool
    directory of its own, an empty rate-limit store and an empty database. A test that
    changes the app itself (adds a hook, which Flask refuses once an app has served) is
    marked ``fresh_app`` and gets one of its own.
    """
    fresh = request.node.get_closest_marker("fresh_app") is not None
    if fresh:
        app = create_app(app_settings(backend_url, tmp_path))
    elif backend_url in built_apps:
        app = built_apps[backend_url]
    else:
        app = built_apps[backend_url] = create_app(app_settings(backend_url, tmp_path))
    settings, extensions = dict(app.config), dict(app.extensions)
    app.config.update(app_settings(backend_url, tmp_path))
    limiter.reset()
    with app.app_context():
        empty_database()
    yield app
    with app.app_context():
        db.session.remove()
        if fresh:
            db.engine.dispose()
    app.config.clear()
    app.config.update(settings)
    app.extensions.clear()
    app.extensions.update(extensions)


def empty_database() -> None:
    """Delete every row, children first; ids restart on PostgreSQL.

    DELETE rather than TRUNCATE: on tables of a test's few rows it is some fifty times
    faster on PostgreSQL (TRUNCATE makes new files for every table and its indexes).
    """
    deletes = [f"DELETE FROM {table.name}" for table in reversed(db.metadata.sorted_tables)]  # noqa: S608 - our table names
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # One round trip: the deletes, then every sequence of this scratch database (each
            # is a table's id) started again.
            restart = "SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'"
            connection.exec_driver_sql(";\n".join([*deletes, restart]))
        else:
            for delete in deletes:
                connection.exec_driver_sql(delete)


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


@contextmanager
def statements_sent(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the app's engine sends inside the block, transaction control aside."""
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_context: Any) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            sent.append(statement.lstrip().upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def fixture_body(name: str) -> bytes:
    """The raw bytes of a Cal.com delivery from ``tests/fixtures``."""
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads(fixture_body(name))


def as_body(document: dict[str, Any] | bytes) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document).encode()


def post_delivery(
    client: FlaskClient,
    document: dict[str, Any] | bytes,
    *,
    secret: str | None = WEBHOOK_SECRET,
    signature: str | None = None,
):
    """Post a delivery signed as Cal.com would sign it (or with ``signature`` as given)."""
    body = as_body(document)
    headers = {"Content-Type": "application/json"}
    if signature is None and secret is not None:
        signature = sign(body, secret)
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return client.post("/webhooks/cal", data=body, headers=headers)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served by a real threaded HTTP server on a free port; yields its base URL."""
    from threading import Thread

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = Thread(target=server.serve_forever, args=(SERVER_POLL_SECONDS,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def cal_com(app: Flask, live_server: str) -> Iterator[Any]:
    """A fake of Cal.com's API (tests/cal_api_fake.py) that the app reads and acts on with
    an API key; the deliveries it sends for an action go, signed, to the app served at
    ``live_server``."""
    from tests.cal_api_fake import API_KEY, FakeCalApi, serving

    with serving(FakeCalApi()) as fake:
        fake.webhook_url = f"{live_server}/webhooks/cal"
        fake.webhook_secret = WEBHOOK_SECRET
        app.config.update(CAL_API_URL=fake.url, CAL_API_KEY=API_KEY)
        yield fake


CONSULTANT_EMAIL = "selin@clinic.example"
CONSULTANT_PASSWORD = "correct horse battery staple"


@pytest.fixture
def consultant(app: Flask) -> int:
    """A consultant login; returns its id."""
    from webapp.auth.consultants import create_consultant

    with app.app_context():
        created = create_consultant(
            CONSULTANT_EMAIL, "Dr. Selin Aydin", CONSULTANT_PASSWORD, "Europe/Istanbul"
        )
        db.session.commit()
        return created.id


def csrf_token_from(html: str) -> str:
    """The CSRF token a rendered page carries (form field or hx-headers)."""
    import re

    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, "page carries no CSRF token"
    return match.group(1)


def log_in(client: FlaskClient, email: str = CONSULTANT_EMAIL, password: str = CONSULTANT_PASSWORD):
    """Log in through the real form, CSRF token included; returns the POST's response."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def consultant_client(client: FlaskClient, consultant: int) -> FlaskClient:
    """A test client with a logged-in consultant."""
    assert log_in(client).status_code == 302
    return client


def deliver(client: FlaskClient, document: dict[str, Any] | bytes) -> dict[str, Any]:
    """Post a signed delivery that must be processed; returns the webhook's JSON answer."""
    response = post_delivery(client, document)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] == "processed", answer
    return answer


# --- Bookings and questionnaire answers, as Cal.com and a browser send them -----------------

FIXTURE_BOOKING_UID = "r8KqT2mWv5XbN7pLc3YdZa"  # the uid of tests/fixtures/booking_created.json
KEEP = object()  # leave the fixture's answer as it is


def booking_document(
    uid: str = FIXTURE_BOOKING_UID,
    *,
    email: str = "Oliver.Bennett@Example.co.uk",
    name: str = "Oliver Bennett",
    phone: Any = KEEP,
    country: Any = KEEP,
    created_at: str = "2026-11-02T09:14:07.331Z",
    booking_id: int = 90211,
    answers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """BOOKING_CREATED from the fixture, with the booker's details replaced as given.

    ``phone`` or ``country`` of ``None`` leaves that question unanswered (no ``value`` key),
    as Cal.com sends it; ``answers`` adds custom questions by field name.
    """
    document = fixture_json("booking_created.json")
    document["createdAt"] = created_at
    payload = document["payload"]
    payload["uid"] = uid
    payload["bookingId"] = booking_id
    responses = payload["responses"]
    booker = payload["attendees"][0]
    responses["email"]["value"] = email
    booker["email"] = email
    responses["name"]["value"] = name
    booker["name"] = name
    if phone is None:
        del responses["attendeePhoneNumber"]["value"]
        del booker["phoneNumber"]
    elif phone is not KEEP:
        responses["attendeePhoneNumber"]["value"] = phone
        booker["phoneNumber"] = phone
    if country is None:
        del responses["country"]["value"]
        del payload["userFieldsResponses"]["country"]["value"]
    elif country is not KEEP:
        responses["country"]["value"] = country
        payload["userFieldsResponses"]["country"]["value"] = country
    for key, value in (answers or {}).items():
        responses[key] = {"label": key, "value": value, "isHidden": False}
    return document


def valid_answers(**changes: Any) -> dict[str, Any]:
    """A complete, valid questionnaire as a browser posts it; ``None`` in ``changes`` drops
    a field (an unticked box or an unanswered question sends nothing)."""
    answers: dict[str, Any] = {
        "country": "United Kingdom",
        "age_range": "36-45",
        "gender": "male",
        "conditions": "none",
        "conditions_details": "",
        "medications": "yes",
        "medications_details": "Aspirin 75 mg daily",
        "allergies": "none",
        "allergies_details": "",
        "surgeries": "none",
        "surgeries_details": "",
        "recent_events": "none",
        "recent_events_details": "",
        "hair_loss_started": "2_5",
        "hair_loss_onset": "gradual",
        "hair_loss_areas": ["crown", "top"],
        "family_history": ["father"],
        "previous_treatments": ["minoxidil"],
        "treatment_results": "Slowed it down for a year",
        "goals": "A denser crown",
        "consent": "y",
    }
    answers.update(changes)
    return {key: value for key, value in answers.items() if value is not None}


# What someone answering from a booking link we have not received types about themselves.
TYPED_IDENTITY = {
    "name": "Oliver Bennett",
    "email": "oliver.bennett@example.co.uk",
    "phone": "+44 7700 900123",
}


def submit(client: FlaskClient, token: str, answers: dict[str, Any]):
    """Open the questionnaire, then send ``answers`` step by step as a browser would, each
    step with the fields it shows and the CSRF token the page carried.

    Returns the response to the first step refused (400), or to the last step (a
    redirect to the thank-you page when all went well).
    """
    page = client.get(f"/questionnaire/{token}")
    assert page.status_code == 200, page.status_code
    csrf = csrf_token_from(page.get_data(as_text=True))
    return send_steps(client, token, answers, csrf)


def send_steps(client: FlaskClient, token: str, answers: dict[str, Any], csrf: str):
    """Post each step of the questionnaire in turn with its part of ``answers``."""
    from webapp.questionnaire.questions import STEPS

    response = None
    for step in STEPS:
        data = {name: answers[name] for name in step.fields if name in answers}
        response = client.post(
            f"/questionnaire/{token}?step={step.name}", data=data | {"csrf_token": csrf}
        )
        if response.status_code != 302 or "step=" not in response.headers["Location"]:
            return response
    return response


def count(model: Any) -> int:
    """How many rows ``model``'s table holds (inside an app context)."""
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(model))
