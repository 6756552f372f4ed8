"""The weeks the insights count: whole weeks, Monday to Sunday, in the clinic's time zone
(``CLINIC_TIMEZONE``), so that every consultant sees the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from webapp.dashboard.queries import local_midnight

DEFAULT_WEEKS = 12
# Two years of weeks: enough to compare a season with the year before, few enough that
# the charts stay readable and the page quick.
MAX_WEEKS = 104
WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class Period:
    """``weeks`` whole weeks from the Monday ``first``."""

    first: date
    weeks: int

    def __post_init__(self) -> None:
        if self.first.weekday() != 0:
            raise ValueError(f"a period starts on a Monday, not on {self.first}")
        if not 1 <= self.weeks <= MAX_WEEKS:
            raise ValueError(f"a period has 1 to {MAX_WEEKS} weeks, not {self.weeks}")

    @property
    def last(self) -> date:
        """The period's last day, a Sunday."""
        return self.first + self.weeks * WEEK - timedelta(days=1)

    @property
    def mondays(self) -> list[date]:
        """The first day of each of the period's weeks, in order."""
        return [self.first + index * WEEK for index in range(self.weeks)]

    def boundaries(self, timezone: ZoneInfo) -> list[datetime]:
        """When each week begins in ``timezone``, in UTC, and when the last one ends: one
        more than there are weeks. A week that a clock change shortens or lengthens is
        counted as the clinic lives it."""
        return [local_midnight(monday, timezone) for monday in self.mondays] + [
            local_midnight(self.first + self.weeks * WEEK, timezone)
        ]


def monday_of(day: date) -> date:
    """The Monday of the week ``day`` falls in."""
    return day - timedelta(days=day.weekday())


def chosen_period(start: date | None, end: date | None, today: date) -> tuple[Period, str | None]:
    """The period a consultant asked for, from the week of ``start`` to the week of ``end``
    (both days optional, either order), and a sentence saying what was changed, if
    anything. Without ``end`` it runs to the week of ``today``; without ``start``, it is
    ``DEFAULT_WEEKS`` long. A period longer than ``MAX_WEEKS`` keeps its last weeks."""
    last_monday = monday_of(end or today)
    first_monday = monday_of(start) if start else last_monday - (DEFAULT_WEEKS - 1) * WEEK
    if first_monday > last_monday:
        first_monday, last_monday = last_monday, first_monday
    weeks = (last_monday - first_monday) // WEEK + 1
    if weeks > MAX_WEEKS:
        period = Period(last_monday - (MAX_WEEKS - 1) * WEEK, MAX_WEEKS)
        return period, f"The insights cover at most {MAX_WEEKS} weeks: these are the last."
    return Period(first_monday, weeks), None
