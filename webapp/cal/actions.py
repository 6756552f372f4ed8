"""A consultant acts on a booking in Cal.com through API v2: confirm or decline a request,
cancel, ask the patient to reschedule, and mark who did not come (``mark-absent``).

Cal.com's state wins. Each action calls Cal.com, then reads the booking back and applies it
with ``apply_event``, through the same ``booking_events`` that ``cal reconcile`` applies,
so an action never writes a consultation's status another way and the delivery Cal.com
sends afterwards changes nothing more. What Cal.com keeps but its API does not show is
added to the events read back: the reason given for a decline or for one seat's
cancellation, and that a cancellation asks the patient for a new time.

An action goes in three steps, so that no database transaction is open while Cal.com
answers (SQLite holds its write lock for a whole transaction): ``plan_action`` reads our
record (is the action offered, is the reason typed); ``ask_cal_com`` only talks to
Cal.com; ``apply_answer`` applies what it read back and records the action in the audit
trail. Repeats do no harm: an action our record shows done is not sent again, and Cal.com's
400 to a repeat is read back and shown as done when the booking is in the wanted state.
Functions here flush; the caller commits.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from webapp.audit.trail import record
from webapp.cal.api import CalApi, CalApiError
from webapp.cal.events import (
    CALLING_OFF_TRIGGERS,
    UnknownBookingError,
    apply_event,
    attendee_email,
    event_time,
)
from webapp.cal.payload import Booking, PayloadError
from webapp.cal.reconcile import booking_events
from webapp.database.conflicts import ConflictError
from webapp.extensions import db
from webapp.models import Consultant, Consultation, ConsultationStatus
from webapp.pages.filters import local_time
from webapp.patients.contact import InvalidContactError

MAX_REASON_LENGTH = 1000
# What Cal.com answers when it will not change a no-show flag (access denied among others).
NO_SHOW_REFUSED = "Failed to update no-show status"
NOT_APPLIED = (PayloadError, InvalidContactError, ConflictError, UnknownBookingError)


class BookingAction(enum.StrEnum):
    """What a consultant may ask Cal.com to do with a booking."""

    CONFIRM = "confirm"
    DECLINE = "decline"
    CANCEL = "cancel"
    REQUEST_RESCHEDULE = "request-reschedule"
    MARK_NO_SHOW = "mark-no-show"
    MARK_ATTENDED = "mark-attended"
    MARK_HOST_ABSENT = "mark-host-absent"


class Outcome(enum.StrEnum):
    """How an action ended, as the audit trail records it."""

    DONE = "done"  # Cal.com did it, and the booking read back shows it
    ALREADY = "already"  # Cal.com refused a repeat: the booking was in that state already
    REFUSED = "refused"  # Cal.com refused it
    RATE_LIMITED = "rate_limited"  # Cal.com's rate limit is used up
    UNANSWERED = "unanswered"  # Cal.com did not answer in time (or failed)
    NOT_READ_BACK = "not_read_back"  # Cal.com did it; reading it back failed
    UNCHANGED = "unchanged"  # Cal.com answered yes, but its booking shows no change
    SEAT_NOT_SHOWN = "seat_not_shown"  # Cal.com does not show the seat to cancel


# The answer a consultant's request gets for each outcome.
HTTP_STATUS = {
    Outcome.DONE: 200,
    Outcome.ALREADY: 200,
    Outcome.NOT_READ_BACK: 202,
    Outcome.REFUSED: 409,
    Outcome.UNCHANGED: 409,
    Outcome.SEAT_NOT_SHOWN: 409,
    Outcome.RATE_LIMITED: 429,
    Outcome.UNANSWERED: 504,
}


@dataclass(frozen=True)
class ReasonStep:
    """What an action that emails the patient a reason asks of the consultant: the
    reason's label, then a step that shows what Cal.com will send before it is sent (the
    question, what Cal.com does, the button that goes ahead)."""

    label: str
    question: str
    consequence: str
    go_ahead: str


@dataclass(frozen=True)
class ActionKind:
    """One action: its words, the audit action it records, its call to Cal.com, when our
    record offers it, when our record shows it done, and the reason it asks for."""

    label: str
    busy: str  # shown on the button while Cal.com answers
    done: str  # said when Cal.com did it
    already: str  # said when the booking was in that state already
    audit: str
    endpoint: str
    offered: Callable[[Consultation, datetime], bool]
    is_done: Callable[[Consultation], bool]
    reason: ReasonStep | None = None


def _started(consultation: Consultation, now: datetime) -> bool:
    return consultation.start_time is not None and consultation.start_time < now


def _not_ended(consultation: Consultation, now: datetime) -> bool:
    return consultation.end_time is None or consultation.end_time > now


def _is(*statuses: ConsultationStatus) -> Callable[[Consultation], bool]:
    return lambda consultation: consultation.status in statuses


BOOKED = (ConsultationStatus.SCHEDULED, ConsultationStatus.PENDING)
MET_OR_MISSED = (
    ConsultationStatus.SCHEDULED,
    ConsultationStatus.COMPLETED,
    ConsultationStatus.NO_SHOW,
)
ACTIONS = {
    BookingAction.CONFIRM: ActionKind(
        label="Confirm",
        busy="Confirming…",
        done="Confirmed in Cal.com.",
        already="Cal.com had confirmed this booking already.",
        audit="consultation.confirmed",
        endpoint="confirm",
        offered=lambda c, now: c.status == ConsultationStatus.PENDING,
        is_done=_is(*MET_OR_MISSED),
    ),
    BookingAction.DECLINE: ActionKind(
        label="Decline",
        busy="Declining…",
        done="Declined in Cal.com.",
        already="Cal.com had declined this booking already.",
        audit="consultation.declined",
        endpoint="decline",
        offered=lambda c, now: c.status == ConsultationStatus.PENDING and not c.seat_key,
        is_done=_is(ConsultationStatus.REJECTED),
        reason=ReasonStep(
            label="Reason for declining, sent to the patient",
            question="Decline this booking request in Cal.com?",
            consequence=(
                "Cal.com emails the patient that the request was declined, with this reason:"
            ),
            go_ahead="Decline the request",
        ),
    ),
    BookingAction.CANCEL: ActionKind(
        label="Cancel",
        busy="Cancelling…",
        done="Cancelled in Cal.com.",
        already="Cal.com had cancelled this booking already.",
        audit="consultation.cancelled",
        endpoint="cancel",
        offered=lambda c, now: c.status in BOOKED and _not_ended(c, now),
        is_done=_is(ConsultationStatus.CANCELLED),
        reason=ReasonStep(
            label="Reason for cancelling, sent to the patient",
            question="Cancel this booking in Cal.com?",
            consequence="Cal.com cancels it and emails the patient. The reason:",
            go_ahead="Cancel the booking",
        ),
    ),
    BookingAction.REQUEST_RESCHEDULE: ActionKind(
        label="Ask to reschedule",
        busy="Asking…",
        done="Cal.com cancelled the booking and emailed the patient a link to choose a new time.",
        already="Cal.com had asked the patient for a new time already.",
        audit="consultation.reschedule_requested",
        endpoint="request-reschedule",
        offered=lambda c, now: (
            c.status == ConsultationStatus.SCHEDULED and not c.seat_key and _not_ended(c, now)
        ),
        is_done=lambda c: c.reschedule_requested_at is not None,
        reason=ReasonStep(
            label="Reason for a new time, sent to the patient",
            question="Ask the patient to choose a new time?",
            consequence=(
                "Cal.com cancels this booking and emails the patient a link to book again, "
                "with this reason:"
            ),
            go_ahead="Cancel and ask for a new time",
        ),
    ),
    BookingAction.MARK_NO_SHOW: ActionKind(
        label="Mark no-show",
        busy="Marking…",
        done="Marked as a no-show in Cal.com.",
        already="Cal.com had this patient as a no-show already.",
        audit="consultation.marked_absent",
        endpoint="mark-absent",
        offered=lambda c, now: (
            c.status in (ConsultationStatus.SCHEDULED, ConsultationStatus.COMPLETED)
            and _started(c, now)
        ),
        is_done=_is(ConsultationStatus.NO_SHOW),
    ),
    BookingAction.MARK_ATTENDED: ActionKind(
        label="Mark attended",
        busy="Marking…",
        done="Marked as attended in Cal.com.",
        already="Cal.com had this patient as attended already.",
        audit="consultation.marked_absent",
        endpoint="mark-absent",
        offered=lambda c, now: c.status == ConsultationStatus.NO_SHOW and _started(c, now),
        is_done=_is(ConsultationStatus.SCHEDULED, ConsultationStatus.COMPLETED),
    ),
    BookingAction.MARK_HOST_ABSENT: ActionKind(
        label="Consultant did not join",
        busy="Marking…",
        done="Cal.com now has the consultant as absent.",
        already="Cal.com had the consultant as absent already.",
        audit="consultation.marked_absent",
        endpoint="mark-absent",
        offered=lambda c, now: (
            c.status in MET_OR_MISSED and _started(c, now) and c.host_no_show_at is None
        ),
        is_done=lambda c: c.host_no_show_at is not None,
    ),
}
# What cancelling one seat means, said instead of ``CANCEL``'s consequence.
SEAT_CONSEQUENCE = (
    "Cal.com cancels only this patient's seat and emails them. It takes no reason for a "
    "seat, so this reason is kept here only:"
)


class NotSentError(Exception):
    """The action is not sent to Cal.com: our record shows it done already (``status``
    200), does not offer it now (409), or the reason is missing or too long (400). The
    message says which, for the consultant."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ActionPlan:
    """What carrying out an action needs from our record, as plain values: nothing is read
    from the database while Cal.com answers."""

    action: BookingAction
    consultation_id: int
    uid: str
    seat_key: str
    attendee: str | None
    organizer: str
    reason: str | None


@dataclass(frozen=True)
class Confirmation:
    """The step that shows a consultant what Cal.com will send the patient before it is
    sent: the action, its step's words, the reason typed, and the button's words while
    Cal.com answers."""

    action: BookingAction
    step: ReasonStep
    reason: str
    busy: str


@dataclass(frozen=True)
class CalAnswer:
    """What Cal.com answered: how it ended, its status and own words, the booking read
    back (when it was), and for a 429 how long until the limit resets."""

    outcome: Outcome
    status: int | None = None
    message: str = ""
    booking: dict[str, Any] | None = None
    reset_seconds: float | None = None


@dataclass(frozen=True)
class ActionResult:
    """What the consultant is told, and the HTTP status to answer with."""

    outcome: Outcome
    message: str
    status: int
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the booking is now as the consultant asked."""
        return self.outcome in (Outcome.DONE, Outcome.ALREADY)


def offered_actions(consultation: Consultation, now: datetime) -> list[BookingAction]:
    """The actions our record of ``consultation`` offers at ``now``, in the order a page
    shows them."""
    return [action for action, kind in ACTIONS.items() if kind.offered(consultation, now)]


def status_label(consultation: Consultation) -> str:
    """How a consultation's status reads for people: "Scheduled", "No show"..., and
    "Reschedule requested" for a booking Cal.com cancelled asking the patient for a new
    time, until the patient's new booking replaces it. The one wording of a status for
    pages, exports and charts."""
    if (
        consultation.status == ConsultationStatus.CANCELLED
        and consultation.reschedule_requested_at is not None
    ):
        return "Reschedule requested"
    return consultation.status.replace("_", " ").capitalize()


def plan_action(
    consultation: Consultation, action: BookingAction, reason: str | None, now: datetime
) -> ActionPlan:
    """What ``action`` on ``consultation`` sends Cal.com, checked against our record.

    Raises ``NotSentError`` when our record shows the action done already, does not offer it
    at ``now``, or when an action that emails the patient has no reason (or one longer
    than ``MAX_REASON_LENGTH``).
    """
    kind = ACTIONS[action]
    if kind.is_done(consultation):
        raise NotSentError(kind.already, 200)
    if not kind.offered(consultation, now):
        raise NotSentError(
            f"{kind.label} is not possible for this booking now ({status_label(consultation)}).",
            409,
        )
    reason = (reason or "").strip() or None
    if kind.reason is not None and reason is None:
        raise NotSentError("Type the reason Cal.com sends the patient.", 400)
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise NotSentError(f"The reason is longer than {MAX_REASON_LENGTH} characters.", 400)
    return ActionPlan(
        action=action,
        consultation_id=consultation.id,
        uid=consultation.cal_booking_uid,
        seat_key=consultation.seat_key,
        attendee=attendee_email(consultation),
        organizer=_organizer(consultation),
        reason=reason if kind.reason is not None else None,
    )


def confirmation(plan: ActionPlan) -> Confirmation | None:
    """The confirmation step the planned action needs; ``None`` for one that emails the
    patient no reason."""
    kind = ACTIONS[plan.action]
    if kind.reason is None or plan.reason is None:
        return None
    step = kind.reason
    if plan.action == BookingAction.CANCEL and plan.seat_key:
        step = replace(step, consequence=SEAT_CONSEQUENCE)
    return Confirmation(plan.action, step, plan.reason, kind.busy)


def ask_cal_com(plan: ActionPlan, api: CalApi) -> CalAnswer:
    """Send the planned action to Cal.com and read the booking back; touches no database.

    A seat is cancelled by its ``seatUid`` alone and an attendee marked by the email
    Cal.com lists, both read from the booking first. On a 400 the booking is read back
    too: the action may have been done already.
    """
    try:
        shown = api.booking(plan.uid) if _reads_first(plan) else None
        if _reads_first(plan) and shown is None:
            return CalAnswer(Outcome.REFUSED, 404)
        body = _body(plan, shown)
        if body is None:
            return CalAnswer(Outcome.SEAT_NOT_SHOWN)
        api.act(plan.uid, ACTIONS[plan.action].endpoint, body)
    except CalApiError as exc:
        if exc.status != 400:
            return _failure(exc)
        return _read_back(plan, api, CalAnswer(Outcome.REFUSED, 400, exc.cal_message))
    return _read_back(plan, api, CalAnswer(Outcome.DONE, 200))


def apply_answer(
    plan: ActionPlan, answer: CalAnswer, consultant: Consultant, now: datetime
) -> ActionResult:
    """Apply the booking Cal.com showed after the action (``apply_event``, as a delivery
    would), record the action in the audit trail with Cal.com's answer, and say what
    happened. Our record changes only by what Cal.com's booking shows. Flushes.
    """
    consultation = db.session.get_one(Consultation, plan.consultation_id)
    kind = ACTIONS[plan.action]
    outcome = answer.outcome
    if answer.booking is not None:
        applied = _apply(plan, answer.booking, outcome == Outcome.DONE, now)
        if outcome == Outcome.DONE and not applied:
            outcome = Outcome.NOT_READ_BACK
        elif outcome == Outcome.DONE and not kind.is_done(consultation):
            outcome = Outcome.UNCHANGED
        elif outcome == Outcome.REFUSED and kind.is_done(consultation):
            outcome = Outcome.ALREADY
    result = _result(plan, kind, outcome, answer, consultant, now)
    details: dict[str, Any] = {
        "consultation_id": plan.consultation_id,
        "booking_uid": plan.uid,
        "outcome": outcome.value,
        "cal_status": answer.status,
    }
    if answer.message:
        details["cal_message"] = answer.message
    if kind.endpoint == "mark-absent":
        details |= {
            "who": "host" if plan.action == BookingAction.MARK_HOST_ABSENT else "attendee",
            "absent": plan.action != BookingAction.MARK_ATTENDED,
        }
    if plan.seat_key:
        details["seat"] = True
    record(kind.audit, consultant, consultation.patient, details)
    return result


def _organizer(consultation: Consultation) -> str:
    """Whose Cal.com account must own the API key: the booking's organizer, in words."""
    name, email = consultation.organizer_name, consultation.organizer_email
    if name and email:
        return f"{name} ({email})"
    return name or email or "the booking's organizer"


def _reads_first(plan: ActionPlan) -> bool:
    """Whether the action needs Cal.com's own words from the booking before it is sent:
    a seat's uid, or an attendee's email as Cal.com keeps it."""
    return plan.action in (BookingAction.MARK_NO_SHOW, BookingAction.MARK_ATTENDED) or (
        plan.action == BookingAction.CANCEL and bool(plan.seat_key)
    )


def _body(plan: ActionPlan, shown: dict[str, Any] | None) -> dict[str, Any] | None:
    """What Cal.com's endpoint takes for the action, given the booking ``shown`` first
    (``_reads_first``); ``None`` when the seat to cancel is not shown."""
    action = plan.action
    if action == BookingAction.CANCEL and plan.seat_key:
        # Cal.com refuses a reason beside the seat's uid: the reason stays in our record.
        seat = _attendee(shown, plan.seat_key)
        seat_uid = seat.get("seatUid") if seat else None
        return {"seatUid": seat_uid} if isinstance(seat_uid, str) and seat_uid else None
    if action in (BookingAction.MARK_NO_SHOW, BookingAction.MARK_ATTENDED):
        person = _attendee(shown, plan.attendee)
        email = person.get("email") if person else plan.attendee
        return {"attendees": [{"email": email, "absent": action == BookingAction.MARK_NO_SHOW}]}
    return {
        BookingAction.CONFIRM: {},
        BookingAction.DECLINE: {"reason": plan.reason},
        BookingAction.CANCEL: {"cancellationReason": plan.reason},
        BookingAction.REQUEST_RESCHEDULE: {"rescheduleReason": plan.reason},
        BookingAction.MARK_HOST_ABSENT: {"host": True},
    }[action]


def _attendee(booking: dict[str, Any] | None, email: str | None) -> dict[str, Any] | None:
    """The attendee of Cal.com's ``booking`` with ``email`` (in any case), if it shows one."""
    for person in (booking or {}).get("attendees") or []:
        listed = person.get("email") if isinstance(person, dict) else None
        if email and isinstance(listed, str) and listed.strip().casefold() == email.casefold():
            return person
    return None


def _read_back(plan: ActionPlan, api: CalApi, answer: CalAnswer) -> CalAnswer:
    """``answer`` with the booking as Cal.com shows it now; a failed read after Cal.com
    did the action leaves it done but not read back."""
    try:
        booking = api.booking(plan.uid)
    except CalApiError as exc:
        return answer if answer.outcome == Outcome.REFUSED else _not_read_back(answer, exc)
    if booking is None:
        return answer if answer.outcome == Outcome.REFUSED else _not_read_back(answer, None)
    return replace(answer, booking=booking)


def _not_read_back(answer: CalAnswer, exc: CalApiError | None) -> CalAnswer:
    return replace(answer, outcome=Outcome.NOT_READ_BACK, message=exc.cal_message if exc else "")


def _failure(exc: CalApiError) -> CalAnswer:
    """How a refused or unanswered call ended."""
    if exc.status == 429:
        return CalAnswer(
            Outcome.RATE_LIMITED, 429, exc.cal_message, reset_seconds=exc.reset_seconds
        )
    if exc.status is None or (exc.status >= 500 and exc.cal_message != NO_SHOW_REFUSED):
        return CalAnswer(Outcome.UNANSWERED, exc.status, exc.cal_message or str(exc))
    return CalAnswer(Outcome.REFUSED, exc.status, exc.cal_message)


def _apply(plan: ActionPlan, booking: dict[str, Any], done: bool, now: datetime) -> bool:
    """Apply Cal.com's ``booking`` as ``cal reconcile`` would; when Cal.com ``done`` the
    action, with what it keeps and does not show. Whether it could be applied (a booking
    that hides its seats names no one)."""
    label = f"cal action {plan.action} consultation {plan.consultation_id}"
    try:
        for event in booking_events(booking, now):
            kept = _with_what_cal_com_keeps(event, plan) if done else event
            apply_event(kept, event_time(kept, now), label)
    except NOT_APPLIED:
        return False
    return True


def _with_what_cal_com_keeps(event: Booking, plan: ActionPlan) -> Booking:
    """The event that calls off this consultation, with what Cal.com keeps of the action
    but its API does not show: the reason given for a decline or a seat's cancellation,
    and that the cancellation asks the patient for a new time."""
    if event.trigger not in CALLING_OFF_TRIGGERS or event.seat_key != plan.seat_key:
        return event
    if plan.action == BookingAction.REQUEST_RESCHEDULE:
        return replace(event, reschedule_requested=True)
    if plan.reason and not event.cancellation_reason:
        return replace(event, cancellation_reason=plan.reason)
    return event


def _result(
    plan: ActionPlan,
    kind: ActionKind,
    outcome: Outcome,
    answer: CalAnswer,
    consultant: Consultant,
    now: datetime,
) -> ActionResult:
    """What the consultant reads: what happened, in words, and the status to answer."""
    status = HTTP_STATUS[outcome]
    if outcome == Outcome.DONE:
        return ActionResult(outcome, kind.done, status)
    if outcome == Outcome.ALREADY:
        return ActionResult(outcome, kind.already, status)
    if outcome == Outcome.NOT_READ_BACK:
        return ActionResult(
            outcome,
            f"{kind.done} Cal.com did not show the booking afterwards, so it changes here "
            "when Cal.com's delivery or the next reconciliation brings it.",
            status,
        )
    if outcome == Outcome.UNCHANGED:
        return ActionResult(
            outcome,
            "Cal.com answered yes, but the booking it shows has not changed; check it in Cal.com.",
            status,
        )
    if outcome == Outcome.SEAT_NOT_SHOWN:
        return ActionResult(
            outcome,
            "Cal.com does not show this booking's seats to the API key's account, so this "
            f"seat cannot be cancelled from here. Cancel this patient's seat in Cal.com "
            f"(booking {plan.uid}); nothing was changed.",
            status,
        )
    if outcome == Outcome.RATE_LIMITED:
        wait = max(1, round(answer.reset_seconds or 60))
        reset = local_time(now + timedelta(seconds=wait), consultant.timezone, "%H:%M:%S")
        return ActionResult(
            outcome,
            f"Cal.com's rate limit is used up; nothing was changed. Try again after {reset} "
            f"(in {wait} s).",
            status,
            retry_after=wait,
        )
    if outcome == Outcome.UNANSWERED:
        return ActionResult(
            outcome, "Cal.com did not answer; nothing was changed. Try again.", status
        )
    return ActionResult(outcome, _refusal(plan, answer), status)


def _refusal(plan: ActionPlan, answer: CalAnswer) -> str:
    """A refusal in words: a wrong key, an account without rights (naming the account that
    must own the key), a booking gone from Cal.com, or Cal.com's own message."""
    quoted = f" (“{answer.message}”)" if answer.message else ""
    owner = (
        f"The key must belong to the booking's organizer, {plan.organizer}, or to an admin "
        "of their team or organization."
    )
    if answer.status in (401, 403) and "api key" in answer.message.lower():
        return f"Cal.com refused the API key{quoted}: CAL_API_KEY is wrong or expired. {owner}"
    if answer.status in (401, 403):
        return (
            f"Cal.com refused: the API key's account may not change this booking{quoted}. {owner}"
        )
    if answer.message == NO_SHOW_REFUSED:
        return f"Cal.com refused to change who attended{quoted}. {owner}"
    if answer.status == 404:
        return "This booking is no longer in Cal.com; nothing was changed."
    if answer.booking is not None:
        return f"Cal.com refused{quoted}. The booking shows here as Cal.com has it now."
    return f"Cal.com refused{quoted}; nothing was changed."
