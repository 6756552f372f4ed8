"""The top of the patient page: the next consultation, how to reach the patient, and the
answers a surgeon must not miss. Pure functions over what the database holds."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import phonenumbers

from webapp.models import Consultation, ConsultationStatus
from webapp.pages.filters import shorten

# Cal.com's names for where a meeting happens, in words.
MEETING_APPS = {
    "integrations:daily": "Cal Video",
    "integrations:zoom": "Zoom",
    "integrations:google:meet": "Google Meet",
    "integrations:office365_video": "Microsoft Teams",
}
PHONE_LOCATIONS = {"phone", "userphone", "attendeephone"}
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")
# Medicines and words that say the patient takes a blood thinner (anticoagulants and
# antiplatelets, by generic and common brand names). Matched at the start of a word,
# case-folded, so "Aspirin 75 mg" and "blood thinners" both count.
BLOOD_THINNER_WORDS = (
    "aspirin",
    "warfarin",
    "coumadin",
    "marevan",
    "heparin",
    "enoxaparin",
    "clexane",
    "clopidogrel",
    "plavix",
    "apixaban",
    "eliquis",
    "rivaroxaban",
    "xarelto",
    "dabigatran",
    "pradaxa",
    "edoxaban",
    "ticagrelor",
    "brilinta",
    "prasugrel",
    "anticoagul",
    "antiplatelet",
    "blood thinner",
    "blood-thinner",
)
BLOOD_THINNER = re.compile(r"\b(" + "|".join(map(re.escape, BLOOD_THINNER_WORDS)) + ")")
CHIP_DETAILS_LENGTH = 120
UPCOMING = (ConsultationStatus.SCHEDULED, ConsultationStatus.PENDING)


@dataclass(frozen=True)
class MeetingPlace:
    """Where a consultation happens, in words, and its link when it is one."""

    text: str
    url: str | None = None


@dataclass(frozen=True)
class PhoneLinks:
    """A phone as people read it, and the links that call or message it."""

    display: str
    tel: str
    whatsapp: str | None


@dataclass(frozen=True)
class Alert:
    """One chip: a medical answer a surgeon must not miss, and why it shows."""

    key: str
    label: str
    details: str
    reason: str

    @property
    def short_details(self) -> str:
        return shorten(self.details, CHIP_DETAILS_LENGTH)


def meeting_place(location: str | None) -> MeetingPlace | None:
    """Cal.com's meeting location in words: "Cal Video", "Zoom", "Google Meet", "Phone
    call" (a phone number or "phone"), a link for an http(s) address, and otherwise the
    address where the patient comes in person. ``None`` when there is none."""
    value = (location or "").strip()
    if not value:
        return None
    lowered = value.lower()
    if lowered in MEETING_APPS:
        return MeetingPlace(MEETING_APPS[lowered])
    if lowered.startswith("integrations:"):
        return MeetingPlace(lowered.split(":")[1].replace("_", " ").title())
    if lowered in PHONE_LOCATIONS or PHONE_LIKE.match(value):
        return MeetingPlace("Phone call")
    if web_link(value):
        return MeetingPlace("Link", value)
    return MeetingPlace(f"In person: {value}")


def web_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) address a page may link to, otherwise ``None``."""
    value = (url or "").strip()
    return value if re.match(r"^https?://[^\s\"'<>]+$", value, re.IGNORECASE) else None


def phone_links(phone: str | None) -> PhoneLinks | None:
    """A stored phone in the international format with ``tel:`` and WhatsApp links; a
    phone that does not parse is shown as stored, with a ``tel:`` link only."""
    if not phone:
        return None
    return _phone_links(phone)


# Every dashboard row shows its patient's phone, and parsing one is most of a row's cost;
# the answer depends on the phone alone, so each worker keeps its latest few (only here, in
# its memory, as it keeps the rows it renders).
@lru_cache(maxsize=1024)
def _phone_links(phone: str) -> PhoneLinks:
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        digits = re.sub(r"[^\d+]", "", phone)
        return PhoneLinks(phone, f"tel:{digits}", None)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return PhoneLinks(
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        f"tel:{e164}",
        f"https://wa.me/{e164.lstrip('+')}",
    )


def surgeon_alerts(answers: dict[str, Any] | None) -> list[Alert]:
    """The chips for the latest questionnaire answers, each only when its answer is yes.

    - "Blood thinner": the medications details name a blood thinner
      (``BLOOD_THINNER_WORDS``), whatever the answer;
    - "Medications": medications is yes but the details name no blood thinner (the
      surgeon checks whether one is among them);
    - "Allergies", "Earlier surgery" and "Conditions": that answer is yes.
    """
    answers = answers or {}
    alerts = []
    medications = str(answers.get("medications_details") or "").strip()
    if BLOOD_THINNER.search(medications.casefold()):
        alerts.append(
            Alert("blood-thinner", "Blood thinner", medications, "the medications name one")
        )
    elif answers.get("medications") == "yes":
        alerts.append(Alert("medications", "Medications", medications, "ask about blood thinners"))
    for key, label in (
        ("allergies", "Allergies"),
        ("surgeries", "Earlier surgery"),
        ("conditions", "Conditions"),
    ):
        if answers.get(key) == "yes":
            details = str(answers.get(f"{key}_details") or "").strip()
            alerts.append(Alert(key, label, details, f"{label.lower()}: yes"))
    return alerts


def next_consultation(consultations: Iterable[Consultation], now: datetime) -> Consultation | None:
    """The earliest scheduled or pending consultation that has not started yet."""
    upcoming = [
        c
        for c in consultations
        if c.start_time is not None and c.start_time >= now and c.status in UPCOMING
    ]
    return min(upcoming, key=lambda c: (c.start_time, c.id), default=None)


def answers_shown_elsewhere(consultations: Iterable[Consultation]) -> dict[int, int]:
    """Consultations whose booking answers the page need not repeat: for each, the
    booking it was rescheduled to, which carries the same answers (a reason for the
    reschedule aside)."""

    def comparable(answers: dict[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in (answers or {}).items() if k != "rescheduleReason"}

    return {
        c.id: c.rescheduled_to.id
        for c in consultations
        if c.booking_answers
        and c.rescheduled_to is not None
        and comparable(c.booking_answers) == comparable(c.rescheduled_to.booking_answers)
    }
