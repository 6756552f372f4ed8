"""Load a server the way the delivery targets were measured: wrk, with every request new.

``run_wrk`` writes the requests to a file that ``bench/wrk_requests.lua`` hands out, each
once, over ``connections`` connections from two wrk threads; wrk's own cost per request is
a small fraction of the Python load generator's (``bench.serving.run_load``), which would
otherwise take CPU from the server on a two-core machine, more so the faster the server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from bench.serving import Answers

SCRIPT = Path(__file__).with_name("wrk_requests.lua")
THREADS = 2


@dataclass(kw_only=True)
class WrkRun(Answers):
    """What one wrk phase got back: besides the statuses, the answers' consultation ids,
    wrk's latency percentiles, and how many requests it had to send again for want of new
    ones (which makes the phase void)."""

    requests: int
    p50_ms: float
    p99_ms: float
    # Beside each status: the answer's consultation id, ``None`` when it names none.
    consultation_ids: list[int | None] = field(default_factory=list)
    repeats: int = 0

    def summary(self) -> str:
        return self.summary_line(
            self.p50_ms,
            self.p99_ms,
            f"VOID: {self.repeats} requests sent twice" if self.repeats else "",
        )


def require_wrk() -> str:
    """wrk's path; exits saying how to install it when there is none."""
    path = shutil.which("wrk")
    if path is None:
        sys.exit("wrk is not installed: `make wrk` (or apt-get install wrk) installs it")
    return path


def run_wrk(
    port: int,
    requests: Iterator[bytes],
    count: int,
    connections: int,
    seconds: float,
    *,
    cycle: bool = False,
) -> WrkRun:
    """Send ``count`` of ``requests`` (raw HTTP, no NUL byte in them) to ``port`` with wrk
    for ``seconds``, each once (``cycle``: over and over, for a server that does not mind
    repeats), and collect what came back."""
    wrk = require_wrk()
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        requests_file = Path(tmp) / "requests"
        with requests_file.open("wb") as out:
            for number, raw in enumerate(islice(requests, count)):
                out.write(b"\0" if number else b"")
                out.write(raw)
        answers = Path(tmp) / "answers"
        output = subprocess.run(  # noqa: S603 - wrk and our own arguments
            [wrk, f"-t{THREADS}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
             "-s", str(SCRIPT), f"http://127.0.0.1:{port}",
             "--", str(requests_file), str(THREADS), str(answers), "cycle" if cycle else "once"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        summary = re.search(r"^wrk-summary (\d+) (\d+) ([\d.]+) ([\d.]+)$", output, re.MULTILINE)
        if summary is None:
            raise RuntimeError(f"wrk printed no summary:\n{output}")
        requests_sent, duration_us, p50_us, p99_us = summary.groups()
        run = WrkRun(
            seconds=int(duration_us) / 1e6,
            requests=int(requests_sent),
            p50_ms=float(p50_us) / 1000,
            p99_ms=float(p99_us) / 1000,
        )
        for thread in range(THREADS):
            path = answers.with_name(f"answers.{thread}")
            for line in path.read_text().splitlines() if path.exists() else []:
                if line == "repeat":
                    run.repeats += 1
                    continue
                status, consultation = line.split()
                run.statuses.append(int(status))
                run.consultation_ids.append(None if consultation == "-" else int(consultation))
    return run
