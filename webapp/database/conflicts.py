"""Running work that races other requests to insert the same rows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from webapp.extensions import db

logger = logging.getLogger(__name__)
T = TypeVar("T")

CONFLICT_ATTEMPTS = 3


class ConflictError(RuntimeError):
    """Concurrent requests kept inserting the same rows; nothing of this work was kept."""


def retry_on_conflict(work: Callable[[], T], label: str, attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run ``work`` in a savepoint; when a unique constraint shows that a concurrent request
    inserted the same patient or booking first, roll the savepoint back and run it again,
    which then finds the other's rows.

    Raises ``ConflictError`` after ``attempts`` conflicts; other errors propagate with the
    savepoint rolled back. ``label`` names the work in logs (ids only).
    """
    for attempt in range(1, attempts + 1):
        try:
            with db.session.begin_nested():
                return work()
        except IntegrityError:
            logger.info("%s: concurrent insert, attempt %d of %d", label, attempt, attempts)
    raise ConflictError(f"{label}: concurrent requests kept conflicting")
