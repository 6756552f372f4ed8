"""``/questionnaire/<token>``: the patient's form, open without a login."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from webapp.extensions import db, limiter
from webapp.patients.matching import ContactDetails, normalise_email, normalise_phone
from webapp.questionnaire.forms import (
    MEDICAL_QUESTIONS,
    NewPatientQuestionnaireForm,
    QuestionnaireForm,
)
from webapp.questionnaire.services import (
    BOOKING_UID,
    LINK_MAX_AGE,
    LinkExpiredError,
    LinkInvalidError,
    answers_from_form,
    resolve_access,
    submit_questionnaire,
)

logger = logging.getLogger(__name__)
bp = Blueprint("questionnaire", __name__)


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

    A form with errors comes back with everything the patient typed and a reason beside
    each field that needs attention.
    """
    try:
        access = resolve_access(token)
    except LinkExpiredError:
        return render_template("questionnaire/expired.html", days=LINK_MAX_AGE.days), 410
    except LinkInvalidError:
        abort(404, "This questionnaire link is not valid. Check that it was copied whole.")

    form = QuestionnaireForm() if access.patient else NewPatientQuestionnaireForm()
    if form.validate_on_submit():
        submission = submit_questionnaire(access, answers_from_form(form.data), _identity(form))
        db.session.commit()
        logger.info(
            "questionnaire submission %s for patient %s",
            submission.id,
            submission.patient_profile_id,
        )
        return redirect(url_for("questionnaire.thanks"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "questionnaire/form.html", form=form, access=access, medical=MEDICAL_QUESTIONS
    ), status


def _identity(form: QuestionnaireForm) -> ContactDetails | None:
    """Who is answering, when the form asked (a booking we have not received yet)."""
    if not isinstance(form, NewPatientQuestionnaireForm):
        return None
    return ContactDetails(
        email=normalise_email(form.email.data),
        name=(form.name.data or "").strip() or None,
        phone=normalise_phone(form.phone.data, current_app.config["PHONE_DEFAULT_REGION"]),
        location=(form.country.data or "").strip() or None,
    )
