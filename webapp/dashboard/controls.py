"""The buttons a page shows on a booking: the actions in Cal.com, then the outcomes to mark.

The dashboard's row and the patient page show the same buttons
(templates/dashboard/_booking_actions.html); which ones, and where each posts, is decided
here from our record of the booking at the time the page is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, url_for

from webapp.cal.actions import ACTIONS, BookingAction, offered_actions
from webapp.dashboard.attendance import outcomes_offered
from webapp.models import Consultation

# The actions on a booking that have a route of their own (the others are outcomes).
ROUTED_ACTIONS = (
    BookingAction.CONFIRM,
    BookingAction.DECLINE,
    BookingAction.CANCEL,
    BookingAction.REQUEST_RESCHEDULE,
)


@dataclass(frozen=True)
class Control:
    """A button that acts on a booking: its words, where it posts, the outcome it marks
    (for ``/outcome``), and the label of the reason Cal.com emails the patient, when it
    asks for one."""

    key: str
    label: str
    busy: str
    url: str
    outcome: str | None = None
    reason_label: str | None = None


def cal_actions_on() -> bool:
    """Whether consultants act on bookings in Cal.com: an API key is set."""
    return bool(current_app.config["CAL_API_KEY"])


def booking_controls(consultation: Consultation) -> list[Control]:
    """The buttons a page shows for a booking now: its actions in Cal.com (with an API
    key), then the outcomes to mark."""
    now = datetime.now(UTC)
    controls = []
    if cal_actions_on():
        for action in offered_actions(consultation, now):
            if action in ROUTED_ACTIONS:
                kind = ACTIONS[action]
                url = url_for("dashboard.act", consultation_id=consultation.id, action=action)
                reason_label = kind.reason.label if kind.reason else None
                controls.append(Control(action, kind.label, kind.busy, url, None, reason_label))
    marking = url_for("dashboard.mark", consultation_id=consultation.id)
    for choice in outcomes_offered(consultation, now, cal_actions_on()):
        controls.append(Control(choice.value, choice.label, choice.busy, marking, choice.value))
    return controls
