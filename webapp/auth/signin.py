"""Signing in, step by step: the password first, then the code from the authenticator app
on a step of its own, or (when two-factor is required and not yet on) enrolment.

Between the steps the browser's cookie holds only who passed the password, when, and
where they were going; no session exists yet, so no page opens. A code step left
unfinished for 5 minutes (enrolment: 15) is forgotten and the password is asked again.
"""

from __future__ import annotations

import enum
import time
from datetime import timedelta

from flask import current_app, session

from webapp.auth.sessions import start_session
from webapp.extensions import db
from webapp.models import Consultant

PENDING_KEY = "signing_in"


class Step(enum.StrEnum):
    """What a consultant who passed the password still has to do."""

    CODE = "code"
    ENROL = "enrol"


STEP_LIMITS = {Step.CODE: timedelta(minutes=5), Step.ENROL: timedelta(minutes=15)}


def after_password(consultant: Consultant, next_path: str | None) -> Step | None:
    """Move ``consultant``, whose password (or invite) was just accepted, to their next
    step: the code step when two-factor is on, enrolment when it is required and off, or
    (returning ``None``) a session at once. Flushes when a session starts."""
    session.clear()
    if consultant.has_two_factor:
        step = Step.CODE
    elif current_app.config["REQUIRE_TWO_FACTOR"]:
        step = Step.ENROL
    else:
        start_session(consultant)
        return None
    session[PENDING_KEY] = {
        "consultant": consultant.id,
        "step": str(step),
        "at": time.time(),
        "next": next_path,
    }
    return step


def pending_consultant(step: Step) -> Consultant | None:
    """The consultant waiting at ``step`` in this browser, while the step has not run out
    and they are still active; ``None`` otherwise (the password is then asked again)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("step") != step:
        return None
    started, consultant_id = pending.get("at"), pending.get("consultant")
    limit = STEP_LIMITS[step].total_seconds()
    if not isinstance(started, int | float) or time.time() - started > limit:
        session.pop(PENDING_KEY, None)
        return None
    if not isinstance(consultant_id, int):
        return None
    consultant = db.session.get(Consultant, consultant_id)
    return consultant if consultant is not None and consultant.active else None


def pending_consultant_id() -> int | None:
    """The id of the consultant waiting at a step in this browser, whether or not the step
    has run out (what the code steps' rate limit counts by)."""
    pending = session.get(PENDING_KEY)
    consultant_id = pending.get("consultant") if isinstance(pending, dict) else None
    return consultant_id if isinstance(consultant_id, int) else None


def pending_next_path() -> str | None:
    """Where the consultant waiting at a step was going when they typed their password."""
    pending = session.get(PENDING_KEY)
    return pending.get("next") if isinstance(pending, dict) else None
