"""One booking at a time: the lock a delivery, a reconcile and the questionnaire's answers
take on a booking's uid.

A delivery looks for answers sent before its booking; those answers look for the booking.
Run at once, each could miss the other. So both first take the booking's lock, until their
transaction ends: the later waits for the earlier to commit, then sees its rows. PostgreSQL
takes an advisory lock; SQLite's writers take the whole database anyway (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from sqlalchemy import Integer, func, literal, select

from webapp.extensions import db

# The class of PostgreSQL advisory locks that stand for booking uids; the lock's other key
# is the uid's hash (two uids sharing a hash only wait for each other).
BOOKING_LOCKS = 7201


def lock_booking(*uids: str) -> None:
    """Hold the lock of each booking in ``uids`` until the transaction ends, waiting for a
    transaction that holds one; on SQLite there is nothing to take.

    Several uids (a reschedule's two bookings) are locked in one statement, in sorted order,
    so that two transactions locking the same pair never wait for each other.
    """
    if not uids or db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(
        select(
            *(
                func.pg_advisory_xact_lock(literal(BOOKING_LOCKS, Integer), func.hashtext(uid))
                for uid in sorted(set(uids))
            )
        )
    )
