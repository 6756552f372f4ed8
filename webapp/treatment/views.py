"""The consultant's side of the treatment: assessing a patient, making, editing, versioning
and sending quotes, recording the deposit and surgery date, and the clinic's settings.

Every page needs a signed-in consultant (``/settings`` an admin); every form has CSRF. The
patient's own quote page is ``/quote/<token>`` (``webapp.quote``).
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.auth.roles import admin_required
from webapp.database.conflicts import ConflictError, retry_on_conflict
from webapp.extensions import db
from webapp.models import ClinicSettings, Consultation, PatientProfile, Quote
from webapp.patients.summary import surgeon_alerts
from webapp.questionnaire.language import DEFAULT_LANGUAGE, LANGUAGES, supported_language
from webapp.questionnaire.photos import patient_photos
from webapp.treatment.assessment import (
    CROWN_GRAFTS,
    DONOR_QUALITIES,
    PATTERNS,
    SUGGESTED_GRAFTS,
    SUITABILITIES,
    TECHNIQUE_CHOICES,
    AssessmentDraft,
    current_assessment,
    record_assessment,
)
from webapp.treatment.forms import (
    MAX_LINES,
    AssessmentForm,
    DepositForm,
    QuoteForm,
    SettingsForm,
    SurgeryForm,
)
from webapp.treatment.links import quote_url
from webapp.treatment.money import from_minor, to_minor
from webapp.treatment.quotes import (
    LineDraft,
    QuoteLockedError,
    make_quote,
    new_version,
    record_deposit,
    record_surgery_date,
    send_quote,
    set_lines,
)
from webapp.treatment.settings import TEXT_FIELDS, clinic_settings, save_settings
from webapp.treatment.stage import STAGES, clinic_today, stage_of

bp = Blueprint("treatment", __name__)
NO_SUCH_PATIENT = "There is no patient with this number."
NO_SUCH_QUOTE = "There is no such quote."


@bp.route("/patients/<int:patient_id>/assessment", methods=["GET", "POST"])
@login_required
def assess(patient_id: int) -> Any:
    """The assessment form, the patient's photos and medical chips beside it; a save is a
    new version. ``?consultation=<id>`` ties it to that consultation (from its row)."""
    patient = _patient_to_treat(patient_id)
    consultation = _consultation_of(patient)
    current = current_assessment(patient)
    form = AssessmentForm(obj=current if request.method == "GET" else None)
    if form.validate_on_submit():
        record_assessment(patient, _draft(form), current_user, consultation)
        db.session.commit()
        flash(
            "Assessment saved."
            if current is None
            else "Assessment saved; the earlier version is kept.",
            "info",
        )
        return redirect(url_for("patients.show", patient_id=patient.id, _anchor="treatment"))
    status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "treatment/assess.html",
            patient=patient,
            consultation=consultation,
            form=form,
            current=current,
            photos=patient_photos(patient),
            alerts=surgeon_alerts(patient.questionnaire_answers),
            suggested={k: list(v) for k, v in SUGGESTED_GRAFTS.items()},
            crown={k: list(v) for k, v in CROWN_GRAFTS.items()},
        ),
        status,
    )


def _patient_to_treat(patient_id: int) -> PatientProfile:
    """The patient, who must exist (404) and not be erased (409): an erased record takes no
    new assessment or quote, whose texts could name the person again."""
    patient = db.get_or_404(PatientProfile, patient_id, description=NO_SUCH_PATIENT)
    if patient.erased_at is not None:
        abort(409, "This patient was erased: their record takes no new assessment or quote.")
    return patient


def _quote_to_change(quote_id: int) -> Quote:
    """The quote, which must exist (404) and be of a patient not erased (409)."""
    quote = db.get_or_404(Quote, quote_id, description=NO_SUCH_QUOTE)
    _patient_to_treat(quote.patient_profile_id)
    return quote


def _consultation_of(patient: PatientProfile) -> Consultation | None:
    """The consultation named by ``?consultation=`` or the form, when it is this patient's."""
    raw = request.values.get("consultation", type=int)
    if raw is None:
        return None
    consultation = db.session.get(Consultation, raw)
    if consultation is None or consultation.patient_profile_id != patient.id:
        abort(404, "There is no such consultation for this patient.")
    return consultation


def _draft(form: AssessmentForm) -> AssessmentDraft:
    return AssessmentDraft(
        pattern=form.pattern.data,
        donor_quality=form.donor_quality.data,
        donor_density=form.donor_density.data,
        grafts_min=form.grafts_min.data,
        grafts_max=form.grafts_max.data,
        technique=form.technique.data,
        suitability=form.suitability.data,
        unsuitable_reason=(form.unsuitable_reason.data or "").strip() or None,
        recommendations=(form.recommendations.data or "").strip(),
    )


@bp.post("/patients/<int:patient_id>/quotes")
@login_required
def create_quote(patient_id: int) -> Response:
    """Make a draft quote from the patient's assessment and the clinic's settings."""
    patient = _patient_to_treat(patient_id)
    try:  # two quotes numbered at once: the second takes the next number
        quote = retry_on_conflict(
            lambda: make_quote(patient, current_user, patient_language(patient)), "quote.created"
        )
    except ConflictError:
        abort(409, "Other quotes were being made at the same moment; try again.")
    db.session.commit()
    return redirect(url_for("treatment.edit_quote", quote_id=quote.id))


def patient_language(patient: PatientProfile) -> str:
    """The language a new quote speaks: the patient's latest booking's, else English."""
    for consultation in reversed(patient.consultations):
        if language := supported_language(consultation.attendee_locale):
            return language
    return DEFAULT_LANGUAGE


@bp.route("/quotes/<int:quote_id>/edit", methods=["GET", "POST"])
@login_required
def edit_quote(quote_id: int) -> Any:
    """The quote editor, for a draft. A sent quote answers 409: make a new version."""
    quote = _quote_to_change(quote_id)
    if quote.sent_at is not None:
        abort(409, "This quote was sent and never changes; make a new version of it.")
    form = QuoteForm(obj=None if request.method == "POST" else _quote_data(quote))
    then = request.form.get("then", "")
    if then == "add-line" or then.startswith("remove-"):
        return _change_lines(quote, form, then)
    if form.validate_on_submit():
        _apply(form, quote)
        if then == "send":
            send_quote(quote, current_user)
            db.session.commit()
            flash(f"Quote {quote.quote_number} is ready to send: copy its link below.", "info")
            return redirect(_quote_on_page(quote))
        db.session.commit()
        flash("Quote saved as a draft.", "info")
        return redirect(url_for("treatment.edit_quote", quote_id=quote.id))
    status = 400 if request.method == "POST" else 200
    return _editor(quote, form), status


def _editor(quote: Quote, form: QuoteForm) -> str:
    return render_template("treatment/quote_edit.html", quote=quote, form=form, max_lines=MAX_LINES)


def _change_lines(quote: Quote, form: QuoteForm, then: str) -> str:
    """Add an empty line or remove one, keeping what was typed; nothing is saved."""
    if then == "add-line":
        if len(form.lines) < MAX_LINES:
            form.lines.append_entry()
    else:
        index = then.removeprefix("remove-")
        kept = [line.data for i, line in enumerate(form.lines) if str(i) != index]
        if kept:
            while len(form.lines):
                form.lines.pop_entry()
            for data in kept:
                form.lines.append_entry(data)
    return _editor(quote, form)


def _quote_data(quote: Quote) -> SimpleNamespace:
    """A draft's fields as the form reads them (amounts as text)."""
    return SimpleNamespace(
        lines=[
            SimpleNamespace(
                description=line.description,
                grafts=line.grafts,
                price=str(from_minor(line.price_minor, quote.currency)),
            )
            for line in quote.lines
        ],
        currency=quote.currency,
        deposit=str(from_minor(quote.deposit_minor, quote.currency)),
        valid_until=quote.valid_until,
        language=quote.language,
        **{field: getattr(quote, field) for field in (*TEXT_FIELDS, "note")},
    )


def _apply(form: QuoteForm, quote: Quote) -> None:
    currency = form.currency.data
    quote.currency = currency
    set_lines(
        quote,
        [
            LineDraft(
                line.form.description.data.strip(),
                line.form.grafts.data,
                to_minor(line.form.price.data, currency),
            )
            for line in form.lines
        ],
    )
    quote.deposit_minor = to_minor(form.deposit.data, currency)
    quote.valid_until = form.valid_until.data
    quote.language = form.language.data
    for field in (*TEXT_FIELDS, "note"):
        setattr(quote, field, (getattr(form, field).data or "").strip())


def _quote_on_page(quote: Quote) -> str:
    return url_for(
        "patients.show", patient_id=quote.patient_profile_id, _anchor=f"quote-{quote.id}"
    )


@bp.post("/quotes/<int:quote_id>/versions")
@login_required
def version(quote_id: int) -> Response:
    """Start a new version of a sent quote, to edit and send in its place."""
    quote = _quote_to_change(quote_id)
    try:
        draft = new_version(quote, current_user)
    except QuoteLockedError as error:
        abort(409, str(error).capitalize() + ".")
    db.session.commit()
    return redirect(url_for("treatment.edit_quote", quote_id=draft.id))


@bp.post("/quotes/<int:quote_id>/deposit")
@login_required
def deposit(quote_id: int) -> Response:
    """Record the deposit received for an accepted quote."""
    quote = db.get_or_404(Quote, quote_id, description=NO_SUCH_QUOTE)
    form = DepositForm()
    if not form.validate_on_submit():
        flash("Enter the deposit's amount and the day it arrived.", "warning")
    else:
        try:
            amount = to_minor(form.amount.data, quote.currency)
            record_deposit(quote, amount, form.received_on.data, current_user)
        except ValueError as error:  # MoneyError or QuoteLockedError
            abort(
                409 if isinstance(error, QuoteLockedError) else 400, str(error).capitalize() + "."
            )
        db.session.commit()
        flash("Deposit recorded.", "info")
    return redirect(_quote_on_page(quote))


@bp.post("/quotes/<int:quote_id>/surgery")
@login_required
def surgery(quote_id: int) -> Response:
    """Record the surgery's day for an accepted quote."""
    quote = db.get_or_404(Quote, quote_id, description=NO_SUCH_QUOTE)
    form = SurgeryForm()
    if not form.validate_on_submit():
        flash("Enter the surgery's day.", "warning")
    else:
        try:
            record_surgery_date(quote, form.surgery_on.data, current_user)
        except QuoteLockedError as error:
            abort(409, str(error).capitalize() + ".")
        db.session.commit()
        flash("Surgery date recorded.", "info")
    return redirect(_quote_on_page(quote))


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings() -> Any:
    """The clinic's defaults for quotes (admins only)."""
    current = clinic_settings()
    form = SettingsForm(obj=None if request.method == "POST" else _settings_data(current))
    if form.validate_on_submit():
        save_settings(current, form, current_user)
        db.session.commit()
        flash("Settings saved; new quotes use them.", "info")
        return redirect(url_for("treatment.settings"))
    db.session.commit()  # the row made on the first visit
    status = 400 if request.method == "POST" else 200
    return render_template("treatment/settings.html", form=form, languages=LANGUAGES), status


def _settings_data(current: ClinicSettings) -> SimpleNamespace:
    """The settings as the form reads them (amounts as text, texts per language)."""
    currency = current.currency
    return SimpleNamespace(
        currency=currency,
        procedure_price=str(from_minor(current.procedure_price_minor, currency)),
        price_per_graft=str(from_minor(current.price_per_graft_minor, currency)),
        deposit_kind="percent" if current.deposit_percent else "amount",
        deposit_amount=str(from_minor(current.deposit_minor, currency)),
        deposit_percent=current.deposit_percent,
        validity_days=current.validity_days,
        **{
            f"texts_{language}": SimpleNamespace(
                **{
                    field: (getattr(current, field) or {}).get(language, "")
                    for field in TEXT_FIELDS
                }
            )
            for language in LANGUAGES
        },
    )


@bp.app_context_processor
def _quote_helpers() -> dict[str, Any]:
    return {"quote_url": quote_url}


QUOTE_STATES = {
    "draft": "Draft",
    "sent": "Sent",
    "viewed": "Opened by the patient",
    "accepted": "Accepted",
    "declined": "Declined",
    "expired": "Expired",
    "replaced": "Replaced by a newer version",
}
ASSESSMENT_LABELS = {
    "pattern": PATTERNS,
    "donor": DONOR_QUALITIES,
    "technique": TECHNIQUE_CHOICES,
    "suitability": SUITABILITIES,
}


@bp.app_template_filter("stage_label")
def stage_label(stage: str | None) -> str:
    """A stage in the consultant's words."""
    return STAGES.get(stage, "—") if stage else "—"  # type: ignore[call-overload]


@bp.app_template_filter("patient_stage")
def patient_stage(patient: PatientProfile) -> str | None:
    """The patient's stage as it reads today in the clinic's zone (no query)."""
    return stage_of(patient, clinic_today())


@bp.app_template_filter("quote_state_label")
def quote_state_label(state: str) -> str:
    """A quote version's state in the consultant's words."""
    return QUOTE_STATES.get(state, state)


@bp.app_template_filter("assessment_label")
def assessment_label(value: str | None, kind: str) -> str:
    """An assessment field's stored key in words (the key itself when unknown)."""
    return ASSESSMENT_LABELS[kind].get(value or "", value or "—")


@bp.app_template_filter("plain_amount")
def plain_amount(minor: int, currency: str) -> str:
    """An amount as a form field takes it back (``1500.00``)."""
    return str(from_minor(minor, currency))


@bp.app_template_filter("language_name")
def language_name(code: str) -> str:
    """A patient language's own name."""
    return LANGUAGES.get(code, code)


@bp.app_template_test("date_only")
def date_only(value: object) -> bool:
    """Whether ``value`` is a day without a time."""
    return isinstance(value, date) and not isinstance(value, datetime)
