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

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from webapp.cal.events import (
    REPEATABLE_TRIGGERS,
    AppliedBooking,
    UnknownBookingError,
    apply_event,
    event_time,
    is_acted_on,
)
from webapp.cal.payload import Delivery, PayloadError, parse_booking, read_delivery
from webapp.database.conflicts import ConflictError
from webapp.extensions import db
from webapp.models import EventStatus, WebhookEvent, utcnow
from webapp.patients.contact import InvalidContactError
from webapp.privacy.erasure import is_erased_booking
from webapp.privacy.personal_data import ERASED_BODY
from webapp.security.logs import log_failure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: its stored event and what to answer Cal.com."""

    event_id: int
    trigger: str | None
    status: EventStatus
    message: str
    consultation_id: int | None = None
    patient_id: int | None = None
    patient_created: bool | None = None

    def as_json(self) -> dict[str, object]:
        """The webhook's answer body; carries ids only, never patient details."""
        answer: dict[str, object] = {
            "status": self.status.value,
            "event_id": self.event_id,
            "trigger": self.trigger,
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
    """Store an authentic delivery, then process it; a byte-identical repeat is a duplicate.

    The event is inserted with ``ON CONFLICT DO NOTHING`` on its unique body hash, so two
    identical deliveries at once are told apart without a savepoint: the second waits for
    the first to commit, inserts nothing and is answered as its duplicate.
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
    return process_event(event, delivery)


def process_event(event: WebhookEvent, delivery: Delivery | None = None) -> Outcome:
    """Apply a stored event (again) with ``apply_event`` and record its outcome on it;
    idempotent, so replaying an event is safe.

    ``delivery`` is the event's body already read (by ``receive_delivery``); it is read
    from the stored body when not given.
    """
    if delivery is None and event.body == ERASED_BODY:
        # Kept as its envelope and hash only: there is nothing left to apply, and its
        # outcome stays as it was.
        return Outcome(
            event.id,
            event.trigger_event,
            EventStatus(event.status),
            "its patient was erased: the body is gone and nothing is applied",
            consultation_id=event.consultation_id,
            patient_id=event.patient_profile_id,
        )
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
        applied = apply_event(
            booking, event_time(booking, event.received_at), f"cal event {event.id}"
        )
    except (PayloadError, InvalidContactError) as exc:
        return _finish(event, EventStatus.REJECTED, str(exc))
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
    """Insert the delivery as a new event and return it; ``None`` when an event with the
    same body hash exists (after waiting for a concurrent transaction that inserted it)."""
    insert = (
        postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    statement = (
        insert(WebhookEvent)
        .values(
            received_at=utcnow(),
            status=EventStatus.IGNORED,
            body=body,
            body_sha256=digest,
            **(_envelope_columns(delivery) if delivery is not None else {}),
        )
        .on_conflict_do_nothing(index_elements=[WebhookEvent.body_sha256])
        .returning(WebhookEvent)
    )
    return db.session.scalar(statement)


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
        return Outcome(
            original.id, original.trigger_event, EventStatus.REJECTED, original.error or "rejected"
        )
    return Outcome(
        original.id,
        original.trigger_event,
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
    """Record the event's status, and the consultation and patient ``applied`` names; log
    the outcome by ids only."""
    event.status = status
    event.error = message if status in (EventStatus.FAILED, EventStatus.REJECTED) else None
    if applied is not None:
        event.consultation_id = applied.consultation.id
        event.patient_profile_id = applied.patient.id
        if applied.patient.erased_at is not None:
            # A later delivery about an erased patient's booking is applied (its time and
            # status), then kept as its hash and envelope only, like their earlier ones.
            event.body = ERASED_BODY
    elif (
        status in (EventStatus.IGNORED, EventStatus.REJECTED)
        and event.booking_uid
        and is_erased_booking(event.booking_uid)
    ):
        event.body = ERASED_BODY  # stored, not acted on, and about an erased patient
    db.session.flush()
    logger.info(
        "cal event %s trigger=%s booking=%s status=%s consultation=%s",
        event.id,
        event.trigger_event,
        event.booking_uid,
        status,
        event.consultation_id,
    )
    return Outcome(
        event.id,
        event.trigger_event,
        status,
        message,
        consultation_id=event.consultation_id,
        patient_id=event.patient_profile_id,
        patient_created=applied.patient_created if applied else None,
    )
