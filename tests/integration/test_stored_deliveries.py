"""No stored delivery breaks a page: every body of the bad-input corpus, kept in
``webhook_events`` as an old or hostile row might be, under every status, and every page that
lists deliveries still renders, saying which bodies it cannot read."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from itertools import cycle

from sqlalchemy import insert, select

from tests.conftest import booking_document, csrf_token_from, deliver
from tests.integration.test_bad_input import ODD_BUT_READABLE, UNREADABLE, nested
from webapp.extensions import db
from webapp.models import EventStatus, PatientProfile, WebhookEvent

# What else a sender holding the secret, or a custom payload template, may have stored.
TEMPLATED = {
    "custom-template-plain-text": b"New booking: Oliver Bennett, Thu 5 Nov 10:00",
    "custom-template-form-encoded": b"triggerEvent=BOOKING_CREATED&name=%00",
    "custom-template-json": b'{"event": "booking", "name": "Oliver Bennett"}',
    "100000-characters-of-text": b"x" * 100_000,
    "integer-of-5000-digits-alone": b"7" * 5000,
    "nested-10000-levels-alone": nested(10_000).encode(),
}
CORPUS = {
    **{name: body for name, (body, _problem) in UNREADABLE.items()},
    **{name: body for name, (body, _status) in ODD_BUT_READABLE.items()},
    **TEMPLATED,
}
TABS = ("today", "upcoming", "past", "cancelled", "review")


def store_every_body(patient_ids: list[int]) -> None:
    """Insert each body of the corpus straight into ``webhook_events`` under every status,
    received within the banner's day and tied to one of the patients in turn."""
    now = datetime.now(UTC)
    patients = cycle(patient_ids)
    rows = [
        {
            "received_at": now - timedelta(minutes=index),
            "trigger_event": "BOOKING_CREATED" if index % 2 else None,
            "booking_uid": None,
            "status": status,
            "error": None if status != EventStatus.FAILED else "RuntimeError while applying",
            "body": body,
            "body_sha256": hashlib.sha256(body + status.encode()).hexdigest(),
            "patient_profile_id": next(patients),
        }
        for index, (body, status) in enumerate(
            (body, status) for body in CORPUS.values() for status in EventStatus
        )
    ]
    db.session.execute(insert(WebhookEvent), rows)
    db.session.commit()


def test_every_page_renders_whatever_bodies_are_stored(app, consultant_client):
    deliver(consultant_client, booking_tomorrow("OliverStored01", "oliver@example.co.uk", 1))
    deliver(consultant_client, booking_tomorrow("AdaStoredBody1", "ada@example.com", 2))
    with app.app_context():
        patient_ids = list(db.session.scalars(select(PatientProfile.id)))
        store_every_body(patient_ids)

    pages = [f"/?tab={tab}" for tab in TABS] + ["/?q=oliver", "/?q=a", "/?tab=past&page=2"]
    for path in pages:
        for headers in ({}, {"HX-Request": "true"}):
            response = consultant_client.get(path, headers=headers)
            assert response.status_code == 200, (path, headers)
    banner = consultant_client.get("/").get_data(as_text=True)
    assert "carried no booking: Cal.com is sending a custom payload template" in banner
    assert "Failed or rejected in the last 24 hours" in banner

    connection = consultant_client.get("/connection")
    assert connection.status_code == 200
    page = connection.get_data(as_text=True)
    assert "Unreadable body: body nests deeper than 64 levels" in page
    assert "Unreadable body: body has a number with more than 20 digits" in page
    assert "Unreadable body: body is not valid JSON: it is not UTF-8" in page
    assert "Unreadable body: body must be a JSON object" in page

    for patient_id in patient_ids:
        response = consultant_client.get(f"/patients/{patient_id}")
        assert response.status_code == 200, patient_id
        shown = re.search(r"Delivery log \((\d+)\)", response.get_data(as_text=True))
        assert shown and int(shown[1]) > len(CORPUS)


def test_every_stored_body_can_be_replayed_without_an_error_page(app, consultant_client):
    deliver(consultant_client, booking_tomorrow("OliverStored01", "oliver@example.co.uk", 1))
    with app.app_context():
        store_every_body(list(db.session.scalars(select(PatientProfile.id))))
        rejected = list(
            db.session.scalars(
                select(WebhookEvent.id).where(WebhookEvent.status == EventStatus.REJECTED)
            )
        )
    token = csrf_token_from(consultant_client.get("/connection").get_data(as_text=True))

    for event_id in rejected:
        response = consultant_client.post(
            f"/connection/deliveries/{event_id}/replay", data={"csrf_token": token}
        )
        assert response.status_code == 302, event_id
    assert consultant_client.get("/connection").status_code == 200


def booking_tomorrow(uid: str, email: str, booking_id: int) -> dict:
    """A new patient's booking tomorrow, so that it shows on the dashboard."""
    document = booking_document(uid, email=email, booking_id=booking_id)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    document["payload"]["startTime"] = start.isoformat()
    document["payload"]["endTime"] = (start + timedelta(minutes=15)).isoformat()
    return document
