"""A consultant says how a past booking went: completed, or the patient did not come."""

from __future__ import annotations

from datetime import datetime

from webapp.audit.trail import record
from webapp.cal.events import change_status
from webapp.models import Consultant, Consultation, ConsultationStatus

# What a consultant may mark a past booking as.
OUTCOMES = {
    ConsultationStatus.COMPLETED: "Mark completed",
    ConsultationStatus.NO_SHOW: "Mark no-show",
}


class NotMarkableError(ValueError):
    """The booking has not started yet, or is no longer simply scheduled."""


def is_markable(consultation: Consultation, now: datetime) -> bool:
    """Whether a consultant may mark the booking's outcome: it started before ``now`` and
    Cal.com still has it as scheduled."""
    return (
        consultation.status == ConsultationStatus.SCHEDULED
        and consultation.start_time is not None
        and consultation.start_time < now
    )


def mark_outcome(
    consultation: Consultation,
    outcome: ConsultationStatus,
    consultant: Consultant,
    now: datetime,
) -> None:
    """Set a past booking's status to ``outcome`` as an event happening at ``now``, so a
    later Cal.com event still follows the lifecycle rules (``change_status``), and record
    it in the audit trail. Flushes; the caller commits.

    Raises ``NotMarkableError`` when ``is_markable`` says no, and ``ValueError`` for an
    outcome not in ``OUTCOMES``.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"not an outcome a consultant marks: {outcome!r}")
    if not is_markable(consultation, now):
        raise NotMarkableError("only a past booking still scheduled can be marked")
    before = consultation.status
    change_status(consultation, outcome, now)
    record(
        "consultation.status_changed",
        consultant,
        consultation.patient,
        {"consultation_id": consultation.id, "from": before, "to": outcome.value},
    )
