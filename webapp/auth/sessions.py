"""Consultant sessions: 30 minutes idle, 12 hours at most, polling is not activity, and
logging out ends a session on the server too (a copied cookie stops working)."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, Response, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from webapp.extensions import db, login_manager
from webapp.models import Consultant

IDLE_LIMIT = timedelta(minutes=30)
ABSOLUTE_LIMIT = timedelta(hours=12)
# Endpoints the browser calls on its own; they must not keep a session alive.
BACKGROUND_ENDPOINTS = {"dashboard.updates"}
# The consultant's ``session_version`` when the session began.
SESSION_VERSION_KEY = "session_version"


def load_consultant(consultant_id: str) -> Consultant | None:
    """The consultant a session names (Flask-Login's user loader); ``None`` logs them out.

    A session whose version is not the consultant's current one was ended on the server
    (logout, new password) and names no one. The check reads the row loaded anyway, so
    it costs no query.
    """
    try:
        consultant = db.session.get(Consultant, int(consultant_id))
    except ValueError:
        return None
    if consultant is None or session.get(SESSION_VERSION_KEY) != consultant.session_version:
        return None
    return consultant


def start_session(consultant: Consultant) -> None:
    """Log ``consultant`` in with a fresh session (no fixation) and start both clocks."""
    session.clear()
    login_user(consultant)
    session[SESSION_VERSION_KEY] = consultant.session_version
    now = time.time()
    session["login_at"] = now
    session["seen_at"] = now
    session.permanent = True


def end_session() -> None:
    """Log out and forget everything in this browser's session."""
    logout_user()
    session.clear()


def end_every_session(consultant: Consultant) -> None:
    """End every session ``consultant`` has, on every device, at their next request; flushes."""
    consultant.session_version = Consultant.session_version + 1
    db.session.flush()


def log_out() -> None:
    """Log the consultant out here, and make any copy of the session cookie useless; flushes."""
    if current_user.is_authenticated:
        end_every_session(current_user._get_current_object())
    end_session()


def session_has_expired(now: float | None = None) -> bool:
    """Whether the logged-in session is past its idle or absolute limit."""
    now = time.time() if now is None else now
    login_at = session.get("login_at", 0.0)
    seen_at = session.get("seen_at", 0.0)
    return (
        now - seen_at > IDLE_LIMIT.total_seconds()
        or now - login_at > ABSOLUTE_LIMIT.total_seconds()
    )


def enforce_session_limits() -> None:
    """Before each request: end an expired session, or record activity on a live one."""
    if "_user_id" not in session:
        return
    if session_has_expired():
        end_session()
        session["expired"] = True
        return
    if request.endpoint not in BACKGROUND_ENDPOINTS and request.endpoint != "static":
        session["seen_at"] = time.time()


def send_to_login() -> Response:
    """Answer a request that needs a login: a redirect, or ``HX-Redirect`` for htmx.

    After logging in the consultant returns to the page they were on: for an htmx request
    (a background poll, say) that is the page the browser shows, not the fragment's URL.
    """
    if session.pop("expired", False):
        flash("Your session has expired. Please log in again.", "warning")
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
    login_manager.user_loader(load_consultant)
    login_manager.unauthorized_handler(send_to_login)
    app.before_request(enforce_session_limits)
