"""One booking at a time: the lock a Cal.com delivery and the questionnaire sent from a
booking's link both take on the booking's uid.

A delivery looks for answers sent before its booking arrived (``attach_pending_answers``);
answers sent before the booking arrives look for the booking, then wait pending. Run at
once, each could read before the other commits and miss it, leaving the answers pending
although their booking is there. On PostgreSQL both first take a lock on the uid that lasts
until their transaction ends, so the later one waits for the earlier to commit and then
sees its rows, in any statement that starts after the lock is taken (a statement sees what
was committed when it started, so the one that waited for the lock must not be the one that
looks for the other's rows). A delivery takes it with its event's insert
(``webapp.cal.deliveries``), so that the one statement in which it then looks up the
booking's consultations, patient and pending answers sees them all; a replay or a reconcile
takes it first with ``lock_booking``. SQLite needs no lock: its writers take the whole
database before they read (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, func, literal, select

from webapp.extensions import db

# The class of PostgreSQL advisory locks that stand for booking uids; the lock's other key
# is the uid's hash (two uids sharing a hash only wait for each other).
BOOKING_LOCKS = 7201


def booking_lock(uid: Any) -> ColumnElement[Any]:
    """The SQL that takes the lock on ``uid`` (a value or a bound parameter) until the
    transaction ends; PostgreSQL only."""
    return func.pg_advisory_xact_lock(literal(BOOKING_LOCKS, Integer), func.hashtext(uid))


def taking_booking_lock(uid: Any) -> ColumnElement[bool]:
    """A condition, true once it took the lock on ``uid`` (false, taking none, when ``uid``
    is NULL), evaluated once per statement: in a lookup's WHERE before any row is read, or
    returned with an inserted row; for a statement that should take the lock without a
    round trip of its own. PostgreSQL only."""
    return select(booking_lock(uid)).scalar_subquery().is_not(None)


def lock_booking(uid: str) -> None:
    """Take the lock on booking ``uid`` now, until the transaction ends (where
    ``booking_locks_exist``; elsewhere there is nothing to take)."""
    if booking_locks_exist():
        db.session.execute(select(booking_lock(uid)))


def booking_locks_exist() -> bool:
    """Whether the session's database takes booking locks: PostgreSQL does; SQLite's
    writers queue for the whole database instead."""
    return db.session.get_bind().dialect.name == "postgresql"
