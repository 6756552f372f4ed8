"""``/patients/<id>/export`` (a patient's whole record, as a ZIP) and
``/patients/<id>/erase`` (admins: erase their personal data, after a typed confirmation)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.audit import trail
from webapp.auth.roles import admin_required
from webapp.extensions import db
from webapp.models import PatientProfile
from webapp.patients.views import NO_SUCH_PATIENT
from webapp.privacy.archive import export_file_name, export_zip
from webapp.privacy.erasure import (
    ErasureRefusedError,
    erase_patient,
    erasure_refusal,
    patient_label,
)

bp = Blueprint("privacy", __name__)
bp.add_app_template_filter(patient_label)
logger = logging.getLogger(__name__)


@bp.get("/patients/<int:patient_id>/export")
@login_required
def export(patient_id: int) -> Response:
    """Download the patient's whole record (``patient.json``, photos, ``fhir.json``) as a
    ZIP; records ``patient.exported``."""
    patient = _patient(patient_id)
    now = datetime.now(UTC)
    body = export_zip(patient, now)
    file_name = export_file_name(patient, now, "zip")
    trail.record("patient.exported", current_user, patient, {"format": "zip"})
    db.session.commit()
    logger.info("patient %s exported by consultant %s", patient.id, current_user.id)
    return Response(
        body,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )


@bp.get("/patients/<int:patient_id>/erase")
@admin_required
def confirm_erase(patient_id: int) -> str:
    """What erasing the patient removes and keeps, and the typed confirmation; or why the
    record cannot be erased now."""
    patient = _patient(patient_id)
    return _erase_page(patient)


@bp.post("/patients/<int:patient_id>/erase")
@admin_required
def erase(patient_id: int) -> Response | tuple[str, int]:
    """Erase the patient once the admin typed the patient's number; 400 without it, 409
    when the law keeps the record. Erasing an erased patient changes nothing."""
    patient = _patient(patient_id)
    if patient.erased_at is not None:
        flash(f"Patient #{patient.id} was erased already.", "info")
        return redirect(url_for("patients.show", patient_id=patient.id))
    if request.form.get("confirmation", "").strip().lstrip("#") != str(patient.id):
        error = f"Type the patient's number, {patient.id}, to confirm the erasure."
        return _erase_page(patient, error), 400
    try:
        erasure = erase_patient(patient, current_user, datetime.now(UTC))
    except ErasureRefusedError as refusal:
        db.session.rollback()
        return _erase_page(patient, str(refusal)), 409
    db.session.commit()
    logger.info(
        "patient %s erased by consultant %s (records %s)",
        patient.id,
        current_user.id,
        erasure.patient_ids if erasure else [patient.id],
    )
    flash(f"Patient #{patient.id} was erased. Their bookings' times and statuses stay.", "info")
    return redirect(url_for("patients.show", patient_id=patient.id))


def _erase_page(patient: PatientProfile, error: str | None = None) -> str:
    return render_template(
        "privacy/erase.html",
        patient=patient,
        refusal=erasure_refusal(patient, datetime.now(UTC)),
        error=error,
    )


def _patient(patient_id: int) -> PatientProfile:
    return db.get_or_404(PatientProfile, patient_id, description=NO_SUCH_PATIENT)
