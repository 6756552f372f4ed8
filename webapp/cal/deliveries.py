"""Keep every authentic Cal.com delivery and process it exactly once.

A delivery is stored first; applying it runs in a savepoint, so a bug leaves the stored
event ``failed`` and replayable with no partial patient, while losing the database
connection rolls everything back and the webhook keeps the body in the spool
(``webapp.cal.spool``), which applies it here again when the database returns. Functions
here flush; the caller (the webhook view, the spool or a CLI command) commits.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import Insert, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from webapp.booking_lock import lock_booking, taking_booking_lock
from webapp.cal.events import (
    REPEATABLE_TRIGGERS,
    AppliedBooking,
    UnknownBookingError,
    apply_booking,
    event_time,
    is_acted_on,
    names_a_patient,
)
from webapp.cal.payload import Delivery, PayloadError, parse_booking, read_delivery
from webapp.extensions import db
from webapp.log_privacy import log_failure
from webapp.models import EventStatus, WebhookEvent, utcnow
from webapp.patients.contact import InvalidContactError, contact_details
from webapp.transactions import ConflictError, retry_on_conflict

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: the stored event and what to answer Cal.com."""

    event: WebhookEvent
    status: EventStatus
    message: str
    consultation_id: int | None = None
    patient_id: int | None = None
    patient_created: bool | None = None

    def as_json(self) -> dict[str, object]:
        """The webhook's answer body; carries ids only, never patient details."""
        answer: dict[str, object] = {
            "status": self.status.value,
            "event_id": self.event.id,
            "trigger": self.event.trigger_event,
            "message": self.message,
        }
        if self.consultation_id is not None:
            answer |= {
                "consultation_id": self.consultation_id,
                "patient_id": self.patient_id,
                "patient_created": self.patient_created,
            }
        return answer


def receive_delivery(body: bytes) -> Outcome:
    """Store an authentic delivery and process it; a byte-identical repeat is a duplicate.

    The event is inserted with ``ON CONFLICT DO NOTHING`` on its unique body hash, so two
    identical deliveries at once are told apart without a savepoint: the second waits for
    the first to commit, inserts nothing and is answered as its duplicate. On PostgreSQL
    the same statement takes the lock of the booking the delivery acts on
    (``webapp.booking_lock``), so that applying it needs no round trip for that.
    """
    digest = hashlib.sha256(body).hexdigest()
    try:
        delivery: Delivery | None = read_delivery(body)
    except PayloadError:
        delivery = None  # stored all the same; ``process_event`` rejects it, saying why
    event = _store_event(body, digest, delivery)
    if event is None:
        original = _event_by_digest(digest)
        if original is None:
            raise LookupError(f"event with body hash {digest} conflicted but cannot be read")
        return _repeat_outcome(original)
    return process_event(event, delivery, booking_locked=True)


def process_event(
    event: WebhookEvent, delivery: Delivery | None = None, *, booking_locked: bool = False
) -> Outcome:
    """Apply a stored event (again), recording its status; idempotent, used by replay too.

    ``delivery`` is the event's body already read (by ``receive_delivery``); it is read
    from the stored body when not given. The booking's lock is taken before the booking
    is applied, unless ``booking_locked`` says the event's insert took it.
    """
    if delivery is None:
        try:
            delivery = read_delivery(event.body)
        except PayloadError as exc:
            return _finish(event, EventStatus.REJECTED, str(exc))
        for attribute, value in _envelope_columns(delivery).items():
            setattr(event, attribute, value)

    if delivery.trigger == "PING":
        return _finish(event, EventStatus.PROCESSED, "ping received")
    if not is_acted_on(delivery.trigger):
        return _finish(event, EventStatus.IGNORED, f"{delivery.trigger} is stored, not acted on")

    try:
        booking = parse_booking(delivery)
        details = None
        if names_a_patient(booking.trigger):
            if not booking.email:
                raise PayloadError("payload has no attendee email")
            details = contact_details(
                booking.email,
                booking.name,
                booking.phones,
                booking.location,
                booking.timezone,
                booking.country,
                booking.city,
            )
    except (PayloadError, InvalidContactError) as exc:
        return _finish(event, EventStatus.REJECTED, str(exc))

    at = event_time(booking, event.received_at)
    if not booking_locked:
        lock_booking(booking.uid)
    try:
        applied = retry_on_conflict(
            lambda: apply_booking(booking, details, at), f"cal event {event.id}"
        )
    except OperationalError:
        raise  # the database is gone: nothing is kept here, the webhook spools the body
    except (UnknownBookingError, ConflictError) as exc:
        return _fail(event, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must not lose the delivery
        log_failure(logger, exc, f"cal event {event.id}: applying")
        # Only the exception's type is kept: its message can quote patient data, and the
        # stored body is enough to reproduce it with `flask cal replay`.
        return _fail(event, f"{type(exc).__name__} while applying the event; see the server log")

    status, message = EventStatus.PROCESSED, f"{delivery.trigger} applied"
    # A consultation created just now has no earlier event applied to it.
    if not applied.consultation_created and _already_applied(event, applied.consultation.id):
        status, message = EventStatus.DUPLICATE, f"{delivery.trigger} was already applied"
    return _finish(event, status, message, applied)


def replay_events(events: list[WebhookEvent]) -> list[Outcome]:
    """Process stored events again, oldest first; safe to repeat."""
    return [process_event(event) for event in sorted(events, key=lambda e: e.id)]


def _store_event(body: bytes, digest: str, delivery: Delivery | None) -> WebhookEvent | None:
    """Insert the delivery as a new event, in one statement; ``None`` when an event with the
    same body hash exists (waiting for a concurrent transaction that inserted it to end).

    The row is inserted with every column given, so the event is made in the session from
    those values and its returned id, with no ORM-enabled insert and nothing left to load.
    """
    values: dict[str, object] = {
        "received_at": utcnow(),
        "trigger_event": None,
        "booking_uid": None,
        "sent_at": None,
        "status": EventStatus.IGNORED,
        "error": None,
        "body": body,
        "body_sha256": digest,
        "consultation_id": None,
        "patient_profile_id": None,
    }
    if delivery is not None:
        values |= _envelope_columns(delivery)
    connection = db.session.connection()
    parameters = values
    if connection.dialect.name == "postgresql":
        acted_on = delivery is not None and is_acted_on(delivery.trigger)
        parameters = values | {"lock_uid": delivery.booking_uid if acted_on else None}
    event_id = connection.execute(
        _new_event_statement(connection.dialect.name), parameters
    ).scalar()
    if event_id is None:
        return None
    event = WebhookEvent(id=event_id, **values)
    make_transient_to_detached(event)  # the row exists: the session takes it as loaded
    db.session.add(event)
    return event


def _new_event_statement(dialect: str) -> Insert:
    """``INSERT INTO webhook_events ... ON CONFLICT (body_sha256) DO NOTHING RETURNING id``
    in ``dialect``'s words, built once per dialect so that its cache key is too. On
    PostgreSQL the inserted row also takes the lock of the booking bound as ``lock_uid``
    (none when it is NULL); a delivery that inserts nothing takes no lock."""
    statement = _NEW_EVENT.get(dialect)
    if statement is None:
        table = WebhookEvent.__table__
        if dialect == "postgresql":
            returned = (table.c.id, taking_booking_lock(bindparam("lock_uid")))
            insert = postgresql_insert(table)
        else:
            returned = (table.c.id,)
            insert = sqlite_insert(table)
        statement = _NEW_EVENT[dialect] = insert.on_conflict_do_nothing(
            index_elements=[table.c.body_sha256]
        ).returning(*returned)
    return statement


_NEW_EVENT: dict[str, Insert] = {}


def _envelope_columns(delivery: Delivery) -> dict[str, object]:
    """What an event records of its delivery's envelope, cut to the columns' sizes."""
    return {
        "trigger_event": delivery.trigger[:64],
        "booking_uid": (delivery.booking_uid or "")[:100] or None,
        "sent_at": delivery.sent_at,
    }


def _event_by_digest(digest: str) -> WebhookEvent | None:
    return db.session.scalar(select(WebhookEvent).where(WebhookEvent.body_sha256 == digest))


def _already_applied(event: WebhookEvent, consultation_id: int) -> bool:
    """Whether another delivery of the same trigger was applied to the same consultation
    (the same booking, or the same seat of a seated one).

    No-show updates can come several times with different content, so they never count.
    """
    if event.trigger_event in REPEATABLE_TRIGGERS:
        return False
    return (
        db.session.scalar(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.consultation_id == consultation_id,
                WebhookEvent.trigger_event == event.trigger_event,
                WebhookEvent.status == EventStatus.PROCESSED,
                WebhookEvent.id < event.id,
            )
            .limit(1)
        )
        is not None
    )


def _repeat_outcome(original: WebhookEvent) -> Outcome:
    """The answer to a byte-identical repeat: the original's verdict, nothing stored."""
    if original.status == EventStatus.REJECTED:
        return Outcome(original, EventStatus.REJECTED, original.error or "rejected")
    return Outcome(
        original,
        EventStatus.DUPLICATE,
        f"already received as event {original.id} ({original.status})",
        consultation_id=original.consultation_id,
        patient_id=original.patient_profile_id,
        patient_created=False if original.consultation_id is not None else None,
    )


def _fail(event: WebhookEvent, error: str) -> Outcome:
    return _finish(event, EventStatus.FAILED, error[:2000])


def _finish(
    event: WebhookEvent, status: EventStatus, message: str, applied: AppliedBooking | None = None
) -> Outcome:
    """Record the event's status, and the consultation and patient ``applied`` names, with
    one UPDATE of those columns; log the outcome by ids only."""
    outcome = {
        "status": status,
        "error": message if status in (EventStatus.FAILED, EventStatus.REJECTED) else None,
        "consultation_id": applied.consultation.id if applied else event.consultation_id,
        "patient_profile_id": applied.patient.id if applied else event.patient_profile_id,
    }
    db.session.connection().execute(RECORD_OUTCOME, {"event_id": event.id, **outcome})
    for attribute, value in outcome.items():
        set_committed_value(event, attribute, value)
    logger.info(
        "cal event %s trigger=%s booking=%s status=%s consultation=%s",
        event.id,
        event.trigger_event,
        event.booking_uid,
        status,
        event.consultation_id,
    )
    return Outcome(
        event,
        status,
        message,
        consultation_id=event.consultation_id,
        patient_id=event.patient_profile_id,
        patient_created=applied.patient_created if applied else None,
    )


# Built once, so that its cache key is too; the columns it sets are bound by their names.
RECORD_OUTCOME = update(WebhookEvent.__table__).where(
    WebhookEvent.__table__.c.id == bindparam("event_id")
)
