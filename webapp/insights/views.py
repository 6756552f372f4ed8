"""``GET /insights``: charts of the clinic's bookings over a period; each chart's numbers
as CSV at ``GET /insights/<chart>.csv`` with the same query string."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_login import login_required

from webapp.dashboard.queries import filter_choices, read_filters
from webapp.insights.charts import CHARTS, Scope
from webapp.insights.period import DEFAULT_WEEKS, WEEK, Period, chosen_period, monday_of
from webapp.pages.csv import csv_response
from webapp.pages.filters import zone

bp = Blueprint("insights", __name__)

# The periods offered in one click: this week and the ones before it.
PRESET_WEEKS = (4, DEFAULT_WEEKS, 26, 52)


@bp.get("/insights")
@login_required
def index() -> str:
    """Every chart for the period and filters the query string asks for."""
    scope, note = _scope()
    return render_template(
        "insights/index.html",
        scope=scope,
        note=note,
        charts=[(slug, build(scope)) for slug, build in CHARTS.items()],
        query=_query(scope),
        presets=_presets(scope),
        choices=filter_choices(),
    )


@bp.get("/insights/<slug>.csv")
@login_required
def download(slug: str) -> Response:
    """One chart's table as CSV: the header, a row per week (or name), the total row."""
    build = CHARTS.get(slug)
    if build is None:
        abort(404, "There is no such chart.")
    scope, _ = _scope()
    period = f"{scope.period.first.isoformat()}-to-{scope.period.last.isoformat()}"
    return csv_response(f"insights-{slug}-{period}.csv", build(scope).csv_rows())


def _scope() -> tuple[Scope, str | None]:
    """What the query string asks to count, in the clinic's time zone, and what was
    changed to make it a period (``chosen_period``)."""
    timezone = zone(current_app.config["CLINIC_TIMEZONE"]) or ZoneInfo("UTC")
    now = datetime.now(UTC)
    asked = read_filters(request.args)
    period, note = chosen_period(asked.start, asked.end, now.astimezone(timezone).date())
    filters = replace(asked, questionnaire=None, start=None, end=None)
    return Scope(period, filters, timezone, now), note


def _query(scope: Scope, period: Period | None = None) -> dict[str, Any]:
    """The query string that shows ``scope`` (over ``period`` instead, when given)."""
    period = period or scope.period
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "country": scope.filters.country,
        "consultant": scope.filters.consultant,
    }


def _presets(scope: Scope) -> list[tuple[str, str, bool]]:
    """Each one-click period: its name, its URL and whether it is the one shown."""
    this_week = monday_of(scope.now.astimezone(scope.timezone).date())
    presets = []
    for weeks in PRESET_WEEKS:
        period = Period(this_week - (weeks - 1) * WEEK, weeks)
        url = url_for("insights.index", **_query(scope, period))
        presets.append((f"Last {weeks} weeks", url, period == scope.period))
    return presets
