"""``POST /webhooks/cal``: check the signature, keep the delivery, answer in JSON."""

from __future__ import annotations

import logging
from contextlib import suppress

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from webapp.cal import spool
from webapp.cal.deliveries import receive_delivery
from webapp.cal.signature import SIGNATURE_HEADER, is_authentic
from webapp.extensions import csrf, db
from webapp.models import EventStatus

logger = logging.getLogger(__name__)

bp = Blueprint("cal", __name__)


@bp.post("/webhooks/cal")
@csrf.exempt
def receive() -> tuple[Response, int]:
    """Receive one Cal.com delivery.

    401 when unsigned or wrongly signed (nothing stored); 400 when authentic but unreadable
    (stored as ``rejected``); 200 for everything else that is safely stored. When the
    database is unreachable the delivery is kept in the spool and answered 202, to be
    applied when the database returns; 503 only when the spool cannot keep it either.
    Oversized bodies get 413 from the app's error handlers.
    """
    body = request.get_data(cache=False)
    if not is_authentic(body, request.headers.get(SIGNATURE_HEADER), _secret()):
        logger.warning("cal webhook: refused a delivery with a missing or wrong signature")
        return jsonify(error="missing or invalid X-Cal-Signature-256 signature"), 401

    try:
        outcome = receive_delivery(body)
        db.session.commit()
    except Exception as exc:
        if not spool.is_database_unreachable(exc):
            raise
        return _keep_for_later(body)
    if outcome.status == EventStatus.REJECTED:
        return jsonify(outcome.as_json() | {"error": outcome.message}), 400
    return jsonify(outcome.as_json()), 200


def _keep_for_later(body: bytes) -> tuple[Response, int]:
    """Spool a delivery the database could not take: 202 when kept, 503 when not."""
    with suppress(SQLAlchemyError):  # the connection is gone; there is nothing to undo
        db.session.rollback()
    try:
        kept = spool.keep(body, spool.spool_directory())
    except spool.SpoolError as exc:
        logger.error("cal webhook: database unreachable and %s; delivery refused", exc.strerror)
        return jsonify(error="the database and the spool are both unavailable; nothing kept"), 503
    logger.warning("cal webhook: database unreachable, delivery spooled as %s", kept.name)
    return jsonify(
        status="queued",
        message="the database is unavailable; the delivery is kept and will be applied",
    ), 202


def _secret() -> str:
    return current_app.config["CAL_WEBHOOK_SECRET"]
