"""Jinja filters: times in a reader's time zone, booking answers in words.

They show whatever the database holds: a time too close to year 1 or 9999 for its zone
and answers of any size or depth must render, never fail the page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

# Cal.com's system fields carry i18n keys as labels; these read better.
SYSTEM_FIELD_LABELS = {
    "name": "Name",
    "email": "Email",
    "attendeePhoneNumber": "Phone",
    "location": "Meeting location",
    "title": "What is this meeting about?",
    "notes": "Additional notes",
    "guests": "Guests",
    "rescheduleReason": "Reason for rescheduling",
}
# How much of a stored answer a page shows: nested values to this depth, then "…".
MAX_ANSWER_DEPTH = 3
MAX_ANSWER_LENGTH = 1000
MAX_LABEL_LENGTH = 200
ELLIPSIS = "…"
# How soon a booking's start is said as "in 25 min".
SOON = timedelta(minutes=60)


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo | None:
    """The time zone called ``name``, or ``None`` when there is no such zone.

    Remembered: ``ZoneInfo`` keeps only the last eight zones it made once nothing holds
    them, and a list of patients from many zones read each zone's file again for every row
    (a fifth of an export's time). The answers are the same zones (or ``None``), whoever
    asks; at most 1,024 names are kept, whatever a browser sends."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_time(value: datetime | None, zone_name: str | None, fmt: str = "%a %d %b %H:%M") -> str:
    """``value`` shown in the zone ``zone_name`` (empty when either is unknown).

    A stored time whose local form would fall outside years 1 to 9999 is shown as it is
    stored, in UTC, with the zone said.
    """
    tz = zone(zone_name)
    if value is None or tz is None:
        return ""
    try:
        return value.astimezone(tz).strftime(fmt)
    except OverflowError:
        return value.astimezone(UTC).strftime(fmt) + " UTC"


def their_time(value: datetime | None, zone_name: str | None, ours: str | None) -> str:
    """``value`` in the patient's zone ``zone_name`` beside a time shown in ``ours``: the
    hour alone when it is the same day in both, the day too when not; empty when the zones
    are the same or either is unknown."""
    theirs, clinic = zone(zone_name), zone(ours)
    if value is None or theirs is None or clinic is None or zone_name == ours:
        return ""
    try:
        there, here = value.astimezone(theirs), value.astimezone(clinic)
    except OverflowError:
        return local_time(value, zone_name)  # as stored, in UTC
    return there.strftime("%H:%M" if there.date() == here.date() else "%a %d %b %H:%M")


def zone_place(zone_name: str | None) -> str:
    """A zone as people say it: the city of its key ("Europe/London" is "London",
    "America/Argentina/Buenos_Aires" is "Buenos Aires"); "UTC" stays "UTC"."""
    return (zone_name or "").rpartition("/")[2].replace("_", " ")


def starts_in(value: datetime | None, now: datetime, within: timedelta = SOON) -> str:
    """ "in 25 min" for a start less than ``within`` after ``now`` ("now" for one this
    minute), else empty. static/app.js keeps the same words current between polls."""
    if value is None or not timedelta(0) <= value - now < within:
        return ""
    minutes = int((value - now).total_seconds() // 60)
    return f"in {minutes} min" if minutes else "now"


def answer_label(key: str, answer: Any) -> str:
    """A readable label for a booking-form answer, at most ``MAX_LABEL_LENGTH`` long."""
    label = answer.get("label") if isinstance(answer, dict) else None
    text = SYSTEM_FIELD_LABELS.get(key) or _words(label, 1) or str(key)
    return shorten(text, MAX_LABEL_LENGTH)


def answer_text(value: Any) -> str:
    """A booking-form value as text: objects, lists and names flattened to
    ``MAX_ANSWER_DEPTH`` levels and cut to ``MAX_ANSWER_LENGTH`` characters."""
    return shorten(_words(value, MAX_ANSWER_DEPTH), MAX_ANSWER_LENGTH)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _words(value: Any, depth: int) -> str:
    """``value`` in words; containers below ``depth`` more levels show as an ellipsis."""
    if isinstance(value, dict | list) and depth <= 0:
        return ELLIPSIS
    if isinstance(value, dict):
        if "firstName" in value or "lastName" in value:
            names = (value.get(key) for key in ("firstName", "lastName"))
            return " ".join(_words(name, depth - 1) for name in names if name)
        parts = [_words(value.get(key) or "", depth - 1) for key in ("value", "optionValue")]
        return " ".join(part for part in parts if part)
    if isinstance(value, list):
        return ", ".join(_words(item, depth - 1) for item in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return "" if value is None else str(value)


def register(app: Flask) -> None:
    """Add the filters to ``app``'s Jinja environment."""
    app.jinja_env.filters.update(
        local_time=local_time,
        answer_label=answer_label,
        answer_text=answer_text,
        zone_place=zone_place,
        their_time=their_time,
        starts_in=starts_in,
    )
