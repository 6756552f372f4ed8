"""``/connection``: the health of the link with Cal.com, and replaying a delivery."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.audit import trail
from webapp.cal.deliveries import replay_events
from webapp.connection.health import connection_health
from webapp.extensions import db
from webapp.models import PatientProfile, WebhookEvent

bp = Blueprint("connection", __name__)


@bp.get("/connection")
@login_required
def index() -> str:
    """Deliveries, failures, the spool and the last reconcile run."""
    return render_template(
        "connection/index.html",
        health=connection_health(datetime.now(UTC)),
        timezone=current_user.timezone,
    )


@bp.post("/connection/deliveries/<int:event_id>/replay")
@login_required
def replay(event_id: int) -> Response:
    """Process a stored delivery again (idempotent) and record who did it."""
    event = db.session.get(WebhookEvent, event_id)
    if event is None:
        abort(404)
    before = event.status
    [outcome] = replay_events([event])
    patient = db.session.get(PatientProfile, outcome.patient_id) if outcome.patient_id else None
    trail.record(
        "delivery.replayed",
        current_user,
        patient,
        {"event_id": event.id, "status_before": before, "status_after": outcome.status.value},
    )
    db.session.commit()
    flash(f"Delivery {event.id} replayed: {outcome.status.value}.", "info")
    return redirect(url_for("connection.index"))
