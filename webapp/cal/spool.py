"""Authentic deliveries kept on disk while the database is away, and applied when it returns.

Cal.com never resends a delivery we refuse, so one the database cannot take is kept here,
one signed raw body a file, written so that a crash leaves a complete file or an ignored
temporary one, and answered 202. Files are applied oldest first through
``receive_delivery``, committed, and only then deleted (a re-apply after a crash is a
duplicate); a per-file ``flock`` keeps a host's processes from applying one file twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from webapp.cal.deliveries import receive_delivery
from webapp.extensions import db

logger = logging.getLogger(__name__)

SUFFIX = ".delivery"
TEMP_PREFIX = ".tmp-"
DRAINER_KEY = "cal_spool_drainer"
_start_lock = threading.Lock()


class SpoolError(OSError):
    """The spool cannot keep a delivery (disk full, read-only or missing directory)."""


@dataclass(frozen=True)
class SpooledDelivery:
    """One waiting file: its name, size in bytes and when it was spooled (epoch seconds)."""

    path: Path
    size: int
    spooled_at: float

    @property
    def name(self) -> str:
        return self.path.name

    def age(self, now: float | None = None) -> float:
        """Seconds since the delivery was spooled."""
        return max(0.0, (time.time() if now is None else now) - self.spooled_at)


@dataclass(frozen=True)
class DrainResult:
    """What one pass over the spool did; ``stopped`` says why it ended early, if it did."""

    applied: int = 0
    remaining: int = 0
    stopped: str | None = None


def is_database_unreachable(error: Exception) -> bool:
    """Whether ``error`` means the database cannot be reached, rather than a bug or a conflict."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def spool_directory(app: Flask | None = None) -> Path:
    """The configured ``CAL_SPOOL_DIR`` of ``app`` (default: the current app)."""
    return Path((app or current_app).config["CAL_SPOOL_DIR"])


def keep(body: bytes, directory: Path) -> Path:
    """Write ``body`` durably to the spool and return its file.

    The name starts with the time in nanoseconds, so names sort oldest first. Raises
    ``SpoolError`` (with the operating system's reason, never the body) when it cannot.
    """
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}{SUFFIX}"
    temporary = directory / f"{TEMP_PREFIX}{name}"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Bodies hold patient data: readable by the app's user only.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        final = directory / name
        temporary.rename(final)
        _fsync_directory(directory)
    except OSError as exc:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise SpoolError(
            exc.errno, f"cannot write to the spool {directory}: {exc.strerror}"
        ) from exc
    return final


def waiting(directory: Path) -> list[SpooledDelivery]:
    """The complete spooled deliveries, oldest first; temporary (half-written) files are left."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith(TEMP_PREFIX) or not entry.name.endswith(SUFFIX):
            continue
        try:
            stat = entry.stat()
        except FileNotFoundError:
            continue  # applied by another process meanwhile
        found.append(SpooledDelivery(Path(entry.path), stat.st_size, _spooled_at(entry.name)))
    return sorted(found, key=lambda delivery: delivery.name)


def apply_waiting(directory: Path) -> DrainResult:
    """Apply every waiting delivery, oldest first, committing each before deleting its file.

    A file another process is applying is skipped. Stops at the first one the database
    cannot take (it is still away); that file stays for the next pass. A file that fails
    for another reason stays too (logged by name), and the others are still applied.
    Runs in an app context and owns its transactions.
    """
    applied = 0
    for delivery in waiting(directory):
        try:
            with _claimed(delivery.path) as file:
                if file is None:
                    continue
                outcome = receive_delivery(file.read())
                db.session.commit()
                logger.info(
                    "cal spool: applied %s as event %s (%s)",
                    delivery.name,
                    outcome.event_id,
                    outcome.status,
                )
                delivery.path.unlink()
                _fsync_directory(directory)
                applied += 1
        except Exception as exc:  # noqa: BLE001 - the file stays and is tried again
            db.session.rollback()
            if is_database_unreachable(exc):
                reason = "the database is still unreachable"
                logger.warning("cal spool: stopped, %s", reason)
                return DrainResult(applied, len(waiting(directory)), reason)
            logger.error(
                "cal spool: %s stays, %s while applying it", delivery.name, type(exc).__name__
            )
    return DrainResult(applied, len(waiting(directory)))


@contextmanager
def _claimed(path: Path) -> Iterator[IO[bytes] | None]:
    """The file opened under an exclusive lock, or ``None`` when another process holds it or
    has already applied and deleted it."""
    try:
        file = path.open("rb")
    except FileNotFoundError:
        yield None
        return
    with file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            # Deleted between our open and our lock: another process applied it.
            yield file if os.fstat(file.fileno()).st_nlink > 0 else None
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def _spooled_at(name: str) -> float:
    try:
        return int(name.split("-", 1)[0]) / 1e9
    except ValueError:
        return 0.0


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Drainer:
    """A daemon thread that applies the spool every few seconds while it is not empty.

    It touches the database only when files wait, so an idle app holds no connection for it.
    """

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cal-spool-drainer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to finish and wait for it."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        directory = spool_directory(self.app)
        while not self._stop.wait(self.interval):
            if not waiting(directory):
                continue
            try:
                with self.app.app_context():
                    try:
                        apply_waiting(directory)
                    finally:
                        db.session.remove()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive any one pass
                logger.error("cal spool drainer: pass failed with %s", type(exc).__name__)


def ensure_drainer(app: Flask) -> Drainer | None:
    """Start this process's drainer for ``app`` unless it runs already or is switched off.

    Called on each request, so every gunicorn worker starts its own after the fork.
    """
    if not app.config["CAL_SPOOL_DRAINER"]:
        return None
    drainer: Drainer | None = app.extensions.get(DRAINER_KEY)
    if drainer is not None and drainer.pid == os.getpid():
        return drainer
    with _start_lock:
        drainer = app.extensions.get(DRAINER_KEY)
        if drainer is None or drainer.pid != os.getpid():
            drainer = Drainer(app, float(app.config["CAL_SPOOL_DRAIN_SECONDS"]))
            app.extensions[DRAINER_KEY] = drainer
            drainer.start()
    return drainer


def register(app: Flask) -> None:
    """Start the drainer with the first request each process serves (health checks count).

    Not at import or in ``create_app``: CLI commands such as ``db upgrade`` must not apply
    deliveries, and gunicorn workers need threads of their own after the fork.
    """

    def start_drainer() -> None:
        ensure_drainer(app)

    app.before_request(start_drainer)
