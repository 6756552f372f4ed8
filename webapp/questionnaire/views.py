"""``/questionnaire/<token>``: the patient's form in steps, open without a login; the
consultant's view of the patient's photos; and ``flask questionnaire purge-pending``
for the daily timer.

Each step is an ordinary POST (``?step=<name>``) that keeps what was typed in the draft,
checks that step and moves on, so the form works without JavaScript and survives a
closed tab. The last step checks everything and sends it.
"""

from __future__ import annotations

import logging

import click
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from webapp.extensions import db, limiter
from webapp.models import ConsultationStatus, PatientPhoto, QuestionnaireDraft, utcnow
from webapp.patients.contact import ContactDetails, contact_details
from webapp.questionnaire.drafts import (
    as_formdata,
    discard_draft,
    find_draft,
    keep_answers,
    open_draft,
    purge_drafts,
)
from webapp.questionnaire.forms import PendingBookingForm, QuestionnaireForm
from webapp.questionnaire.language import keep_language, use_booking_locale
from webapp.questionnaire.links import (
    BOOKING_UID,
    LINK_MAX_AGE,
    LinkExpiredError,
    LinkInvalidError,
    QuestionnaireAccess,
    resolve_access,
)
from webapp.questionnaire.photos import (
    PHOTO_REQUEST_MAX_BYTES,
    PHOTO_VIEWS,
    PhotoRefusedError,
    draft_photos,
    keep_draft_photo,
    prepare_photo,
    read_upload,
    send_draft_photos,
    view_label,
)
from webapp.questionnaire.questions import MEDICAL_QUESTIONS, STEP_NAMES, STEPS, Step
from webapp.questionnaire.submissions import answers_from_form, purge_pending, submit_questionnaire

logger = logging.getLogger(__name__)
bp = Blueprint("questionnaire", __name__)
bp.add_app_template_filter(view_label, "photo_view")


@bp.url_value_preprocessor
def allow_photo_uploads(endpoint: str | None, _values: dict | None) -> None:
    """Let the photo step's POST carry photos; every other request keeps the 1 MiB limit.

    Runs before any ``before_request`` hook, so the app-wide checks (CSRF, storable input)
    read the form under the raised limit instead of refusing it.
    """
    photo_step = request.method == "POST" and request.args.get("step") == "photos"
    if endpoint == "questionnaire.fill" and photo_step:
        request.max_content_length = PHOTO_REQUEST_MAX_BYTES


@bp.get("/questionnaire")
def from_cal_com() -> Response:
    """Where Cal.com's "redirect on booking" lands, with "forward parameters" on.

    Cal.com appends the booking uid and also the patient's name and phone to the URL; we
    keep only the uid and send the browser to the clean questionnaire URL, so the rest
    stays out of its address bar and history.
    """
    uid = request.args.get("uid", "")
    if not BOOKING_UID.match(uid):
        return render_template("questionnaire/invalid.html"), 404
    return redirect(url_for("questionnaire.fill", token=uid))


@bp.get("/questionnaire/thanks")
def thanks() -> str:
    """What happens next; carries no patient data."""
    return render_template("questionnaire/thanks.html")


@bp.route("/questionnaire/<token>", methods=["GET", "POST"])
@limiter.limit("120 per hour", methods=["POST"])
def fill(token: str) -> Response | tuple[str, int]:
    """Show a step of the questionnaire; on a POST keep it, check it and move on.

    A GET without ``?step`` resumes where this browser stopped. A signed link shows the
    patient's earlier answers; a booking uid never does (only this browser's own draft).
    A step with errors comes back with everything the patient typed, an error summary
    at the top and a reason beside each field.
    """
    try:
        access = resolve_access(token)
    except LinkExpiredError:
        return render_template("questionnaire/expired.html", days=LINK_MAX_AGE.days), 410
    except LinkInvalidError:
        return render_template("questionnaire/invalid.html"), 404
    use_booking_locale(access.consultation.attendee_locale if access.consultation else None)

    draft = find_draft(access)
    index = _step_index(access, draft)
    form_class = PendingBookingForm if access.patient is None else QuestionnaireForm
    if request.method == "GET":
        known = dict(starting_answers(access)) | (draft.answers if draft else {})
        return _render_step(access, form_class(formdata=as_formdata(known) or None), index)

    form = form_class()
    draft = open_draft(access)
    step = STEPS[index]
    fields = [name for name in step.fields if name in form]
    keep_answers(draft, fields, request.form)
    photo_errors = _keep_photos(draft) if step.name == "photos" else {}
    if request.form.get("go") == "back":  # keep what was typed, check it later
        db.session.commit()
        return redirect(_step_url(token, max(index - 1, 0)))
    if photo_errors or not _validate_step(form, fields):
        db.session.commit()
        return _render_step(access, form, index, photo_errors), 400
    draft.steps_done = max(draft.steps_done, index + 1)
    if index < len(STEPS) - 1:
        db.session.commit()
        return redirect(_step_url(token, index + 1))
    return _send(access, draft, form_class)


def _step_index(access: QuestionnaireAccess, draft: QuestionnaireDraft | None) -> int:
    """The step asked for (``?step``), or where this browser stopped; never one ahead of the
    steps done, except with earlier answers, which fill every step."""
    steps_done = draft.steps_done if draft else 0
    reachable = len(STEPS) - 1 if access.earlier_answers else steps_done
    requested = request.args.get("step")
    index = STEP_NAMES.index(requested) if requested in STEP_NAMES else steps_done
    return min(index, reachable, len(STEPS) - 1)


def _send(
    access: QuestionnaireAccess, draft: QuestionnaireDraft, form_class: type[QuestionnaireForm]
) -> Response | tuple[str, int]:
    """Check every answer in the draft again and send them with the draft's photos; an
    answer changed since its step was passed sends the patient back to that step."""
    complete = form_class(formdata=as_formdata(draft.answers), meta={"csrf": False})
    if not complete.validate():
        first = _first_step_with_errors(complete)
        draft.steps_done = first
        db.session.commit()
        return _render_step(access, complete, first), 400
    submission = submit_questionnaire(
        access, answers_from_form(complete.data), _typed(complete), bool(complete.consent.data)
    )
    send_draft_photos(draft, submission)
    discard_draft(draft)
    db.session.commit()
    keep_language()
    logger.info(
        "questionnaire submission %s for patient %s (booking %s)",
        submission.id,
        submission.patient_profile_id or "pending",
        submission.cal_booking_uid,
    )
    return redirect(url_for("questionnaire.thanks"))


def starting_answers(access: QuestionnaireAccess) -> dict[str, str | list[str]]:
    """What the form starts with before the patient types: a signed link's earlier answers,
    else the country and city the patient gave Cal.com, for them to confirm.

    A booking uid offers the booking's own country only while no questionnaire has been
    sent: afterwards the profile holds the patient's answer, which a uid never shows.
    """
    patient = access.patient
    if patient is None:
        return {}
    if access.earlier_answers:
        return dict(access.earlier_answers)
    if patient.questionnaire_completed_at is not None:
        return {}
    return {
        name: value
        for name, value in (("country", patient.country), ("city", patient.city))
        if value
    }


def _validate_step(form: QuestionnaireForm, fields: list[str]) -> bool:
    """Check only this step's fields (with the form's own rules between them)."""
    valid = True
    for name in fields:
        inline = getattr(type(form), f"validate_{name}", None)
        if not form[name].validate(form, [inline] if inline else []):
            valid = False
    return valid


def _first_step_with_errors(form: QuestionnaireForm) -> int:
    for index, step in enumerate(STEPS):
        if any(form[name].errors for name in step.fields if name in form):
            return index
    return len(STEPS) - 1


def _keep_photos(draft: QuestionnaireDraft) -> dict[str, str]:
    """Keep every acceptable photo posted; the reason for each refused one, by view."""
    errors: dict[str, str] = {}
    for view, _label in PHOTO_VIEWS:
        upload: FileStorage | None = request.files.get(f"photo_{view}")
        if upload is None or not upload.filename:
            continue
        try:
            prepared = prepare_photo(read_upload(upload.stream))
        except PhotoRefusedError as refused:
            errors[view] = str(refused.message)
            continue
        keep_draft_photo(draft, view, prepared)
    return errors


def _step_url(token: str, index: int) -> str:
    return url_for("questionnaire.fill", token=token, step=STEPS[index].name)


def _render_step(
    access: QuestionnaireAccess,
    form: QuestionnaireForm,
    index: int,
    photo_errors: dict[str, str] | None = None,
) -> str:
    step: Step = STEPS[index]
    consultation = access.consultation
    booked = consultation is not None and consultation.status == ConsultationStatus.SCHEDULED
    confirming = consultation is None or consultation.status == ConsultationStatus.PENDING
    return render_template(
        "questionnaire/form.html",
        form=form,
        access=access,
        token=request.view_args["token"],
        step=step,
        index=index,
        steps=STEPS,
        step_fields=[name for name in step.fields if name in form],
        medical=MEDICAL_QUESTIONS,
        photo_views=PHOTO_VIEWS,
        photos=draft_photos(find_draft(access)) if step.name == "photos" else {},
        photo_errors=photo_errors or {},
        booked=booked,
        confirming=confirming,
        consultation=consultation,
    )


def _typed(form: QuestionnaireForm) -> ContactDetails | None:
    """Who the person answering says they are, when the form asked (booking not arrived)."""
    if not isinstance(form, PendingBookingForm):
        return None
    return contact_details(form.email.data, form.name.data, [form.phone.data or ""])


@bp.get("/patients/<int:patient_id>/photos/<int:photo_id>")
@login_required
def photo(patient_id: int, photo_id: int) -> Response:
    """One of a patient's photos, for a logged-in consultant only; never cached."""
    return _photo_response(patient_id, photo_id, thumbnail=False)


@bp.get("/patients/<int:patient_id>/photos/<int:photo_id>/thumbnail")
@login_required
def photo_thumbnail(patient_id: int, photo_id: int) -> Response:
    """A photo's thumbnail, as ``photo`` serves the photo."""
    return _photo_response(patient_id, photo_id, thumbnail=True)


def _photo_response(patient_id: int, photo_id: int, *, thumbnail: bool) -> Response:
    found = db.session.get(PatientPhoto, photo_id)
    if found is None or found.patient_profile_id != patient_id:
        abort(404, "There is no such photo of this patient.")
    response = Response(found.thumbnail if thumbnail else found.content, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.cli.command("purge-pending")
def purge_pending_command() -> None:
    """Delete pending answers whose booking Cal.com never confirmed within 30 days, and
    drafts untouched for 30 days (with their unsent photos).

    Meant for a daily timer; prints how many it deleted and their ids.
    """
    now = utcnow()
    deleted = purge_pending(now)
    drafts = purge_drafts(now)
    db.session.commit()
    listed = f": {', '.join(map(str, deleted))}" if deleted else ""
    click.echo(f"deleted {len(deleted)} pending questionnaire submissions{listed}")
    click.echo(f"deleted {len(drafts)} questionnaire drafts older than 30 days")
