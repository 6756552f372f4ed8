"""What the dashboard shows: tabs, search, pages and what changed since the last poll.

A page costs a fixed handful of queries whatever its length (patients are loaded with their
consultations, never one query per row); the idle poll is one range query on the
``consultations.updated_at`` index.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true
from sqlalchemy.orm import contains_eager

from webapp.extensions import db
from webapp.models import Consultation, ConsultationStatus, PatientProfile

TABS = {
    "today": "Today",
    "upcoming": "Upcoming",
    "past": "Past",
    "cancelled": "Cancelled",
    "review": "Needs review",
}
DEFAULT_TAB = "upcoming"
PER_PAGE = 25
# A booking committed a little after a later one was already seen is still picked up:
# each poll looks this far behind its cursor.
CHANGE_OVERLAP = timedelta(seconds=5)
MAX_CHANGES = 100
MAX_PAGE = 10_000
# The times a browser may send back (cursors, when it opened the page): ours are all now.
EARLIEST_BROWSER_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_BROWSER_TIME = datetime(2100, 1, 1, tzinfo=UTC)
# Below this many consultations in all tabs, every tab is counted on every request.
EXACT_COUNTS_BELOW = 5_000
OTHER_TABS_FRESH_FOR = timedelta(seconds=30)
MAX_CACHED_COUNTS = 256  # searches, days and time zones remembered per process
LIVE = (ConsultationStatus.SCHEDULED, ConsultationStatus.PENDING)
CALLED_OFF = (ConsultationStatus.CANCELLED, ConsultationStatus.REJECTED)
# Each process's last full count of the tabs: (database, search, time zone, day) -> (when,
# counts).
# Counts only, never a patient; every process and host keeps its own.
_counts_cache: dict[tuple[str, str, str, date], tuple[float, dict[str, int]]] = {}
_counts_lock = threading.Lock()


@dataclass(frozen=True)
class DashboardView:
    """One tab, one search, one page, seen at ``now`` from a consultant's time zone."""

    tab: str
    query: str
    page: int
    now: datetime
    timezone: ZoneInfo

    def __post_init__(self) -> None:
        if self.tab not in TABS:
            raise ValueError(f"unknown tab {self.tab!r}")


@dataclass(frozen=True)
class ConsultationPage:
    """One page of consultations and where it sits among all of them."""

    consultations: list[Consultation]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))


@dataclass(frozen=True)
class ChangeCursor:
    """Where a dashboard's view of the data stands: the newest change and how many are
    within the overlap before it (which grows when a late commit lands there)."""

    newest: datetime | None
    recent: int

    def encode(self) -> str:
        newest = self.newest.isoformat() if self.newest else ""
        return f"{newest}|{self.recent}"

    @classmethod
    def decode(cls, raw: str | None) -> ChangeCursor | None:
        """Read a cursor sent back by the browser; ``None`` when it is not one of ours."""
        if not raw or "|" not in raw:
            return None
        newest, _, recent = raw.partition("|")
        when = read_browser_time(newest) if newest else None
        if newest and when is None:
            return None
        try:
            return cls(when, int(recent))
        except ValueError:
            return None


def read_browser_time(raw: str | None) -> datetime | None:
    """A time the browser sent back, in UTC; ``None`` unless it is ISO-8601 with an offset
    and between ``EARLIEST_BROWSER_TIME`` and ``LATEST_BROWSER_TIME`` (we sent it no
    other: a year such as 9999 would overflow in the queries' arithmetic)."""
    try:
        when = datetime.fromisoformat(raw or "")
        if when.tzinfo is None:
            return None
        when = when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return when if EARLIEST_BROWSER_TIME <= when < LATEST_BROWSER_TIME else None


def tab_condition(tab: str, now: datetime, timezone: ZoneInfo) -> ColumnElement[bool]:
    """The consultations a tab lists."""
    if tab == "today":
        local_midnight = now.astimezone(timezone).replace(hour=0, minute=0, second=0, microsecond=0)
        return and_(
            Consultation.start_time >= local_midnight,
            Consultation.start_time < local_midnight + timedelta(days=1),
            Consultation.status != ConsultationStatus.RESCHEDULED,
        )
    if tab == "upcoming":
        return and_(Consultation.start_time >= now, Consultation.status.in_(LIVE))
    if tab == "past":
        return and_(
            Consultation.start_time < now,
            Consultation.status.not_in([*CALLED_OFF, ConsultationStatus.RESCHEDULED]),
        )
    if tab == "cancelled":
        return Consultation.status.in_(CALLED_OFF)
    # Both sides of a possible duplicate: the flagged patient and the one it points at.
    flagged = select(PatientProfile.id).where(PatientProfile.possible_duplicate_of_id.is_not(None))
    pointed_at = select(PatientProfile.possible_duplicate_of_id).where(
        PatientProfile.possible_duplicate_of_id.is_not(None)
    )
    return and_(
        Consultation.patient_profile_id.in_(flagged.union(pointed_at)),
        Consultation.status != ConsultationStatus.RESCHEDULED,
    )


def search_condition(query: str) -> ColumnElement[bool]:
    """Consultations of patients whose name, email or phone contains ``query`` (phones by
    their digits). A condition on consultations alone, so counts need no join."""
    query = query.strip()
    if not query:
        return true()
    conditions = [PatientProfile.search_text.like(f"%{_escape_like(query.lower())}%", escape="\\")]
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 4:
        conditions.append(PatientProfile.search_text.like(f"%{digits}%"))
    return Consultation.patient_profile_id.in_(select(PatientProfile.id).where(or_(*conditions)))


def consultations_page(view: DashboardView, total: int) -> ConsultationPage:
    """The page of consultations the view asks for, patients loaded with them.

    ``total`` is how many the view's tab lists, from ``tab_counts``, which has counted it.
    """
    condition = view_condition(view)
    order = (
        Consultation.start_time.asc()
        if view.tab in ("today", "upcoming")
        else Consultation.start_time.desc()
    )
    # The page's ids first, from the indexes alone; then those rows with their patients.
    # (Joining first makes SQLite sort every matching row, patients and all.)
    ids = db.session.scalars(
        select(Consultation.id)
        .where(condition)
        .order_by(order, Consultation.id.desc())
        .limit(PER_PAGE)
        .offset((view.page - 1) * PER_PAGE)
    ).all()
    by_id = {
        consultation.id: consultation
        for consultation in db.session.scalars(
            _with_patient(select(Consultation)).where(Consultation.id.in_(ids))
        )
    }
    return ConsultationPage([by_id[i] for i in ids], total, view.page)


def tab_counts(view: DashboardView) -> dict[str, int]:
    """How many consultations each tab lists for the view's search.

    The view's own tab is counted exactly on every request. So are the others while the
    tabs together hold fewer than ``EXACT_COUNTS_BELOW`` consultations (one query, the
    search applied once in its WHERE clause, not once per tab). Past that, counting every
    tab reads every consultation, so the other tabs' counts come from this process's last
    full count of the same search, day and time zone, redone once it is
    ``OTHER_TABS_FRESH_FOR`` old: they may lag that far behind.
    """
    day = view.now.astimezone(view.timezone).date()
    key = (str(db.engine.url), view.query.strip(), view.timezone.key, day)
    with _counts_lock:
        cached = _counts_cache.get(key)
    if cached is not None:
        counted_at, counts = cached
        fresh = time.monotonic() - counted_at < OTHER_TABS_FRESH_FOR.total_seconds()
        if fresh and sum(counts.values()) >= EXACT_COUNTS_BELOW:
            return counts | _count_tabs(view, [view.tab])
    counts = _count_tabs(view, list(TABS))
    with _counts_lock:
        _counts_cache.pop(key, None)
        _counts_cache[key] = (time.monotonic(), counts)
        while len(_counts_cache) > MAX_CACHED_COUNTS:
            _counts_cache.pop(next(iter(_counts_cache)))
    return counts


def _count_tabs(view: DashboardView, tabs: list[str]) -> dict[str, int]:
    """How many consultations each of ``tabs`` lists for the view's search, in one query."""
    columns = [
        func.count().filter(tab_condition(tab, view.now, view.timezone)).label(tab) for tab in tabs
    ]
    row = db.session.execute(
        select(*columns).select_from(Consultation).where(search_condition(view.query))
    ).one()
    return {tab: getattr(row, tab) for tab in tabs}


def change_cursor(anchor: datetime | None = None) -> ChangeCursor:
    """Where the data stands: the newest change and the count of changes in the overlap
    before ``anchor`` (default: the newest change). With an anchor this is one range query
    on the ``updated_at`` index, which is all an idle poll costs."""
    if anchor is None:
        anchor = db.session.scalar(select(func.max(Consultation.updated_at)))
        if anchor is None:
            return ChangeCursor(None, 0)
    newest, recent = db.session.execute(
        select(func.max(Consultation.updated_at), func.count()).where(
            Consultation.updated_at > anchor - CHANGE_OVERLAP
        )
    ).one()
    return ChangeCursor(newest or anchor, recent)


def changed_consultations(
    since: ChangeCursor, view: DashboardView
) -> list[tuple[Consultation, bool]]:
    """Consultations changed since ``since``, newest first, each with whether it belongs in
    the view (so the browser may add it when it does not show it yet)."""
    query = (
        _with_patient(select(Consultation, _belongs(view)))
        .order_by(Consultation.updated_at.desc())
        .limit(MAX_CHANGES)
    )
    if since.newest is not None:
        query = query.where(Consultation.updated_at > since.newest - CHANGE_OVERLAP)
    return [(consultation, bool(belongs)) for consultation, belongs in db.session.execute(query)]


def view_condition(view: DashboardView) -> ColumnElement[bool]:
    """The consultations the view lists: its tab's, narrowed by its search."""
    return and_(tab_condition(view.tab, view.now, view.timezone), search_condition(view.query))


def _belongs(view: DashboardView) -> Any:
    return case((view_condition(view), True), else_=False)


def _with_patient(query: Select[Any]) -> Select[Any]:
    return query.join(Consultation.patient).options(contains_eager(Consultation.patient))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
