"""One booking at a time: the lock a Cal.com delivery, a reconcile and the questionnaire's
answers take on a booking's uid.

A delivery looks for answers sent before its booking arrived; answers sent before the
booking arrives look for the booking, then wait pending. Run at once, each could read before
the other commits and miss it, leaving the answers pending beside their booking. So both
first take the booking's lock (``lock_booking``), which lasts until their transaction ends:
the later one waits for the earlier to commit, and every statement it sends afterwards sees
the earlier one's rows. PostgreSQL takes it as an advisory lock on the uid; SQLite needs none,
since its writers take the whole database before they read (``BEGIN IMMEDIATE``).
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
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(
        select(
            *(
                func.pg_advisory_xact_lock(literal(BOOKING_LOCKS, Integer), func.hashtext(uid))
                for uid in sorted(set(uids))
            )
        )
    )
