"""Reconcile our consultations with the bookings Cal.com's API holds.

Deliveries can be lost: the app was down, a connection broke mid-request, a host died with
a full spool. ``reconcile`` pulls every booking changed since a time, turns each into the
same typed ``Booking`` events a delivery gives (``booking_events``), and applies the ones we
lack or hold out of date with ``apply_event``, as deliveries are applied, so the same
matching and lifecycle rules hold and a delivery arriving later is a no-op. A consultant's
action on a booking reads it back and applies it the same way (``webapp.cal.actions``).
Every run is recorded in ``reconcile_runs``. Functions here flush; ``reconcile`` commits its
run record, and the caller commits the applied bookings (or, for a dry run, rolls them back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from webapp.cal.api import CalApi, CalApiError
from webapp.cal.events import (
    HOST_DID_NOT_JOIN,
    NO_SHOW_UPDATE,
    apply_event,
    attendee_email,
    event_time,
)
from webapp.cal.payload import Booking, Delivery, PayloadError, parse_booking, parse_time
from webapp.cal.spool import is_database_unreachable
from webapp.database.conflicts import ConflictError
from webapp.extensions import db
from webapp.models import (
    Consultation,
    ConsultationStatus,
    ReconcileRun,
    ReconcileRunStatus,
    utcnow,
)
from webapp.patients.contact import InvalidContactError
from webapp.privacy.personal_data import ERASED_SEAT_PREFIX
from webapp.security.logs import log_failure

logger = logging.getLogger(__name__)

# Each run starts this far before the last successful one: bounds are inclusive and
# ``updatedAt`` comes from Cal.com's application clocks.
OVERLAP = timedelta(minutes=10)
FIRST_RUN_WINDOW = timedelta(days=30)
# Every run also reads the bookings taking place in this window around now.
SWEEP_BEHIND = timedelta(days=3)
SWEEP_AHEAD = timedelta(days=7)
# Cal.com's booking status -> the trigger a delivery of that state would carry.
STATUS_TRIGGER = {
    "accepted": "BOOKING_CREATED",
    "pending": "BOOKING_REQUESTED",
    "awaiting_host": "BOOKING_REQUESTED",
    "cancelled": "BOOKING_CANCELLED",
    "rejected": "BOOKING_REJECTED",
}
# Answers Cal.com adds for platform users; they are copies, not the patient's answers.
NOT_ANSWERS = {"displayEmail", "displayGuests"}
# What our consultation may say for each Cal.com status and still be up to date.
UP_TO_DATE = {
    "accepted": {
        ConsultationStatus.SCHEDULED,
        ConsultationStatus.COMPLETED,
        ConsultationStatus.NO_SHOW,
    },
    "pending": {ConsultationStatus.PENDING},
    "awaiting_host": {ConsultationStatus.PENDING},
    "cancelled": {ConsultationStatus.CANCELLED},
    "rejected": {ConsultationStatus.REJECTED},
}
CALLED_OFF = {
    ConsultationStatus.CANCELLED,
    ConsultationStatus.REJECTED,
    ConsultationStatus.RESCHEDULED,
}


class ReconcileError(RuntimeError):
    """A run could not finish; nothing it applied was kept. The message is for people."""


@dataclass
class ReconcileResult:
    """What a run saw and changed (uids only)."""

    since: datetime
    pages: int = 0
    seen: int = 0
    missing: list[str] = field(default_factory=list)
    outdated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Snapshot:
    status: str
    rescheduled_to_id: int | None
    cancellation_reason: str | None


def booking_events(booking: dict[str, Any], now: datetime) -> list[Booking]:
    """Every event that brings our records of one of Cal.com's API bookings to what it
    says, each to be applied with ``apply_event``: the booking's own (``bookings_from_api``),
    a cancellation for each seat it no longer lists (``seats_left``) and an unmark for each
    no-show flag it lifted (``no_shows_lifted``). Reads the consultations we hold of it.

    Raises ``PayloadError`` when the booking names no one with an email.
    """
    held = _consultations(str(booking.get("uid")))
    return (
        bookings_from_api(booking, now)
        + seats_left(booking, held)
        + no_shows_lifted(booking, held, now)
    )


def bookings_from_api(booking: dict[str, Any], now: datetime) -> list[Booking]:
    """The ``Booking`` events of what Cal.com's API says of one booking.

    One per person: the booker, or every seat holder of a seated booking. For the booker
    of a replaced booking (``rescheduledToUid``) it is its creation, since its replacement
    marks it rescheduled; a no-show update follows when an attendee is marked ``absent``,
    and the report that the consultant did not join when the host is (``absentHost``).
    Returns ``[]`` for a status the clinic does not track. Raises ``PayloadError`` when the
    booking names no one with an email.
    """
    status = booking.get("status")
    trigger = STATUS_TRIGGER.get(status) if isinstance(status, str) else None
    if trigger is None:
        return []
    replaced = bool(booking.get("rescheduledToUid")) and status == "cancelled"
    if replaced:
        trigger = "BOOKING_CREATED"
    elif booking.get("rescheduledFromUid") and trigger == "BOOKING_CREATED":
        trigger = "BOOKING_RESCHEDULED"
    changed = trigger in ("BOOKING_CANCELLED", "BOOKING_REJECTED")
    # The booking is in this state since its last update (a confirmation or a cancellation
    # moves ``updatedAt``); rows Cal.com wrote without it have only ``createdAt``.
    happened_at = parse_time(booking.get("updatedAt"), "updatedAt") or parse_time(
        booking.get("createdAt"), "createdAt"
    )

    people = _people(booking)
    seated = _is_seated(booking)
    events = []
    for person, answers in people:
        payload = _as_delivery_payload(booking, person, answers, changed, seated)
        parsed = parse_booking(Delivery(trigger, happened_at, payload))
        events.append(parsed)
        if person.get("absent") is True:  # the attendee carries ``noShow: true``
            events.append(replace(parsed, trigger=NO_SHOW_UPDATE, sent_at=now))
    if events and booking.get("absentHost") is True:
        events.append(replace(events[0], trigger=HOST_DID_NOT_JOIN, sent_at=now))
    return events


def seats_left(booking: dict[str, Any], held: list[Consultation]) -> list[Booking]:
    """A cancellation for every seat we hold that Cal.com's seated booking no longer lists:
    a seat holder who leaves disappears from the attendees while the booking stays."""
    people = _people(booking)
    if not _is_seated(booking) or not people or booking.get("status") != "accepted":
        return []
    happened_at = parse_time(booking.get("updatedAt"), "updatedAt") or parse_time(
        booking.get("createdAt"), "createdAt"
    )
    listed = {_seat_key(person) for person, _answers in people}
    return [
        parse_booking(
            Delivery(
                "BOOKING_CANCELLED",
                happened_at,
                _as_delivery_payload(booking, {"email": seat.seat_key}, {}, False, True),
            )
        )
        for seat in held
        if seat.seat_key and seat.seat_key not in listed and not is_erased_seat(seat)
    ]


def no_shows_lifted(
    booking: dict[str, Any], held: list[Consultation], now: datetime
) -> list[Booking]:
    """An unmark for every person we hold as a no-show (by our status or Cal.com's flag we
    keep) whom Cal.com's booking lists as not ``absent``: Cal.com's state wins, so a flag
    it lifted is lifted here too."""
    present = {
        _seat_key(person) for person, _answers in _people(booking) if person.get("absent") is False
    }
    lifted = []
    for seat in held:
        email = attendee_email(seat)
        flag = (seat.attendance or {}).get(email or "")
        marked = isinstance(flag, dict) and flag.get("no_show") is True
        if email in present and (marked or seat.status == ConsultationStatus.NO_SHOW):
            payload = {
                "bookingUid": seat.cal_booking_uid,
                "bookingId": booking.get("id"),
                "attendees": [{"email": email, "noShow": False}],
            }
            lifted.append(parse_booking(Delivery(NO_SHOW_UPDATE, now, payload)))
    return lifted


def is_erased_seat(seat: Consultation) -> bool:
    """Whether the seat holder was erased: Cal.com lists them by an email we no longer
    hold, so their seat is compared with nothing."""
    return seat.seat_key.startswith(ERASED_SEAT_PREFIX)


def _is_seated(booking: dict[str, Any]) -> bool:
    """Whether Cal.com's API shows a seated booking: its attendees carry seat uids."""
    return any(
        isinstance(attendee, dict) and attendee.get("seatUid")
        for attendee in booking.get("attendees") or []
    )


def _seat_key(person: dict[str, Any]) -> str:
    email = person.get("email")
    return email.strip().lower() if isinstance(email, str) else ""


def _people(booking: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each patient of the booking with their answers: every seat holder, or the booker."""
    attendees = [a for a in booking.get("attendees") or [] if isinstance(a, dict)]
    seats = [a for a in attendees if a.get("seatUid")]
    if seats:
        return [(seat, seat.get("bookingFieldsResponses") or {}) for seat in seats]
    answers = booking.get("bookingFieldsResponses")
    answers = answers if isinstance(answers, dict) else {}
    email = answers.get("email")
    booker = next(
        (
            attendee
            for attendee in attendees
            if isinstance(email, str)
            and isinstance(attendee.get("email"), str)
            and attendee["email"].casefold() == email.strip().casefold()
        ),
        attendees[0] if attendees else {},
    )
    return [(booker, answers)]


def _as_delivery_payload(
    booking: dict[str, Any],
    person: dict[str, Any],
    answers: dict[str, Any],
    changed: bool,
    seated: bool,
) -> dict[str, Any]:
    """The API's booking in the shape of a delivery's ``payload``, for ``parse_booking``."""
    attendee = {
        key: person[key]
        for key in ("name", "email", "timeZone", "phoneNumber", "language")
        if key in person
    }
    attendee["noShow"] = person.get("absent") is True
    reason = booking.get("cancellationReason") if changed else None
    hosts = booking.get("hosts")
    organizer = hosts[0] if isinstance(hosts, list) and hosts else None
    return {
        "seatsPerTimeSlot": 1 if seated else None,
        "location": booking.get("location"),
        "organizer": organizer if isinstance(organizer, dict) else None,
        "uid": booking.get("uid"),
        "bookingId": booking.get("id"),
        "title": booking.get("title"),
        "startTime": booking.get("start"),
        "endTime": booking.get("end"),
        "status": str(booking.get("status", "")).upper(),
        "attendees": [attendee],
        "responses": {
            key: {"label": key, "value": value}
            for key, value in answers.items()
            if key not in NOT_ANSWERS
        },
        "rescheduleUid": booking.get("rescheduledFromUid"),
        "cancellationReason": reason or None,
    }


def is_up_to_date(booking: dict[str, Any]) -> bool:
    """Whether our consultations (one, or one per seat holder) already say what Cal.com's
    booking says."""
    uid = str(booking.get("uid"))
    if not _is_seated(booking):
        return _says_the_same(booking, _consultation(uid, ""))
    held = {seat.seat_key: seat for seat in _consultations(uid) if not is_erased_seat(seat)}
    listed = {_seat_key(person) for person, _answers in _people(booking)}
    return set(held) <= listed | {""} and all(
        _says_the_same(booking, held.get(key)) for key in listed
    )


def _says_the_same(booking: dict[str, Any], consultation: Consultation | None) -> bool:
    """Whether one consultation already says what Cal.com's booking says."""
    if consultation is None:
        return False
    ours = ConsultationStatus(consultation.status)
    status = booking.get("status")
    if booking.get("rescheduledToUid") and status == "cancelled":
        return ours == ConsultationStatus.RESCHEDULED and consultation.rescheduled_to_id is not None
    if ours not in UP_TO_DATE.get(str(status), {ours}):
        return False
    if (
        status == "cancelled"
        and booking.get("cancellationReason")
        and not consultation.cancellation_reason
    ):
        return False
    if booking.get("rescheduledFromUid"):
        replaced = _consultation(booking["rescheduledFromUid"], consultation.seat_key)
        if replaced is None or replaced.rescheduled_to_id != consultation.id:
            return False
    if booking.get("absentHost") is True and consultation.host_no_show_at is None:
        return False
    absent = any(person.get("absent") is True for person, _answers in _people(booking))
    if absent and ours not in CALLED_OFF:
        return ours == ConsultationStatus.NO_SHOW
    return not (ours == ConsultationStatus.NO_SHOW and not absent)


def default_since(now: datetime) -> datetime:
    """Where a run without ``--since`` starts: the last successful run, minus the overlap;
    on the first run, ``FIRST_RUN_WINDOW`` back."""
    last = db.session.scalar(
        select(ReconcileRun.started_at)
        .where(ReconcileRun.status == ReconcileRunStatus.OK, ReconcileRun.dry_run.is_(False))
        .order_by(ReconcileRun.started_at.desc())
        .limit(1)
    )
    return (last - OVERLAP) if last is not None else now - FIRST_RUN_WINDOW


def reconcile(
    api: CalApi,
    since: datetime | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _line: None,
) -> ReconcileRun:
    """Pull the bookings changed since ``since`` and apply those we lack or hold out of date.

    The run is recorded (committed) before and after the work. A real run commits what it
    applied; a dry run applies in the same way, counts, and rolls everything back. Raises
    ``ReconcileError`` after recording the failure when the API cannot be read; then nothing
    is applied. A booking that cannot be applied (no email, a bug) is skipped and named in
    the run's error, which marks the run failed while the others are kept. Database errors
    that mean it is unreachable propagate.
    """
    now = utcnow()
    run = ReconcileRun(
        started_at=now,
        since=since or default_since(now),
        dry_run=dry_run,
        status=ReconcileRunStatus.RUNNING,
        missing_uids=[],
        outdated_uids=[],
    )
    db.session.add(run)
    db.session.commit()
    result = ReconcileResult(since=run.since)
    try:
        bookings = _pull(api, run.since, now, result, progress)
        _apply_all(bookings, now, result, progress)
    except (CalApiError, ReconcileError) as exc:
        db.session.rollback()
        _finish(run, result, error=str(exc))
        raise ReconcileError(str(exc)) from None
    except Exception as exc:
        if is_database_unreachable(exc):
            raise
        db.session.rollback()
        log_failure(logger, exc, f"cal reconcile: run {run.id}")
        error = f"{type(exc).__name__} while reconciling; see the server log"
        _finish(run, result, error=error)
        raise ReconcileError(error) from None
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    error = (
        f"could not apply {len(result.skipped)} booking(s): {', '.join(result.skipped)}"
        if result.skipped
        else None
    )
    _finish(run, result, error=error)
    return run


def _finish(run: ReconcileRun, result: ReconcileResult, error: str | None) -> None:
    """Record the run's outcome in its own commit (a dry run's changes are already gone)."""
    run = db.session.merge(run)
    run.finished_at = utcnow()
    run.status = ReconcileRunStatus.FAILED if error else ReconcileRunStatus.OK
    run.error = error[:2000] if error else None
    run.pages, run.seen = result.pages, result.seen
    run.created, run.updated = len(result.missing), len(result.outdated)
    run.missing_uids, run.outdated_uids = list(result.missing), list(result.outdated)
    db.session.commit()
    logger.info(
        "cal reconcile: run %s %s: pages=%s seen=%s created=%s updated=%s",
        run.id,
        run.status,
        run.pages,
        run.seen,
        run.created,
        run.updated,
    )


def _pull(
    api: CalApi,
    since: datetime,
    now: datetime,
    result: ReconcileResult,
    progress: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Every booking updated or created since ``since``, or taking place near ``now``, by
    uid, with the partners of the reschedules among them.

    ``updatedAt`` is null on rows written outside Cal.com's ORM, hence the ``createdAt``
    pass; no-show flags and seats live in other tables and may not move ``updatedAt``,
    hence the sweep over the bookings of the last and next few days.
    """
    bound = api_time(since)
    bookings: dict[str, dict[str, Any]] = {}
    for params in (
        {"afterUpdatedAt": bound, "sortUpdatedAt": "asc"},
        {"afterCreatedAt": bound, "sortCreated": "asc"},
        {
            "afterStart": api_time(now - SWEEP_BEHIND),
            "beforeEnd": api_time(now + SWEEP_AHEAD),
            "sortStart": "asc",
        },
    ):
        for page in api.booking_pages(params):
            result.pages += 1
            for booking in page:
                uid = booking.get("uid")
                if isinstance(uid, str) and _is_newer(booking, bookings.get(uid)):
                    bookings[uid] = booking
            result.seen = len(bookings)
            progress(f"page {result.pages}: {result.seen} bookings seen")
    for partner in _missing_partners(bookings):
        found = api.booking(partner)
        if found is not None:
            bookings[partner] = found
            result.seen = len(bookings)
    return bookings


def _is_newer(booking: dict[str, Any], seen: dict[str, Any] | None) -> bool:
    """Whether ``booking`` is at least as fresh as the copy of it already seen (if any)."""
    return seen is None or str(booking.get("updatedAt") or "") >= str(seen.get("updatedAt") or "")


def api_time(moment: datetime) -> str:
    """A time as Cal.com writes and strictly checks it: UTC with milliseconds and ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _missing_partners(bookings: dict[str, dict[str, Any]]) -> list[str]:
    """The other sides of reschedules that neither this pull nor our records hold."""
    partners = []
    for booking in bookings.values():
        for key in ("rescheduledToUid", "rescheduledFromUid"):
            uid = booking.get(key)
            if isinstance(uid, str) and uid not in bookings and not _consultations(uid):
                partners.append(uid)
    return sorted(set(partners))


def _apply_all(
    bookings: dict[str, dict[str, Any]],
    now: datetime,
    result: ReconcileResult,
    progress: Callable[[str], None],
) -> None:
    """Apply every booking we lack or hold out of date, oldest first, so that a replaced
    booking exists before its replacement marks it."""
    ordered = sorted(bookings.values(), key=lambda b: (str(b.get("createdAt")), str(b["uid"])))
    stale = [b for b in ordered if not is_up_to_date(b)]
    before = {b["uid"]: _snapshot(b["uid"]) for b in ordered}
    progress(f"{len(stale)} of {len(ordered)} bookings missing or out of date; applying")
    for booking in stale:
        uid = booking["uid"]
        partner = booking.get("rescheduledToUid")
        if partner and partner not in bookings and not _consultations(partner):
            # Its replacement cannot be read: at least record it as called off.
            booking = {key: value for key, value in booking.items() if key != "rescheduledToUid"}
        try:
            for event in booking_events(booking, now):
                apply_event(event, event_time(event, now), f"cal reconcile booking {uid}")
        except (PayloadError, InvalidContactError, ConflictError) as exc:
            logger.warning("cal reconcile: booking %s not applied: %s", uid, exc)
            result.skipped.append(uid)
        except Exception as exc:
            if is_database_unreachable(exc):
                raise
            log_failure(logger, exc, f"cal reconcile: booking {uid}")
            result.skipped.append(uid)
    for booking in ordered:
        uid = booking["uid"]
        after = _snapshot(uid)
        if before[uid] is None and after is not None:
            result.missing.append(uid)
        elif before[uid] is not None and after != before[uid]:
            result.outdated.append(uid)


def _consultations(uid: str) -> list[Consultation]:
    """Every consultation of a booking uid: one, or one per seat holder."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.cal_booking_uid == uid)
            .order_by(Consultation.seat_key)
        )
    )


def _consultation(uid: str, seat_key: str) -> Consultation | None:
    """The consultation of a booking uid for one seat holder (``""`` for the booking's own)."""
    seats = _consultations(uid)
    return next((seat for seat in seats if seat.seat_key == seat_key), None) or next(
        (seat for seat in seats if seat.seat_key == ""), None
    )


def _snapshot(uid: str) -> tuple[_Snapshot, ...] | None:
    """What we hold of a booking, to tell afterwards whether a run changed it."""
    held = _consultations(uid)
    if not held:
        return None
    return tuple(
        _Snapshot(seat.status, seat.rescheduled_to_id, seat.cancellation_reason) for seat in held
    )
