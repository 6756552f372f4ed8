"""``GET /`` and its live updates: the consultant's list of bookings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from webapp.audit.trail import record
from webapp.cal.actions import (
    MAX_REASON_LENGTH,
    BookingAction,
    Confirmation,
    NotSentError,
    apply_answer,
    ask_cal_com,
    confirmation,
    plan_action,
    status_label,
)
from webapp.cal.api import ACTION, CalApi
from webapp.connection.health import needs_attention
from webapp.dashboard.attendance import IN_CAL_COM, OUTCOMES, NotMarkableError, mark_outcome
from webapp.dashboard.controls import booking_controls, cal_actions_on
from webapp.dashboard.counts import patients_per_stage, tab_counts
from webapp.dashboard.export import (
    export_columns,
    export_details,
    export_filename,
    exported_consultations,
)
from webapp.dashboard.queries import (
    DEFAULT_TAB,
    MAX_PAGE,
    QUESTIONNAIRE_STATES,
    TABS,
    ChangeCursor,
    DashboardView,
    change_cursor,
    changed_consultations,
    consultations_page,
    filter_choices,
    patients_page,
    read_browser_time,
    read_filters,
    review_pairs,
)
from webapp.extensions import db
from webapp.models import Consultation, ConsultationStatus
from webapp.pages.csv import DEFAULT_SEPARATOR, SEPARATORS, table_response
from webapp.pages.filters import zone
from webapp.questionnaire.links import questionnaire_token
from webapp.quote.answers import answered_since
from webapp.treatment.stage import STAGES, clinic_today

bp = Blueprint("dashboard", __name__)
bp.add_app_template_filter(status_label)
NO_API_KEY = (
    "Acting on bookings in Cal.com needs CAL_API_KEY; the connection page says how to set it."
)
# Marks an answer that is a booking's row, so that static/app.js swaps it in whatever its
# status (htmx leaves 4xx and 5xx answers out by default).
ROW_HEADER = "X-Booking-Row"


@bp.get("/")
@login_required
def index() -> Response:
    """The dashboard page; htmx requests (tabs, search, pages) get the results fragment."""
    view = _view()
    cursor = change_cursor()
    counts = tab_counts(view, cursor)
    context = {
        "view": view,
        "tabs": TABS,
        "page": patients_page(view)
        if view.searching
        else consultations_page(view, total=counts[view.tab]),
        "counts": counts,
        "cursor": cursor.encode(),
        "opened_at": view.now.isoformat(),
        "webhook_url": url_for("cal.receive", _external=True),
        "review_pairs": review_pairs() if view.tab == "review" and not view.searching else [],
    }
    # A history restore (Back, with htmx's cache off) needs the whole page again.
    if request.htmx and not request.htmx.history_restore_request:
        response = make_response(render_template("dashboard/_results_swap.html", **context))
        # The address bar gets the view's own URL, not the form's empty fields.
        response.headers["HX-Push-Url"] = url_for("dashboard.index", **view.url_args())
        return _vary(response)
    context |= {
        "choices": filter_choices(),
        "questionnaire_states": QUESTIONNAIRE_STATES,
        "stages": STAGES,
        "stage_counts": patients_per_stage(clinic_today(view.now), cursor),
        "attention": needs_attention(view.now),  # the connection banner, full page only
    }
    return _vary(make_response(render_template("dashboard/index.html", **context)))


@bp.get("/export.csv")
@login_required
def export() -> Response:
    """The dashboard's view that the query string asks for (read as ``GET /`` reads it),
    every page of it, as CSV; ``sep=semicolon`` separates with semicolons (Excel in German
    or Turkish). Audited before the file streams."""
    view = _view()
    separator = request.args.get("sep", DEFAULT_SEPARATOR)
    if separator not in SEPARATORS:
        separator = DEFAULT_SEPARATOR
    audit = record("dashboard.exported", current_user, details=export_details(view, separator))
    db.session.commit()
    return table_response(
        export_filename(view),
        export_columns(view),
        exported_consultations(view, audit.id),
        separator,
    )


@bp.get("/dashboard/updates")
@login_required
def updates() -> Response:
    """What changed since the browser's cursor: 204 when nothing did (the idle poll)."""
    since = ChangeCursor.decode(request.args.get("cursor"))
    if since is None:
        abort(400, "cursor is missing or malformed")
    current = change_cursor(since.newest)
    if current == since:
        return _vary(make_response("", 204))
    view = _view()
    opened_at = _opened_at()
    changes = changed_consultations(since, view)
    context = {
        "view": view,
        "tabs": TABS,
        # Only the first page takes in bookings it does not show yet.
        "changes": [(change, belongs and view.page == 1) for change, belongs in changes],
        # Patients who answered a quote since the page opened: their rows are new again.
        "answered": answered_since([c.patient_profile_id for c, _ in changes], opened_at),
        "counts": tab_counts(view, current),
        "cursor": current.encode(),
        "opened_at": opened_at.isoformat(),
        "new_since": opened_at,
    }
    return _vary(make_response(render_template("dashboard/_updates.html", **context)))


@bp.post("/consultations/<int:consultation_id>/outcome")
@login_required
def mark(consultation_id: int) -> Response:
    """Mark a past booking completed (the clinic's own record), or, with an API key, the
    patient absent or attended or the consultant absent in Cal.com (without a key no-show
    is the clinic's own record too); htmx gets the row again, a plain form a redirect."""
    consultation = _consultation(consultation_id)
    outcome = request.form.get("outcome", "")
    if cal_actions_on() and outcome in IN_CAL_COM:
        return _act_in_cal_com(consultation, IN_CAL_COM[outcome], confirmed=True)
    if outcome not in OUTCOMES:
        abort(400, "Choose completed or no-show.")
    try:
        mark_outcome(consultation, ConsultationStatus(outcome), current_user, datetime.now(UTC))
    except NotMarkableError:
        return _answer(
            consultation, "Only a past booking that is still scheduled can be marked.", 409
        )
    db.session.commit()
    return _answer(consultation, "The consultation is marked.", 200, ok=True)


@bp.post(
    "/consultations/<int:consultation_id>"
    "/<any(confirm, decline, cancel, 'request-reschedule'):action>"
)
@login_required
def act(consultation_id: int, action: str) -> Response:
    """Confirm, decline, cancel or ask to reschedule the booking in Cal.com. Declining,
    cancelling and asking to reschedule email the patient a reason: the first post answers
    the confirmation step with the reason as the patient will read it, and the action is
    sent when the form says ``confirmed``."""
    consultation = _consultation(consultation_id)
    return _act_in_cal_com(
        consultation,
        BookingAction(action),
        reason=request.form.get("reason"),
        confirmed=request.form.get("confirmed") == "yes",
    )


@bp.get("/consultations/<int:consultation_id>/row")
@login_required
def row(consultation_id: int) -> Response:
    """The booking's row as it is (what "Go back" from a confirmation step shows); a page
    without htmx goes to the dashboard."""
    consultation = _consultation(consultation_id)
    if not request.htmx:
        return redirect(url_for("dashboard.index"))
    return _row(consultation)


@bp.context_processor
def _row_helpers() -> dict[str, Any]:
    return {
        "questionnaire_url": lambda patient: url_for(
            "questionnaire.fill", token=questionnaire_token(patient), _external=True
        ),
    }


@bp.app_context_processor
def _booking_helpers() -> dict[str, Any]:
    """What the buttons on a booking need, on the dashboard and on the patient page."""
    return {"booking_controls": booking_controls, "max_reason_length": MAX_REASON_LENGTH}


def _consultation(consultation_id: int) -> Consultation:
    return db.get_or_404(
        Consultation, consultation_id, description="There is no such consultation."
    )


def _act_in_cal_com(
    consultation: Consultation,
    action: BookingAction,
    reason: str | None = None,
    *,
    confirmed: bool,
) -> Response:
    """Carry out ``action`` in Cal.com and answer with what happened (``_answer``), or with
    the confirmation step while an action that emails the patient is not ``confirmed``.

    The request's transaction ends before Cal.com is asked, so that no lock is held while
    it answers (SQLite locks the database for a whole transaction); what Cal.com's booking
    shows afterwards is applied and audited in a second one.
    """
    if not cal_actions_on():
        return _answer(consultation, NO_API_KEY, 409)
    try:
        plan = plan_action(consultation, action, reason, datetime.now(UTC))
    except NotSentError as stop:
        return _answer(consultation, str(stop), stop.status, ok=stop.status == 200)
    step = confirmation(plan)
    if step is not None and not confirmed:
        return _confirmation_step(consultation, step)
    db.session.commit()
    config = current_app.config
    with CalApi(config["CAL_API_URL"], config["CAL_API_KEY"], policy=ACTION) as api:
        answer = ask_cal_com(plan, api)
    result = apply_answer(plan, answer, current_user, datetime.now(UTC))
    db.session.commit()
    response = _answer(consultation, result.message, result.status, ok=result.ok)
    if result.retry_after is not None:
        response.headers["Retry-After"] = str(result.retry_after)
    return response


def _answer(consultation: Consultation, message: str, status: int, *, ok: bool = False) -> Response:
    """What an action on a booking answers: htmx gets the row with ``message`` (``ok``:
    the booking is as the consultant asked), a plain form a redirect to the page it came
    from with ``message`` flashed."""
    if request.htmx:
        return _row(consultation, status, message=message, message_ok=ok)
    flash(message, "success" if ok else "warning")
    return redirect(_page_of(consultation))


def _row(consultation: Consultation, status: int = 200, **context: Any) -> Response:
    """The booking's dashboard row alone, with ``context`` (a message, a confirmation step)."""
    response = make_response(
        render_template("dashboard/_row.html", view=_view(), consultation=consultation, **context),
        status,
    )
    response.headers[ROW_HEADER] = str(consultation.id)
    return _vary(response)


def _confirmation_step(consultation: Consultation, asking: Confirmation) -> Response:
    """The step that shows the consultant what Cal.com will send the patient: in the row
    for htmx, else a page of its own."""
    if request.htmx:
        return _row(consultation, asking=asking)
    return _vary(
        make_response(
            render_template(
                "dashboard/confirm_action.html",
                consultation=consultation,
                asking=asking,
                back=_page_of(consultation),
                shown_on=request.form.get("shown_on"),
            )
        )
    )


def _page_of(consultation: Consultation) -> str:
    """Where a plain form about the booking came from: its patient's page or the dashboard."""
    if request.form.get("shown_on") == "patient":
        return url_for(
            "patients.show",
            patient_id=consultation.patient_profile_id,
            _anchor=f"consultation-{consultation.id}",
        )
    return url_for("dashboard.index")


def _view() -> DashboardView:
    tab = request.args.get("tab", DEFAULT_TAB)
    if tab not in TABS:
        tab = DEFAULT_TAB
    page = request.args.get("page", 1, type=int) or 1
    timezone = zone(current_user.timezone) or zone("UTC")
    return DashboardView(
        tab=tab,
        query=(request.args.get("q") or "")[:100],
        page=min(max(page, 1), MAX_PAGE),
        now=datetime.now(UTC),
        timezone=timezone,  # type: ignore[arg-type]
        filters=read_filters(request.args),
    )


def _opened_at() -> datetime:
    """When the browser opened the page (bookings since then are marked new); now when
    it says nothing readable."""
    return read_browser_time(request.args.get("opened")) or datetime.now(UTC)


def _vary(response: Response) -> Response:
    """Full pages and fragments share URLs, so caches must tell them apart."""
    response.vary.add("HX-Request")
    return response
