"""Apply one booking event to the clinic's records: patient, consultation and its status.

Events can arrive in any order and more than once. Each consultation remembers when the
event that set its status happened (``status_changed_at``); a status replaces another only
when it is at least as final and not older (``status_order``), so any order of the same
events ends in the same state.
Functions here flush; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from webapp.cal.payload import Booking
from webapp.extensions import db
from webapp.models import (
    Consultation,
    ConsultationStatus,
    EventStatus,
    PatientProfile,
    WebhookEvent,
)
from webapp.patients.contact import ContactDetails
from webapp.patients.matching import fill_missing_details, find_or_create_patient
from webapp.questionnaire.submissions import attach_pending_answers

# The status a trigger gives the booking it names.
TRIGGER_STATUS = {
    "BOOKING_CREATED": ConsultationStatus.SCHEDULED,
    "BOOKING_REQUESTED": ConsultationStatus.PENDING,
    "BOOKING_RESCHEDULED": ConsultationStatus.SCHEDULED,
    "BOOKING_CANCELLED": ConsultationStatus.CANCELLED,
    "BOOKING_REJECTED": ConsultationStatus.REJECTED,
    "MEETING_ENDED": ConsultationStatus.COMPLETED,
    "BOOKING_NO_SHOW_UPDATED": ConsultationStatus.NO_SHOW,
}
# Statuses a no-show update may replace: not a called-off or replaced booking.
MET_OR_MISSED_OR_BOOKED = {
    ConsultationStatus.SCHEDULED,
    ConsultationStatus.PENDING,
    ConsultationStatus.COMPLETED,
    ConsultationStatus.NO_SHOW,
}
# Triggers Cal.com may send several times for one booking, each time with news.
REPEATABLE_TRIGGERS = {"BOOKING_NO_SHOW_UPDATED"}
# Triggers whose booking may replace an earlier one (``rescheduleUid``).
RESCHEDULING_TRIGGERS = {"BOOKING_CREATED", "BOOKING_REQUESTED", "BOOKING_RESCHEDULED"}
# How final a status is. A booking only moves forward through these classes (booked, then
# met or missed, then called off), so the more final class wins whatever the order of
# arrival; within a class the later event wins, and the status name breaks exact ties.
STATUS_CLASS = {
    ConsultationStatus.SCHEDULED: 0,
    ConsultationStatus.PENDING: 0,
    ConsultationStatus.COMPLETED: 1,
    ConsultationStatus.NO_SHOW: 1,
    ConsultationStatus.RESCHEDULED: 2,
    ConsultationStatus.CANCELLED: 2,
    ConsultationStatus.REJECTED: 2,
}


class UnknownBookingError(LookupError):
    """The event only makes sense for a booking we have not received yet."""


@dataclass(frozen=True)
class AppliedBooking:
    """What applying a booking event did."""

    consultation: Consultation
    patient: PatientProfile
    patient_created: bool


def is_acted_on(trigger: str) -> bool:
    """Whether the clinic's records change for this trigger (others are only stored)."""
    return trigger in TRIGGER_STATUS


def event_time(booking: Booking, received_at: datetime) -> datetime:
    """When the event happened, for ordering it against others of the same booking.

    Envelope deliveries carry their send time. The flat MEETING_* form's ``createdAt`` is
    the booking's creation, so a meeting counts as happening when it ended; the legacy
    envelope has no time and counts as happening when it was received.
    """
    if booking.sent_at is not None:
        return booking.sent_at
    if booking.trigger == "MEETING_ENDED" and booking.end_time is not None:
        return booking.end_time
    return received_at


def apply_booking(booking: Booking, details: ContactDetails, at: datetime) -> AppliedBooking:
    """Create or update the consultation ``booking`` names, and its patient.

    The consultation's patient is, in order: the one it already has, the one of the booking
    it replaces, or the one ``find_or_create_patient`` matches to the booking's details;
    questionnaire answers sent from the booking's link before it arrived then attach to
    that patient.

    Raises ``IntegrityError`` at flush when a concurrent transaction inserted the same
    patient or booking first (the caller retries in a fresh savepoint), and
    ``UnknownBookingError`` for a no-show update of a booking we do not have.
    """
    consultation = _locked_consultation(booking.uid)
    if consultation is None and booking.trigger == "BOOKING_NO_SHOW_UPDATED":
        # Its attendee list may name only a guest, so it cannot identify the patient.
        raise UnknownBookingError(
            "no-show update for a booking not received yet; replay it once the booking arrives"
        )
    replaced = None
    if booking.reschedule_uid and booking.trigger in RESCHEDULING_TRIGGERS:
        replaced = _locked_consultation(booking.reschedule_uid)

    patient_created = False
    existing = consultation or replaced
    if existing is not None:
        patient = existing.patient
        fill_missing_details(patient, details)
    else:
        match = find_or_create_patient(details)
        patient, patient_created = match.patient, match.created

    if consultation is None:
        consultation = Consultation(cal_booking_uid=booking.uid, patient=patient)
        db.session.add(consultation)
    _fill_booking_details(consultation, booking, details)
    if booking.trigger == "BOOKING_NO_SHOW_UPDATED":
        apply_no_show(consultation, bool(booking.no_show), at)
    else:
        change_status(
            consultation, TRIGGER_STATUS[booking.trigger], at, booking.cancellation_reason
        )

    db.session.flush()
    if booking.reschedule_uid and booking.trigger in RESCHEDULING_TRIGGERS:
        if replaced is None:
            replaced = Consultation(
                cal_booking_uid=booking.reschedule_uid,
                patient=patient,
                start_time=booking.reschedule_start_time,
                end_time=booking.reschedule_end_time,
                title=booking.title,
            )
            db.session.add(replaced)
        change_status(replaced, ConsultationStatus.RESCHEDULED, at)
        replaced.rescheduled_to = consultation
    db.session.flush()
    attach_pending_answers(*(c for c in (replaced, consultation) if c is not None))
    return AppliedBooking(consultation, patient, patient_created)


def change_status(
    consultation: Consultation,
    status: ConsultationStatus,
    at: datetime,
    reason: str | None = None,
) -> bool:
    """Set ``status`` unless the current one outranks it; return whether it was set.

    Statuses compare by ``status_order``, so the same events give the same status in
    any order of arrival.
    """
    if consultation.status_changed_at is not None and status_order(status, at) < status_order(
        ConsultationStatus(consultation.status), consultation.status_changed_at
    ):
        return False
    consultation.status = status
    consultation.status_changed_at = at
    if status in (ConsultationStatus.CANCELLED, ConsultationStatus.REJECTED) and reason:
        consultation.cancellation_reason = reason
    return True


def apply_no_show(consultation: Consultation, marked: bool, at: datetime) -> None:
    """Mark or unmark the patient as a no-show; of several updates the latest one counts.

    Unmarking means the patient came after all: the booking is ``completed`` once its end
    has passed, else ``scheduled``. An update older than one already applied to this
    booking changes nothing, so the same updates give the same status in any order.
    """
    if _newer_no_show_update_exists(consultation.cal_booking_uid, at):
        return
    if marked:
        change_status(consultation, ConsultationStatus.NO_SHOW, at)
    elif consultation.status in MET_OR_MISSED_OR_BOOKED:
        ended = consultation.end_time is not None and consultation.end_time <= at
        consultation.status = (
            ConsultationStatus.COMPLETED if ended else ConsultationStatus.SCHEDULED
        )
        consultation.status_changed_at = at


def _newer_no_show_update_exists(uid: str, at: datetime) -> bool:
    """Whether a no-show update sent after ``at`` was already applied to this booking."""
    return (
        db.session.scalar(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.booking_uid == uid,
                WebhookEvent.trigger_event == "BOOKING_NO_SHOW_UPDATED",
                WebhookEvent.status.in_([EventStatus.PROCESSED, EventStatus.DUPLICATE]),
                WebhookEvent.sent_at > at,
            )
            .limit(1)
        )
        is not None
    )


def status_order(status: ConsultationStatus, at: datetime) -> tuple[int, datetime, str]:
    """The key that decides between two statuses of one booking: class, then time."""
    return (STATUS_CLASS[status], at, status.value)


def _locked_consultation(uid: str) -> Consultation | None:
    """The consultation of a booking uid, locked for this transaction where supported."""
    return db.session.scalar(
        select(Consultation).where(Consultation.cal_booking_uid == uid).with_for_update()
    )


def _fill_booking_details(
    consultation: Consultation, booking: Booking, details: ContactDetails
) -> None:
    """Give the consultation every booking detail it lacks; answers are merged by key."""
    phone = details.phone.stored if details.phone else None
    for attribute, value in (
        ("cal_booking_id", booking.booking_id),
        ("title", booking.title),
        ("start_time", booking.start_time),
        ("end_time", booking.end_time),
        ("attendee_phone", phone),
        ("attendee_timezone", booking.timezone),
    ):
        if value is not None and getattr(consultation, attribute) is None:
            setattr(consultation, attribute, value)
    if booking.answers:
        consultation.booking_answers = {**booking.answers, **(consultation.booking_answers or {})}
