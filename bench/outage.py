"""Bookings lost to a database outage: a benchmark that prints figures, not a test.

Run it with::

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.outage

It creates a PostgreSQL database for the run (``bench_<random>``, dropped at the end), puts a
TCP proxy that can be cut in front of it, serves the app with gunicorn (several workers, as in
production) and posts ``--rate`` signed bookings a second for ``--seconds`` seconds. After
``--cut-at`` seconds it cuts the proxy (open connections are aborted and new ones refused) for
``--cut-for`` seconds, as if the database went away. It prints the webhook's answers, how long
after the database returned the spool was empty, and how many bookings were stored: with the
spool, none is lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.serving import scratch_database, server_url
from webapp.cal.signature import SIGNATURE_HEADER, sign
from webapp.config import database_url

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "booking_created.json"
SECRET = secrets.token_hex(16)


class CuttableProxy:
    """Forwards a local port to the database; ``cut()`` aborts every connection and stops
    listening, ``restore()`` listens again. Runs its own event loop on a thread."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with suppress(OSError):
            writer.close()


def booking(number: int) -> bytes:
    """A BOOKING_CREATED of its own patient and uid."""
    document = copy.deepcopy(json.loads(FIXTURE.read_text()))
    payload = document["payload"]
    email = f"outage-{number}@example.com"
    phone = f"+4477009{number:05d}"
    payload["uid"] = f"outage{number:06d}"
    payload["responses"]["email"]["value"] = email
    payload["attendees"][0]["email"] = email
    payload["responses"]["attendeePhoneNumber"]["value"] = phone
    payload["attendees"][0]["phoneNumber"] = phone
    return json.dumps(document).encode()


def post(url: str, body: bytes, answers: dict[int, object]) -> None:
    headers = {SIGNATURE_HEADER: sign(body, SECRET), "Content-Type": "application/json"}
    try:
        answers[len(answers)] = httpx.post(
            url, content=body, headers=headers, timeout=60
        ).status_code
    except httpx.HTTPError as exc:
        answers[len(answers)] = type(exc).__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20, help="bookings a second")
    parser.add_argument("--seconds", type=float, default=16.0)
    parser.add_argument("--cut-at", type=float, default=5.0)
    parser.add_argument("--cut-for", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    with scratch_database(server_url()) as url, tempfile.TemporaryDirectory() as spool_dir:
        target = make_url(url)
        proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432)
        proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        env = os.environ | {
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_hex(24),
            "CAL_WEBHOOK_SECRET": SECRET,
            "DATABASE_URL": proxied,
            "CAL_SPOOL_DIR": spool_dir,
            # Production refuses per-process rate-limit counters.
            "RATELIMIT_STORAGE_URI": os.environ.get(
                "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0"
            ),
        }
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        port = _free_port()
        log = Path(spool_dir).with_suffix(".log").open("w")
        gunicorn = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--threads", "4",
             "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            env=env, cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            base = _wait_until_served(f"http://127.0.0.1:{port}")
            answers, emptied_after = _send(base + "/webhooks/cal", proxy, args, Path(spool_dir))
            stored = _count(url)
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
            log.close()
            Path(log.name).unlink()
    sent = len(answers)
    print(f"sent {sent} bookings at {args.rate}/s; database away for {args.cut_for:g} s")
    print(f"answers: {dict(Counter(answers.values()))}")
    print(f"spool empty {emptied_after:.1f} s after the database returned")
    print(f"stored: {stored['consultations']} consultations, events {stored['events']}")
    print(f"lost: {sent - stored['consultations']}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_served(base: str, limit: float = 30.0) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return base
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _send(
    url: str, proxy: CuttableProxy, args: argparse.Namespace, spool_dir: Path
) -> tuple[dict[int, object], float]:
    """Post the bookings, cutting the database meanwhile; return the answers and how long
    after the database returned the spool was first seen empty."""
    answers: dict[int, object] = {}
    threads = []
    emptied: list[float] = []
    start = time.monotonic()
    cut = restored = False
    for number in range(int(args.rate * args.seconds)):
        while time.monotonic() < start + number / args.rate:
            time.sleep(0.001)
        elapsed = time.monotonic() - start
        if not cut and elapsed >= args.cut_at:
            proxy.cut()
            cut = True
        if cut and not restored and elapsed >= args.cut_at + args.cut_for:
            proxy.restore()
            restored = True
            watcher = threading.Thread(target=_watch_spool, args=(spool_dir, emptied))
            watcher.start()
            threads.append(watcher)
        thread = threading.Thread(target=post, args=(url, booking(number), answers))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return answers, emptied[0] if emptied else float("nan")


def _watch_spool(spool_dir: Path, emptied: list[float], limit: float = 60.0) -> None:
    returned = time.monotonic()
    while any(spool_dir.glob("*.delivery")) and time.monotonic() - returned < limit:
        time.sleep(0.05)
    emptied.append(time.monotonic() - returned)


def _count(url: str) -> dict[str, Any]:
    engine = create_engine(database_url(url, Path()))
    with engine.connect() as connection:
        consultations = connection.execute(text("SELECT count(*) FROM consultations")).scalar()
        events = dict(
            connection.execute(
                text("SELECT status, count(*) FROM webhook_events GROUP BY status")
            ).all()
        )
    engine.dispose()
    return {"consultations": consultations, "events": events}


if __name__ == "__main__":
    main()
