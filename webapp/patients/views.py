"""``/patients/<id>``: everything the clinic knows about one patient, the consultants'
notes on it, and resolving a possible duplicate (merge, undo, dismiss).

Opening the page records ``patient.viewed``; every change records its own audit event.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.audit import trail
from webapp.extensions import db
from webapp.models import Consultation, PatientMerge, PatientNote, PatientProfile, WebhookEvent
from webapp.patients.merging import (
    MERGE_FIELDS,
    MergeError,
    dismiss_duplicate,
    merge_patients,
    merges_of,
    undo_merge,
)
from webapp.patients.notes import MAX_NOTE_LENGTH, NoteError, add_note, edit_note, note_threads
from webapp.patients.summary import (
    answers_shown_elsewhere,
    meeting_place,
    next_consultation,
    phone_links,
    surgeon_alerts,
    web_link,
)
from webapp.questionnaire.history import patient_questionnaire
from webapp.treatment.overview import patient_treatment
from webapp.treatment.stage import clinic_today

bp = Blueprint("patients", __name__)
NO_SUCH_PATIENT = "There is no patient with this number."
bp.add_app_template_filter(meeting_place)
bp.add_app_template_filter(web_link)
bp.add_app_template_filter(phone_links)


@bp.get("/patients/<int:patient_id>")
@login_required
def show(patient_id: int) -> str:
    """The summary, notes, profile, questionnaire, consultations with their reschedule
    chain, answers and deliveries; records ``patient.viewed``."""
    patient = _patient(patient_id)
    consultations = patient_consultations(patient)
    page = render_template(
        "patients/show.html",
        patient=patient,
        consultations=consultations,
        next_consultation=next_consultation(consultations, datetime.now(UTC)),
        alerts=surgeon_alerts(patient.questionnaire_answers),
        questionnaire=patient_questionnaire(patient),
        answers_elsewhere=answers_shown_elsewhere(consultations),
        rescheduled_from={c.rescheduled_to_id: c for c in consultations if c.rescheduled_to_id},
        possible_duplicates=possible_duplicates(patient),
        merges=merges_of(patient),
        notes=note_threads(patient),
        max_note_length=MAX_NOTE_LENGTH,
        deliveries=deliveries_for(patient),
        treatment=patient_treatment(patient, clinic_today()),
    )
    if is_page_view():  # recorded before anyone sees the page, after all it reads
        trail.record("patient.viewed", current_user, patient)
        db.session.commit()
    return page


def is_page_view() -> bool:
    """Whether this request shows the page to someone: a GET that is not a browser's
    speculative prefetch (which nobody may ever look at)."""
    purpose = request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
    return request.method == "GET" and "prefetch" not in purpose.lower()


@bp.post("/patients/<int:patient_id>/notes")
@login_required
def add_note_view(patient_id: int) -> Response:
    """Add a consultant's note to the patient."""
    patient = _patient(patient_id)
    try:
        add_note(patient, current_user, request.form.get("body", ""))
    except NoteError as error:
        flash(str(error), "warning")
        return redirect(url_for("patients.show", patient_id=patient.id, _anchor="notes"))
    db.session.commit()
    flash("Note added.", "info")
    return redirect(url_for("patients.show", patient_id=patient.id, _anchor="notes"))


@bp.post("/patients/<int:patient_id>/notes/<int:note_id>")
@login_required
def edit_note_view(patient_id: int, note_id: int) -> Response:
    """Write a new version of a note; the earlier text stays visible."""
    note = db.session.get(PatientNote, note_id)
    if note is None or note.patient_profile_id != patient_id:
        abort(404, "There is no such note.")
    try:
        edit_note(note, current_user, request.form.get("body", ""))
    except NoteError as error:
        flash(str(error), "warning")
        return redirect(url_for("patients.show", patient_id=patient_id, _anchor="notes"))
    db.session.commit()
    flash("Note edited; the earlier version is kept.", "info")
    return redirect(url_for("patients.show", patient_id=patient_id, _anchor="notes"))


@bp.post("/patients/<int:patient_id>/merge")
@login_required
def merge(patient_id: int) -> Response:
    """Merge the record named ``merged_id`` into this one: same person. For each field,
    ``field-<name>=merged`` takes the merged record's value; anything else keeps this
    record's."""
    survivor = _patient(patient_id)
    merged = _patient(request.form.get("merged_id", type=int) or 0)
    take = [field for field in MERGE_FIELDS if request.form.get(f"field-{field}") == "merged"]
    try:
        merge_patients(survivor, merged, take, current_user)
    except MergeError as error:
        flash(str(error), "warning")
        return redirect(url_for("dashboard.index", tab="review"))
    db.session.commit()
    flash(f"Patient {merged.id} merged into this record. You can undo it below.", "info")
    return redirect(url_for("patients.show", patient_id=survivor.id))


@bp.post("/patients/<int:patient_id>/dismiss-duplicate")
@login_required
def dismiss(patient_id: int) -> Response:
    """The record named ``other_id`` is a different person: clear the flag for good."""
    patient = _patient(patient_id)
    other = _patient(request.form.get("other_id", type=int) or 0)
    try:
        dismiss_duplicate(patient, other, current_user)
    except MergeError as error:
        flash(str(error), "warning")
        return redirect(url_for("dashboard.index", tab="review"))
    db.session.commit()
    flash(f"Patients {patient.id} and {other.id} are kept apart as different people.", "info")
    return redirect(url_for("dashboard.index", tab="review"))


@bp.post("/merges/<int:merge_id>/undo")
@login_required
def undo(merge_id: int) -> Response:
    """Undo a merge: both records back exactly as they were before it."""
    record = db.get_or_404(PatientMerge, merge_id, description="There is no such merge.")
    try:
        undo_merge(record, current_user)
    except MergeError as error:
        flash(str(error), "warning")
        return redirect(url_for("patients.show", patient_id=record.survivor_id))
    db.session.commit()
    flash(f"Merge undone: patients {record.survivor_id} and {record.merged_id} are apart.", "info")
    return redirect(url_for("patients.show", patient_id=record.survivor_id))


def _patient(patient_id: int) -> PatientProfile:
    return db.get_or_404(PatientProfile, patient_id, description=NO_SUCH_PATIENT)


def patient_consultations(patient: PatientProfile) -> list[Consultation]:
    """The patient's consultations, newest first."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.patient_profile_id == patient.id)
            .order_by(Consultation.start_time.desc().nulls_last(), Consultation.id.desc())
        )
    )


def possible_duplicates(patient: PatientProfile) -> list[PatientProfile]:
    """Patients flagged as possibly the same person as this one, either way round."""
    flagged = list(
        db.session.scalars(
            select(PatientProfile).where(
                PatientProfile.possible_duplicate_of_id == patient.id,
                PatientProfile.merged_into_id.is_(None),
            )
        )
    )
    if patient.possible_duplicate_of is not None:
        flagged.insert(0, patient.possible_duplicate_of)
    return flagged


def deliveries_for(patient: PatientProfile) -> list[WebhookEvent]:
    """The Cal.com deliveries that touched this patient, newest first."""
    return list(
        db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.patient_profile_id == patient.id)
            .order_by(WebhookEvent.received_at.desc())
            .limit(200)
        )
    )
