"""``/audit`` and ``/patients/<id>/audit``: the audit trail, for the clinic and per patient.

These pages show who did what; they are not views of a patient's record (they show no
medical data), so opening them records nothing. Read-only: the app has no route that
changes or deletes an audit row.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.audit.trail import MAX_PAGE, AuditFilter, audit_page, recorded_actions
from webapp.extensions import db
from webapp.models import Consultant, PatientProfile
from webapp.pages.filters import zone
from webapp.patients.views import NO_SUCH_PATIENT

bp = Blueprint("audit", __name__)
# Days a filter may name (a year such as 9999 would overflow once a day is added).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 1, 1)

# What each action means, in the clinic's words; an action missing here shows as recorded.
ACTION_LABELS = {
    "patient.viewed": "Opened the patient page",
    "patient.merged": "Merged two patient records",
    "patient.exported": "Exported the patient's whole record",
    "patient.erased": "Erased the patient's personal data",
    "patient.merge_undone": "Undid a merge",
    "patient.duplicate_dismissed": "Said two records are different people",
    "note.added": "Added a note",
    "note.edited": "Edited a note",
    "consultation.status_changed": "Changed a consultation's status",
    "delivery.replayed": "Replayed a Cal.com delivery",
    "dashboard.exported": "Exported the dashboard's view as CSV",
    "consultant.invited": "Invited someone to the team",
    "consultant.joined": "Joined the team",
    "consultant.reactivated": "Came back to the team",
    "consultant.role_changed": "Changed a consultant's role",
    "consultant.deactivated": "Deactivated a consultant",
    "consultant.two_factor_reset": "Reset a consultant's two-factor",
    "consultant.two_factor_enabled": "Turned on two-factor",
    "consultant.password_changed": "Changed their password",
    "consultant.recovery_codes_renewed": "Made new recovery codes",
    # Actions in Cal.com: the details say what Cal.com answered (outcome, cal_status).
    "consultation.confirmed": "Asked Cal.com to confirm a booking",
    "consultation.declined": "Asked Cal.com to decline a booking",
    "consultation.cancelled": "Asked Cal.com to cancel a booking",
    "consultation.reschedule_requested": "Asked Cal.com to have the patient reschedule",
    "consultation.marked_absent": "Asked Cal.com to mark who attended",
    # After the consultation (issue 22); the patient's own answers are the system's.
    "assessment.recorded": "Recorded an assessment",
    "quote.created": "Made a quote",
    "quote.versioned": "Started a new version of a quote",
    "quote.sent": "Sent a quote",
    "quote.viewed": "The patient opened their quote",
    "quote.accepted": "The patient accepted their quote",
    "quote.declined": "The patient declined their quote",
    "quote.question_asked": "The patient asked about their quote",
    "quote.deposit_recorded": "Recorded a deposit received",
    "quote.surgery_scheduled": "Recorded a surgery date",
    "settings.changed": "Changed the quote settings",
}


@bp.get("/audit")
@login_required
def clinic() -> str:
    """Every audit event, newest first, filtered by consultant, action and date range."""
    consultant_id = request.args.get("consultant", type=int)
    action = (request.args.get("action") or "").strip()[:64] or None
    first_day = _day(request.args.get("from"))
    last_day = _day(request.args.get("to"))
    audit_filter = AuditFilter(
        consultant_id=consultant_id,
        action=action,
        start=_local_midnight(first_day) if first_day else None,
        end=_local_midnight(last_day + timedelta(days=1)) if last_day else None,
    )
    return render_template(
        "audit/clinic.html",
        page=audit_page(audit_filter, _page()),
        consultants=db.session.scalars(select(Consultant).order_by(Consultant.name)).all(),
        actions=sorted(set(recorded_actions()) | set(ACTION_LABELS)),
        labels=ACTION_LABELS,
        chosen={
            "consultant": consultant_id,
            "action": action,
            "from": first_day.isoformat() if first_day else "",
            "to": last_day.isoformat() if last_day else "",
        },
    )


@bp.get("/patients/<int:patient_id>/audit")
@login_required
def patient(patient_id: int) -> str:
    """Who has seen or changed this patient's record, newest first."""
    return render_template(
        "audit/patient.html",
        patient=db.get_or_404(PatientProfile, patient_id, description=NO_SUCH_PATIENT),
        page=audit_page(AuditFilter(patient_id=patient_id), _page()),
        labels=ACTION_LABELS,
    )


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def _day(raw: str | None) -> date | None:
    """A ``YYYY-MM-DD`` date from a filter; ``None`` when it is missing, not a date, or
    outside ``EARLIEST_DAY`` to ``LATEST_DAY``."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


def _local_midnight(day: date) -> datetime:
    """The start of ``day`` in the consultant's time zone (UTC when theirs is unknown)."""
    tz = zone(current_user.timezone) or zone("UTC")
    return datetime.combine(day, time(), tzinfo=tz)
