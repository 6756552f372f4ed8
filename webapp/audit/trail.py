"""The audit trail: one append-only row per action worth answering for later.

``record`` appends; ``audit_page`` reads. Nothing here (or anywhere in the app) updates or
deletes a row, and the models refuse it (``_audit_is_append_only``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import AuditEvent, Consultant, PatientProfile, utcnow
from webapp.pages.paging import Page


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


PER_PAGE = 50
MAX_PAGE = 10_000


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events a page lists: all of them when every field is ``None``.

    ``start`` and ``end`` bound ``at`` (``start`` included, ``end`` excluded).
    """

    consultant_id: int | None = None
    action: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    patient_id: int | None = None


def audit_page(
    audit_filter: AuditFilter, page: int = 1
) -> Page[tuple[AuditEvent, Consultant | None]]:
    """The audit events ``audit_filter`` selects, newest first, ``PER_PAGE`` at a time."""
    conditions = []
    if audit_filter.consultant_id is not None:
        conditions.append(AuditEvent.consultant_id == audit_filter.consultant_id)
    if audit_filter.action:
        conditions.append(AuditEvent.action == audit_filter.action)
    if audit_filter.start is not None:
        conditions.append(AuditEvent.at >= audit_filter.start)
    if audit_filter.end is not None:
        conditions.append(AuditEvent.at < audit_filter.end)
    if audit_filter.patient_id is not None:
        conditions.append(AuditEvent.patient_profile_id == audit_filter.patient_id)
    total = db.session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = db.session.execute(
        select(AuditEvent, Consultant)
        .outerjoin(Consultant, Consultant.id == AuditEvent.consultant_id)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return Page([(event, consultant) for event, consultant in rows], total or 0, page, PER_PAGE)


def recorded_actions() -> list[str]:
    """Every action the trail holds, for the clinic page's filter."""
    return list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )
