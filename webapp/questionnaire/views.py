"""``/questionnaire/<token>``: the patient's form, open without a login; and
``flask questionnaire purge-pending`` for the daily timer."""

from __future__ import annotations

import logging

import click
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from webapp.extensions import db, limiter
from webapp.models import utcnow
from webapp.patients.contact import ContactDetails, contact_details
from webapp.questionnaire.forms import PendingBookingForm, QuestionnaireForm
from webapp.questionnaire.history import patient_questionnaire
from webapp.questionnaire.links import (
    BOOKING_UID,
    LINK_MAX_AGE,
    LinkExpiredError,
    LinkInvalidError,
    resolve_access,
)
from webapp.questionnaire.questions import MEDICAL_QUESTIONS
from webapp.questionnaire.submissions import answers_from_form, purge_pending, submit_questionnaire

logger = logging.getLogger(__name__)
bp = Blueprint("questionnaire", __name__)
# The patient page (webapp.patients) shows the questionnaire through this global.
bp.add_app_template_global(patient_questionnaire, "questionnaire_history")


@bp.get("/questionnaire")
def from_cal_com() -> Response:
    """Where Cal.com's "redirect on booking" lands, with "forward parameters" on.

    Cal.com appends the booking uid and also the patient's name and phone to the URL; we
    keep only the uid and send the browser to the clean questionnaire URL, so the rest
    stays out of its address bar and history.
    """
    uid = request.args.get("uid", "")
    if not BOOKING_UID.match(uid):
        abort(
            404,
            "This questionnaire link has no booking in it. Use the link from your booking email.",
        )
    return redirect(url_for("questionnaire.fill", token=uid))


@bp.get("/questionnaire/thanks")
def thanks() -> str:
    """What happens next; carries no patient data."""
    return render_template("questionnaire/thanks.html")


@bp.route("/questionnaire/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def fill(token: str) -> Response | tuple[str, int]:
    """Show the questionnaire; on a valid submission record it and thank the patient.

    A signed link shows the patient's earlier answers; a booking uid never does. A form
    with errors comes back with everything the patient typed and a reason beside each
    field that needs attention.
    """
    try:
        access = resolve_access(token)
    except LinkExpiredError:
        return render_template("questionnaire/expired.html", days=LINK_MAX_AGE.days), 410
    except LinkInvalidError:
        abort(404, "This questionnaire link is not valid. Check that it was copied whole.")

    if access.patient is None:
        form: QuestionnaireForm = PendingBookingForm()
    elif request.method == "GET":
        form = QuestionnaireForm(data=access.earlier_answers)
    else:
        form = QuestionnaireForm()
    if form.validate_on_submit():
        submission = submit_questionnaire(access, answers_from_form(form.data), _typed(form))
        db.session.commit()
        logger.info(
            "questionnaire submission %s for patient %s (booking %s)",
            submission.id,
            submission.patient_profile_id or "pending",
            submission.cal_booking_uid,
        )
        return redirect(url_for("questionnaire.thanks"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "questionnaire/form.html", form=form, access=access, medical=MEDICAL_QUESTIONS
    ), status


def _typed(form: QuestionnaireForm) -> ContactDetails | None:
    """Who the person answering says they are, when the form asked (booking not arrived)."""
    if not isinstance(form, PendingBookingForm):
        return None
    return contact_details(form.email.data, form.name.data, [form.phone.data or ""])


@bp.cli.command("purge-pending")
def purge_pending_command() -> None:
    """Delete pending answers whose booking Cal.com never confirmed within 30 days.

    Meant for a daily timer; prints how many it deleted and their ids.
    """
    deleted = purge_pending(utcnow())
    db.session.commit()
    listed = f": {', '.join(map(str, deleted))}" if deleted else ""
    click.echo(f"deleted {len(deleted)} pending questionnaire submissions{listed}")
