"""The audit trail: one append-only row per action worth answering for later."""

from __future__ import annotations

from typing import Any

from webapp.extensions import db
from webapp.models import AuditEvent, Consultant, PatientProfile, utcnow


def record(
    action: str,
    consultant: Consultant | None,
    patient: PatientProfile | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event and flush it; the caller commits.

    ``action`` is dotted (``delivery.replayed``); ``consultant`` is ``None`` when the system
    acted. ``details`` carries ids and outcomes, never a patient's name, email, phone or
    answers.
    """
    audit = AuditEvent(
        at=utcnow(),
        consultant_id=consultant.id if consultant is not None else None,
        action=action,
        patient_profile_id=patient.id if patient is not None else None,
        details=details,
    )
    db.session.add(audit)
    db.session.flush()
    return audit
