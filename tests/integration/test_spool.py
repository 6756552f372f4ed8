"""Deliveries that arrive while the database is away are kept on disk and applied later."""

from __future__ import annotations

import fcntl
import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import app_settings, fixture_body, post_delivery
from webapp import create_app
from webapp.cal import spool
from webapp.cal.deliveries import receive_delivery
from webapp.extensions import db
from webapp.models import Consultation, WebhookEvent

UNREACHABLE = {
    # Nothing listens on port 1: the connection is refused at once.
    "postgresql": "postgresql://postgres@127.0.0.1:1/none",
    # A directory that does not exist: SQLite cannot open the file.
    "sqlite": "sqlite:////nonexistent-directory/clinic.db",
}


def unreachable_app(kind: str, spool_dir: Path, instance: Path):
    """An app whose database cannot be reached, sharing ``spool_dir``."""
    settings = app_settings(UNREACHABLE[kind], instance) | {"CAL_SPOOL_DIR": str(spool_dir)}
    return create_app(settings)


def stored_events() -> list[WebhookEvent]:
    return list(db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_a_delivery_during_an_outage_is_spooled_answered_202_and_applied_later(app, kind, tmp_path):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    down = unreachable_app(kind, spool_dir, tmp_path)
    body = fixture_body("booking_created.json")

    response = post_delivery(down.test_client(), body)

    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"
    [kept] = spool.waiting(spool_dir)
    assert kept.path.read_bytes() == body
    assert kept.path.stat().st_mode & 0o777 == 0o600  # patient data: the app's user only
    with app.app_context():
        assert stored_events() == []

        result = spool.apply_waiting(spool_dir)

        assert (result.applied, result.remaining, result.stopped) == (1, 0, None)
        [event] = stored_events()
        assert (event.status, event.body) == ("processed", body)
        consultation = db.session.scalar(select(Consultation))
        assert consultation.cal_booking_uid == "r8KqT2mWv5XbN7pLc3YdZa"
    assert spool.waiting(spool_dir) == []


def test_an_unsigned_delivery_during_an_outage_is_refused_and_not_spooled(app, tmp_path):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    down = unreachable_app("postgresql", spool_dir, tmp_path)

    response = post_delivery(down.test_client(), fixture_body("booking_created.json"), secret="x")

    assert response.status_code == 401
    assert spool.waiting(spool_dir) == []


def test_when_the_spool_cannot_be_written_either_the_answer_is_503_and_the_log_says_why(
    tmp_path, caplog, monkeypatch
):
    # Alembic's fileConfig (test_migrations) disables the loggers that exist by then.
    monkeypatch.setattr(logging.getLogger("webapp.cal.webhook"), "disabled", False)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    down = unreachable_app("postgresql", blocker / "spool", tmp_path)

    with caplog.at_level(logging.ERROR, logger="webapp.cal.webhook"):
        response = post_delivery(down.test_client(), fixture_body("booking_created.json"))

    assert response.status_code == 503
    assert "nothing kept" in response.get_json()["error"]
    [line] = [r.getMessage() for r in caplog.records if r.name == "webapp.cal.webhook"]
    assert "cannot write to the spool" in line
    assert "Not a directory" in line
    assert "Oliver" not in line and "oliver" not in line


def test_deliveries_are_applied_oldest_first(app, tmp_path):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    spool.keep(fixture_body("booking_created.json"), spool_dir)
    spool.keep(fixture_body("booking_rescheduled.json"), spool_dir)
    spool.keep(fixture_body("booking_cancelled.json"), spool_dir)

    with app.app_context():
        assert spool.apply_waiting(spool_dir).applied == 3

        triggers = [event.trigger_event for event in stored_events()]
        assert triggers == ["BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED"]


def test_a_crash_after_applying_but_before_deleting_gives_a_duplicate_and_removes_the_file(app):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    body = fixture_body("booking_created.json")
    with app.app_context():
        receive_delivery(body)  # applied and committed; the crash came before the unlink
        db.session.commit()
    spool.keep(body, spool_dir)

    with app.app_context():
        result = spool.apply_waiting(spool_dir)

        assert result.applied == 1
        assert len(stored_events()) == 1
        assert db.session.scalar(select(func.count()).select_from(Consultation)) == 1
    assert spool.waiting(spool_dir) == []


def test_a_half_written_temporary_file_is_ignored(app):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    spool_dir.mkdir(parents=True)
    half = spool_dir / f"{spool.TEMP_PREFIX}00000000000000000001-dead{spool.SUFFIX}"
    half.write_bytes(fixture_body("booking_created.json")[:40])

    with app.app_context():
        result = spool.apply_waiting(spool_dir)

        assert (result.applied, result.remaining) == (0, 0)
        assert stored_events() == []
    assert spool.waiting(spool_dir) == []
    assert half.exists()


def test_a_file_another_process_is_applying_is_left_alone(app):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    kept = spool.keep(fixture_body("booking_created.json"), spool_dir)

    with kept.open("rb") as other, app.app_context():
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        result = spool.apply_waiting(spool_dir)

        assert (result.applied, result.remaining) == (0, 1)
        assert stored_events() == []


def test_while_the_database_is_still_away_the_files_stay(tmp_path):
    spool_dir = tmp_path / "spool"
    spool.keep(fixture_body("booking_created.json"), spool_dir)
    down = unreachable_app("postgresql", spool_dir, tmp_path)

    with down.app_context():
        result = spool.apply_waiting(spool_dir)

    assert (result.applied, result.remaining) == (0, 1)
    assert result.stopped == "the database is still unreachable"


def test_the_drainer_applies_the_spool_without_a_new_delivery(app):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    app.config.update(CAL_SPOOL_DRAINER=True, CAL_SPOOL_DRAIN_SECONDS=0.1)
    spool.keep(fixture_body("booking_created.json"), spool_dir)

    app.test_client().get("/healthz")  # any request starts the process's drainer
    drainer = app.extensions[spool.DRAINER_KEY]
    try:
        deadline = time.monotonic() + 15
        while spool.waiting(spool_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        drainer.stop()

    assert spool.waiting(spool_dir) == []
    with app.app_context():
        assert [event.status for event in stored_events()] == ["processed"]


def test_no_drainer_starts_in_tests_unless_asked(app, client):
    client.get("/healthz")

    assert spool.DRAINER_KEY not in app.extensions


def test_cal_spool_lists_waiting_files_without_their_bodies_and_applies_them(app, runner):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    kept = spool.keep(fixture_body("booking_created.json"), spool_dir)

    listing = runner.invoke(args=["cal", "spool"])

    assert listing.exit_code == 0
    assert "1 waiting" in listing.output
    assert kept.name in listing.output
    assert f"{kept.stat().st_size} bytes" in listing.output
    assert "Oliver" not in listing.output and "oliver" not in listing.output

    applied = runner.invoke(args=["cal", "spool", "--apply"])

    assert applied.exit_code == 0, applied.output
    assert "applied 1, 0 waiting" in applied.output
    assert "empty" in runner.invoke(args=["cal", "spool"]).output


def test_a_file_that_fails_for_another_reason_stays_and_does_not_block_the_rest(app, monkeypatch):
    spool_dir = Path(app.config["CAL_SPOOL_DIR"])
    stuck = spool.keep(b"first", spool_dir)
    spool.keep(fixture_body("booking_created.json"), spool_dir)
    real = spool.receive_delivery

    def receive(body):
        if body == b"first":
            raise RuntimeError("simulated bug")
        return real(body)

    monkeypatch.setattr("webapp.cal.spool.receive_delivery", receive)

    with app.app_context():
        result = spool.apply_waiting(spool_dir)

        assert (result.applied, result.remaining, result.stopped) == (1, 1, None)
        assert [event.status for event in stored_events()] == ["processed"]
    assert [delivery.path for delivery in spool.waiting(spool_dir)] == [stuck]
