"""Consultants' notes on a patient: who wrote what, and when.

A note is never changed in place and never deleted: ``edit_note`` writes a new version
that replaces the earlier one, which stays and shows as an earlier version. Bodies are
patient data: they are never logged and never go into the audit trail (only note ids do).
Functions here flush; the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from webapp.audit import trail
from webapp.extensions import db
from webapp.models import Consultant, PatientNote, PatientProfile

MAX_NOTE_LENGTH = 5000


class NoteError(ValueError):
    """The note cannot be written: empty, too long, or an earlier version."""


@dataclass(frozen=True)
class NoteThread:
    """A note as it reads now, and its earlier versions, newest first."""

    current: PatientNote
    earlier: list[PatientNote]

    @property
    def first_written(self) -> PatientNote:
        """The first version: who started the note, and when."""
        return self.earlier[-1] if self.earlier else self.current


def add_note(patient: PatientProfile, consultant: Consultant, body: str) -> PatientNote:
    """Write a new note on ``patient`` and record ``note.added``; raises ``NoteError``
    (an erased patient's record takes no new note: it could name them again)."""
    _check_not_erased(patient.erased_at)
    note = PatientNote(
        patient_profile_id=patient.id, consultant_id=consultant.id, body=_checked(body)
    )
    db.session.add(note)
    db.session.flush()
    trail.record("note.added", consultant, patient, {"note_id": note.id})
    return note


def edit_note(note: PatientNote, consultant: Consultant, body: str) -> PatientNote:
    """Write a new version of ``note`` that replaces it (the earlier text stays) and
    record ``note.edited``. Raises ``NoteError`` when ``note`` was already replaced (so
    versions never fork), the body is empty or too long, or the patient was erased."""
    patient = db.session.get(PatientProfile, note.patient_profile_id)
    _check_not_erased(patient.erased_at if patient else None)
    if db.session.scalar(select(PatientNote.id).where(PatientNote.replaces_id == note.id)):
        raise NoteError("This note was edited meanwhile; edit its latest version.")
    version = PatientNote(
        patient_profile_id=note.patient_profile_id,
        consultant_id=consultant.id,
        body=_checked(body),
        replaces_id=note.id,
    )
    db.session.add(version)
    db.session.flush()
    trail.record(
        "note.edited", consultant, patient, {"note_id": version.id, "replaces_id": note.id}
    )
    return version


def _check_not_erased(erased_at: datetime | None) -> None:
    if erased_at is not None:
        raise NoteError("This patient was erased: their record takes no new notes.")


def note_threads(patient: PatientProfile) -> list[NoteThread]:
    """The patient's notes as they read now, newest first (by when each was first
    written), each with its earlier versions."""
    notes = db.session.scalars(
        select(PatientNote).where(PatientNote.patient_profile_id == patient.id)
    ).all()
    by_id = {note.id: note for note in notes}
    replaced = {note.replaces_id for note in notes if note.replaces_id is not None}
    threads = []
    for note in notes:
        if note.id in replaced:
            continue
        earlier = []
        version = note
        while version.replaces_id is not None and version.replaces_id in by_id:
            version = by_id[version.replaces_id]
            earlier.append(version)
        threads.append(NoteThread(note, earlier))
    threads.sort(key=lambda t: (t.first_written.created_at, t.first_written.id), reverse=True)
    return threads


def _checked(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise NoteError("A note cannot be empty.")
    if len(text) > MAX_NOTE_LENGTH:
        raise NoteError(f"A note can be at most {MAX_NOTE_LENGTH} characters.")
    return text
