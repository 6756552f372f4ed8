"""Error answers: JSON for the webhook and other API callers, a page for people.

Every JSON error has one shape, ``{"error": message, "status": code}`` (``error_json``).
No error ever shows a traceback; an unexpected one is logged by its frames only, and a
lost database answers 503 (the webhook spools deliveries instead: ``webapp.cal.spool``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from webapp.extensions import db
from webapp.security.logs import log_failure

logger = logging.getLogger(__name__)


def wants_json() -> bool:
    """Whether the caller is a machine: the webhook, or a client that prefers JSON."""
    if request.path.startswith("/webhooks/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_json(
    code: int, message: str, details: dict[str, Any] | None = None
) -> tuple[Response, int]:
    """The JSON answer for an error: ``{"error": message, "status": code}``, after any
    ``details`` the caller adds (ids only)."""
    return jsonify({**(details or {}), "error": message, "status": code}), code


def error_response(error: HTTPException) -> tuple[Response | str, int]:
    """Render ``error`` as JSON or as the error page, with its status code."""
    code = error.code or 500
    if wants_json():
        return error_json(code, error.description or error.name)
    return render_template("errors/error.html", error=error), code


def log_unexpected(error: BaseException) -> None:
    """Log an error no handler expected: the request's method and path, and the error's
    type and frames (never its message, which can quote patient data)."""
    log_failure(logger, error, f"{request.method} {request.path}")


STATEMENT_HEAD = 60  # characters of the failed SQL a log line names


def driver_error(error: OperationalError) -> str:
    """What the database driver said went wrong, by its error's type and code (SQLite's
    name such as SQLITE_BUSY, PostgreSQL's SQLSTATE), and the start of the statement that
    failed (SQL with placeholders: values travel apart as parameters); never the driver's
    message, which can quote a value."""
    original = error.orig
    code = getattr(original, "sqlite_errorname", None) or getattr(original, "sqlstate", None)
    kind = f"{type(original).__module__}.{type(original).__name__}"
    said = f"{kind} {code}" if code else kind
    statement = " ".join((error.statement or "").split())[:STATEMENT_HEAD]
    return f"{said} in {statement!r}" if statement else said


def register(app: Flask) -> None:
    """Attach the error handlers to ``app``."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        if error.code == 413:
            error.description = "request body is larger than 1 MiB"
        return error_response(error)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> tuple[Response | str, int]:
        db.session.rollback()
        logger.error(
            "database unavailable on %s %s: %s", request.method, request.path, driver_error(error)
        )
        return error_response(
            ServiceUnavailable("the database is unavailable; nothing was stored, try again")
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response | str, int]:
        db.session.rollback()
        log_unexpected(error)
        return error_response(InternalServerError("something went wrong; it has been logged"))
