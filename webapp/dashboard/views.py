"""``GET /`` and its live updates: the consultant's list of bookings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from webapp.connection.health import needs_attention
from webapp.dashboard.attendance import OUTCOMES, NotMarkableError, is_markable, mark_outcome
from webapp.dashboard.counts import tab_counts
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
from webapp.pages.filters import zone
from webapp.questionnaire.links import questionnaire_token

bp = Blueprint("dashboard", __name__)


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
        "attention": needs_attention(view.now),  # the connection banner, full page only
    }
    return _vary(make_response(render_template("dashboard/index.html", **context)))


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
    context = {
        "view": view,
        "tabs": TABS,
        # Only the first page takes in bookings it does not show yet.
        "changes": [
            (consultation, belongs and view.page == 1)
            for consultation, belongs in changed_consultations(since, view)
        ],
        "counts": tab_counts(view, current),
        "cursor": current.encode(),
        "opened_at": opened_at.isoformat(),
        "new_since": opened_at,
    }
    return _vary(make_response(render_template("dashboard/_updates.html", **context)))


@bp.post("/consultations/<int:consultation_id>/outcome")
@login_required
def mark(consultation_id: int) -> Response:
    """Mark a past booking completed or no-show; htmx gets the row again, a plain form
    a redirect to the dashboard."""
    consultation = db.get_or_404(
        Consultation, consultation_id, description="There is no such consultation."
    )
    outcome = request.form.get("outcome", "")
    if outcome not in OUTCOMES:
        abort(400, "Choose completed or no-show.")
    try:
        mark_outcome(consultation, ConsultationStatus(outcome), current_user, datetime.now(UTC))
    except NotMarkableError:
        abort(409, "Only a past booking that is still scheduled can be marked.")
    db.session.commit()
    if request.htmx:
        context = {"view": _view(), "consultation": consultation}
        return _vary(make_response(render_template("dashboard/_row.html", **context)))
    flash("The consultation is marked.", "success")
    return redirect(url_for("dashboard.index"))


@bp.context_processor
def _row_helpers() -> dict[str, Any]:
    return {
        "is_markable": is_markable,
        "outcomes": OUTCOMES,
        "questionnaire_url": lambda patient: url_for(
            "questionnaire.fill", token=questionnaire_token(patient), _external=True
        ),
    }


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
