"""The audit trail: what writes a row, what never does, that no path changes or deletes
one, and the clinic's and each patient's audit pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from tests.conftest import CONSULTANT_PASSWORD, count, deliver, fixture_body
from webapp.audit import trail
from webapp.audit.trail import PER_PAGE
from webapp.auth.consultants import create_consultant
from webapp.extensions import db
from webapp.models import AuditEvent, Consultant, PatientProfile

HTMX = {"HX-Request": "true"}


def audit_rows(app) -> list[tuple[str, int | None, int | None]]:
    with app.app_context():
        return [
            (event.action, event.consultant_id, event.patient_profile_id)
            for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


@pytest.fixture
def patient_id(consultant_client) -> int:
    return deliver(consultant_client, fixture_body("booking_created.json"))["patient_id"]


# --- What writes a row -----------------------------------------------------------------------


def test_opening_a_patient_page_records_who_viewed_it(
    app, consultant_client, consultant, patient_id
):
    assert consultant_client.get(f"/patients/{patient_id}").status_code == 200
    assert consultant_client.get(f"/patients/{patient_id}").status_code == 200

    assert audit_rows(app) == [("patient.viewed", consultant, patient_id)] * 2
    with app.app_context():
        event = db.session.scalars(select(AuditEvent)).first()
        assert event.details is None
        assert abs(event.at - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_prefetch_or_a_missing_patient_is_no_view(app, consultant_client, patient_id):
    response = consultant_client.get(f"/patients/{patient_id}", headers={"Sec-Purpose": "prefetch"})
    assert response.status_code == 200
    assert consultant_client.get("/patients/999").status_code == 404

    assert audit_rows(app) == []


def test_a_logged_out_request_records_nothing(app, client, consultant):
    patient = deliver(client, fixture_body("booking_created.json"))["patient_id"]

    assert client.get(f"/patients/{patient}").status_code == 302

    assert audit_rows(app) == []


def test_the_dashboard_and_its_live_poll_are_no_patient_views(app, consultant_client, patient_id):
    assert consultant_client.get("/").status_code == 200
    for tab in ("today", "upcoming", "past", "cancelled", "review"):
        assert consultant_client.get(f"/?tab={tab}", headers=HTMX).status_code == 200
    poll = consultant_client.get("/dashboard/updates?cursor=%7C0", headers=HTMX)
    assert poll.status_code == 200  # the booking above is a change since an empty cursor
    assert "Oliver Bennett" in poll.get_data(as_text=True)

    assert audit_rows(app) == []


def test_the_audit_pages_are_no_patient_views(app, consultant_client, patient_id):
    assert consultant_client.get("/audit").status_code == 200
    assert consultant_client.get(f"/patients/{patient_id}/audit").status_code == 200

    assert audit_rows(app) == []


# --- Append-only -----------------------------------------------------------------------------


def test_an_audit_row_cannot_be_changed_or_deleted_through_the_orm(app, consultant):
    with app.app_context():
        event = trail.record("patient.viewed", db.session.get(Consultant, consultant))
        db.session.commit()

        event.action = "patient.merged"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()

        db.session.delete(db.session.get(AuditEvent, event.id))
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()

        with pytest.raises(RuntimeError, match="append-only"):
            db.session.execute(update(AuditEvent).values(action="x"))
        db.session.rollback()
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.execute(delete(AuditEvent))
        db.session.rollback()

        assert [e.action for e in db.session.scalars(select(AuditEvent))] == ["patient.viewed"]


def test_no_route_can_change_an_audit_row(app):
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule]

    assert {rule.rule for rule in audit_rules} == {"/audit", "/patients/<int:patient_id>/audit"}
    for rule in audit_rules:
        assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}


def test_posting_to_an_audit_page_is_refused(app, consultant_client, patient_id):
    consultant_client.get(f"/patients/{patient_id}")

    for path in ("/audit", f"/patients/{patient_id}/audit"):
        assert consultant_client.post(path).status_code in (400, 405)
        assert consultant_client.delete(path).status_code == 405

    assert audit_rows(app) == [("patient.viewed", 1, patient_id)]


# --- The pages -------------------------------------------------------------------------------


def test_the_audit_pages_need_a_login(client, consultant):
    for path in ("/audit", "/patients/1/audit"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_an_unknown_patients_audit_page_is_a_404(consultant_client):
    assert consultant_client.get("/patients/999/audit").status_code == 404


def test_the_patient_page_links_to_who_has_seen_it(consultant_client, patient_id):
    page = consultant_client.get(f"/patients/{patient_id}").get_data(as_text=True)

    assert f'<a href="/patients/{patient_id}/audit">Who has seen this record</a>' in page


def test_the_patient_audit_page_lists_who_saw_the_record_newest_first(
    app, consultant_client, patient_id
):
    with app.app_context():
        other = create_consultant(
            "deniz@clinic.example", "Dr. Deniz Kaya", CONSULTANT_PASSWORD, "UTC"
        )
        db.session.flush()
        trail.record(
            "note.added", other, db.session.get(PatientProfile, patient_id), {"note_id": 7}
        )
        trail.record("patient.viewed", other, None)  # another patient's page: not listed
        db.session.commit()
    consultant_client.get(f"/patients/{patient_id}")

    page = consultant_client.get(f"/patients/{patient_id}/audit").get_data(as_text=True)

    rows = re.findall(
        r"<tr>\s*<td><time[^>]*>[^<]*</time></td>\s*<td>([^<]*)</td>\s*<td>([^<]*)<", page
    )
    assert rows == [
        ("Dr. Selin Aydin", "Opened the patient page"),
        ("Dr. Deniz Kaya", "Added a note"),
    ]
    assert "note_id: 7" in page
    assert "<h1>Who has seen this record</h1>" in page


def seed_events(app, consultant: int) -> tuple[int, int]:
    """Three events by the fixture consultant and one by another, on known days."""
    with app.app_context():
        selin = db.session.get(Consultant, consultant)
        other = create_consultant(
            "deniz@clinic.example", "Dr. Deniz Kaya", CONSULTANT_PASSWORD, "UTC"
        )
        db.session.flush()
        days = {
            ("patient.viewed", selin.id): datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
            ("note.added", selin.id): datetime(2026, 11, 12, 9, 0, tzinfo=UTC),
            ("patient.merged", selin.id): datetime(2026, 11, 14, 9, 0, tzinfo=UTC),
            ("patient.viewed", other.id): datetime(2026, 11, 12, 21, 30, tzinfo=UTC),
        }
        for (action, who), at in days.items():
            db.session.add(AuditEvent(at=at, consultant_id=who, action=action))
        db.session.commit()
        return selin.id, other.id


def listed(page: str) -> list[str]:
    return re.findall(r"<small><code>([\w.]+)</code></small>", page)


def test_the_clinic_page_filters_by_consultant_action_and_dates(app, consultant_client, consultant):
    selin, other = seed_events(app, consultant)

    def page(query: str) -> str:
        response = consultant_client.get(f"/audit{query}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert listed(page("")) == ["patient.merged", "patient.viewed", "note.added", "patient.viewed"]
    assert listed(page(f"?consultant={other}")) == ["patient.viewed"]
    assert listed(page("?action=patient.viewed")) == ["patient.viewed", "patient.viewed"]
    assert listed(page(f"?consultant={selin}&action=patient.viewed")) == ["patient.viewed"]
    # Days are the consultant's (Istanbul, UTC+3): 21:30 UTC on the 12th is the 13th there.
    assert listed(page("?from=2026-11-12&to=2026-11-12")) == ["note.added"]
    assert listed(page("?from=2026-11-13")) == ["patient.merged", "patient.viewed"]
    assert listed(page("?to=2026-11-11")) == ["patient.viewed"]
    assert listed(page("?from=garbage&to=9999-12-31&consultant=x")) == listed(page(""))
    chosen = page(f"?consultant={other}&action=note.added")
    assert f'<option value="{other}" selected>Dr. Deniz Kaya</option>' in chosen
    assert '<option value="note.added" selected>Added a note</option>' in chosen
    assert "No audit events match these filters." in chosen


def test_the_clinic_page_is_paginated_and_keeps_its_filters(app, consultant_client, consultant):
    with app.app_context():
        start = datetime(2026, 11, 1, tzinfo=UTC)
        for minute in range(PER_PAGE + 3):
            db.session.add(
                AuditEvent(
                    at=start + timedelta(minutes=minute),
                    consultant_id=consultant,
                    action="patient.viewed",
                )
            )
        db.session.commit()
        assert count(AuditEvent) == PER_PAGE + 3

    first = consultant_client.get("/audit?action=patient.viewed").get_data(as_text=True)
    second = consultant_client.get("/audit?action=patient.viewed&page=2").get_data(as_text=True)

    assert len(listed(first)) == PER_PAGE and len(listed(second)) == 3
    assert "Page 1 of 2" in first
    assert 'href="/audit?page=2&amp;action=patient.viewed"' in first
    assert "2026-11-01T00:00:00+00:00" in second  # the oldest comes last
    assert consultant_client.get("/audit?page=-5").status_code == 200
    assert consultant_client.get("/audit?page=99999999999").status_code == 200
