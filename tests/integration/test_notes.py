"""Consultants' notes on a patient: who wrote what and when, newest first, an edit is a
new version that keeps the earlier text, no delete, CSRF, login, audit without the text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token_from, deliver, fixture_body
from webapp.extensions import db
from webapp.models import AuditEvent, PatientNote

SECRET_TEXT = "Takes warfarin; stop 5 days before"


@pytest.fixture
def patient_id(consultant_client) -> int:
    return deliver(consultant_client, fixture_body("booking_created.json"))["patient_id"]


def page_of(client, patient_id: int) -> str:
    response = client.get(f"/patients/{patient_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post_note(client, patient_id: int, body: str, note_id: int | None = None):
    token = csrf_token_from(page_of(client, patient_id))
    path = f"/patients/{patient_id}/notes" + (f"/{note_id}" if note_id else "")
    return client.post(path, data={"body": body, "csrf_token": token})


def notes_section(page: str) -> str:
    match = re.search(r'<section id="notes".*?</section>', page, re.S)
    assert match
    return match.group(0)


def current_bodies(page: str) -> list[str]:
    return re.findall(
        r'<article class="note" id="note-\d+">\s*<p class="note-body">([^<]*)</p>', page
    )


def test_a_note_is_added_with_who_and_when(app, consultant_client, patient_id):
    response = post_note(consultant_client, patient_id, "  Prefers WhatsApp.  ")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/patients/{patient_id}#notes"
    notes = notes_section(page_of(consultant_client, patient_id))
    assert current_bodies(notes) == ["Prefers WhatsApp."]
    with app.app_context():
        note = db.session.scalars(select(PatientNote)).one()
        written = note.created_at
    assert abs(written - datetime.now(UTC)) < timedelta(minutes=1)
    shown = written.astimezone(ZoneInfo("Europe/Istanbul"))
    assert f"Dr. Selin Aydin, {shown:%d %b %Y %H:%M}" in notes


def test_notes_are_listed_newest_first(app, consultant_client, patient_id):
    for body in ("First", "Second", "Third"):
        assert post_note(consultant_client, patient_id, body).status_code == 302

    assert current_bodies(page_of(consultant_client, patient_id)) == ["Third", "Second", "First"]


def test_an_edit_is_a_new_version_and_the_earlier_text_stays(app, consultant_client, patient_id):
    post_note(consultant_client, patient_id, "Older note")
    post_note(consultant_client, patient_id, "Original text")
    with app.app_context():
        original = db.session.scalar(select(PatientNote).where(PatientNote.body == "Original text"))
        original_id = original.id

    response = post_note(consultant_client, patient_id, "Corrected text", original_id)

    assert response.status_code == 302
    page = page_of(consultant_client, patient_id)
    assert current_bodies(page) == ["Corrected text", "Older note"]  # keeps its place
    assert "Edited; earlier versions (1)" in page
    assert '<p class="note-body">Original text</p>' in page
    with app.app_context():
        versions = db.session.scalars(select(PatientNote).order_by(PatientNote.id)).all()
        assert [(n.body, n.replaces_id) for n in versions] == [
            ("Older note", None),
            ("Original text", None),
            ("Corrected text", original_id),
        ]
    # Editing the replaced version again is refused: versions never fork.
    again = post_note(consultant_client, patient_id, "Fork", original_id)
    assert again.status_code == 302
    assert "This note was edited meanwhile" in page_of(consultant_client, patient_id)
    with app.app_context():
        assert db.session.scalar(select(PatientNote).where(PatientNote.body == "Fork")) is None


def test_an_empty_or_too_long_note_is_refused(app, consultant_client, patient_id):
    post_note(consultant_client, patient_id, "   ")
    assert "A note cannot be empty." in page_of(consultant_client, patient_id)
    post_note(consultant_client, patient_id, "x" * 5001)
    assert "A note can be at most 5000 characters." in page_of(consultant_client, patient_id)

    with app.app_context():
        assert db.session.scalars(select(PatientNote)).all() == []


def test_notes_need_the_csrf_token(app, consultant_client, patient_id):
    response = consultant_client.post(f"/patients/{patient_id}/notes", data={"body": "No token"})

    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(PatientNote)).all() == []


def test_notes_need_a_login(app, client, consultant):
    patient = deliver(client, fixture_body("booking_created.json"))["patient_id"]

    response = client.post(f"/patients/{patient}/notes", data={"body": "x"})

    assert response.status_code in (302, 400)
    with app.app_context():
        assert db.session.scalars(select(PatientNote)).all() == []


def test_a_note_of_another_patient_or_none_is_a_404(app, consultant_client, patient_id):
    post_note(consultant_client, patient_id, "Mine")
    token = csrf_token_from(page_of(consultant_client, patient_id))

    for path in (f"/patients/{patient_id}/notes/999", f"/patients/{patient_id + 1}/notes/1"):
        response = consultant_client.post(path, data={"body": "x", "csrf_token": token})
        assert response.status_code == 404
    assert (
        consultant_client.post("/patients/999/notes", data={"csrf_token": token}).status_code == 404
    )


def test_there_is_no_way_to_delete_a_note(app):
    methods = {
        method
        for rule in app.url_map.iter_rules()
        if "/notes" in rule.rule
        for method in rule.methods
    }
    assert methods - {"OPTIONS"} == {"POST"}


def test_adding_and_editing_are_audited_by_id_never_by_text(app, consultant_client, patient_id):
    post_note(consultant_client, patient_id, SECRET_TEXT)
    with app.app_context():
        note_id = db.session.scalars(select(PatientNote.id)).one()
    post_note(consultant_client, patient_id, SECRET_TEXT + " (checked)", note_id)

    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("note.%")).order_by(AuditEvent.id)
        ).all()
        new_id = db.session.scalar(select(PatientNote.id).where(PatientNote.replaces_id == note_id))
    assert [(e.action, e.patient_profile_id, e.details) for e in events] == [
        ("note.added", patient_id, {"note_id": note_id}),
        ("note.edited", patient_id, {"note_id": new_id, "replaces_id": note_id}),
    ]


def test_note_bodies_are_never_logged(app, consultant_client, patient_id, caplog):
    caplog.set_level("DEBUG")
    post_note(consultant_client, patient_id, SECRET_TEXT)

    assert "warfarin" not in caplog.text
