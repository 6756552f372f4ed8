"""Jinja filters: times in a reader's time zone, booking answers in words."""

from __future__ import annotations

from datetime import datetime
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


def zone(name: str | None) -> ZoneInfo | None:
    """The time zone called ``name``, or ``None`` when there is no such zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_time(value: datetime | None, zone_name: str | None, fmt: str = "%a %d %b %H:%M") -> str:
    """``value`` shown in the zone ``zone_name`` (empty when either is unknown)."""
    tz = zone(zone_name)
    if value is None or tz is None:
        return ""
    return value.astimezone(tz).strftime(fmt)


def answer_label(key: str, answer: dict[str, Any]) -> str:
    """A readable label for a booking-form answer."""
    return SYSTEM_FIELD_LABELS.get(key) or str(answer.get("label") or key)


def answer_text(value: Any) -> str:
    """A booking-form value as text: objects, lists and names flattened."""
    if isinstance(value, dict):
        if "firstName" in value or "lastName" in value:
            return " ".join(str(value[k]) for k in ("firstName", "lastName") if value.get(k))
        parts = [str(value.get("value") or ""), str(value.get("optionValue") or "")]
        return " ".join(part for part in parts if part)
    if isinstance(value, list):
        return ", ".join(answer_text(item) for item in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return "" if value is None else str(value)


def register(app: Flask) -> None:
    """Add the filters to ``app``'s Jinja environment."""
    app.jinja_env.filters.update(
        local_time=local_time, answer_label=answer_label, answer_text=answer_text
    )
