"""What the dashboard shows: tabs, filters, search, pages and what changed since the last poll.

A tab lists consultations; a search lists patients, each once, with their consultations,
whatever tab those are on. Filters narrow both. A page costs a fixed handful of queries
whatever its length (patients are loaded with their consultations, never one query per
row); the idle poll is one range query on the ``consultations.updated_at`` index.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import contains_eager, defaultload, defer

from webapp.dashboard.search import search_condition
from webapp.extensions import db
from webapp.models import Consultation, ConsultationStatus, PatientProfile
from webapp.pages.paging import Page
from webapp.patients.merging import default_choices, differing_fields
from webapp.treatment.stage import STAGES, clinic_today, stage_condition

TABS = {
    "today": "Today",
    "upcoming": "Upcoming",
    "past": "Past",
    "cancelled": "Cancelled",
    "review": "Needs review",
}
DEFAULT_TAB = "upcoming"
PER_PAGE = 25
# Rows an export reads at once (``every_consultation``).
EXPORT_CHUNK = 500
# A list shows no answers: an export leaves their JSON unread (decoding it took a fifth of
# the time spent on each row).
WITHOUT_ANSWERS = (
    defer(Consultation.booking_answers),
    defer(Consultation.attendance),
    defaultload(Consultation.patient).defer(PatientProfile.questionnaire_answers),
)
# A booking committed a little after a later one was already seen is still picked up:
# each poll looks this far behind its cursor.
CHANGE_OVERLAP = timedelta(seconds=5)
MAX_CHANGES = 100
MAX_PAGE = 10_000
# The times a browser may send back (cursors, when it opened the page): ours are all now.
EARLIEST_BROWSER_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_BROWSER_TIME = datetime(2100, 1, 1, tzinfo=UTC)
LIVE = (ConsultationStatus.SCHEDULED, ConsultationStatus.PENDING)
CALLED_OFF = (ConsultationStatus.CANCELLED, ConsultationStatus.REJECTED)


# The questionnaire filter's values and what each lists.
QUESTIONNAIRE_STATES = {"done": "Questionnaire done", "missing": "Questionnaire not done"}
# Tabs listing the soonest first; the others list the latest first.
SOONEST_FIRST = ("today", "upcoming")


@dataclass(frozen=True)
class Filters:
    """What narrows a tab or a search: the questionnaire's state, the patient's country and
    stage, the booking's consultant (Cal.com's organizer, by email) and its days in the
    clinic's zone (both ends included)."""

    questionnaire: str | None = None
    country: str | None = None
    consultant: str | None = None
    start: date | None = None
    end: date | None = None
    # The patient's stage after the consultation (``webapp.treatment.stage``).
    stage: str | None = None

    def __post_init__(self) -> None:
        if self.questionnaire not in (None, *QUESTIONNAIRE_STATES):
            raise ValueError(f"unknown questionnaire state {self.questionnaire!r}")
        if self.stage not in (None, *STAGES):
            raise ValueError(f"unknown stage {self.stage!r}")

    @property
    def active(self) -> bool:
        return any(vars(self).values())


@dataclass(frozen=True)
class DashboardView:
    """One tab or search, its filters and page, seen at ``now`` from a consultant's zone."""

    tab: str
    query: str
    page: int
    now: datetime
    timezone: ZoneInfo
    filters: Filters = field(default_factory=Filters)

    def __post_init__(self) -> None:
        if self.tab not in TABS:
            raise ValueError(f"unknown tab {self.tab!r}")

    @property
    def searching(self) -> bool:
        """Whether the view is a search (patients from every tab) rather than a tab."""
        return bool(self.query.strip())

    @property
    def soonest_first(self) -> bool:
        return not self.searching and self.tab in SOONEST_FIRST

    def url_args(self, **changes: Any) -> dict[str, Any]:
        """The query string that shows this view, with ``changes``; empty values left out
        (``url_for`` drops ``None``), the first page unsaid."""
        args: dict[str, Any] = {
            "tab": self.tab,
            "q": self.query or None,
            "questionnaire": self.filters.questionnaire,
            "country": self.filters.country,
            "consultant": self.filters.consultant,
            "stage": self.filters.stage,
            "from": self.filters.start.isoformat() if self.filters.start else None,
            "to": self.filters.end.isoformat() if self.filters.end else None,
            "page": self.page if self.page > 1 else None,
        }
        args.update(changes)
        return args


@dataclass(frozen=True)
class FilterChoices:
    """What the filters offer: the countries and consultants the bookings name."""

    countries: list[str]
    consultants: list[tuple[str, str]]  # (email, name)


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


def read_filters(args: Mapping[str, str]) -> Filters:
    """The filters a query string (``args``) asks for; a value we do not know is no filter."""
    questionnaire = args.get("questionnaire")
    stage = args.get("stage")
    return Filters(
        questionnaire=questionnaire if questionnaire in QUESTIONNAIRE_STATES else None,
        stage=stage if stage in STAGES else None,
        country=(args.get("country") or "")[:100] or None,
        consultant=(args.get("consultant") or "")[:320] or None,
        start=_browser_day(args.get("from")),
        end=_browser_day(args.get("to")),
    )


def _browser_day(raw: str | None) -> date | None:
    """A day a filter form sent; ``None`` unless ISO and within the years we accept from a
    browser (a day such as 9999-12-31 would overflow in the zone arithmetic)."""
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        return None
    return day if EARLIEST_BROWSER_TIME.date() <= day < LATEST_BROWSER_TIME.date() else None


def tab_condition(tab: str, now: datetime, timezone: ZoneInfo) -> ColumnElement[bool]:
    """The consultations a tab lists."""
    if tab == "today":
        return and_(
            within_day(now, timezone), Consultation.status != ConsultationStatus.RESCHEDULED
        )
    if tab == "upcoming":
        return and_(Consultation.start_time >= now, Consultation.status.in_(_literal(LIVE)))
    if tab == "past":
        return and_(
            Consultation.start_time < now,
            Consultation.status.not_in(_literal((*CALLED_OFF, ConsultationStatus.RESCHEDULED))),
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


def day_bounds(now: datetime, timezone: ZoneInfo) -> tuple[datetime, datetime]:
    """The day ``now`` falls on in ``timezone``: its first moment and the next day's."""
    midnight = now.astimezone(timezone).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight, midnight + timedelta(days=1)


def within_day(now: datetime, timezone: ZoneInfo) -> ColumnElement[bool]:
    """Consultations starting on the day ``now`` falls on in ``timezone``."""
    start, end = day_bounds(now, timezone)
    return and_(Consultation.start_time >= start, Consultation.start_time < end)


def outside_day(now: datetime, timezone: ZoneInfo) -> ColumnElement[bool]:
    """Consultations not starting on that day, those of unknown time included."""
    start, end = day_bounds(now, timezone)
    return or_(
        Consultation.start_time < start,
        Consultation.start_time >= end,
        Consultation.start_time.is_(None),
    )


def _literal(statuses: tuple[str, ...]) -> BindParameter[Any]:
    """Statuses written into the SQL as constants, not parameters: the Upcoming and Past
    indexes are partial (their WHERE names these statuses), and a planner uses a partial
    index only when it can see that the query asks for no other rows."""
    return bindparam(
        "statuses",
        [str(status) for status in statuses],
        expanding=True,
        literal_execute=True,
        unique=True,
    )


def filter_condition(filters: Filters, timezone: ZoneInfo) -> ColumnElement[bool]:
    """The consultations ``filters`` keep: a condition on consultations alone (the patient's
    side as a subquery), so counts need no join."""
    conditions = booking_conditions(filters, timezone)
    if patient_side := patient_conditions(filters):
        conditions.append(
            Consultation.patient_profile_id.in_(select(PatientProfile.id).where(*patient_side))
        )
    return and_(true(), *conditions)


def patient_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """What ``filters`` ask of the patient: the questionnaire's state, the country and the
    stage (as it reads today in the clinic's zone)."""
    conditions = []
    if filters.stage:
        conditions.append(stage_condition(filters.stage, clinic_today()))
    if filters.questionnaire == "done":
        conditions.append(PatientProfile.questionnaire_completed_at.is_not(None))
    elif filters.questionnaire == "missing":
        conditions.append(PatientProfile.questionnaire_completed_at.is_(None))
    if filters.country:
        conditions.append(PatientProfile.country == filters.country)
    return conditions


def booking_conditions(filters: Filters, timezone: ZoneInfo) -> list[ColumnElement[bool]]:
    """What ``filters`` ask of a consultation: its consultant and its days."""
    conditions = []
    if filters.consultant:
        conditions.append(Consultation.organizer_email == filters.consultant)
    if filters.start:
        conditions.append(Consultation.start_time >= local_midnight(filters.start, timezone))
    if filters.end:
        end = local_midnight(filters.end + timedelta(days=1), timezone)
        conditions.append(Consultation.start_time < end)
    return conditions


def local_midnight(day: date, timezone: ZoneInfo) -> datetime:
    """The first moment of ``day`` in ``timezone``, in UTC."""
    return datetime.combine(day, time(), tzinfo=timezone).astimezone(UTC)


def _searched(query: str) -> ColumnElement[bool]:
    """Consultations of the patients ``query`` finds."""
    if not query.strip():
        return true()
    return Consultation.patient_profile_id.in_(
        select(PatientProfile.id).where(search_condition(query))
    )


def consultations_page(view: DashboardView, total: int) -> Page[Consultation]:
    """The page of consultations the view asks for, patients loaded with them.

    ``total`` is how many the view's tab lists, from ``tab_counts``, which has counted it.
    """
    # The page's ids first, from the indexes alone; then those rows with their patients.
    # (Joining first makes SQLite sort every matching row, patients and all.)
    ids = db.session.scalars(
        select(Consultation.id)
        .where(view_condition(view))
        .order_by(*_tab_order(view))
        .limit(PER_PAGE)
        .offset((view.page - 1) * PER_PAGE)
    ).all()
    by_id = {
        consultation.id: consultation
        for consultation in db.session.scalars(
            _with_patient(select(Consultation)).where(Consultation.id.in_(ids))
        )
    }
    return Page([by_id[i] for i in ids], total, view.page, PER_PAGE)


def _tab_order(view: DashboardView) -> tuple[ColumnElement[Any], ...]:
    """The order a tab lists its consultations in: the soonest or the latest first."""
    start = Consultation.start_time.asc() if view.soonest_first else Consultation.start_time.desc()
    return start, Consultation.id.desc()


def patients_page(view: DashboardView) -> Page[tuple[PatientProfile, list[Consultation]]]:
    """The page of patients a search finds (``found_patients``), each once with the
    consultations the filters keep (whatever their tab). The page and, on each row, how
    many patients there are in all come from one query.
    """
    found = found_patients(view, func.count().over())
    rows = db.session.execute(found.limit(PER_PAGE).offset((view.page - 1) * PER_PAGE)).all()
    ids = [patient_id for patient_id, _ in rows]
    if rows:
        total = rows[0][1]
    elif view.page > 1:  # past the last page: count them to say how many pages there are
        total = db.session.scalar(select(func.count()).select_from(found.subquery()))
    else:
        total = 0
    return Page(_with_consultations(view, ids), total or 0, view.page, PER_PAGE)


def found_patients(view: DashboardView, *columns: ColumnElement[Any]) -> Select[Any]:
    """The ids of the patients a search finds (with ``columns``), the patients with the
    latest booking first (a booking of unknown time counts from when it was booked).

    Without a consultant or days to filter by, a patient's latest booking is the one their
    row holds (``latest_booking_at``), so only the patients found are read; with them, it
    is their latest that the filters keep, so their consultations are grouped.
    """
    if booking_conditions(view.filters, view.timezone):
        latest = func.max(func.coalesce(Consultation.start_time, Consultation.created_at))
        return (
            select(Consultation.patient_profile_id, *columns)
            .where(view_condition(view))
            .group_by(Consultation.patient_profile_id)
            .order_by(latest.desc(), Consultation.patient_profile_id.desc())
        )
    return (
        select(PatientProfile.id, *columns)
        .where(
            search_condition(view.query),
            *patient_conditions(view.filters),
            PatientProfile.latest_booking_at.is_not(None),  # has a consultation
        )
        .order_by(PatientProfile.latest_booking_at.desc(), PatientProfile.id.desc())
    )


def _with_consultations(
    view: DashboardView, patient_ids: list[int], options: tuple[Any, ...] = ()
) -> list[tuple[PatientProfile, list[Consultation]]]:
    """The patients of ``patient_ids``, in that order, each with the consultations the
    view's filters keep, the latest first (those of unknown time last); one query, with
    the loader ``options`` given."""
    by_patient: dict[int, list[Consultation]] = {patient_id: [] for patient_id in patient_ids}
    for consultation in db.session.scalars(
        _with_patient(select(Consultation))
        .options(*options)
        .where(
            Consultation.patient_profile_id.in_(patient_ids),
            *booking_conditions(view.filters, view.timezone),
        )
        .order_by(Consultation.start_time.desc().nulls_last(), Consultation.id.desc())
    ):
        by_patient[consultation.patient_profile_id].append(consultation)
    return [(shown[0].patient, shown) for shown in by_patient.values() if shown]


def every_consultation(view: DashboardView) -> Iterator[Consultation]:
    """Every consultation the view lists, on all its pages, in the order its pages list
    them (a search: each patient found with their consultations), patients loaded.

    Rows are read ``EXPORT_CHUNK`` at a time (a server-side cursor on PostgreSQL), so
    however many there are, only a chunk's worth is held at once. The cursor is closed
    however the reading ends (the last row, an error, the download given up): left open on
    SQLite it would hold its connection's snapshot, and the next transaction on that
    pooled connection would fail to begin (``SQLITE_BUSY_SNAPSHOT``).
    """
    if not view.searching:
        query = _with_patient(select(Consultation)).where(view_condition(view))
        with db.session.scalars(
            query.options(*WITHOUT_ANSWERS)
            .order_by(*_tab_order(view))
            .execution_options(yield_per=EXPORT_CHUNK)
        ) as consultations:
            yield from consultations
        return
    with db.session.scalars(
        found_patients(view).execution_options(yield_per=EXPORT_CHUNK)
    ) as found:
        for patient_ids in found.partitions():
            for _, shown in _with_consultations(view, list(patient_ids), WITHOUT_ANSWERS):
                yield from shown


def filter_choices() -> FilterChoices:
    """The countries patients named and the consultants bookings name, sorted (each
    consultant with the alphabetically last name their bookings give them).

    Each list is read off its index one value at a time (``_distinct``), so it costs as
    many index lookups as there are countries or consultants, however many patients."""
    countries = db.session.scalars(_distinct(PatientProfile.country)).all()
    emails = _distinct(Consultation.organizer_email).subquery()
    name = (
        select(func.max(Consultation.organizer_name))
        .where(Consultation.organizer_email == emails.c.value)
        .scalar_subquery()
    )
    consultants = db.session.execute(select(emails.c.value, name).order_by(emails.c.value)).all()
    return FilterChoices(list(countries), [(email, name or email) for email, name in consultants])


def _distinct(column: Any) -> Select[Any]:
    """The distinct values of an indexed ``column`` (``NULL`` left out), in order: a
    recursive query that steps from each value to the next one the index holds, the loose
    index scan neither database does by itself for ``DISTINCT``."""
    found = select(func.min(column).label("value")).cte("found", recursive=True)
    following = select(func.min(column)).where(column > found.c.value).scalar_subquery()
    found = found.union_all(select(following).where(found.c.value.is_not(None)))
    return select(found.c.value).where(found.c.value.is_not(None)).order_by(found.c.value)


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
    """The consultations the view lists: a search's (any tab) or its tab's, filtered."""
    listed = (
        _searched(view.query)
        if view.searching
        else tab_condition(view.tab, view.now, view.timezone)
    )
    return and_(listed, filter_condition(view.filters, view.timezone))


def _belongs(view: DashboardView) -> Any:
    return case((view_condition(view), True), else_=False)


def _with_patient(query: Select[Any]) -> Select[Any]:
    return query.join(Consultation.patient).options(contains_eager(Consultation.patient))


@dataclass(frozen=True)
class ReviewPair:
    """A possible duplicate for the Needs review tab: the earlier record, the one flagged
    as possibly the same person, how many consultations each has, and which of the
    merge's fields differ."""

    kept: PatientProfile
    flagged: PatientProfile
    consultations: dict[int, int]
    differing: list[str]
    # For each differing field, whose value the merge form offers first.
    defaults: dict[str, str]


def review_pairs(limit: int = PER_PAGE) -> list[ReviewPair]:
    """The flagged possible duplicates still to resolve, oldest flag first."""
    flagged = db.session.scalars(
        select(PatientProfile)
        .where(
            PatientProfile.possible_duplicate_of_id.is_not(None),
            PatientProfile.merged_into_id.is_(None),
        )
        .order_by(PatientProfile.id)
        .limit(limit)
    ).all()
    ids = {p.id for p in flagged} | {p.possible_duplicate_of_id for p in flagged}
    counts = dict(
        db.session.execute(
            select(Consultation.patient_profile_id, func.count())
            .where(Consultation.patient_profile_id.in_(ids))
            .group_by(Consultation.patient_profile_id)
        ).all()
    )
    return [
        ReviewPair(
            kept=patient.possible_duplicate_of,
            flagged=patient,
            consultations=counts,
            differing=differing_fields(patient.possible_duplicate_of, patient),
            defaults=default_choices(patient.possible_duplicate_of, patient),
        )
        for patient in flagged
        if patient.possible_duplicate_of is not None
    ]
