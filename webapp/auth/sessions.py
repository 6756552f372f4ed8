"""Consultant sessions: a row per sign-in (``ConsultantSession``) that the browser's signed
cookie names by a random key. A session ends after 30 minutes idle or 12 hours at most;
polling is not activity. Ending one deletes its row, so a copied cookie stops working.

Every request that carries a session reads its row and its consultant in one statement
(``current_session``); that statement is how Flask-Login finds the consultant too, so a
request pays for the session check with the query that loads the consultant anyway.

A background request (the dashboard's poll) never writes the cookie (``PollsLeaveTheCookie``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import login_user, logout_user
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import contains_eager
from ua_parser import parse as parse_user_agent

from webapp.extensions import db, login_manager
from webapp.models import Consultant, ConsultantSession, utcnow

IDLE_LIMIT = timedelta(minutes=30)
ABSOLUTE_LIMIT = timedelta(hours=12)
# How stale a session's ``last_active_at`` may grow before a request writes it again: the
# idle limit counts from the last write, so it is kept to this much.
ACTIVITY_STEP = timedelta(minutes=1)
# Endpoints the browser calls on its own; they must not keep a session alive.
BACKGROUND_ENDPOINTS = {"dashboard.updates"}
# The cookie's name for the random key of this browser's session row.
SESSION_KEY = "session_key"
DEVICE_LENGTH = 100
ADDRESS_LENGTH = 45
SESSION_EXPIRED = "Your session has expired. Please log in again."


class PollsLeaveTheCookie(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a background request never writes the
    cookie. Every answer refreshes a permanent session's cookie, so a poll in flight when
    the consultant logs out would answer after the log-out and put back the old cookie, or
    one saying the session expired, over the one saying they logged out. What a poll
    learns (its session is gone) the next page learns again from the cookie it still has."""

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if request.endpoint in BACKGROUND_ENDPOINTS:
            return
        super().save_session(app, session, response)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(consultant: Consultant) -> ConsultantSession:
    """Sign ``consultant`` in here: a new session row and a fresh cookie (no fixation); also
    forgets their sessions that have run out. Flushes; the caller commits."""
    session.clear()
    now = utcnow()
    _forget_expired_sessions(consultant, now)
    key = secrets.token_urlsafe(32)
    record = ConsultantSession(
        consultant=consultant,
        key_hash=_key_hash(key),
        created_at=now,
        last_active_at=now,
        device=describe_device(request.user_agent.string),
        address=(request.remote_addr or "")[:ADDRESS_LENGTH] or None,
    )
    consultant.last_sign_in_at = now
    db.session.add(record)
    db.session.flush()
    login_user(consultant)
    session[SESSION_KEY] = key
    session.permanent = True
    g.consultant_session = record
    return record


def describe_device(user_agent: str) -> str:
    """A short description of a browser from its User-Agent: "Firefox 133 on Windows"."""
    parsed = parse_user_agent(user_agent[:1000])
    browser = parsed.user_agent
    system = parsed.os
    name = f"{browser.family} {browser.major or ''}".strip() if browser else "Unknown browser"
    if system and system.family != "Other":
        name += f" on {system.family}"
    return name[:DEVICE_LENGTH]


def current_session() -> ConsultantSession | None:
    """This browser's session row with its consultant, while the session is live; ``None``
    when the cookie names none, or one that has ended, run out or whose consultant was
    deactivated. One statement, once per request."""
    if "consultant_session" not in g:
        g.consultant_session = _live_session_named_by_cookie(utcnow())
    return g.consultant_session


# The same statement on every request (only the key's hash differs), so it is built once.
SESSION_WITH_CONSULTANT = (
    select(ConsultantSession)
    .join(ConsultantSession.consultant)
    .options(contains_eager(ConsultantSession.consultant))
    .where(ConsultantSession.key_hash == bindparam("key_hash"))
)


def _live_session_named_by_cookie(now: datetime) -> ConsultantSession | None:
    key = session.get(SESSION_KEY)
    if not isinstance(key, str):
        return None
    record = db.session.scalar(SESSION_WITH_CONSULTANT, {"key_hash": _key_hash(key)})
    if record is None or not record.consultant.active or has_expired(record, now):
        return None
    return record


def has_expired(record: ConsultantSession, now: datetime) -> bool:
    """Whether ``record`` is past its idle or its absolute limit at ``now``."""
    return now - record.last_active_at > IDLE_LIMIT or now - record.created_at > ABSOLUTE_LIMIT


def load_consultant(consultant_id: str) -> Consultant | None:
    """The consultant this browser's live session belongs to (Flask-Login's user loader);
    ``None`` logs the browser out. Costs no statement beyond ``current_session``'s."""
    record = current_session()
    if record is None or str(record.consultant_id) != consultant_id:
        return None
    return record.consultant


def enforce_session_limits() -> None:
    """Before each request: forget a session that ended or ran out (the browser is then sent
    to log in as from an expired session), or record activity on a live one."""
    if request.endpoint == "static" or not (SESSION_KEY in session or "_user_id" in session):
        return
    record = current_session()
    if record is None:
        end_session()
        flash(SESSION_EXPIRED, "warning")
        return
    now = utcnow()
    if (
        request.endpoint not in BACKGROUND_ENDPOINTS
        and now - record.last_active_at >= ACTIVITY_STEP
    ):
        record.last_active_at = now
        db.session.commit()


def end_session() -> None:
    """Log out and forget everything in this browser's cookie (the row is left as it is)."""
    logout_user()
    session.clear()
    g.consultant_session = None


def log_out() -> None:
    """End this browser's session, here and on the server; the consultant's other sessions
    go on. Flushes."""
    record = current_session()
    if record is not None:
        db.session.delete(record)
        db.session.flush()
    end_session()


def end_every_session(consultant: Consultant) -> None:
    """End every session ``consultant`` has, on every device, at once; flushes."""
    db.session.execute(
        delete(ConsultantSession).where(ConsultantSession.consultant_id == consultant.id)
    )


def end_other_sessions(consultant: Consultant, keep: ConsultantSession) -> int:
    """End every session of ``consultant`` but ``keep``; returns how many ended. Flushes."""
    return db.session.execute(
        delete(ConsultantSession).where(
            ConsultantSession.consultant_id == consultant.id, ConsultantSession.id != keep.id
        )
    ).rowcount


def end_one_session(consultant: Consultant, session_id: int) -> bool:
    """End ``consultant``'s session ``session_id`` (never anyone else's); whether it existed.
    Flushes."""
    return (
        db.session.execute(
            delete(ConsultantSession).where(
                ConsultantSession.consultant_id == consultant.id,
                ConsultantSession.id == session_id,
            )
        ).rowcount
        == 1
    )


def live_sessions(consultant: Consultant) -> list[ConsultantSession]:
    """``consultant``'s sessions that have not run out, the most recently active first."""
    now = utcnow()
    rows = db.session.scalars(
        select(ConsultantSession)
        .where(ConsultantSession.consultant_id == consultant.id)
        .order_by(ConsultantSession.last_active_at.desc(), ConsultantSession.id.desc())
    )
    return [row for row in rows if not has_expired(row, now)]


def _forget_expired_sessions(consultant: Consultant, now: datetime) -> None:
    """Delete ``consultant``'s sessions that ran out (their cookies name nothing live)."""
    db.session.execute(
        delete(ConsultantSession).where(
            ConsultantSession.consultant_id == consultant.id,
            (ConsultantSession.last_active_at < now - IDLE_LIMIT)
            | (ConsultantSession.created_at < now - ABSOLUTE_LIMIT),
        )
    )


def send_to_login() -> Response:
    """Answer a request that needs a login: a redirect, or ``HX-Redirect`` for htmx.

    After logging in the consultant returns to the page they were on: for an htmx request
    (a background poll, say) that is the page the browser shows, not the fragment's URL.
    """
    is_htmx = request.headers.get("HX-Request") == "true"
    login_url = url_for("auth.login", next=_return_path(is_htmx))
    if is_htmx:
        response = Response(status=401)
        response.headers["HX-Redirect"] = login_url
        return response
    return redirect(login_url)  # type: ignore[return-value]


def _return_path(is_htmx: bool) -> str | None:
    """The path (and query) to come back to after login, on this site only."""
    if is_htmx:
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        path = current.path + (f"?{current.query}" if current.query else "")
    elif request.method == "GET":
        path = request.full_path.rstrip("?")
    else:
        path = ""
    return path if path != "/" and local_path(path) else None


def local_path(target: str | None) -> str | None:
    r"""``target`` if every browser reads it as a path on this site, else ``None``.

    Browsers drop tabs and newlines anywhere in a URL, strip leading control characters
    and spaces, and read a backslash as a slash: ``/<TAB>/evil.example`` and
    ``/\evil.example`` both lead to another host. A target holding any of these, or any
    other unprintable character, is refused rather than cleaned; what is left must split
    into no scheme, no host and a path that starts with exactly one slash.
    """
    if not target or any(not char.isprintable() or char in " \\" for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return None
    return target


def register(app: Flask) -> None:
    """Make Flask-Login read sessions this way, and check their limits on every request."""
    app.session_interface = PollsLeaveTheCookie()
    login_manager.user_loader(load_consultant)
    login_manager.unauthorized_handler(send_to_login)
    app.before_request(enforce_session_limits)
