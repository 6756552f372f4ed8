"""How long the dashboard's CSV export takes, and how much memory it holds, with many
patients: a benchmark that prints figures, not a test.

Run it with ``make bench`` (after ``bench.dashboard``), or::

    .venv/bin/python -m bench.export --patients 10000 100000

Like ``bench.dashboard`` (whose seeding, login and scratch databases it reuses), it measures
SQLite (a temporary file) and, when ``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL`` names a
server, PostgreSQL, each seeded once per size with ``flask dev seed``'s patients (one
consultation each). A consultant logged in through the real form downloads
``GET /export.csv`` through a Flask test client for: the Past tab (most of the bookings,
every page), the Upcoming tab, and a search that finds a fraction of the patients. The body
is read chunk by chunk and dropped, as a server sends it on, so what is measured is what
the app holds, not the file.

``time``: the median of ``--repeat`` downloads (after one warm-up), the whole request
through Flask, in ms, and the rows per second. ``peak``: one more download under
``tracemalloc``, its peak of Python allocations above what was held before (tracemalloc
slows the run, so it is not timed); and ``rss``: the growth of the process's peak resident
memory (``VmHWM``, reset through ``/proc/self/clear_refs`` before the download; Linux only).
A streaming export holds about the same at every size; a buffered one grows with the rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from flask.testing import FlaskClient
from flask_migrate import upgrade

from bench.dashboard import bench_backends, create_consultant_login, log_in, seed
from bench.serving import bench_app
from webapp.extensions import db

DEFAULT_PATIENTS = (10_000, 100_000)
DEFAULT_REPEAT = 3
EXPORTS = (
    ("past tab (every page)", "/export.csv?tab=past"),
    ("upcoming tab, semicolons", "/export.csv?tab=upcoming&sep=semicolon"),
    ("search '.com' (every patient found)", "/export.csv?q=.com"),
)


@dataclass
class Measurement:
    """One export at one size: its rows, bytes, times and memory."""

    backend: str
    name: str
    patients: int
    rows: int = 0
    size: int = 0
    seconds: list[float] | None = None
    peak_bytes: int = 0
    rss_bytes: int | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds or [0.0]) * 1000


def main(argv: list[str] | None = None) -> None:
    """Seed each backend at each size, time and weigh the exports, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--patients", type=int, nargs="+", default=list(DEFAULT_PATIENTS))
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="timed runs each")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    args = parser.parse_args(argv)
    if min(args.patients) < 100 or args.repeat < 1:
        parser.error("need at least 100 patients and 1 repeat")
    os.environ["APP_ENV"] = "testing"

    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for backend, database in bench_backends(Path(tmp)):
            for size in args.patients:
                with database(size) as url:
                    print(f"[{backend}] seeding {size:,} patients ...", flush=True)
                    results.extend(bench_backend(backend, url, Path(tmp), args, size))
    print_report(results, args.repeat)


def bench_backend(
    backend: str, url: str, instance: Path, args: argparse.Namespace, patients: int
) -> list[Measurement]:
    """Migrate, seed and measure one database."""
    app = bench_app(url, instance)
    try:
        with app.app_context():
            upgrade()
            seed(patients, Random(args.seed), datetime.now(UTC))
            create_consultant_login()
        client = app.test_client()
        log_in(client)
        measured = []
        for name, path in EXPORTS:
            measurement = Measurement(backend, name, patients)
            download(client, path)  # warm-up
            measurement.seconds = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                measurement.rows, measurement.size = download(client, path)
                measurement.seconds.append(time.perf_counter() - started)
            measurement.peak_bytes, measurement.rss_bytes = weigh(client, path)
            rss = measurement.rss_bytes
            print(
                f"  {name}: {measurement.rows:,} rows, {measurement.median_ms:.0f} ms median, "
                f"peak {measurement.peak_bytes / 2**20:.1f} MiB"
                + (f", RSS +{rss / 2**20:.1f} MiB" if rss is not None else ""),
                flush=True,
            )
            measured.append(measurement)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return measured


def download(client: FlaskClient, path: str) -> tuple[int, int]:
    """Download ``path`` as a browser would, chunk by chunk, keeping none of it; returns
    the rows (lines after the header) and the bytes."""
    response = client.get(path, buffered=False)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    lines = size = 0
    try:
        for chunk in response.response:
            data = chunk if isinstance(chunk, bytes) else chunk.encode()
            size += len(data)
            lines += data.count(b"\r\n")
    finally:
        response.close()
    return lines - 1, size


def weigh(client: FlaskClient, path: str) -> tuple[int, int | None]:
    """One download of ``path`` under tracemalloc: its peak of Python allocations above
    what was held before, and the growth of the peak resident memory (None off Linux)."""
    rss_before = _reset_peak_rss()
    tracemalloc.start()
    held, _ = tracemalloc.get_traced_memory()
    download(client, path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = _peak_rss()
    grown = rss_peak - rss_before if rss_before is not None and rss_peak is not None else None
    return peak - held, grown


def _reset_peak_rss() -> int | None:
    """Reset the process's peak RSS to its current RSS and return that (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_bytes("VmRSS")
    except OSError:
        return None


def _peak_rss() -> int | None:
    return _status_bytes("VmHWM")


def _status_bytes(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def print_report(results: list[Measurement], repeat: int) -> None:
    """The table: each export at each size, its time, rate and memory."""
    print(f"\n{repeat} timed downloads each (median); peak memory from one more run\n")
    header = (
        f"{'backend':<11}{'export':<38}{'patients':>10}{'rows':>9}{'MiB':>7}"
        f"{'ms':>9}{'rows/s':>9}{'peak MiB':>10}{'RSS +MiB':>10}"
    )
    print(header)
    print("-" * len(header))
    for m in results:
        rate = m.rows / (m.median_ms / 1000) if m.median_ms else 0
        rss = f"{m.rss_bytes / 2**20:.1f}" if m.rss_bytes is not None else "-"
        print(
            f"{m.backend:<11}{m.name:<38}{m.patients:>10,}{m.rows:>9,}{m.size / 2**20:>7.1f}"
            f"{m.median_ms:>9.0f}{rate:>9,.0f}{m.peak_bytes / 2**20:>10.1f}{rss:>10}"
        )


if __name__ == "__main__":
    main()
