"""``GET /patients/<id>``: everything the clinic knows about one patient."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, WebhookEvent

bp = Blueprint("patients", __name__)


@bp.get("/patients/<int:patient_id>")
@login_required
def show(patient_id: int) -> str:
    """Profile, consultations with their reschedule chain, answers and deliveries.

    The questionnaire's section comes from the questionnaire package's own fragment.
    """
    patient = db.session.get(PatientProfile, patient_id)
    if patient is None:
        abort(404, "There is no patient with this number.")
    consultations = patient_consultations(patient)
    return render_template(
        "patients/show.html",
        patient=patient,
        consultations=consultations,
        rescheduled_from={c.rescheduled_to_id: c for c in consultations if c.rescheduled_to_id},
        possible_duplicates=possible_duplicates(patient),
        deliveries=deliveries_for(patient),
    )


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
            select(PatientProfile).where(PatientProfile.possible_duplicate_of_id == patient.id)
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
