"""``POST /webhooks/cal``: check the signature, keep the delivery, answer in JSON."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request

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
    (stored as ``rejected``); 200 for everything else that is safely stored. Oversized
    bodies get 413 and a lost database 503 from the app's error handlers.
    """
    body = request.get_data(cache=False)
    if not is_authentic(body, request.headers.get(SIGNATURE_HEADER), _secret()):
        logger.warning("cal webhook: refused a delivery with a missing or wrong signature")
        return jsonify(error="missing or invalid X-Cal-Signature-256 signature"), 401

    outcome = receive_delivery(body)
    db.session.commit()
    if outcome.status == EventStatus.REJECTED:
        return jsonify(outcome.as_json() | {"error": outcome.message}), 400
    return jsonify(outcome.as_json()), 200


def _secret() -> str:
    return current_app.config["CAL_WEBHOOK_SECRET"]
