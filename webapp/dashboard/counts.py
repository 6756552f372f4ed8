"""How many consultations each dashboard tab lists, cheaply whatever the clinic's size.

Counts are exact for the data's version (``queries.change_cursor``): the part outside the
consultant's today is remembered until a consultation changes, today's is counted on every
request (its bookings move between tabs as the hours pass). While the tabs hold fewer than
``EXACT_COUNTS_BELOW`` consultations every tab is counted so; past that the tab on screen
is, and the others show this process's last full count, which may lag by
``OTHER_TABS_FRESH_FOR``. Counts only are remembered, never a patient, each process its own
(``make bench`` misses its targets without them: see docs/decisions.md). The patients per
stage are remembered the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from time import monotonic
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select

from webapp.dashboard.queries import (
    TABS,
    ChangeCursor,
    DashboardView,
    filter_condition,
    outside_day,
    tab_condition,
    within_day,
)
from webapp.extensions import db
from webapp.models import Consultation
from webapp.treatment.stage import clinic_today, stage_counts

EXACT_COUNTS_BELOW = 5_000
OTHER_TABS_FRESH_FOR = timedelta(seconds=30)
# A commit whose change time lies further behind the newest change than the change cursor's
# overlap would not move the version; this bounds how long such a count could stay stale.
SETTLED_FRESH_FOR = timedelta(minutes=5)
MAX_CACHED_COUNTS = 256  # filters, days and time zones remembered per process, per cache

# (database, filters, time zone, days) -> (when counted, every tab's count): a tab not on
# screen may show this process's last full count, up to OTHER_TABS_FRESH_FOR old.
OTHER_TABS: dict[tuple[str, str, str, date, date], tuple[float, dict[str, int]]] = {}
# (database, tabs, filters, time zone, days) -> (when counted, (version, counts outside today)):
# used only while the data's version is the one it was counted at, so it is stale only after
# a commit the change cursor misses, and then for at most SETTLED_FRESH_FOR.
SETTLED: dict[
    tuple[str, tuple[str, ...], str, str, date, date],
    tuple[float, tuple[ChangeCursor, dict[str, int]]],
] = {}
# (database, clinic's day) -> (when counted, (version, patients per stage)): recounted when
# the data's version moves (every fact that changes a stage moves it), else as SETTLED.
STAGES_COUNTED: dict[tuple[str, date], tuple[float, tuple[ChangeCursor, dict[str, int]]]] = {}
_lock = threading.Lock()

_Value = TypeVar("_Value")


def tab_counts(view: DashboardView, version: ChangeCursor) -> dict[str, int]:
    """How many consultations each tab lists under the view's filters (a search lists
    patients from every tab, so it does not change these counts). ``version`` is where the
    data stands (``change_cursor``)."""
    key = (str(db.engine.url), repr(view.filters), view.timezone.key, *_days(view))
    remembered = _recall(OTHER_TABS, key, OTHER_TABS_FRESH_FOR)
    if remembered is not None and sum(remembered.values()) >= EXACT_COUNTS_BELOW:
        return remembered | _exact_counts(view, [view.tab], version)
    counts = _exact_counts(view, list(TABS), version)
    _remember(OTHER_TABS, key, counts)
    return counts


def patients_per_stage(today: date, version: ChangeCursor) -> dict[str, int]:
    """How many patients are in each stage on ``today`` (``webapp.treatment.stage``),
    counted again only when the data's ``version`` moved: each fact that changes a stage
    also marks the patient's consultations changed. Counting every time cost the first page
    more than its target at 100,000 patients (docs/decisions.md)."""
    key = (str(db.engine.url), today)
    return _for_version(STAGES_COUNTED, key, version, lambda: stage_counts(today))


def _exact_counts(view: DashboardView, tabs: list[str], version: ChangeCursor) -> dict[str, int]:
    """How many consultations each of ``tabs`` lists: outside the consultant's today, which
    changes only when a consultation does, as remembered for ``version``; plus today's,
    counted every time (its bookings move between tabs as the hours pass)."""
    key = (str(db.engine.url), tuple(tabs), repr(view.filters), view.timezone.key, *_days(view))
    settled = _for_version(
        SETTLED, key, version, lambda: _count(view, tabs, outside_day(view.now, view.timezone))
    )
    today = _count(view, tabs, within_day(view.now, view.timezone))
    return {tab: settled[tab] + today[tab] for tab in tabs}


def _count(
    view: DashboardView, tabs: list[str], within: ColumnElement[bool] | None = None
) -> dict[str, int]:
    """How many consultations each of ``tabs`` lists under the view's filters (and
    ``within``), in one query.

    One tab's condition goes in the WHERE clause, so counting it reads only its rows, and an
    index of that tab's rows alone answers (Upcoming's and Past's, without reading the
    table). Several tabs are counted with a FILTER each and nothing more in the WHERE
    clause: an OR of the tabs, which between them list nearly every consultation, narrowed
    nothing and kept the planners from reading a filtered view's few consultations through
    their patients (docs/decisions.md 15)."""
    narrowing = [filter_condition(view.filters, view.timezone)]
    if within is not None:
        narrowing.append(within)
    if len(tabs) == 1:
        narrowing.append(tab_condition(tabs[0], view.now, view.timezone))
        columns = [func.count().label(tabs[0])]
    else:
        columns = [
            func.count().filter(tab_condition(tab, view.now, view.timezone)).label(tab)
            for tab in tabs
        ]
    row = db.session.execute(select(*columns).select_from(Consultation).where(*narrowing)).one()
    return {tab: getattr(row, tab) for tab in tabs}


def _days(view: DashboardView) -> tuple[date, date]:
    """The consultant's today, which splits the counts, and the clinic's, on which the
    stages' quotes expire."""
    return view.now.astimezone(view.timezone).date(), clinic_today(view.now)


def _for_version(
    cache: dict[Any, tuple[float, tuple[ChangeCursor, _Value]]],
    key: Any,
    version: ChangeCursor,
    count: Callable[[], _Value],
) -> _Value:
    """What ``cache`` holds for ``key`` if it was counted at ``version`` (and within
    ``SETTLED_FRESH_FOR``); else ``count()``, remembered with ``version``."""
    remembered = _recall(cache, key, SETTLED_FRESH_FOR)
    if remembered is not None and remembered[0] == version:
        return remembered[1]
    counted = count()
    _remember(cache, key, (version, counted))
    return counted


def _recall(
    cache: dict[Any, tuple[float, _Value]], key: Any, fresh_for: timedelta
) -> _Value | None:
    """What ``cache`` holds for ``key`` if it is younger than ``fresh_for``."""
    with _lock:
        entry = cache.get(key)
    if entry is None or monotonic() - entry[0] >= fresh_for.total_seconds():
        return None
    return entry[1]


def _remember(cache: dict[Any, tuple[float, _Value]], key: Any, value: _Value) -> None:
    """Keep ``value`` for ``key``, forgetting the oldest entries past ``MAX_CACHED_COUNTS``."""
    with _lock:
        cache.pop(key, None)
        cache[key] = (monotonic(), value)
        while len(cache) > MAX_CACHED_COUNTS:
            cache.pop(next(iter(cache)))
