"""A consultant says how a past booking went: completed, the patient did not come (or came
after all), or the consultant did not join.

"Mark completed" is the clinic's own record. With an API key the others are marked in
Cal.com (``mark-absent``, through ``webapp.cal.actions``), so its no-show data, emails and
workflows agree with ours; without one, "Mark no-show" is the clinic's own record too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from webapp.audit.trail import record
from webapp.cal.actions import ACTIONS, BookingAction
from webapp.cal.events import change_status
from webapp.models import Consultant, Consultation, ConsultationStatus

# What a consultant may mark a past booking as in the clinic's own record.
OUTCOMES = {
    ConsultationStatus.COMPLETED: "Mark completed",
    ConsultationStatus.NO_SHOW: "Mark no-show",
}
# With an API key, the outcomes marked in Cal.com, by the form's value.
IN_CAL_COM = {
    "no_show": BookingAction.MARK_NO_SHOW,
    "attended": BookingAction.MARK_ATTENDED,
    "host_absent": BookingAction.MARK_HOST_ABSENT,
}


class NotMarkableError(ValueError):
    """The booking has not started yet, or is no longer simply scheduled."""


@dataclass(frozen=True)
class OutcomeChoice:
    """One outcome a page offers: the form's value, the button's words and the words
    while it is marked."""

    value: str
    label: str
    busy: str = "Marking…"


def is_markable(consultation: Consultation, now: datetime) -> bool:
    """Whether a consultant may mark the booking's outcome: it started before ``now`` and
    Cal.com still has it as scheduled."""
    return (
        consultation.status == ConsultationStatus.SCHEDULED
        and consultation.start_time is not None
        and consultation.start_time < now
    )


def outcomes_offered(
    consultation: Consultation, now: datetime, in_cal_com: bool
) -> list[OutcomeChoice]:
    """The outcomes a consultant may mark on the booking at ``now``: completed and no-show
    on a past booking still scheduled, or, marked in Cal.com (``in_cal_com``), no-show,
    attended again after a no-show and the consultant's absence as Cal.com's rules allow."""
    choices = []
    if is_markable(consultation, now):
        choices.append(OutcomeChoice(ConsultationStatus.COMPLETED.value, "Mark completed"))
    if not in_cal_com:
        if is_markable(consultation, now):
            choices.append(OutcomeChoice(ConsultationStatus.NO_SHOW.value, "Mark no-show"))
        return choices
    for value, action in IN_CAL_COM.items():
        kind = ACTIONS[action]
        if kind.offered(consultation, now):
            choices.append(OutcomeChoice(value, kind.label, kind.busy))
    return choices


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
