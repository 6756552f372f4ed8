"""How fast the dashboard answers with many patients: a benchmark, not a test.

Run it with ``make bench``, or::

    .venv/bin/python -m bench.dashboard --patients 1000 100000

It always measures SQLite (a temporary file) and, when ``BENCH_DATABASE_URL`` or
``TEST_DATABASE_URL`` names a PostgreSQL server, PostgreSQL too, in a database created for
the run (``bench_<random>``) and dropped at the end. The schema is built by the real
migrations (``flask_migrate.upgrade()``), so the indexes measured are the ones deployed.
PostgreSQL is ``VACUUM ANALYZE``d after seeding, as autovacuum would do shortly after a bulk
load (the vacuum marks pages all-visible, so counts may be index-only scans), and then
checkpointed, so that writing the load out does not slow the requests being timed;
SQLite is left as a deployment leaves it.

Each backend is seeded, once per size given to ``--patients`` (default 1,000 and 100,000,
each in a database of its own), with that many patients as ``flask dev seed`` makes them
(``webapp.demo.bookings``: a user, a patient profile and one consultation each, seven in ten
with a questionnaire submission; mixed statuses, start times over the past year and the next
three months, fourteen countries and their languages, six consultants, about 2% flagged as
possible duplicates), then a consultant logs in through the real form and a Flask test
client times, ``--repeat`` times after two warm-up runs: the first page, a name and a phone
search, a deep page, the idle poll (204), a poll right after one booking changed (200; it
lists every booking changed in the five seconds before, some 60 at 60 runs) and
``/insights`` for its default twelve weeks (every chart), and the stage filter (accepted,
expired, quote sent on Past, a name search in one stage, and a poll after a change with a
stage on, which counts the filtered tabs again; the first page counts every stage for the
filter). The deep page is page 50 of
Past and, as at 1,000 patients page 50 is past the end and renders no row, also the deepest
full page up to 50 (page 23 at 1,000 patients), which compares the same work at each size.
A stage filter or a search may list fewer bookings in the smaller clinic; the report says
how many each answer lists where that differs, since rendering rows is part of the time.
Times are the whole request through Flask (routing, session, queries, templates), in ms.
``queries`` is the number of SQL statements one request sends (transaction control such as
SQLite's ``BEGIN IMMEDIATE`` not counted); it stays the same whatever the number of rows, as
nothing is loaded per row. ``--explain`` also prints the plan of every statement each
request sends (``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on
SQLite), the poll after a change aside.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine, make_url
from werkzeug.test import TestResponse

from bench.serving import bench_app
from webapp.config import database_url
from webapp.dashboard.queries import CHANGE_OVERLAP, PER_PAGE, tab_condition
from webapp.demo.bookings import add_bookings
from webapp.extensions import db
from webapp.models import (
    Consultation,
    ConsultationStatus,
    PatientProfile,
    utcnow,
)

DEFAULT_PATIENTS = (1_000, 100_000)
# Enough runs that a burst of the machine's own work (autovacuum, a neighbour) moves no median.
DEFAULT_REPEAT = 60
DEEP_PAGE = 50
WARM_UP = 2
HTMX = {"HX-Request": "true"}
CONSULTANT_EMAIL = "bench@clinic.example"
CONSULTANT_PASSWORD = "benchmark password 2026"  # noqa: S105 - a throwaway login
SERVER_URL_VARIABLES = ("BENCH_DATABASE_URL", "TEST_DATABASE_URL")

POLLER = re.compile(r'<div id="poller"[^>]*?\bhx-get="([^"]*)"')
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
BOOKING_ROW = re.compile(r'<tr id="consultation-\d+"')


@dataclass(frozen=True)
class Sample:
    """What the seeded data lets the benchmark search for."""

    name_fragment: str
    phone_digits: str
    consultation_ids: int
    # The deepest page of the Past tab that is full, up to 50: at 1,000 patients page 50 is
    # past the end (an empty page renders no rows), so this compares equal work at each size.
    full_past_page: int


@dataclass
class Measurement:
    """One measured request, repeated: its times in seconds and its statements per run."""

    backend: str
    name: str
    patients: int = 0
    seconds: list[float] = field(default_factory=list)
    queries: set[int] = field(default_factory=set)
    rows: int = 0  # bookings the (last) answer lists

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000

    @property
    def queries_text(self) -> str:
        return "/".join(str(count) for count in sorted(self.queries))


class StatementLog:
    """Counts (and keeps) the SQL statements an engine sends, transaction control aside."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            self.statements.append((statement, parameters))

    def clear(self) -> None:
        self.statements.clear()

    @property
    def count(self) -> int:
        return len(self.statements)


def main(argv: list[str] | None = None) -> None:
    """Seed each backend, time the dashboard's requests on it and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument(
        "--patients",
        type=int,
        nargs="+",
        default=list(DEFAULT_PATIENTS),
        help="patients seeded: one database per size, compared side by side",
    )
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="timed runs each")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument(
        "--explain", action="store_true", help="print the plan of every statement measured"
    )
    args = parser.parse_args(argv)
    if min(args.patients) < 100 or args.repeat < 1:
        parser.error("need at least 100 patients and 1 repeat")
    os.environ["APP_ENV"] = "testing"

    results: list[Measurement] = []
    setup: list[tuple[str, int, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for backend, database in bench_backends(Path(tmp)):
            for size in args.patients:
                with database(size) as url:
                    print(f"[{backend}] seeding {size:,} patients ...", flush=True)
                    measured, migrate_s, seed_s = bench_backend(backend, url, Path(tmp), args, size)
                    results.extend(measured)
                    setup.append((backend, size, migrate_s, seed_s))
    print_report(results, setup, args.patients, args.repeat)


def bench_backends(tmp: Path) -> list[tuple[str, Callable[[int], Any]]]:
    """The databases to measure, each a name and a context manager that gives, for a number
    of patients, the URL of an empty database: SQLite files in ``tmp`` and, when
    ``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL`` names a server, PostgreSQL."""
    server = next((os.environ[name] for name in SERVER_URL_VARIABLES if os.environ.get(name)), None)
    backends: list[tuple[str, Callable[[int], Any]]] = [
        ("sqlite", lambda size: _nothing_to_drop(f"sqlite:///{tmp / f'clinic-{size}.db'}"))
    ]
    if server:
        backends.append(("postgresql", lambda _size: postgres_database(server)))
    return backends


@contextmanager
def _nothing_to_drop(url: str) -> Iterator[str]:
    yield url


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server of ``server_url``, dropped (forcibly) afterwards."""
    admin_url = make_url(database_url(server_url, Path()))
    name = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def bench_backend(
    backend: str, url: str, instance: Path, args: argparse.Namespace, patients: int
) -> tuple[list[Measurement], float, float]:
    """Migrate, seed and measure one database; returns the measurements and setup times."""
    app = bench_app(url, instance)
    try:
        with app.app_context():
            started = time.perf_counter()
            upgrade()
            migrate_s = time.perf_counter() - started
            started = time.perf_counter()
            sample = seed(patients, Random(args.seed), datetime.now(UTC))
            seed_s = time.perf_counter() - started
            create_consultant_login()
            log = StatementLog(db.engine)
        measured = measure_dashboard(backend, app, log, sample, args.repeat, args.explain)
        for measurement in measured:
            measurement.patients = patients
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return measured, migrate_s, seed_s


def seed(patients: int, rng: Random, now: datetime) -> Sample:
    """Insert ``patients`` made-up patients in bulk (``webapp.demo.bookings``); commits."""
    add_bookings(patients, rng, now, days_back=365, days_ahead=90)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
            # Write the load's dirty pages out now, not while requests are being timed.
            connection.execute(text("CHECKPOINT"))
    probe = db.session.get(PatientProfile, patients // 2)
    phoned = db.session.scalar(
        select(PatientProfile.phone)
        .where(PatientProfile.phone.is_not(None), PatientProfile.id >= patients // 3)
        .order_by(PatientProfile.id)
        .limit(1)
    )
    assert probe is not None and probe.name and phoned
    past = db.session.scalar(
        select(func.count()).where(tab_condition("past", utcnow(), ZoneInfo("UTC")))
    )
    return Sample(
        name_fragment=probe.name.split()[-1][:4].lower(),
        phone_digits=phoned[-7:],
        consultation_ids=db.session.scalar(select(func.count()).select_from(Consultation)) or 0,
        full_past_page=max(1, min(DEEP_PAGE, (past or 0) // PER_PAGE)),
    )


def create_consultant_login() -> None:
    """The consultant the benchmark logs in as; commits."""
    from webapp.auth.consultants import create_consultant

    create_consultant(CONSULTANT_EMAIL, "Bench Consultant", CONSULTANT_PASSWORD, "Europe/Istanbul")
    db.session.commit()


def log_in(client: FlaskClient) -> None:
    """Log in through the real form, CSRF token and all."""
    page = client.get("/login").get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match, "the login page carries no CSRF token"
    response = client.post(
        "/login",
        data={"email": CONSULTANT_EMAIL, "password": CONSULTANT_PASSWORD, "csrf_token": match[1]},
    )
    assert response.status_code == 302, f"login failed: {response.status_code}"


def poller_url(page: str) -> str:
    """The URL the page's (or an update's) poller would call next."""
    match = POLLER.search(page)
    assert match, "no poller in the response"
    return html.unescape(match[1])


def measure_dashboard(
    backend: str, app: Flask, log: StatementLog, sample: Sample, repeat: int, explain: bool
) -> list[Measurement]:
    """Time each dashboard request ``repeat`` times (after warm-up runs)."""
    client = app.test_client()
    log_in(client)
    rng = Random(7)

    def get(url: str, headers: dict[str, str] | None, status: int) -> Callable[[], TestResponse]:
        def run() -> TestResponse:
            response = client.get(url, headers=headers)
            assert response.status_code == status, f"{url}: {response.status_code}, not {status}"
            return response

        return run

    first_page = get("/", None, 200)
    pages = [
        ("first page (full HTML)", first_page),
        ("search by name", get(f"/?q={quote(sample.name_fragment)}", HTMX, 200)),
        ("search by phone digits", get(f"/?q={quote(sample.phone_digits)}", HTMX, 200)),
        (f"past tab, page {DEEP_PAGE}", get(f"/?tab=past&page={DEEP_PAGE}", HTMX, 200)),
        (
            f"past tab, deepest full page <= {DEEP_PAGE}",
            get(f"/?tab=past&page={sample.full_past_page}", HTMX, 200),
        ),
    ]
    # The stage filter (issue 22): a stage is an equality on the stage index, "expired" a
    # range of it; the full page above counts every stage for the filter's options.
    for stage in ("accepted", "expired", "quote_sent"):
        pages.append((f"stage filter: {stage}", get(f"/?tab=past&stage={stage}", HTMX, 200)))
    pages.append(
        (
            "search by name, stage accepted",
            get(f"/?q={quote(sample.name_fragment)}&stage=accepted", HTMX, 200),
        )
    )
    idle_url = poller_url(first_page().get_data(as_text=True))
    pages.append(("idle poll (204)", get(idle_url, HTMX, 204)))
    pages.append(("insights, default 12 weeks (full HTML)", get("/insights", None, 200)))

    measurements = []
    for name, request in pages:
        measurements.append(time_request(backend, name, request, log, repeat))
        if explain:
            explain_request(app, log, name, request)

    # A booking changes, then the poll that picks it up; its answer carries the next cursor.
    # With a stage filter on, the poll also counts the filtered tabs again (the data moved).
    def change_one() -> None:
        with app.app_context():
            consultation = db.session.get(Consultation, rng.randint(1, sample.consultation_ids))
            assert consultation is not None
            consultation.status = (
                ConsultationStatus.PENDING
                if consultation.status == ConsultationStatus.SCHEDULED
                else ConsultationStatus.SCHEDULED
            )
            consultation.status_changed_at = consultation.updated_at = utcnow()
            db.session.commit()

    # A poll lists every booking changed in the overlap before its cursor (CHANGE_OVERLAP:
    # a browser's view of late commits), so with a change before every run each poll lists
    # the changes of the last few seconds, some 60 rows at 60 runs. Each measurement starts
    # after a quiet overlap, so that both list as many and compare.
    for name, page in (
        ("poll after a change (200)", "/"),
        ("poll after a change, stage accepted", "/?tab=past&stage=accepted"),
    ):
        time.sleep(CHANGE_OVERLAP.total_seconds())
        state = {"url": poller_url(get(page, None, 200)().get_data(as_text=True))}

        def poll_after_change(state: dict[str, str] = state) -> TestResponse:
            response = get(state["url"], HTMX, 200)()
            state["url"] = poller_url(response.get_data(as_text=True))
            return response

        measurements.append(
            time_request(backend, name, poll_after_change, log, repeat, before=change_one)
        )
        get(state["url"], HTMX, 204)()  # the cursor it handed back is idle again
    return measurements


def time_request(
    backend: str,
    name: str,
    request: Callable[[], TestResponse],
    log: StatementLog,
    repeat: int,
    before: Callable[[], None] | None = None,
) -> Measurement:
    """Run ``request`` twice untimed, then ``repeat`` times timed (``before`` runs untimed)."""
    measurement = Measurement(backend, name)
    for run in range(WARM_UP + repeat):
        if before is not None:
            before()
        log.clear()
        started = time.perf_counter()
        response = request()
        elapsed = time.perf_counter() - started
        if run >= WARM_UP:
            measurement.seconds.append(elapsed)
            measurement.queries.add(log.count)
            measurement.rows = len(BOOKING_ROW.findall(response.get_data(as_text=True)))
    print(f"  {name}: {measurement.median_ms:.1f} ms median", flush=True)
    return measurement


def explain_request(app: Flask, log: StatementLog, name: str, request: Callable[[], Any]) -> None:
    """Print the plan of each statement ``request`` sends (EXPLAIN ANALYZE on PostgreSQL)."""
    log.clear()
    request()
    statements = list(log.statements)
    with app.app_context(), db.engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
        for number, (statement, parameters) in enumerate(statements, 1):
            print(f"\n--- {name}, statement {number}:\n{statement}\n    {parameters!r}")
            for row in connection.exec_driver_sql(prefix + statement, parameters):
                print("   ", row[-1])
        connection.rollback()


def print_report(
    results: list[Measurement],
    setup: list[tuple[str, int, float, float]],
    sizes: list[int],
    repeat: int,
) -> None:
    """The table: each measurement's median (and statements) at every size side by side,
    and the ratio of the largest size's median to the smallest's; then the setup times."""
    print(f"\n{repeat} timed runs per measurement; medians in ms, statements in brackets\n")
    by_key = {(m.backend, m.name, m.patients): m for m in results}
    names = list(dict.fromkeys((m.backend, m.name) for m in results))
    width = max(len(name) for _, name in names)
    header = f"{'backend':<11}{'measurement':<{width + 2}}" + "".join(
        f"{f'{size:,} pts':>18}" for size in sizes
    )
    if len(sizes) > 1:
        header += f"{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for backend, name in names:
        line = f"{backend:<11}{name:<{width + 2}}"
        medians = []
        for size in sizes:
            m = by_key.get((backend, name, size))
            if m is None:
                line += f"{'-':>18}"
                continue
            medians.append(m.median_ms)
            line += f"{m.median_ms:.1f} [{m.queries_text}]".rjust(18)
        if len(sizes) > 1 and len(medians) == len(sizes):
            line += f"{medians[-1] / medians[0]:>7.2f}x"
        print(line)
    print(
        f"\npast tab, page {DEEP_PAGE}: where there are fewer pages, it renders no row, so its"
        f" ratio compares an\nempty page with a full one; the deepest full page compares the"
        " same work at every size.\n"
    )
    listed = _listed_rows(results, sizes)
    if listed:
        print(
            "Where a smaller clinic's page lists fewer bookings, the ratio includes rendering"
            " the extra rows;\na poll lists every booking changed in the seconds before it."
            " The bookings each answer lists,\nat each size:\n"
        )
        for backend, name, rows in listed:
            print(f"{backend:<11}{name:<{width + 2}}" + "".join(f"{r:>18}" for r in rows))
        print()
    for backend, size, migrate_s, seed_s in setup:
        print(
            f"{backend:<11}{size:>9,} patients: "
            f"migrations {migrate_s:.2f} s, seeding {seed_s:.1f} s"
        )


def _listed_rows(results: list[Measurement], sizes: list[int]) -> list[tuple[str, str, list[int]]]:
    """The measurements whose answers list a different number of bookings at some size, and
    the polls after a change (each lists the bookings changed in its overlap)."""
    by_key = {(m.backend, m.name, m.patients): m.rows for m in results}
    names = list(dict.fromkeys((m.backend, m.name) for m in results))
    listed = []
    for backend, name in names:
        rows = [by_key.get((backend, name, size), 0) for size in sizes]
        if len(set(rows)) > 1 or name.startswith("poll after a change"):
            listed.append((backend, name, rows))
    return listed


if __name__ == "__main__":
    main()
