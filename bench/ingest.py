"""Cal.com deliveries: a benchmark that prints figures, not a test.

Run it with ``make bench-ingest``, or::

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.ingest

On a scratch PostgreSQL database (``bench_<random>``, built by the real migrations and
dropped at the end) it times one new-patient delivery in process, through Flask, beside the
same rows written straight through psycopg in the same seconds (the machine's floor), and
lists the statements it sends. Then gunicorn (``--workers`` workers) serves the app and
a durable baseline (a bare endpoint that checks the signature and stores the body with one
INSERT and a commit), which wrk (``bench.wrk``) loads in turn, ``--rounds`` times
``--seconds`` seconds each; it prints the rate and latencies of each, their ratio, and
whether every 2xx delivery's consultation is in the database. Last, unless
``--patients 0``, it times the in-process delivery again on a database that already holds
``--patients`` patients (100,000 by default, seeded as ``bench.dashboard`` seeds them): a
delivery whose cost grows with the clinic shows there, against ``GROWTH_TARGET``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from random import Random

import psycopg
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.dashboard import StatementLog, seed
from bench.serving import (
    BASELINE_PATH,
    bench_app,
    booking_body,
    create_baseline_table,
    gunicorn,
    median_ms,
    scratch_database,
    server_url,
    serving_env,
    signed_request,
)
from bench.wrk import WrkRun, require_wrk, run_wrk
from webapp.cal.signature import SIGNATURE_HEADER, sign
from webapp.extensions import db
from webapp.models import Consultation

# A delivery on a database of ``--patients`` patients, as a multiple of one on an empty one.
GROWTH_TARGET = 1.3
SAVEPOINT_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def main(argv: list[str] | None = None) -> None:
    """Measure one delivery in process, then the app against the baseline under load."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=6, help="app/baseline alternations")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--samples", type=int, default=300, help="deliveries timed in process")
    parser.add_argument(
        "--patients",
        type=int,
        default=100_000,
        help="patients stored before the second in-process timing (0: skip it)",
    )
    args = parser.parse_args(argv)
    require_wrk()
    secret = secrets.token_hex(16)

    with scratch_database(server_url()) as url, tempfile.TemporaryDirectory() as tmp:
        create_baseline_table(url)
        statements, app_ms, direct_ms = measure_in_process(url, Path(tmp), secret, args.samples)
        with gunicorn(serving_env(url, secret, str(Path(tmp) / "spool")), args.workers,
                      "bench.serving:served_app()") as server:  # fmt: skip
            app_runs, baseline_runs = alternate(server.port, secret, args)
        missing, consultations = check_consultations(url, Path(tmp), app_runs)
    grown: tuple[list[float], list[float]] | None = None
    if args.patients:
        with scratch_database(server_url()) as url, tempfile.TemporaryDirectory() as tmp:
            timed = measure_in_process(url, Path(tmp), secret, args.samples, args.patients)
            grown = (timed[1], timed[2])

    print_report(
        statements, app_ms, direct_ms, app_runs, baseline_runs, missing, consultations, args
    )
    if grown is not None:
        print_growth(app_ms, direct_ms, *grown, args.patients)


def measure_in_process(
    url: str, instance: Path, secret: str, samples: int, patients: int = 0
) -> tuple[list[str], list[float], list[float]]:
    """Migrate the database (and store ``patients`` patients in it, as ``bench.dashboard``
    does, analysed), then time new-patient deliveries posted through a test client
    and, alternately in blocks of ``BLOCK``, the same rows written straight through psycopg
    (``direct_writes``), so that both see the machine as it is in the same seconds.

    Returns the statements of the first delivery, and the seconds of each delivery and of
    each direct write (the first ``WARM_UP`` of each left out: they fill caches)."""
    os.environ["APP_ENV"] = "testing"
    app = bench_app(url, instance, CAL_WEBHOOK_SECRET=secret, CAL_SPOOL_DIR=str(instance / "spool"))
    with app.app_context():
        upgrade()
        if patients:
            seed(patients, Random(patients), datetime.now(UTC))
        log = StatementLog(db.engine)
    client = app.test_client()
    statements: list[str] = []

    def deliver(number: int) -> float:
        body = booking_body(number, prefix="inproc")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}
        log.clear()
        started = time.perf_counter()
        response = client.post("/webhooks/cal", data=body, headers=headers)
        elapsed = time.perf_counter() - started
        answer = response.get_json()
        assert response.status_code == 200 and answer["patient_created"], answer
        if number == 0:
            statements.extend(" ".join(statement.split()) for statement, _ in log.statements)
        return elapsed

    app_seconds: list[float] = []
    direct_seconds: list[float] = []
    with direct_writes(url) as write:
        for first in range(0, samples + WARM_UP, BLOCK):
            numbers = range(first, min(first + BLOCK, samples + WARM_UP))
            app_seconds += [deliver(number) for number in numbers]
            direct_seconds += [write(number) for number in numbers]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return statements, app_seconds[WARM_UP:], direct_seconds[WARM_UP:]


WARM_UP = 20
BLOCK = 20
DIRECT_WRITES = (
    """INSERT INTO webhook_events (received_at, trigger_event, booking_uid, status, body,
           body_sha256)
       VALUES (now(), 'BOOKING_CREATED', %(uid)s, 'ignored', %(body)s, %(digest)s)
       RETURNING id""",
    """INSERT INTO users (email, phone_number, name, created_at)
       VALUES (%(email)s, %(phone)s, 'Direct Writes', now()) RETURNING id""",
    """INSERT INTO patient_profiles (user_id, country, created_at, updated_at)
       VALUES (%(user)s, 'DE', now(), now()) RETURNING id""",
    """INSERT INTO consultations (patient_profile_id, cal_booking_uid, status, start_time,
           end_time, created_at, updated_at)
       VALUES (%(profile)s, %(uid)s, 'scheduled', now() + interval '2 days',
           now() + interval '2 days 30 minutes', now(), now()) RETURNING id""",
    """UPDATE webhook_events SET status = 'processed', consultation_id = %(consultation)s,
           patient_profile_id = %(profile)s WHERE id = %(event)s""",
)


@contextmanager
def direct_writes(url: str) -> Iterator[Callable[[int], float]]:
    """A function that writes a new-patient delivery's rows straight through psycopg, one
    transaction, and returns its seconds: the machine's own floor for what the app does."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:

        def write(number: int) -> float:
            body = booking_body(number, prefix="direct")
            values: dict[str, object] = {
                "uid": f"direct-{number}",
                "body": body,
                "digest": hashlib.sha256(body).hexdigest(),
                "email": f"direct{number}@example.com",
                "phone": f"+4915{number:09d}",
            }
            started = time.perf_counter()
            with connection.transaction(), connection.cursor() as cursor:
                for name, statement in zip(
                    ("event", "user", "profile", "consultation", None), DIRECT_WRITES, strict=True
                ):
                    cursor.execute(statement, values)
                    if name is not None:
                        values[name] = cursor.fetchone()[0]
            return time.perf_counter() - started

        yield write


def alternate(
    port: int, secret: str, args: argparse.Namespace
) -> tuple[list[WrkRun], list[WrkRun]]:
    """Load the app and the baseline with wrk in turn, ``args.rounds`` times each: the app
    with a new patient's booking in every request (``APP_REQUESTS_PER_SECOND`` a second
    written, far more than it can take), the baseline with a few thousand it may repeat.

    A first round of ``WARM_UP_SECONDS`` each is not counted: the workers' first requests
    fill their caches (compiled SQL, statements the server prepares after a few uses)."""
    numbers = itertools.count(1)
    app_runs: list[WrkRun] = []
    baseline_runs: list[WrkRun] = []
    for round_number in range(args.rounds + 1):
        seconds = args.seconds if round_number else WARM_UP_SECONDS
        for label, path, runs, count, cycle in (
            ("app", "/webhooks/cal", app_runs, APP_REQUESTS_PER_SECOND * seconds, False),
            ("baseline", BASELINE_PATH + "/", baseline_runs, BASELINE_REQUESTS, True),
        ):
            requests = (signed_request(path, booking_body(n), secret) for n in numbers)
            result = run_wrk(port, requests, int(count), args.connections, seconds, cycle=cycle)
            if round_number:
                runs.append(result)
            name = f"round {round_number}" if round_number else "warm-up"
            print(f"  {name:<8} {label:<9}{result.summary()}", flush=True)
    return app_runs, baseline_runs


WARM_UP_SECONDS = 2
APP_REQUESTS_PER_SECOND = 1000
BASELINE_REQUESTS = 2000


def check_consultations(url: str, instance: Path, app_runs: list[WrkRun]) -> tuple[int, int]:
    """How many 2xx deliveries have no consultation in the database, and how many
    consultations the load made."""
    answered = {
        consultation
        for run in app_runs
        for status, consultation in zip(run.statuses, run.consultation_ids, strict=True)
        if 200 <= status < 300
    }
    app = bench_app(url, instance)
    with app.app_context():
        stored = set(
            db.session.scalars(
                select(Consultation.id).where(Consultation.cal_booking_uid.like("bench%"))
            )
        )
        db.engine.dispose()
    return len(answered - stored), len(stored)


def print_report(
    statements: list[str],
    app_ms: list[float],
    direct_ms: list[float],
    app_runs: list[WrkRun],
    baseline_runs: list[WrkRun],
    missing: int,
    consultations: int,
    args: argparse.Namespace,
) -> None:
    """The in-process figures and the figures under load."""
    control = [s for s in statements if s.upper().startswith(SAVEPOINT_CONTROL)]
    work = [s for s in statements if s not in control]
    print("\nA new-patient delivery, in process (PostgreSQL):")
    for number, statement in enumerate(statements, 1):
        print(f"  {number:2}. {statement[:110]}")
    print(
        f"  statements: {len(work)}, plus {len(control)} savepoint control; "
        f"{len(statements)} round trips"
    )
    print(f"  time in the app: {median_ms(app_ms):.2f} ms median over {len(app_ms)}")
    multiple = median_ms(app_ms) / median_ms(direct_ms)
    print(
        f"  the same rows straight through psycopg: {median_ms(direct_ms):.2f} ms median, "
        f"so the app takes {multiple:.1f} times that"
    )
    app_rate = sum(r.ok for r in app_runs) / sum(r.seconds for r in app_runs)
    baseline_rate = sum(r.ok for r in baseline_runs) / sum(r.seconds for r in baseline_runs)
    print(
        f"\nUnder load: wrk, {args.connections} connections, gunicorn -w {args.workers}, "
        f"{args.rounds} x {args.seconds:g} s each, alternating (p50 and p99: each phase's, "
        "the worst of them)"
    )
    for label, runs, rate in (
        ("app", app_runs, app_rate),
        ("baseline", baseline_runs, baseline_rate),
    ):
        print(
            f"  {label:<9} {rate:7.1f} deliveries/s  p50 {max(r.p50_ms for r in runs):6.1f} ms"
            f"  p99 {max(r.p99_ms for r in runs):6.1f} ms"
        )
    if any(run.repeats for run in app_runs):
        print("  VOID: the app was sent some deliveries twice; raise APP_REQUESTS_PER_SECOND")
    print(f"  ratio     {app_rate / baseline_rate:.3f} of the baseline")
    print(
        f"  every 2xx delivery has its consultation: {'yes' if missing == 0 else 'NO'} "
        f"({consultations} consultations, {missing} missing)"
    )


def print_growth(
    app_ms: list[float],
    direct_ms: list[float],
    grown_app_ms: list[float],
    grown_direct_ms: list[float],
    patients: int,
) -> None:
    """The in-process times on the database that held ``patients`` patients, beside the
    empty one's, each also as a multiple of the psycopg floor timed in the same seconds
    (which the machine's drift moves as much as the app)."""
    empty, grown = median_ms(app_ms), median_ms(grown_app_ms)
    empty_floor, grown_floor = median_ms(direct_ms), median_ms(grown_direct_ms)
    print(
        f"\nThe same delivery with {patients:,} patients already stored (in process, "
        f"PostgreSQL):\n  time in the app: {grown:.2f} ms median ({empty:.2f} ms on the "
        f"empty database), {grown / empty:.2f} times the empty database's (target <= "
        f"{GROWTH_TARGET}); {grown / grown_floor:.1f} times the psycopg floor of the same "
        f"seconds ({empty / empty_floor:.1f} times on the empty database)"
    )


if __name__ == "__main__":
    main()
