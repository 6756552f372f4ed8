"""How much memory a gunicorn worker holds after a day's work: a benchmark that prints
figures, not a test.

Run it with ``make bench-memory``, or::

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.memory

On a scratch PostgreSQL database (built by the real migrations, dropped at the end)
gunicorn (``--workers`` workers) serves the app. The benchmark posts ``--deliveries``
new-patient bookings over 32 connections, then makes ``--dashboard`` dashboard requests as
a logged-in consultant (first pages of each tab, searches, deep pages, polls), and prints
each worker's resident memory (RSS) after start, after the deliveries and at the end.
"""

from __future__ import annotations

import argparse
import itertools
import re
import secrets
import tempfile
from pathlib import Path

import httpx

from bench.live import CONSULTANT_EMAIL, CONSULTANT_PASSWORD, prepare
from bench.serving import (
    booking_body,
    gunicorn,
    run_load,
    scratch_database,
    server_url,
    serving_env,
    signed_request,
)

TARGET_MB = 150.0
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
POLLER = re.compile(r'<div id="poller"[^>]*?\bhx-get="([^"]*)"')
DASHBOARD_URLS = (
    "/",
    "/?tab=today",
    "/?tab=past",
    "/?tab=cancelled",
    "/?tab=review",
    "/?q=example",
    "/?q=4477",
    "/?tab=past&page=20",
)


def main(argv: list[str] | None = None) -> None:
    """Serve the app, send deliveries then dashboard requests, print each worker's RSS."""
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--dashboard", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args(argv)
    secret = secrets.token_hex(16)

    with scratch_database(server_url()) as url, tempfile.TemporaryDirectory() as tmp:
        prepare(url, Path(tmp))
        env = serving_env(url, secret, str(Path(tmp) / "spool"))
        with gunicorn(env, args.workers, "wsgi:app") as server:
            started = server.worker_rss_mb()
            requests = (
                signed_request("/webhooks/cal", booking_body(n, prefix="mem"), secret)
                for n in range(args.deliveries)
            )
            sent = run_load(server.port, requests, 32, None)
            after_deliveries = server.worker_rss_mb()
            pages = browse(f"http://127.0.0.1:{server.port}", args.dashboard)
            at_end = server.worker_rss_mb()

    print(f"\n{sent.ok} of {args.deliveries} deliveries answered 2xx; {pages} dashboard requests")
    for label, sizes in (
        ("after start", started),
        ("after the deliveries", after_deliveries),
        ("at the end", at_end),
    ):
        print(f"  worker RSS {label:<22}" + "  ".join(f"{size:6.1f} MB" for size in sizes))
    print(f"  largest worker: {max(at_end):.1f} MB (target < {TARGET_MB:.0f} MB)")


def log_in(client: httpx.Client) -> None:
    """Log the benchmark's consultant in through the login form, CSRF token included."""
    token = CSRF_FIELD.search(client.get("/login").text)
    assert token, "the login page carries no CSRF token"
    answer = client.post(
        "/login",
        data={"email": CONSULTANT_EMAIL, "password": CONSULTANT_PASSWORD, "csrf_token": token[1]},
    )
    assert answer.status_code == 302, answer.status_code


def browse(base: str, requests: int) -> int:
    """Log in, then make ``requests`` dashboard requests: pages and polls in turn."""
    with httpx.Client(base_url=base, timeout=30) as client:
        log_in(client)
        urls = itertools.cycle(DASHBOARD_URLS)
        poll = None
        for number in range(requests):
            if poll and number % 2:
                response = client.get(poll, headers={"HX-Request": "true"})
            else:
                response = client.get(next(urls))
                match = POLLER.search(response.text)
                poll = match[1].replace("&amp;", "&") if match else None
            assert response.status_code in (200, 204), response.status_code
    return requests


if __name__ == "__main__":
    main()
