"""The consultant's assessment after the consultation: what each field may hold, the graft
range each grade suggests, and recording a new version.

Graft ranges are Bernstein Medical's first-session ranges for each Norwood-Hamilton grade
(the crown's, where it is part of the grade, in ``CROWN_GRAFTS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.audit.trail import record
from webapp.dashboard.changes import consultations_changed
from webapp.extensions import db
from webapp.models import Assessment, Consultant, Consultation, PatientProfile, utcnow
from webapp.treatment.stage import refresh_stage

NORWOOD = {
    "norwood_1": "Norwood I",
    "norwood_2": "Norwood II",
    "norwood_2a": "Norwood IIa",
    "norwood_3": "Norwood III",
    "norwood_3a": "Norwood IIIa",
    "norwood_3v": "Norwood III vertex",
    "norwood_4": "Norwood IV",
    "norwood_4a": "Norwood IVa",
    "norwood_5": "Norwood V",
    "norwood_5a": "Norwood Va",
    "norwood_6": "Norwood VI",
    "norwood_7": "Norwood VII",
}
LUDWIG = {"ludwig_1": "Ludwig I", "ludwig_2": "Ludwig II", "ludwig_3": "Ludwig III"}
NOT_ASSESSED = "not_assessed"
PATTERNS = {**NORWOOD, **LUDWIG, NOT_ASSESSED: "Not assessed"}
# Bernstein Medical's first-session graft ranges per grade (min, max).
SUGGESTED_GRAFTS = {
    "norwood_2a": (800, 1400),
    "norwood_3": (1000, 1600),
    "norwood_3v": (1200, 1600),
    "norwood_3a": (1400, 1800),
    "norwood_4": (1600, 2200),
    "norwood_4a": (1800, 2400),
    "norwood_5": (2000, 2500),
    "norwood_5a": (2200, 2800),
    "norwood_6": (2400, 3000),
    "norwood_7": (2500, 3200),
}
# The same table's ranges when the crown is treated too.
CROWN_GRAFTS = {
    "norwood_3v": (1600, 2200),
    "norwood_4": (2200, 2600),
    "norwood_5": (2500, 2800),
    "norwood_6": (2800, 3400),
    "norwood_7": (3000, 3600),
}
DONOR_QUALITIES = {"good": "Good", "moderate": "Moderate", "poor": "Poor"}
TECHNIQUES = {"fue": "FUE", "sapphire_fue": "Sapphire FUE", "dhi": "DHI", "fut": "FUT"}
NOT_A_CANDIDATE = "not_candidate"
TECHNIQUE_CHOICES = {**TECHNIQUES, NOT_A_CANDIDATE: "Not a candidate"}
SUITABILITIES = {
    "suitable": "Suitable",
    "after_medical_treatment": "Suitable after medical treatment",
    "not_suitable": "Not suitable",
}
NOT_SUITABLE = "not_suitable"
# Bounds a graft estimate must keep (a single session holds no more than this).
MAX_GRAFTS = 8000
# Donor densities a person may have, in FU/cm2.
MAX_DENSITY = 200


@dataclass(frozen=True)
class AssessmentDraft:
    """What the consultant entered, checked by the form."""

    pattern: str
    donor_quality: str
    donor_density: int | None
    grafts_min: int | None
    grafts_max: int | None
    technique: str
    suitability: str
    unsuitable_reason: str | None
    recommendations: str


def record_assessment(
    patient: PatientProfile,
    draft: AssessmentDraft,
    consultant: Consultant,
    consultation: Consultation | None = None,
    now: datetime | None = None,
) -> Assessment:
    """Record an assessment of the patient: a new version replacing their current one, which
    stays. Audits ``assessment.recorded`` (ids only), refreshes the stage and the open
    dashboards. Flushes; the caller commits."""
    now = now or utcnow()
    current = current_assessment(patient)
    if consultation is None and current is not None:
        consultation = (
            db.session.get(Consultation, current.consultation_id)
            if current.consultation_id
            else None
        )
    assessment = Assessment(
        patient_profile_id=patient.id,
        consultation_id=consultation.id if consultation is not None else None,
        consultant_id=consultant.id,
        created_at=now,
        replaces_id=current.id if current is not None else None,
        pattern=draft.pattern,
        donor_quality=draft.donor_quality,
        donor_density=draft.donor_density,
        grafts_min=draft.grafts_min,
        grafts_max=draft.grafts_max,
        technique=draft.technique,
        suitability=draft.suitability,
        unsuitable_reason=draft.unsuitable_reason if draft.suitability == NOT_SUITABLE else None,
        recommendations=draft.recommendations,
    )
    db.session.add(assessment)
    db.session.flush()
    record(
        "assessment.recorded",
        consultant,
        patient,
        {"assessment_id": assessment.id, "replaces_id": assessment.replaces_id},
    )
    refresh_stage(patient, now)
    consultations_changed(patient.id)
    return assessment


def current_assessment(patient: PatientProfile) -> Assessment | None:
    """The patient's assessment that nothing replaces yet."""
    replaced = select(Assessment.replaces_id).where(Assessment.replaces_id.is_not(None))
    return db.session.scalar(
        select(Assessment)
        .where(Assessment.patient_profile_id == patient.id, Assessment.id.not_in(replaced))
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(1)
    )


def assessment_versions(patient: PatientProfile) -> list[Assessment]:
    """Every version of the patient's assessment, newest first."""
    return list(
        db.session.scalars(
            select(Assessment)
            .where(Assessment.patient_profile_id == patient.id)
            .options(selectinload(Assessment.consultant))
            .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        )
    )
