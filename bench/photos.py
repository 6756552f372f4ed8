"""What a photo costs, and whether the clinic stays responsive while photos arrive: a
benchmark that prints figures, not a test.

Run it with ``make bench-photos``, or::

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python -m bench.photos

It makes its photos first: a 12 MP and a 48 MP JPEG (smooth colour with grain, as a phone
saves them), a 24 MP HEIC in 512-pixel tiles (as an iPhone saves it), the costliest JPEG
and PNG still taken (a 24 MP progressive JPEG, a 25 MP PNG), and what must be refused: a
48 MP HEIC and an 8,900 x 8,900 PNG of one colour. Then, on a scratch
PostgreSQL database (built by the real migrations, dropped at the end), gunicorn serves
the app with the repository's ``gunicorn.conf.py``:

1. Each photo alone: ``prepare_photo``'s time in this process (median of three); then a
   fresh one-worker gunicorn, a patient at the photo step who first sends a small JPEG, PNG
   and HEIC (so that every decoder is loaded), and the photo step with the photo: the
   answer's time and how far the worker's peak resident memory (``VmHWM`` in
   ``/proc/<pid>/status``, started again from its resident memory just before; Pillow's
   buffers are invisible to ``tracemalloc``) rose above what it held before the photo.
2. With ``--workers`` workers, a consultant's dashboard polled every 250 ms and a new
   booking delivered every second, signed as Cal.com signs it, while (a) three patients each
   send five 12 MP photos in one request at once, in rounds for at least 10 s (40 polls),
   and (b) three patients each send a 2 MB photo at 100 KB/s. Printed: the idle poll's
   (204) p95 and worst, every poll's p95, and each delivery's p95 and worst.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import secrets
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pillow_heif
from PIL import Image, ImageDraw

from bench.live import prepare, upcoming_booking
from bench.memory import CSRF_FIELD, POLLER, log_in
from bench.serving import gunicorn, scratch_database, server_url, serving_env
from webapp.cal.signature import SIGNATURE_HEADER, sign
from webapp.questionnaire.photos import PhotoRefusedError, prepare_photo
from webapp.questionnaire.questions import MEDICAL_QUESTIONS

POLL_EVERY = 0.25
DELIVER_EVERY = 1.0
MIN_POLLS = 20
# The fast uploads go on in rounds for at least this long (40 polls, 10 deliveries).
MIN_UPLOAD_SECONDS = 10.0
SLOW_BYTES_PER_SECOND = 100_000
TARGETS = {"poll_p95_ms": 300, "delivery_ms": 1000}
VIEWS = ("front", "top", "crown", "left", "right")
# The answers of the steps before the photos, as a patient's browser posts them.
STEP_ANSWERS = {
    "about": {"country": "Germany", "city": "Berlin", "age_range": "36-45", "gender": "male"},
    "medical": {name: "none" for name, *_ in MEDICAL_QUESTIONS},
    "hair": {
        "hair_loss_started": "2_5",
        "hair_loss_onset": "gradual",
        "hair_loss_areas": ["crown", "top"],
        "family_history": ["father"],
        "previous_treatments": ["minoxidil"],
        "treatment_results": "Slowed it down for a year",
        "goals": "A denser crown",
    },
}


def main(argv: list[str] | None = None) -> None:
    """Make the photos, time them in this process, then through gunicorn alone and under
    the two upload scenarios; print every figure."""
    parser = argparse.ArgumentParser(prog="python -m bench.photos", description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (scenarios)")
    args = parser.parse_args(argv)
    secret = secrets.token_hex(16)

    print("making the photos...", flush=True)
    made = make_photos()
    for name, (data, _kind) in made.items():
        print(f"  {name:<24} {len(data) / 1e6:5.1f} MB")
    print("\nprepare_photo in this process (median of 3):")
    for name, (data, _kind) in made.items():
        seconds, outcome = time_prepare(data)
        print(f"  {name:<24} {seconds * 1000:7.0f} ms  {outcome}")

    with scratch_database(server_url()) as url, tempfile.TemporaryDirectory() as tmp:
        prepare(url, Path(tmp))
        env = serving_env(url, secret, str(Path(tmp) / "spool"))
        numbers = iter(range(10**6))
        print("\none photo step in a fresh one-worker gunicorn:")
        single = {name: [made[name]] for name in made if name != "2 MB phone JPEG"}
        single["five 12 MP JPEGs"] = [made["12 MP JPEG"]] * 5
        for name, files in single.items():
            with gunicorn(env, 1, "wsgi:app") as server:
                base = f"http://127.0.0.1:{server.port}"
                patient = Patient.at_the_photo_step(base, secret, next(numbers))
                patient.send(warm_up_photos())
                server.reset_worker_peaks()
                before = server.worker_peak_mb()[0]
                started = time.perf_counter()
                status = patient.send(files)
                seconds = time.perf_counter() - started
                grown = server.worker_peak_mb()[0] - before
            taken = {302: "taken", 400: "refused"}.get(status, f"answered {status}")
            print(f"  {name:<24} {seconds * 1000:7.0f} ms  peak +{grown:6.1f} MB  {taken}")

        with gunicorn(env, args.workers, "wsgi:app") as server:
            base = f"http://127.0.0.1:{server.port}"
            scenarios: dict[str, Callable[[list[Patient]], Any]] = {
                "3 patients x five 12 MP photos at once": lambda patients: send_rounds(
                    patients, [made["12 MP JPEG"]] * 5
                ),
                "3 patients x a 2 MB photo at 100 KB/s": lambda patients: send_slowly_at_once(
                    server.port, patients, made["2 MB phone JPEG"]
                ),
            }
            for title, upload in scenarios.items():
                patients = [
                    Patient.at_the_photo_step(base, secret, next(numbers)) for _ in range(3)
                ]
                figures = while_uploading(base, secret, numbers, lambda p=patients, u=upload: u(p))
                print(f"\n{title}, {args.workers} workers:")
                print(figures.report())


def make_photos() -> dict[str, tuple[bytes, str]]:
    """Every photo the benchmark sends, by name: its bytes and content type."""
    return {
        "12 MP JPEG": (encoded(phone_photo((4000, 3000)), "JPEG", quality=88), "image/jpeg"),
        "48 MP JPEG": (encoded(phone_photo((8000, 6000)), "JPEG", quality=85), "image/jpeg"),
        "24 MP progressive JPEG": (
            encoded(phone_photo((5657, 4243)), "JPEG", quality=85, progressive=True),
            "image/jpeg",
        ),
        "25 MP PNG": (encoded(drawing((5000, 5000)), "PNG"), "image/png"),
        "24 MP HEIC": (heic(phone_photo((5712, 4284))), "image/heic"),
        "48 MP HEIC": (heic(Image.new("RGB", (8064, 6048), "peru")), "image/heic"),
        "8,900 x 8,900 PNG": (encoded(Image.new("L", (8900, 8900), 90), "PNG"), "image/png"),
        "2 MB phone JPEG": (encoded(phone_photo((3264, 2448)), "JPEG", quality=88), "image/jpeg"),
    }


def phone_photo(size: tuple[int, int]) -> Image.Image:
    """Smooth areas of colour with a fine grain: JPEG and HEIC compress it as they do a
    phone's photo (some 2.5 MB for 12 MP, 10 MB for 48 MP as a JPEG)."""
    width, height = size
    channels = [
        Image.effect_noise((width // 64, height // 64), 90).resize(size, Image.Resampling.BICUBIC)
        for _ in range(3)
    ]
    grain = Image.effect_noise(size, 30).convert("RGB")
    return Image.blend(Image.merge("RGB", channels), grain, 0.2)


def drawing(size: tuple[int, int]) -> Image.Image:
    """A few shapes of colour: as large as a PNG is taken, yet small to send."""
    image = Image.new("RGB", size, "peru")
    ImageDraw.Draw(image).ellipse((size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), "navy")
    return image


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def heic(image: Image.Image) -> bytes:
    """``image`` as an iPhone saves it: HEVC in 512-pixel tiles of a grid."""
    pillow_heif.options.GRID_TILE_SIZE = 512
    try:
        out = io.BytesIO()
        pillow_heif.from_pillow(image).save(out, quality=70, enc_params={"preset": "ultrafast"})
    finally:
        pillow_heif.options.GRID_TILE_SIZE = 0
    return out.getvalue()


def warm_up_photos() -> list[tuple[bytes, str]]:
    """A small JPEG, PNG and HEIC: every decoder loaded before the peak is read."""
    small = Image.new("RGB", (640, 480), "peru")
    return [
        (encoded(small, "JPEG"), "image/jpeg"),
        (encoded(small, "PNG"), "image/png"),
        (heic(small), "image/heic"),
    ]


def time_prepare(data: bytes) -> tuple[float, str]:
    """``prepare_photo``'s median time over three runs, and what became of the photo."""
    times = []
    outcome = ""
    for _ in range(3):
        started = time.perf_counter()
        try:
            prepared = prepare_photo(data)
            outcome = f"taken, stored {prepared.width} x {prepared.height}"
        except PhotoRefusedError:
            outcome = "refused: too many pixels"
        times.append(time.perf_counter() - started)
    return statistics.median(times), outcome


@dataclass
class Patient:
    """A patient's browser at the photo step of their booking's questionnaire."""

    client: httpx.Client
    uid: str
    csrf: str

    @classmethod
    def at_the_photo_step(cls, base: str, secret: str, number: int) -> Patient:
        """Deliver the patient's booking, then answer every step before the photos."""
        uid = deliver(base, secret, number)
        client = httpx.Client(base_url=base, timeout=120)
        token = CSRF_FIELD.search(client.get(f"/questionnaire/{uid}").text)
        assert token, "the questionnaire carries no CSRF token"
        for step, answers in STEP_ANSWERS.items():
            answer = client.post(
                f"/questionnaire/{uid}?step={step}", data=answers | {"csrf_token": token[1]}
            )
            assert answer.status_code == 302, (step, answer.status_code)
        return cls(client, uid, token[1])

    def photo_step(self, files: list[tuple[bytes, str]]) -> httpx.Request:
        """The photo step's POST carrying ``files``, one view each."""
        return self.client.build_request(
            "POST",
            f"/questionnaire/{self.uid}?step=photos",
            data={"csrf_token": self.csrf, "go": "next"},
            files={
                f"photo_{view}": (f"{view}.img", data, kind)
                for view, (data, kind) in zip(VIEWS, files, strict=False)
            },
        )

    def send(self, files: list[tuple[bytes, str]]) -> int:
        """Send the photo step with ``files``; its status (302 taken, 400 refused)."""
        return self.client.send(self.photo_step(files)).status_code


def deliver(base: str, secret: str, number: int) -> str:
    """Deliver a new patient's booking two days ahead, signed as Cal.com signs it; its uid."""
    body = upcoming_booking(number)
    response = httpx.post(
        f"{base}/webhooks/cal",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)},
        timeout=60,
    )
    response.raise_for_status()
    return json.loads(body)["payload"]["uid"]


def send_rounds(patients: list[Patient], files: list[tuple[bytes, str]]) -> None:
    """Each patient sends the photo step with ``files`` at once; again, until the rounds
    have lasted ``MIN_UPLOAD_SECONDS``."""
    started = time.perf_counter()
    with ThreadPoolExecutor(len(patients)) as pool:
        while time.perf_counter() - started < MIN_UPLOAD_SECONDS:
            statuses = list(pool.map(lambda patient: patient.send(files), patients))
            assert statuses == [302] * len(patients), statuses


def send_slowly_at_once(port: int, patients: list[Patient], photo: tuple[bytes, str]) -> None:
    """Each patient sends the photo step with ``photo`` at ``SLOW_BYTES_PER_SECOND``."""
    with ThreadPoolExecutor(len(patients)) as pool:
        requests = [patient.photo_step([photo]) for patient in patients]
        statuses = list(pool.map(lambda request: send_slowly(port, request), requests))
    assert statuses == [302] * len(patients), statuses


def send_slowly(port: int, request: httpx.Request, rate: int = SLOW_BYTES_PER_SECOND) -> int:
    """Send ``request`` over a raw connection at ``rate`` bytes a second, as a phone on a
    slow mobile connection does; the answer's status."""
    body = request.read()
    head = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in request.headers.items()
    )
    raw = (head + "Connection: close\r\n\r\n").encode() + body
    chunk = rate // 10
    with socket.create_connection(("127.0.0.1", port), timeout=120) as connection:
        started = time.perf_counter()
        for sent in range(0, len(raw), chunk):
            connection.sendall(raw[sent : sent + chunk])
            time.sleep(max(0.0, started + (sent + chunk) / rate - time.perf_counter()))
        answer = connection.recv(64)
    return int(answer.split(b" ", 2)[1])


@dataclass
class Figures:
    """What the consultant and Cal.com saw while patients uploaded."""

    seconds: float
    polls: list[tuple[float, int]] = field(default_factory=list)  # (seconds, status)
    deliveries: list[float] = field(default_factory=list)

    def report(self) -> str:
        idle = [seconds for seconds, status in self.polls if status == 204]
        every = [seconds for seconds, _status in self.polls]
        lines = [
            f"  uploads lasted {self.seconds:.1f} s: {len(every)} polls ({len(idle)} idle), "
            f"{len(self.deliveries)} deliveries"
            + (
                f" (fewer than {MIN_POLLS} polls: too few to judge)"
                if len(every) < MIN_POLLS
                else ""
            ),
            f"  idle poll    p95 {percentile_ms(idle, 0.95):6.0f} ms  worst "
            f"{max(idle, default=math.nan) * 1000:6.0f} ms  (target p95 <= "
            f"{TARGETS['poll_p95_ms']} ms)",
            f"  every poll   p95 {percentile_ms(every, 0.95):6.0f} ms  worst "
            f"{max(every, default=math.nan) * 1000:6.0f} ms",
            f"  delivery     p95 {percentile_ms(self.deliveries, 0.95):6.0f} ms  worst "
            f"{max(self.deliveries, default=math.nan) * 1000:6.0f} ms  (target each <= "
            f"{TARGETS['delivery_ms']} ms)",
        ]
        return "\n".join(lines)


def percentile_ms(seconds: list[float], fraction: float) -> float:
    ordered = sorted(seconds)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000


def while_uploading(base: str, secret: str, numbers: Any, upload: Callable[[], None]) -> Figures:
    """Run ``upload`` while a consultant polls every ``POLL_EVERY`` and a booking is
    delivered every ``DELIVER_EVERY``; what both saw until the upload ended."""
    figures = Figures(0.0)
    with (
        consultant(base) as (client, poll_url),
        every(POLL_EVERY, lambda: figures.polls.append(poll(client, poll_url))),
        every(
            DELIVER_EVERY, lambda: figures.deliveries.append(timed_delivery(base, secret, numbers))
        ),
    ):
        started = time.perf_counter()
        upload()
        figures.seconds = time.perf_counter() - started
    return figures


@contextmanager
def consultant(base: str) -> Iterator[tuple[httpx.Client, list[str]]]:
    """A logged-in consultant's client and the dashboard's poll URL, which follows the
    cursor each answer brings."""
    with httpx.Client(base_url=base, timeout=60) as client:
        log_in(client)
        found = POLLER.search(client.get("/").text)
        assert found, "the dashboard has no poller"
        poll_url = [found[1].replace("&amp;", "&")]
        yield client, poll_url


def poll(client: httpx.Client, poll_url: list[str]) -> tuple[float, int]:
    """One poll of the dashboard, as htmx sends it; takes up the new cursor it brings."""
    started = time.perf_counter()
    response = client.get(poll_url[0], headers={"HX-Request": "true"})
    seconds = time.perf_counter() - started
    assert response.status_code in (200, 204), response.status_code
    found = POLLER.search(response.text) if response.status_code == 200 else None
    if found:
        poll_url[0] = found[1].replace("&amp;", "&")
    return seconds, response.status_code


def timed_delivery(base: str, secret: str, numbers: Any) -> float:
    started = time.perf_counter()
    deliver(base, secret, next(numbers))
    return time.perf_counter() - started


@contextmanager
def every(interval: float, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` every ``interval`` seconds on a thread of its own until the block ends
    (an action that overruns delays the next, as a browser's poll does)."""
    stop = threading.Event()

    def run() -> None:
        next_at = time.perf_counter()
        while not stop.is_set():
            action()
            next_at += interval
            stop.wait(max(0.0, next_at - time.perf_counter()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


if __name__ == "__main__":
    main()
