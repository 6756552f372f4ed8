"""``POST /webhooks/cal``: check the signature, keep the delivery, answer in JSON."""

from __future__ import annotations

import logging
from contextlib import suppress

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wsgi import get_input_stream

from webapp.cal import spool
from webapp.cal.deliveries import receive_delivery
from webapp.cal.signature import SIGNATURE_HEADER, is_authentic
from webapp.errors import error_json
from webapp.extensions import csrf, db, limiter
from webapp.models import EventStatus

logger = logging.getLogger(__name__)

bp = Blueprint("cal", __name__)
READ_SIZE = 64 * 1024


@bp.post("/webhooks/cal")
@csrf.exempt
def receive() -> tuple[Response, int]:
    """Receive one Cal.com delivery.

    413 when the body is over ``MAX_CONTENT_LENGTH``, chunked or not (nothing stored);
    401 when unsigned or wrongly signed (nothing stored); 400 when authentic but
    unreadable (stored as ``rejected``; the answer names the problem and the event); 200
    for everything else that is safely stored. When the database is unreachable the
    delivery is kept in the spool and answered 202, to be applied when the database
    returns; 503 only when the spool cannot keep it either. Errors have the app's one
    JSON shape (``error_json``).
    """
    body = read_body(current_app.config["MAX_CONTENT_LENGTH"])
    if not is_authentic(body, request.headers.get(SIGNATURE_HEADER), _secret()):
        logger.warning("cal webhook: refused a delivery with a missing or wrong signature")
        return error_json(401, "missing or invalid X-Cal-Signature-256 signature")

    try:
        outcome = receive_delivery(body)
        db.session.commit()
    except Exception as exc:
        if not spool.is_database_unreachable(exc):
            raise
        return _keep_for_later(body)
    if outcome.status == EventStatus.REJECTED:
        return error_json(400, outcome.message, outcome.as_json())
    return jsonify(outcome.as_json()), 200


@limiter.request_filter
def is_a_delivery() -> bool:
    """Cal.com's deliveries are never rate-limited: Cal.com does not retry, so an answer
    of 429 would lose the booking. (A request filter is asked before any limit is looked
    up, so a delivery costs the limiter nothing.)"""
    return request.endpoint == "cal.receive"


def read_body(limit: int) -> bytes:
    """The request body as received; 413 as soon as it passes ``limit`` bytes.

    A chunked body has no ``Content-Length`` to check up front, and Werkzeug's own limit
    on such a stream cuts it short instead of refusing it, so the stream is read here
    (``get_input_stream`` still stops at a ``Content-Length`` and at the end of a chunked
    body the server has terminated).
    """
    if request.content_length is not None and request.content_length > limit:
        abort(413)
    stream = get_input_stream(request.environ)
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(READ_SIZE, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        abort(413)
    return b"".join(chunks)


def _keep_for_later(body: bytes) -> tuple[Response, int]:
    """Spool a delivery the database could not take: 202 when kept, 503 when not."""
    with suppress(SQLAlchemyError):  # the connection is gone; there is nothing to undo
        db.session.rollback()
    try:
        kept = spool.keep(body, spool.spool_directory())
    except spool.SpoolError as exc:
        logger.error("cal webhook: database unreachable and %s; delivery refused", exc.strerror)
        return error_json(503, "the database and the spool are both unavailable; nothing kept")
    logger.warning("cal webhook: database unreachable, delivery spooled as %s", kept.name)
    return jsonify(
        status="queued",
        message="the database is unavailable; the delivery is kept and will be applied",
    ), 202


def _secret() -> str:
    return current_app.config["CAL_WEBHOOK_SECRET"]
