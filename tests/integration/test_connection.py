"""`/connection` shows the health of the link with Cal.com; the dashboard's banner points there."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token_from, fixture_body, post_delivery
from webapp.cal import spool
from webapp.extensions import db
from webapp.models import AuditEvent, Consultation, ReconcileRun, WebhookEvent

NO_SHOW_FIRST = {
    "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
    "createdAt": "2026-11-27T11:40:08.914Z",
    "payload": {
        "attendees": [{"email": "oliver.bennett@example.co.uk", "noShow": True}],
        "bookingUid": "r8KqT2mWv5XbN7pLc3YdZa",
        "bookingId": 5920377,
    },
}
CUSTOM_TEMPLATE = {"booking": "r8KqT2mWv5XbN7pLc3YdZa", "who": "Oliver Bennett"}


def page(client, path: str = "/connection") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def text_of(markup: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


def add_run(app, **values) -> None:
    now = datetime.now(UTC)
    defaults = {
        "started_at": now,
        "finished_at": now,
        "since": now - timedelta(minutes=20),
        "dry_run": False,
        "status": "ok",
        "pages": 1,
        "seen": 0,
        "created": 0,
        "updated": 0,
        "missing_uids": [],
        "outdated_uids": [],
    }
    with app.app_context():
        db.session.add(ReconcileRun(**(defaults | values)))
        db.session.commit()


def test_the_page_requires_a_login(client):
    response = client.get("/connection")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_page_shows_deliveries_failures_spool_and_the_last_run(app, consultant_client):
    post_delivery(consultant_client, NO_SHOW_FIRST)  # failed: the booking is not known yet
    post_delivery(consultant_client, fixture_body("booking_created.json"))
    spool.keep(fixture_body("ping.json"), Path(app.config["CAL_SPOOL_DIR"]))
    add_run(app, seen=4, created=1, missing_uids=["qH7mX2vKp9LwR4tYc8NbZs"])

    text = text_of(page(consultant_client))

    assert "Last delivery: none yet" not in text
    assert re.search(r"processed 1 1", text)
    assert re.search(r"failed 1 1", text)
    assert "no-show update for a booking not received yet" in text
    assert "Replay" in text
    assert "1 delivery kept while the database was unreachable" in text
    assert "qH7mX2vKp9LwR4tYc8NbZs" in text
    assert "CAL_API_KEY is not set" in text
    assert "oliver" not in text.lower()  # ids and outcomes, never the patient


def test_the_page_says_when_the_api_key_is_set(app, consultant_client):
    app.config["CAL_API_KEY"] = "cal_live_x"

    text = text_of(page(consultant_client))

    assert "CAL_API_KEY is set" in text
    assert "No run yet" in text


def test_replay_applies_the_delivery_again_and_is_audited(app, consultant_client, consultant):
    failed = post_delivery(consultant_client, NO_SHOW_FIRST).get_json()
    assert failed["status"] == "failed"
    post_delivery(consultant_client, fixture_body("booking_created.json"))
    token = csrf_token_from(page(consultant_client))

    response = consultant_client.post(
        f"/connection/deliveries/{failed['event_id']}/replay", data={"csrf_token": token}
    )

    assert response.status_code == 302
    assert "replayed: processed" in page(consultant_client)
    with app.app_context():
        event = db.session.get(WebhookEvent, failed["event_id"])
        assert event.status == "processed"
        assert db.session.get(Consultation, event.consultation_id).status == "no_show"
        [entry] = db.session.scalars(select(AuditEvent)).all()
        assert (entry.action, entry.consultant_id) == ("delivery.replayed", consultant)
        assert entry.patient_profile_id == event.patient_profile_id
        assert entry.details == {
            "event_id": event.id,
            "status_before": "failed",
            "status_after": "processed",
        }
        assert entry.at is not None


def test_replay_without_the_csrf_token_is_refused(app, consultant_client):
    failed = post_delivery(consultant_client, NO_SHOW_FIRST).get_json()

    response = consultant_client.post(f"/connection/deliveries/{failed['event_id']}/replay")

    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(AuditEvent)).all() == []


def test_replay_of_an_unknown_delivery_is_404(consultant_client):
    token = csrf_token_from(page(consultant_client))

    response = consultant_client.post(
        "/connection/deliveries/999/replay", data={"csrf_token": token}
    )

    assert response.status_code == 404


def test_audit_events_cannot_be_changed_or_deleted(app, consultant):
    from webapp.audit import trail
    from webapp.models import Consultant

    with app.app_context():
        entry = trail.record("delivery.replayed", db.session.get(Consultant, consultant))
        db.session.commit()
        entry.action = "something.else"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, entry.id))
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(AuditEvent, entry.id).action == "delivery.replayed"


def test_a_system_audit_event_has_no_consultant(app):
    from webapp.audit import trail

    with app.app_context():
        entry = trail.record("spool.applied", None, details={"files": 2})
        db.session.commit()
        assert (entry.consultant_id, entry.patient_profile_id) == (None, None)


# The dashboard's banner


def banner(client) -> str:
    match = re.search(r'<aside class="[^"]*connection-banner.*?</aside>', page(client, "/"), re.S)
    return text_of(match.group(0)) if match else ""


def test_no_banner_when_all_is_well(consultant_client):
    post_delivery(consultant_client, fixture_body("booking_created.json"))

    assert banner(consultant_client) == ""


def test_a_failure_in_the_last_day_shows_the_banner_with_a_link(consultant_client):
    post_delivery(consultant_client, NO_SHOW_FIRST)

    text = banner(consultant_client)

    assert "Failed or rejected in the last 24 hours: 1 delivery." in text
    assert 'href="/connection"' in page(consultant_client, "/")


def test_a_custom_payload_template_gets_its_own_message_and_the_way_to_turn_it_off(
    consultant_client,
):
    response = post_delivery(consultant_client, CUSTOM_TEMPLATE)
    assert response.status_code == 400

    text = banner(consultant_client)

    assert "Cal.com is sending a custom payload template" in text
    assert "Failed or rejected" not in text
    connection = text_of(page(consultant_client))
    assert "clear its custom payload template" in connection
    assert "Oliver" not in connection


def test_a_form_encoded_custom_template_counts_too(consultant_client):
    post_delivery(consultant_client, b"booking=r8KqT2mWv5XbN7pLc3YdZa&status=ok")

    assert "custom payload template" in banner(consultant_client)


def test_a_spool_waiting_more_than_a_minute_shows_the_banner(app, consultant_client):
    directory = Path(app.config["CAL_SPOOL_DIR"])
    kept = spool.keep(fixture_body("ping.json"), directory)
    assert banner(consultant_client) == ""  # just spooled: the drainer has a minute

    old = f"{(datetime.now(UTC) - timedelta(minutes=5)).timestamp() * 1e9:020.0f}"
    kept.rename(directory / f"{old}-{kept.name.split('-', 1)[1]}")

    assert "1 delivery waiting in this host's spool" in banner(consultant_client)


def test_a_failed_reconcile_run_shows_the_banner(app, consultant_client):
    add_run(app, status="failed", error="Cal.com answered HTTP 401")

    assert "The last reconciliation with Cal.com failed" in banner(consultant_client)


def test_a_run_that_found_missing_bookings_shows_the_banner(app, consultant_client):
    add_run(app, seen=3, created=2, missing_uids=["a", "b"])

    assert "found 2 bookings that no delivery had brought" in banner(consultant_client)


def test_a_dry_run_does_not_count(app, consultant_client):
    add_run(app, dry_run=True, seen=3, created=2, missing_uids=["a", "b"])

    assert banner(consultant_client) == ""


def test_silence_while_cal_com_has_bookings_shows_the_banner(app, consultant_client):
    app.config["CAL_SILENCE_ALERT_HOURS"] = 1
    post_delivery(consultant_client, fixture_body("booking_created.json"))
    with app.app_context():
        event = db.session.scalar(select(WebhookEvent))
        event.received_at = datetime.now(UTC) - timedelta(hours=3)
        db.session.commit()
    assert banner(consultant_client) == ""  # silent, but nothing says Cal.com has bookings

    add_run(app, since=datetime.now(UTC) - timedelta(hours=1), seen=2)

    assert "No delivery from Cal.com for more than 1 hours" in banner(consultant_client)


def test_the_idle_poll_never_computes_the_banner(app, consultant_client, monkeypatch):
    dashboard = page(consultant_client, "/")
    url = html.unescape(re.search(r'<div id="poller"[^>]*?hx-get="([^"]+)"', dashboard).group(1))

    def expensive(now):
        raise AssertionError("the banner was computed on the poll")

    monkeypatch.setattr("webapp.dashboard.views.needs_attention", expensive)
    response = consultant_client.get(url, headers={"HX-Request": "true"})

    assert response.status_code == 204
