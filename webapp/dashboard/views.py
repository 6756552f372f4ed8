"""``GET /`` and its live updates: the consultant's list of bookings."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.dashboard.queries import (
    DEFAULT_TAB,
    MAX_PAGE,
    TABS,
    ChangeCursor,
    DashboardView,
    change_cursor,
    changed_consultations,
    consultations_page,
    read_browser_time,
    review_pairs,
    tab_counts,
)
from webapp.templating import zone

bp = Blueprint("dashboard", __name__)
# The Needs review tab's side-by-side pairs (dashboard/_review.html).
bp.add_app_template_global(review_pairs)


@bp.get("/")
@login_required
def index() -> Response:
    """The dashboard page; htmx requests (tabs, search, pages) get the results fragment."""
    view = _view()
    counts = tab_counts(view)
    context = {
        "view": view,
        "tabs": TABS,
        "page": consultations_page(view, total=counts[view.tab]),
        "counts": counts,
        "cursor": change_cursor().encode(),
        "opened_at": view.now.isoformat(),
        "webhook_url": url_for("cal.receive", _external=True),
    }
    template = "dashboard/_results_swap.html" if request.htmx else "dashboard/index.html"
    return _vary(make_response(render_template(template, **context)))


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
        "counts": tab_counts(view),
        "cursor": current.encode(),
        "opened_at": opened_at.isoformat(),
        "new_since": opened_at,
    }
    return _vary(make_response(render_template("dashboard/_updates.html", **context)))


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
    )


def _opened_at() -> datetime:
    """When the browser opened the page (bookings since then are marked new); now when
    it says nothing readable."""
    return read_browser_time(request.args.get("opened")) or datetime.now(UTC)


def _vary(response: Response) -> Response:
    """Full pages and fragments share URLs, so caches must tell them apart."""
    response.vary.add("HX-Request")
    return response
