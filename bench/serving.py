"""What the serving benchmarks share: a scratch database, gunicorn, signed bookings and a
load generator holding a fixed number of connections open.

The load generator speaks just enough HTTP/1.1 (one request per connection, as gunicorn's
sync workers close each one) to keep its own cost per request small next to the server's.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from flask import Flask, request
from sqlalchemy import Engine, create_engine, text
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from webapp.cal.signature import SIGNATURE_HEADER, is_authentic, sign
from webapp.config import database_url, engine_options

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "booking_created.json"
BASELINE_PATH = "/baseline"
BASELINE_TABLE = "bench_baseline_deliveries"
SERVER_URL_VARIABLES = ("BENCH_DATABASE_URL", "TEST_DATABASE_URL")


def server_url() -> str:
    """The PostgreSQL server the benchmark makes its scratch database on; exits without one."""
    url = next((os.environ[name] for name in SERVER_URL_VARIABLES if os.environ.get(name)), None)
    if not url:
        sys.exit("set BENCH_DATABASE_URL or TEST_DATABASE_URL to a PostgreSQL server")
    return url


def booking_body(number: int, prefix: str = "bench") -> bytes:
    """A BOOKING_CREATED of a new patient of its own (uid, booking id, email and phone)."""
    return json.dumps(booking_document(number, prefix)).encode()


def booking_document(number: int, prefix: str = "bench") -> dict:
    """The document ``booking_body`` sends."""
    document = copy.deepcopy(_fixture())
    payload = document["payload"]
    email = f"{prefix}-{number}@example.com"
    phone = f"+4477{number % 10**8:08d}"
    payload["uid"] = f"{prefix}{number:08d}"
    payload["bookingId"] = 5_000_000 + number
    payload["responses"]["email"]["value"] = email
    payload["attendees"][0]["email"] = email
    payload["responses"]["attendeePhoneNumber"]["value"] = phone
    payload["attendees"][0]["phoneNumber"] = phone
    return document


_FIXTURE: dict = {}


def _fixture() -> dict:
    if not _FIXTURE:
        _FIXTURE.update(json.loads(FIXTURE.read_text()))
    return _FIXTURE


def signed_request(path: str, body: bytes, secret: str) -> bytes:
    """The raw HTTP request that posts ``body`` to ``path`` signed with ``secret``."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{SIGNATURE_HEADER}: {sign(body, secret)}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Answers:
    """What one load phase got back: its length and each answer's status."""

    seconds: float
    statuses: list[int] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(200 <= status < 300 for status in self.statuses)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def summary_line(self, p50_ms: float, p99_ms: float, *notes: str) -> str:
        """The phase in a line: 2xx answers a second, latencies, other statuses, ``notes``."""
        others = {s: self.statuses.count(s) for s in sorted(set(self.statuses)) if s >= 300}
        return (
            f"{self.rate:7.1f}/s  p50 {p50_ms:6.1f} ms  p99 {p99_ms:6.1f} ms  2xx {self.ok}"
            + (f"  other {others}" if others else "")
            + "".join(f"  {note}" for note in notes if note)
        )


@dataclass
class LoadResult(Answers):
    """What one phase of ``run_load`` got back: besides the statuses, each answer's latency
    and body."""

    latencies: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    errors: int = 0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000

    def summary(self) -> str:
        return self.summary_line(
            self.percentile_ms(0.5),
            self.percentile_ms(0.99),
            f"errors {self.errors}" if self.errors else "",
        )


def run_load(
    port: int, requests: Iterator[bytes], connections: int, seconds: float | None
) -> LoadResult:
    """Send ``requests`` over ``connections`` concurrent connections for ``seconds`` (or
    until they run out) and collect the answers."""
    return asyncio.run(_load(port, requests, connections, seconds))


async def _load(
    port: int, requests: Iterator[bytes], connections: int, seconds: float | None
) -> LoadResult:
    started = time.perf_counter()
    deadline = started + seconds if seconds else math.inf
    result = LoadResult(0.0)

    async def connection() -> None:
        while time.perf_counter() < deadline:
            raw = next(requests, None)
            if raw is None:
                return
            sent = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(raw)
                answer = await reader.read(-1)
                writer.close()
            except OSError:
                result.errors += 1
                continue
            result.latencies.append(time.perf_counter() - sent)
            head, _, body = answer.partition(b"\r\n\r\n")
            result.statuses.append(int(head.split(b" ", 2)[1]) if head else 0)
            result.bodies.append(body)

    await asyncio.gather(*(connection() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """A fresh database on ``server`` (``bench_<random>``), dropped afterwards."""
    from bench.dashboard import postgres_database

    with postgres_database(server) as url:
        yield url


@contextmanager
def gunicorn(env: dict[str, str], workers: int, target: str) -> Iterator[Server]:
    """``target`` served by gunicorn (as the repository's ``gunicorn.conf.py`` says, with
    ``workers`` workers) on a free port until the block ends."""
    port = _free_port()
    with tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "gunicorn", "--workers", str(workers),
             "--bind", f"127.0.0.1:{port}", "--backlog", "2048", target],
            env=os.environ | env, cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            _wait_until_served(port, process, Path(log.name))
            yield Server(port, process)
        finally:
            process.terminate()
            process.wait(timeout=30)


@dataclass(frozen=True)
class Server:
    """A running gunicorn: its port and master process."""

    port: int
    process: subprocess.Popen

    def worker_rss_mb(self) -> list[float]:
        """The resident memory of each worker, in MB."""
        return self._worker_status_mb("VmRSS")

    def worker_peak_mb(self) -> list[float]:
        """The peak resident memory of each worker since it started (VmHWM), in MB."""
        return self._worker_status_mb("VmHWM")

    def reset_worker_peaks(self) -> None:
        """Start each worker's peak resident memory (VmHWM) again from its memory now, as
        Linux allows by writing 5 to ``/proc/<pid>/clear_refs``."""
        for pid in self._worker_pids():
            with suppress(FileNotFoundError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def _worker_pids(self) -> list[str]:
        return (
            Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        )

    def _worker_status_mb(self, field: str) -> list[float]:
        sizes = []
        for pid in self._worker_pids():
            with suppress(FileNotFoundError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(f"{field}:"):
                        sizes.append(int(line.split()[1]) / 1024)
        return sizes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_served(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped:\n{log.read_text()}")
        with suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")


def bench_app(url: str, instance: Path, **settings: object) -> Flask:
    """The app on the database at ``url`` (SQLite files under ``instance``), its rate limits
    kept in memory, with ``settings`` on top."""
    from webapp import create_app

    uri = database_url(url, instance)
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": uri,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(uri),
            "RATELIMIT_STORAGE_URI": "memory://",
            **settings,
        }
    )


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


# --- What gunicorn serves: the app, and beside it the durable baseline -------------------


def create_baseline_table(url: str) -> None:
    """The table the baseline endpoint inserts into."""
    engine = create_engine(database_url(url, Path()))
    with engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE TABLE {BASELINE_TABLE} (id bigserial PRIMARY KEY, "
                "received_at timestamptz NOT NULL, body bytea NOT NULL)"
            )
        )
    engine.dispose()


def baseline_app(engine: Engine, secret: str) -> Flask:
    """The durable baseline: a bare Flask endpoint that checks the signature and stores
    the body with one INSERT and a commit."""
    bare = Flask("baseline")

    @bare.post("/")
    def store() -> tuple[dict[str, str], int]:
        body = request.get_data()
        if not is_authentic(body, request.headers.get(SIGNATURE_HEADER), secret):
            return {"error": "bad signature"}, 401
        with engine.begin() as connection:
            connection.execute(
                text(f"INSERT INTO {BASELINE_TABLE} (received_at, body) VALUES (now(), :body)"),  # noqa: S608 - our table
                {"body": body},
            )
        return {"status": "stored"}, 200

    return bare


def served_app() -> DispatcherMiddleware:
    """gunicorn's target (``bench.serving:served_app()``): the real app, with the baseline
    at ``/baseline`` on the same workers and the same database."""
    from webapp import create_app

    app = create_app()
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    engine = create_engine(uri, **engine_options(uri))
    baseline = baseline_app(engine, app.config["CAL_WEBHOOK_SECRET"])
    return DispatcherMiddleware(app, {BASELINE_PATH: baseline})


def serving_env(url: str, secret: str, spool: str) -> dict[str, str]:
    """The environment gunicorn's workers get: the app as deployed, on the scratch DB."""
    return {
        "APP_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "CAL_WEBHOOK_SECRET": secret,
        "DATABASE_URL": url,
        "CAL_SPOOL_DIR": spool,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
