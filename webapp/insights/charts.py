"""What each chart of ``/insights`` counts, and how: one SQL statement of aggregates each.

Every chart counts bookings: consultations starting in the period's weeks (the clinic's),
kept by the consultant and country filters, each once. A rescheduled consultation is not
counted: the booking it moved to is (``Scope.bookings``). Python receives only the
aggregates (a few rows a week) and lays them out as a ``Chart``: its columns, its rows and
its total row, which the page shows as a table (drawn as a chart by static/insights.js)
and offers as CSV. Ratios and "other" are worked out from those aggregates.

The funnel (consulted → assessed → quote sent → accepted) counts completed consultations
and how far their patients got, by the facts ``webapp.treatment.stage`` reads.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from sqlalchemy import CTE, ColumnElement, Integer, Select, and_, case, func, literal, select

from webapp.dashboard.queries import CALLED_OFF, Filters, filter_choices, filter_condition
from webapp.database.durations import seconds_between
from webapp.extensions import db
from webapp.insights.period import Period
from webapp.models import Consultation, ConsultationStatus, PatientProfile, QuestionnaireSubmission
from webapp.treatment.stage import funnel_facts, reached_steps

# Okabe and Ito's palette, which keeps its colours apart for every kind of colour blindness
# (yellow last: too pale for a line on white). Every chart also names each colour.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
GREY = "#8C8C8C"
TOP = 10
HOUR = 3600
DAY = 24 * HOUR
# How far ahead a booking was made: each bucket's lower bound in seconds, and its name.
LEAD_TIMES = (
    (0, "Under a day"),
    (1 * DAY, "1 to 3 days"),
    (3 * DAY, "3 to 7 days"),
    (7 * DAY, "1 to 2 weeks"),
    (14 * DAY, "2 to 4 weeks"),
    (28 * DAY, "4 to 8 weeks"),
    (56 * DAY, "8 weeks or more"),
)


@dataclass(frozen=True)
class Column:
    """One column of a chart's table: plotted (with its colour) or only shown, and how its
    numbers read (``count``, ``percent`` or ``hours``)."""

    label: str
    colour: str | None = None
    format: str = "count"

    def __post_init__(self) -> None:
        if self.format not in ("count", "percent", "hours"):
            raise ValueError(f"unknown format {self.format!r}")

    @property
    def plotted(self) -> bool:
        return self.colour is not None

    def shown(self, value: float | None) -> str:
        """``value`` as the table shows it: "1,204", "38%", "4.5%", "20 h", "3.5 days"."""
        if value is None:
            return "–"
        if self.format == "percent":
            return f"{value:.1f}%" if 0 < value < 10 else f"{value:.0f}%"
        if self.format == "hours":
            return f"{value:.0f} h" if value < 48 else f"{value / 24:.1f} days"
        return f"{value:,.0f}"

    def written(self, value: float | None) -> str:
        """``value`` as the CSV has it: counts whole, percentages and hours to a tenth."""
        if value is None:
            return ""
        return f"{value:.0f}" if self.format == "count" else f"{value:.1f}"

    @property
    def header(self) -> str:
        """The column's name in the CSV, its unit said."""
        return {"percent": f"{self.label} (%)", "hours": f"{self.label} (hours)"}.get(
            self.format, self.label
        )


@dataclass(frozen=True)
class Row:
    """One row: its label on the page, its label in the CSV (a week's Monday as ISO) and a
    number (``None`` when there is none, such as a rate without bookings) per column."""

    label: str
    key: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """One chart and its table. ``kind`` says how static/insights.js draws the plotted
    columns: ``stacked`` bars, ``lines``, or ``bars`` across (one per row)."""

    title: str
    kind: str
    description: str
    heading: str  # the first column's
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    total: Row
    # The answer in a sentence, from the total row's numbers, for the charts that have one.
    summary: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("stacked", "lines", "bars"):
            raise ValueError(f"unknown kind of chart {self.kind!r}")

    @property
    def empty(self) -> bool:
        """Whether there is nothing to draw: every number zero or none."""
        return not any(value for row in self.rows for value in row.values)

    def csv_rows(self) -> list[list[str]]:
        """The table as CSV: the header with each column's unit, a row per week (or name)
        keyed as the CSV keys it, and the total row."""
        return [
            [self.heading, *(column.header for column in self.columns)],
            *(
                [row.key, *(c.written(v) for c, v in zip(self.columns, row.values, strict=True))]
                for row in (*self.rows, self.total)
            ),
        ]


@dataclass(frozen=True)
class Scope:
    """What the charts count: bookings starting in ``period`` (weeks in ``timezone``, the
    clinic's), narrowed by ``filters``' consultant and country, as things stand at ``now``."""

    period: Period
    filters: Filters
    timezone: ZoneInfo
    now: datetime

    def bookings(self) -> ColumnElement[bool]:
        """The consultations counted: in the period, kept by the filters, not rescheduled."""
        narrowing = replace(
            self.filters, questionnaire=None, start=self.period.first, end=self.period.last
        )
        return and_(
            filter_condition(narrowing, self.timezone),
            Consultation.status != ConsultationStatus.RESCHEDULED,
        )

    def week(self) -> ColumnElement[int]:
        """The index of the period's week a consultation starts in (0 for the first)."""
        ends = self.period.boundaries(self.timezone)[1:-1]
        if not ends:  # one week: SQL has no CASE without a WHEN
            return literal(0, Integer)
        return case(
            *((Consultation.start_time < end, index) for index, end in enumerate(ends)),
            else_=len(ends),
        )

    @cached_property
    def outcomes(self) -> dict[int, Counter[str]]:
        """How many bookings of each week are in each of ``OUTCOMES``: counted once for the
        charts that show them (a scope lives for one request)."""
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for week, state, number in _grouped(
            select(self.week().label("week"), outcome(self.now).label("state")).where(
                self.bookings()
            )
        ):
            counts[week][state] = number
        return counts

    def week_rows(self, values: Callable[[int], tuple[float | None, ...]]) -> tuple[Row, ...]:
        """A row per week, labelled by its Monday, with ``values(week_index)``."""
        return tuple(
            Row(f"{monday.day} {monday:%b}", monday.isoformat(), values(index))
            for index, monday in enumerate(self.period.mondays)
        )


# --- What each booking is now ------------------------------------------------------------

OUTCOMES = {
    "completed": Column("Completed", "#009E73"),
    "no_show": Column("No-show", "#D55E00"),
    "called_off": Column("Cancelled or rejected", "#CC79A7"),
    "to_come": Column("Still to come", "#56B4E9"),
    "unmarked": Column("Past, not marked", GREY),
}


def outcome(now: datetime) -> ColumnElement[str]:
    """Which of ``OUTCOMES`` a booking is in at ``now``: exactly one. A booking still
    scheduled or pending is to come until it starts, and past but not marked after."""
    return case(
        (Consultation.status == ConsultationStatus.COMPLETED, "completed"),
        (Consultation.status == ConsultationStatus.NO_SHOW, "no_show"),
        (Consultation.status.in_(CALLED_OFF), "called_off"),
        (Consultation.start_time >= now, "to_come"),
        else_="unmarked",
    )


def bookings_by_outcome(scope: Scope) -> Chart:
    """Bookings per week, stacked by what became of them."""
    counts = scope.outcomes
    columns = (*OUTCOMES.values(), Column("Bookings"))

    def values(counted: Counter[str]) -> tuple[float | None, ...]:
        return (*(counted[key] for key in OUTCOMES), counted.total())

    return Chart(
        title="Bookings per week, by outcome",
        kind="stacked",
        description="Each booking counts once, in the week its consultation starts (a "
        "rescheduled booking counts where it moved to). Still to come: scheduled or "
        "pending and not started yet.",
        heading="Week of",
        columns=columns,
        rows=scope.week_rows(lambda week: values(counts[week])),
        total=Row("All weeks", "total", values(sum(counts.values(), Counter()))),
    )


def no_show_and_cancellation_rates(scope: Scope) -> Chart:
    """Of the bookings marked completed or no-show, the share of no-shows; of all
    bookings, the share cancelled or rejected; per week."""
    counts = scope.outcomes

    def values(counted: Counter[str]) -> tuple[float | None, ...]:
        marked = counted["completed"] + counted["no_show"]
        total = counted.total()
        return (
            _percent(counted["no_show"], marked),
            _percent(counted["called_off"], total),
            counted["no_show"],
            marked,
            counted["called_off"],
            total,
        )

    columns = (
        Column("No-show rate", "#D55E00", "percent"),
        Column("Cancellation rate", "#CC79A7", "percent"),
        Column("No-shows"),
        Column("Marked completed or no-show"),
        Column("Cancelled or rejected"),
        Column("Bookings"),
    )
    total = values(sum(counts.values(), Counter()))
    return Chart(
        title="No-show rate and cancellation rate per week",
        kind="lines",
        description="No-show rate: no-shows among the consultations marked completed or "
        "no-show. Cancellation rate: bookings cancelled or rejected among all bookings.",
        heading="Week of",
        columns=columns,
        rows=scope.week_rows(lambda week: values(counts[week])),
        total=Row("All weeks", "total", total),
        summary=f"Over these weeks: a no-show rate of {columns[0].shown(total[0])} and a "
        f"cancellation rate of {columns[1].shown(total[1])}.",
    )


# --- Where patients book from, and in what language -----------------------------------------


def bookings_by_country(scope: Scope) -> Chart:
    """Bookings by the patient's country: the ten with the most, then the rest together."""
    country = func.coalesce(PatientProfile.country, "")
    counted = _grouped(
        select(country.label("country"))
        .select_from(Consultation)
        .join(Consultation.patient)
        .where(scope.bookings())
    )
    return _ranking(
        title="Bookings by country",
        description="The country the patient gave, as they wrote it; the ten with the most "
        "bookings, then all others together.",
        heading="Country",
        counted={name or "Not given": number for name, number in counted},
        colour=PALETTE[0],
    )


def bookings_by_language(scope: Scope) -> Chart:
    """Bookings by the language the patient booked in (Cal.com's attendee locale)."""
    locale = func.lower(func.coalesce(Consultation.attendee_locale, ""))
    counted: Counter[str] = Counter()
    for tag, number in _grouped(select(locale.label("locale")).where(scope.bookings())):
        counted[_language_name(tag)] += number
    return _ranking(
        title="Bookings by the patient's language",
        description="The language the patient booked in on Cal.com; the ten with the most "
        "bookings, then all others together.",
        heading="Language",
        counted=dict(counted),
        colour=PALETTE[4],
    )


def _language_name(tag: str) -> str:
    """A locale tag as a reader says it in English: "de" is German, "pt-br" Portuguese
    (Brazil); a tag Babel does not know is shown as it is."""
    if not tag:
        return "Not known"
    try:
        return Locale.parse(tag.replace("_", "-"), sep="-").get_display_name("en") or tag
    except (ValueError, UnknownLocaleError):
        return tag


def _ranking(
    *,
    title: str,
    description: str,
    heading: str,
    counted: dict[str, int],
    colour: str,
) -> Chart:
    """A chart of ``counted`` (a name's bookings) across: the ``TOP`` names with the most,
    most first (names in order among equals), then "Other" for the rest together."""
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    total = sum(counted.values())
    rows = [Row(name, name, (number, _percent(number, total))) for name, number in ranked[:TOP]]
    if len(ranked) > TOP:
        other = sum(number for _, number in ranked[TOP:])
        more = f"Other ({len(ranked) - TOP} more)"
        rows.append(Row(more, "Other", (other, _percent(other, total))))
    return Chart(
        title=title,
        kind="bars",
        description=description,
        heading=heading,
        columns=(Column("Bookings", colour), Column("Share", format="percent")),
        rows=tuple(rows),
        total=Row("All", "total", (total, _percent(total, total))),
    )


# --- The questionnaire ---------------------------------------------------------------------

COMPLETION = {
    "before": Column("Before the consultation", "#009E73"),
    "after": Column("After it", "#E69F00"),
    "missing": Column("Not (yet) answered", GREY),
}


def questionnaire_completion(scope: Scope) -> Chart:
    """Per week, how many of the bookings not called off had their questionnaire answered
    before the consultation, after it or not at all; and over all the weeks, the median
    time from booking to answering (the middle answer's, or the mean of the middle two):
    one statement."""
    answered = _answered(scope)
    answers = select(func.count(answered.c.hours)).scalar_subquery()
    middle = (
        select(answered.c.hours)
        .where(answered.c.hours.is_not(None))
        .order_by(answered.c.hours)
        .limit(2 - answers % 2)
        .offset((answers - 1) // 2)
        .subquery()
    )
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    median: float | None = None
    for week, before, after, missing, middle_hours in db.session.execute(
        select(
            answered.c.week,
            *(func.count().filter(answered.c.state == key) for key in COMPLETION),
            select(func.avg(middle.c.hours)).scalar_subquery(),
        ).group_by(answered.c.week)
    ):
        counts[week] = Counter(before=before, after=after, missing=missing)
        median = _number(middle_hours)

    def values(counted: Counter[str], hours: float | None = None) -> tuple[float | None, ...]:
        return (
            *(counted[key] for key in COMPLETION),
            counted.total(),
            _percent(counted["before"], counted.total()),
            hours,
        )

    columns = (
        *COMPLETION.values(),
        Column("Bookings"),
        Column("Share answered before", format="percent"),
        Column("Median time to answer, all weeks", format="hours"),
    )
    total = values(sum(counts.values(), Counter()), median)
    return Chart(
        title="Questionnaires answered before the consultation, per week",
        kind="stacked",
        description="Bookings not cancelled or rejected, by when the patient first sent the "
        "questionnaire. The median time runs from booking to answering, over all the weeks; "
        "answers sent before the booking reached us count as at once.",
        heading="Week of",
        columns=columns,
        rows=scope.week_rows(lambda week: values(counts[week])),
        total=Row("All weeks", "total", total),
        summary=f"Over these weeks: {columns[-2].shown(total[-2])} answered before the "
        f"consultation; the median time from booking to answering was "
        f"{columns[-1].shown(total[-1])}.",
    )


def _answered(scope: Scope) -> CTE:
    """The bookings not called off: each one's week, whether its patient first sent the
    questionnaire before the consultation, after it or not at all (``COMPLETION``), and
    how many hours after booking (NULL when not at all). Answered before booking (a
    returning patient, or the form sent a moment before Cal.com's delivery arrived) counts
    as answered at once.

    Both steps are materialized: the first answer is looked up once a booking, and the hours
    worked out once, however often the query reads them (a database would otherwise repeat
    the expression for every place that names it)."""
    first_answer = (
        select(func.min(QuestionnaireSubmission.submitted_at))
        .where(QuestionnaireSubmission.patient_profile_id == Consultation.patient_profile_id)
        .scalar_subquery()
    )
    first = (
        select(
            scope.week().label("week"),
            Consultation.start_time,
            Consultation.created_at,
            first_answer.label("answered_at"),
        )
        .where(scope.bookings(), Consultation.status.not_in(CALLED_OFF))
        .cte("first_answers")
        .prefix_with("MATERIALIZED")
    )
    waited = seconds_between(first.c.answered_at, first.c.created_at)
    return (
        select(
            first.c.week,
            case(
                (first.c.answered_at.is_(None), "missing"),
                (first.c.answered_at < first.c.start_time, "before"),
                else_="after",
            ).label("state"),
            case((waited < 0, 0.0), else_=waited / HOUR).label("hours"),
        )
        .cte("answered")
        .prefix_with("MATERIALIZED")
    )


# --- How far ahead patients book ----------------------------------------------------------


def lead_times(scope: Scope) -> Chart:
    """Bookings by how long before the consultation they were made."""
    ahead = seconds_between(Consultation.start_time, Consultation.created_at)
    bucket = case(
        *((ahead < bound, index) for index, (bound, _) in enumerate(LEAD_TIMES[1:])),
        else_=len(LEAD_TIMES) - 1,
    )
    counted = dict(_grouped(select(bucket.label("bucket")).where(scope.bookings())))
    total = sum(counted.values())
    return Chart(
        title="How far ahead patients book",
        kind="bars",
        description="Time from booking to the consultation's start; each range includes "
        "its lower end. A booking that reached us only after it started counts as under "
        "a day.",
        heading="Booked ahead",
        columns=(Column("Bookings", PALETTE[0]), Column("Share", format="percent")),
        rows=tuple(
            Row(name, name, (counted.get(index, 0), _percent(counted.get(index, 0), total)))
            for index, (_, name) in enumerate(LEAD_TIMES)
        ),
        total=Row("All", "total", (total, _percent(total, total))),
    )


# --- Who takes them -----------------------------------------------------------------------


def consultations_per_consultant(scope: Scope) -> Chart:
    """Per week, how many bookings (not cancelled or rejected) each consultant has: the
    organizer of the booking in Cal.com, named as the dashboard's filter names them."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for week, email, number in _grouped(
        select(
            scope.week().label("week"),
            func.coalesce(Consultation.organizer_email, "").label("email"),
        ).where(scope.bookings(), Consultation.status.not_in(CALLED_OFF))
    ):
        counts[week][email] = number
    names = dict(filter_choices().consultants)
    totals = sum(counts.values(), Counter())
    consultants = sorted(totals, key=lambda email: (-totals[email], names.get(email, email)))
    columns = tuple(
        Column(names.get(email) or "No consultant named", PALETTE[index % len(PALETTE)])
        for index, email in enumerate(consultants)
    )

    def values(counted: Counter[str]) -> tuple[float | None, ...]:
        return (*(counted[email] for email in consultants), counted.total())

    return Chart(
        title="Consultations per consultant per week",
        kind="lines",
        description="Bookings not cancelled or rejected, by the consultant Cal.com names as "
        "the organizer.",
        heading="Week of",
        columns=(*columns, Column("All consultants")),
        rows=scope.week_rows(lambda week: values(counts[week])),
        total=Row("All weeks", "total", values(totals)),
    )


# --- After the consultation ---------------------------------------------------------------


def treatment_funnel(scope: Scope) -> Chart:
    """Per week, the completed consultations, and of them how many patients went on to be
    assessed, to be sent a quote and to accept one (as far as they got by now; the steps
    come from ``webapp.treatment.stage.reached_steps``, so each holds the next)."""
    counts: dict[int, Counter[int]] = defaultdict(Counter)
    facts = funnel_facts(Consultation.patient_profile_id)
    for week, assessed, sent, accepted, number in _grouped(
        select(
            scope.week().label("week"),
            *(fact.label(f"fact_{index}") for index, fact in enumerate(facts)),
        ).where(scope.bookings(), Consultation.status == ConsultationStatus.COMPLETED)
    ):
        counted = counts[week]
        counted[0] += number
        for index, step_reached in enumerate(reached_steps(assessed, sent, accepted), 1):
            if step_reached:
                counted[index] += number
    columns = (
        Column("Consulted", PALETTE[0]),
        Column("Assessed", PALETTE[1]),
        Column("Quote sent", PALETTE[2]),
        Column("Accepted", PALETTE[3]),
        Column("Accepted of consulted", None, "percent"),
    )

    def values(counted: Counter[int]) -> tuple[float | None, ...]:
        return (*(counted[index] for index in range(4)), _percent(counted[3], counted[0]))

    totals = sum(counts.values(), Counter())
    return Chart(
        title="From consultation to accepted quote",
        kind="lines",
        description="Completed consultations per week, and how many of those patients were "
        "assessed, sent a quote and accepted one, as far as they have got by now.",
        heading="Week of",
        columns=columns,
        rows=scope.week_rows(lambda week: values(counts[week])),
        total=Row("All weeks", "total", values(totals)),
        summary=f"{totals[3]} of {totals[0]} patients consulted accepted a quote."
        if totals[0]
        else "",
    )


# The charts in the page's order, by the slug of their CSV.
CHARTS: dict[str, Callable[[Scope], Chart]] = {
    "outcomes": bookings_by_outcome,
    "rates": no_show_and_cancellation_rates,
    "countries": bookings_by_country,
    "languages": bookings_by_language,
    "questionnaire": questionnaire_completion,
    "lead-time": lead_times,
    "consultants": consultations_per_consultant,
    "funnel": treatment_funnel,
}


def _grouped(query: Select[Any]) -> list[tuple[Any, ...]]:
    """Each distinct row of ``query``'s columns with how many times it occurs: grouped in
    the database, over ``query`` as a subquery (so that no expression is repeated in the
    GROUP BY with parameters of its own)."""
    rows = query.subquery()
    return list(db.session.execute(select(*rows.c, func.count()).group_by(*rows.c)).all())


def _percent(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
