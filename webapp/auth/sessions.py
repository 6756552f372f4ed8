"""Consultant sessions: 30 minutes idle, 12 hours at most, and polling is not activity."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Response, flash, redirect, request, session, url_for
from flask_login import login_user, logout_user

from webapp.extensions import db
from webapp.models import Consultant

IDLE_LIMIT = timedelta(minutes=30)
ABSOLUTE_LIMIT = timedelta(hours=12)
# Endpoints the browser calls on its own; they must not keep a session alive.
BACKGROUND_ENDPOINTS = {"dashboard.updates"}


def load_consultant(consultant_id: str) -> Consultant | None:
    """The consultant a session names (Flask-Login's user loader); ``None`` logs them out."""
    try:
        return db.session.get(Consultant, int(consultant_id))
    except ValueError:
        return None


def start_session(consultant: Consultant) -> None:
    """Log ``consultant`` in with a fresh session (no fixation) and start both clocks."""
    session.clear()
    login_user(consultant)
    now = time.time()
    session["login_at"] = now
    session["seen_at"] = now
    session.permanent = True


def end_session() -> None:
    """Log out and forget everything in the session."""
    logout_user()
    session.clear()


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
    return path if path.startswith("/") and path != "/" else None
