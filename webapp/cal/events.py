"""Apply one booking event to the clinic's records: patient, consultation and its status.

``apply_event`` is the one way a booking event changes them, whether it came as a delivery
(the webhook, the spool, ``cal replay``) or from Cal.com's API (``cal reconcile``). Events
can arrive in any order and more than once. Each consultation remembers when the event that
set its status happened (``status_changed_at``); a status replaces another only when it is at
least as final and not older (``status_order``), so any order of the same events ends in the
same state. Functions here flush; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.cal.payload import Booking, PayloadError
from webapp.database.conflicts import retry_on_conflict
from webapp.database.locks import lock_booking
from webapp.extensions import db
from webapp.models import Consultation, ConsultationStatus, PatientProfile
from webapp.patients.contact import ContactDetails, contact_details
from webapp.patients.matching import fill_missing_details, find_or_create_patient
from webapp.questionnaire.submissions import attach_pending_answers
from webapp.treatment.stage import refresh_stage

# The status a trigger gives the booking it names.
TRIGGER_STATUS = {
    "BOOKING_CREATED": ConsultationStatus.SCHEDULED,
    "BOOKING_REQUESTED": ConsultationStatus.PENDING,
    "BOOKING_RESCHEDULED": ConsultationStatus.SCHEDULED,
    # A paid booking counts once paid; BOOKING_PAYMENT_INITIATED is not a booking yet.
    "BOOKING_PAID": ConsultationStatus.SCHEDULED,
    "BOOKING_CANCELLED": ConsultationStatus.CANCELLED,
    "BOOKING_REJECTED": ConsultationStatus.REJECTED,
    "MEETING_ENDED": ConsultationStatus.COMPLETED,
}
# Triggers about who attended a booking we already have; they name people by email only
# (perhaps only guests), so they never identify or change a patient.
NO_SHOW_UPDATE = "BOOKING_NO_SHOW_UPDATED"
GUESTS_DID_NOT_JOIN = "AFTER_GUESTS_CAL_VIDEO_NO_SHOW"
HOST_DID_NOT_JOIN = "AFTER_HOSTS_CAL_VIDEO_NO_SHOW"
ATTENDANCE_TRIGGERS = {NO_SHOW_UPDATE, GUESTS_DID_NOT_JOIN, HOST_DID_NOT_JOIN}
# Triggers about the meeting as a whole: in a seated event they concern every seat.
WHOLE_MEETING_TRIGGERS = {"MEETING_ENDED"}
# Seat holders a called-off seated booking names each lose their own seat.
CALLING_OFF_TRIGGERS = {"BOOKING_CANCELLED", "BOOKING_REJECTED"}
# Statuses a no-show update may replace: not a called-off or replaced booking.
MET_OR_MISSED_OR_BOOKED = {
    ConsultationStatus.SCHEDULED,
    ConsultationStatus.PENDING,
    ConsultationStatus.COMPLETED,
    ConsultationStatus.NO_SHOW,
}
# Triggers Cal.com may send several times for one booking, each time with news.
REPEATABLE_TRIGGERS = {NO_SHOW_UPDATE}
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
    consultation_created: bool = False


def is_acted_on(trigger: str) -> bool:
    """Whether the clinic's records change for this trigger (others are only stored)."""
    return trigger in TRIGGER_STATUS or trigger in ATTENDANCE_TRIGGERS


def names_a_patient(trigger: str) -> bool:
    """Whether the trigger's first attendee is the patient (attendance triggers may list
    only guests, so their details never identify anyone)."""
    return trigger not in ATTENDANCE_TRIGGERS


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


def apply_event(booking: Booking, at: datetime, label: str) -> AppliedBooking:
    """Apply one booking event that happened at ``at``: take the booking's lock (and, for a
    reschedule, the replaced booking's), then find or create the patient and apply the event
    (``apply_booking``) in a savepoint, run again when a concurrent transaction inserted the
    same patient or booking first. ``label`` names the work in logs (ids only).

    Raises ``PayloadError`` or ``InvalidContactError`` when the booking identifies no one,
    ``UnknownBookingError`` for an attendance update of a booking we lack and
    ``ConflictError`` when concurrent inserts kept conflicting; any other error propagates
    with the savepoint rolled back, so nothing of the event is kept.
    """
    details = patient_details(booking)
    lock_booking(*_uids(booking))
    return retry_on_conflict(lambda: apply_booking(booking, details, at), label)


def patient_details(booking: Booking) -> ContactDetails | None:
    """The normalised contact details of the patient ``booking`` names; ``None`` for an
    attendance trigger, whose list may name guests only.

    Raises ``PayloadError`` when the booking has no attendee email and
    ``InvalidContactError`` when its details cannot identify anyone."""
    if not names_a_patient(booking.trigger):
        return None
    if not booking.email:
        raise PayloadError("payload has no attendee email")
    return contact_details(
        booking.email,
        booking.name,
        booking.phones,
        booking.location,
        booking.timezone,
        booking.country,
        booking.city,
    )


def apply_booking(booking: Booking, details: ContactDetails | None, at: datetime) -> AppliedBooking:
    """Create or update the consultation ``booking`` names, and its patient, holding the
    booking's lock (``apply_event``). In a seated event an event applies to the seat of the
    person it names, a meeting event to every seat. The patient is the consultation's own,
    else the replaced booking's, else the one ``find_or_create_patient`` matches; answers
    sent from the link of a booking created here attach to it.

    Raises ``IntegrityError`` at flush when a concurrent transaction inserted the same
    patient or booking first, and ``UnknownBookingError`` (from ``apply_attendance``).
    """
    replaced_uid = _replaced_uid(booking)
    held = consultations_of(*_uids(booking))
    seats = [seat for seat in held if seat.cal_booking_uid == booking.uid]
    if booking.trigger in ATTENDANCE_TRIGGERS:
        return apply_attendance(booking, seats, at)
    if details is None:
        raise ValueError(f"{booking.trigger} needs the patient's contact details")
    status = TRIGGER_STATUS[booking.trigger]
    named = _seats_named(booking, seats)
    if named:
        for seat in named:
            change_status(seat, status, at, _reason_kept(seat.patient, booking))
            _note_reschedule_request(seat, booking, at)
        db.session.flush()
        return AppliedBooking(named[0], named[0].patient, patient_created=False)

    consultation = next((seat for seat in seats if seat.seat_key == booking.seat_key), None)
    replaced = None
    if replaced_uid is not None:
        replaced = _replaced_seat(
            [seat for seat in held if seat.cal_booking_uid == replaced_uid], booking.seat_key
        )
    patient_created = False
    known = consultation or replaced
    if known is not None:
        patient = known.patient
        if patient.erased_at is None:  # an erased patient's details never come back
            fill_missing_details(patient, details)
    else:
        match = find_or_create_patient(details)
        patient, patient_created = match.patient, match.created

    created = []  # the consultations made here, which answers sent before them attach to
    if consultation is None:
        consultation = Consultation(
            cal_booking_uid=booking.uid, seat_key=booking.seat_key, patient=patient
        )
        created.append(consultation)
    _fill_booking_details(consultation, booking, details, erased=patient.erased_at is not None)
    change_status(consultation, status, at, _reason_kept(patient, booking))
    _note_reschedule_request(consultation, booking, at)
    if replaced_uid is not None:
        if replaced is None:
            replaced = Consultation(
                cal_booking_uid=replaced_uid,
                seat_key=booking.seat_key,
                patient=patient,
                start_time=booking.reschedule_start_time,
                end_time=booking.reschedule_end_time,
                title=booking.title if patient.erased_at is None else None,
            )
            created.append(replaced)
        change_status(replaced, ConsultationStatus.RESCHEDULED, at)
        replaced.rescheduled_to = consultation
    db.session.add_all(created)
    db.session.flush()
    if consultation in created and consultation.status == ConsultationStatus.COMPLETED:
        refresh_stage(patient, at)
    if patient.erased_at is None:
        attach_pending_answers(*created)
    return AppliedBooking(
        consultation, patient, patient_created, consultation_created=consultation in created
    )


def apply_attendance(booking: Booking, seats: list[Consultation], at: datetime) -> AppliedBooking:
    """Apply who attended: a no-show update, or Cal Video's report that nobody joined.

    A no-show update changes the consultation of each person it lists who holds one; a
    guest's flag is only recorded. Guests not joining marks every attendee a no-show; the
    host not joining changes no status. Each person's latest flag wins in any order.

    Raises ``UnknownBookingError`` when the booking has not been received yet: its list
    may name only guests, so it cannot identify the patient.
    """
    if not seats:
        raise UnknownBookingError(
            "no-show update for a booking not received yet; replay it once the booking arrives"
        )
    if booking.trigger == HOST_DID_NOT_JOIN:
        for seat in seats:
            if seat.host_no_show_at is None:
                seat.host_no_show_at = at
    elif booking.trigger == GUESTS_DID_NOT_JOIN:
        for seat in seats:
            apply_no_show(seat, attendee_email(seat), True, at)
    else:
        for attendee in booking.attendees:
            if attendee.no_show is None:
                continue
            holder = next((seat for seat in seats if attendee_email(seat) == attendee.email), None)
            if holder is not None:
                apply_no_show(holder, attendee.email, attendee.no_show, at)
            elif seats[0].patient.erased_at is not None:
                # Erased: no email is kept to match or record. The booker of an ordinary
                # booking is the first attendee listed; their flag changes the status only.
                if not seats[0].seat_key and attendee is booking.attendees[0]:
                    apply_no_show(seats[0], "", attendee.no_show, at)
            else:  # a guest: kept on the booking, no status changes
                _record_attendance(seats[0], attendee.email, attendee.no_show, at)
    db.session.flush()
    return AppliedBooking(seats[0], seats[0].patient, patient_created=False)


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
    held_before = consultation.status == ConsultationStatus.COMPLETED
    consultation.status = status
    consultation.status_changed_at = at
    if status in (ConsultationStatus.CANCELLED, ConsultationStatus.REJECTED) and reason:
        consultation.cancellation_reason = reason
    # The stage follows whether the patient has a completed consultation: only a change of
    # that works it out again (a new consultation's: ``apply_booking`` does it).
    if held_before != (status == ConsultationStatus.COMPLETED) and consultation.id is not None:
        refresh_stage(consultation.patient, at)
    return True


def apply_no_show(
    consultation: Consultation, email: str | None, marked: bool, at: datetime
) -> None:
    """Mark or unmark the consultation's patient as a no-show; the latest flag counts.

    Unmarking means the patient came after all: the booking is ``completed`` once its end
    has passed, else ``scheduled``. A flag older than one already recorded for the same
    person changes nothing, so the same updates give the same status in any order.
    """
    if not _record_attendance(consultation, email or "", marked, at):
        return
    if marked:
        change_status(consultation, ConsultationStatus.NO_SHOW, at)
    elif consultation.status in MET_OR_MISSED_OR_BOOKED:
        ended = consultation.end_time is not None and consultation.end_time <= at
        held_before = consultation.status == ConsultationStatus.COMPLETED
        consultation.status = (
            ConsultationStatus.COMPLETED if ended else ConsultationStatus.SCHEDULED
        )
        consultation.status_changed_at = at
        if held_before != ended:
            refresh_stage(consultation.patient, at)


def _record_attendance(consultation: Consultation, email: str, marked: bool, at: datetime) -> bool:
    """Keep a person's no-show flag on the consultation unless a later one is kept already;
    return whether it was kept."""
    attendance = dict(consultation.attendance or {})
    earlier = attendance.get(email)
    if earlier is not None and datetime.fromisoformat(earlier["at"]) > at:
        return False
    attendance[email] = {"no_show": marked, "at": at.isoformat()}
    consultation.attendance = attendance
    return True


def status_order(status: ConsultationStatus, at: datetime) -> tuple[int, datetime, str]:
    """The key that decides between two statuses of one booking: class, then time."""
    return (STATUS_CLASS[status], at, status.value)


def consultations_of(*uids: str) -> list[Consultation]:
    """Every consultation of these booking uids (one per seat holder in a seated event),
    oldest first, with its patient and the patient's user, their rows locked until the
    transaction ends where the database locks rows."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.cal_booking_uid.in_(uids))
            .options(
                joinedload(Consultation.patient, innerjoin=True).joinedload(
                    PatientProfile.user, innerjoin=True
                )
            )
            .order_by(Consultation.id)
            .with_for_update(of=Consultation)
        )
    )


def attendee_email(consultation: Consultation) -> str | None:
    """Whom Cal.com lists as this consultation's attendee (booker or seat holder): the
    email its no-show flags name."""
    return consultation.seat_key or consultation.attendee_email or consultation.patient.email


def _uids(booking: Booking) -> list[str]:
    """The bookings an event changes: its own, and the one a reschedule replaces."""
    replaced_uid = _replaced_uid(booking)
    return [booking.uid, replaced_uid] if replaced_uid else [booking.uid]


def _replaced_uid(booking: Booking) -> str | None:
    """The uid of the booking that ``booking`` replaces, if it is a reschedule."""
    return booking.reschedule_uid if booking.trigger in RESCHEDULING_TRIGGERS else None


def _replaced_seat(seats: list[Consultation], seat_key: str) -> Consultation | None:
    """The consultation a reschedule replaces: the same seat holder's, else the booking's."""
    return next((seat for seat in seats if seat.seat_key == seat_key), None) or next(
        (seat for seat in seats if seat.seat_key == ""), None
    )


def _seats_named(booking: Booking, seats: list[Consultation]) -> list[Consultation]:
    """The seats of a seated booking that an event about the whole meeting, or calling off
    seats, applies to; empty for ordinary bookings and events about one new seat."""
    if not any(seat.seat_key for seat in seats):
        return []
    if booking.trigger in WHOLE_MEETING_TRIGGERS:
        return seats
    if booking.trigger in CALLING_OFF_TRIGGERS:
        listed = {attendee.email for attendee in booking.attendees}
        return [seat for seat in seats if seat.seat_key in listed]
    return []


def _note_reschedule_request(consultation: Consultation, booking: Booking, at: datetime) -> None:
    """Remember when Cal.com first asked the patient to choose a new time for this booking."""
    if booking.reschedule_requested and consultation.reschedule_requested_at is None:
        consultation.reschedule_requested_at = at


def _reason_kept(patient: PatientProfile, booking: Booking) -> str | None:
    """The cancellation reason to keep: the patient's words, unless they were erased."""
    return booking.cancellation_reason if patient.erased_at is None else None


# What a booking of an erased patient still takes from Cal.com: its id, its time and its
# consultant, never the person.
ERASED_PATIENTS_BOOKING_DETAILS = (
    "cal_booking_id",
    "start_time",
    "end_time",
    "organizer_name",
    "organizer_email",
)


def _fill_booking_details(
    consultation: Consultation, booking: Booking, details: ContactDetails, *, erased: bool
) -> None:
    """Give the consultation every booking detail it lacks; answers are merged by key.
    A booking of an erased patient takes only ``ERASED_PATIENTS_BOOKING_DETAILS``."""
    for attribute, value in (
        ("cal_booking_id", booking.booking_id),
        ("title", booking.title),
        ("start_time", booking.start_time),
        ("end_time", booking.end_time),
        ("attendee_phone", details.phone_stored),
        ("attendee_timezone", booking.timezone),
        ("attendee_email", booking.attendees[0].email if booking.attendees else None),
        ("attendee_locale", booking.locale),
        ("meeting_url", booking.meeting_url),
        ("meeting_location", booking.meeting_location),
        ("organizer_name", booking.organizer_name),
        ("organizer_email", booking.organizer_email),
    ):
        if erased and attribute not in ERASED_PATIENTS_BOOKING_DETAILS:
            continue
        if value is not None and getattr(consultation, attribute) is None:
            setattr(consultation, attribute, value)
    if booking.answers and not erased:
        consultation.booking_answers = {**booking.answers, **(consultation.booking_answers or {})}
