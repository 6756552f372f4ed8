"""Parse any Cal.com delivery into one typed ``Booking``; nothing else reads raw payloads.

Three envelopes arrive: Cal.com's ``{"triggerEvent", "createdAt", "payload"}``, the flat
MEETING_STARTED/MEETING_ENDED form with the booking's fields at top level, and the legacy
``{"type", "data"}`` form from the clinic's analysis document.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from webapp.cal.questions import CITY_WORDS, COUNTRY_WORDS, LOCATION_WORDS, PHONE_WORDS, rank
from webapp.security.storable import unstorable_character

MEETING_LOCATION_PREFIXES = ("integrations:", "http://", "https://")
MAX_UID = 100
MAX_TRIGGER = 64
# What a delivery may hold; Cal.com's own nest a handful of levels, with small numbers.
MAX_DEPTH = 64
MAX_INTEGER_DIGITS = 20
# The times a clinic's bookings can have; anything else is refused as unreadable.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
# How Cal.com's delivery of a reschedule request begins its cancellation reason.
RESCHEDULE_REQUEST_PREFIX = "Please reschedule."
MEETING_LOCATION_TYPES = {"phone", "inPerson", "attendeeInPerson", "link", "somewhereElse"}


class PayloadError(ValueError):
    """The delivery is authentic but cannot be read as a booking; the message says why."""


class NoEnvelopeError(PayloadError):
    """The body is in none of Cal.com's envelopes: not JSON at all, or JSON without
    ``triggerEvent``/``payload`` or ``type``/``data``. A custom payload template sends these."""


@dataclass(frozen=True)
class Delivery:
    """The envelope of a delivery: its trigger, send time and the booking's fields."""

    trigger: str
    sent_at: datetime | None
    data: dict[str, Any]

    @property
    def booking_uid(self) -> str | None:
        """The booking uid, if the delivery names one (best effort, never raises)."""
        uid = self.data.get("uid") or self.data.get("bookingUid")
        if uid is None and "id" in self.data and isinstance(self.data["id"], str):
            uid = self.data["id"]  # the legacy envelope calls the uid ``id``
        if isinstance(uid, bool) or not isinstance(uid, str | int):
            return None
        return str(uid) if uid != "" else None


@dataclass(frozen=True)
class Attendee:
    """One person a delivery lists: the booker or seat holder first, then any guests."""

    email: str
    no_show: bool | None = None


@dataclass(frozen=True)
class Booking:
    """Everything the clinic uses from a booking event, already extracted (not normalised)."""

    trigger: str
    uid: str
    # The booker's or seat holder's email as sent; attendance reports may name nobody.
    email: str | None
    sent_at: datetime | None = None
    booking_id: int | None = None
    name: str | None = None
    # Every phone the booking gives for its patient, most trustworthy first (``_phones``).
    phones: tuple[str, ...] = ()
    location: str | None = None
    # The country and city questions' own answers, when the form asks them.
    country: str | None = None
    city: str | None = None
    timezone: str | None = None
    title: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    reschedule_uid: str | None = None
    reschedule_start_time: datetime | None = None
    reschedule_end_time: datetime | None = None
    cancellation_reason: str | None = None
    # A cancellation that asks the patient to choose a new time (Cal.com emails a link).
    reschedule_requested: bool = False
    attendees: tuple[Attendee, ...] = ()
    # The video link to join, where the meeting has one (http or https only).
    meeting_url: str | None = None
    # Where the meeting happens as Cal.com names it: ``integrations:daily``, a phone number,
    # the clinic's address... Never where the patient lives.
    meeting_location: str | None = None
    organizer_name: str | None = None
    organizer_email: str | None = None
    # The booker's language as Cal.com knows it (``en``, ``de``, ``tr``...).
    locale: str | None = None
    # A seated event: several people hold seats under one uid, each a consultation.
    seated: bool = False

    @property
    def seat_key(self) -> str:
        """Which seat of the booking this event is about: the seat holder's attendee email
        (lower-cased, as Cal.com sends it) for a seated event, ``""`` for an ordinary one."""
        return self.attendees[0].email if self.seated and self.attendees else ""


def read_delivery(body: bytes) -> Delivery:
    """Decode a delivery body and unwrap its envelope.

    Raises ``NoEnvelopeError`` when the body is not a JSON object in a known envelope, and
    ``PayloadError`` when it holds anything the clinic cannot store or show (see
    ``_decode_document``).
    """
    document = _decode_document(body)
    if not isinstance(document, dict):
        raise NoEnvelopeError("body must be a JSON object")

    if isinstance(document.get("triggerEvent"), str):
        trigger = _trigger(document["triggerEvent"])
        payload = document.get("payload")
        if isinstance(payload, dict):
            return Delivery(trigger, parse_time(document.get("createdAt"), "createdAt"), payload)
        if payload is None:
            # Flat MEETING_* form: ``createdAt`` is the booking's creation, not the send time.
            return Delivery(trigger, None, document)
        raise PayloadError("payload must be a JSON object")
    if isinstance(document.get("type"), str) and isinstance(document.get("data"), dict):
        return Delivery(_trigger(document["type"]), None, document["data"])
    raise NoEnvelopeError(
        "unknown envelope: expected Cal.com's triggerEvent/payload or the legacy type/data"
    )


def why_unreadable(body: bytes) -> PayloadError | None:
    """Why a stored delivery ``body`` cannot be read: ``read_delivery``'s refusal (a
    ``NoEnvelopeError`` for what a custom payload template sends), or ``None`` when it
    reads. Pages ask this of stored bodies; it never raises, whatever the body holds."""
    try:
        read_delivery(body)
    except PayloadError as exc:
        return exc
    return None


def _decode_document(body: bytes) -> Any:
    """The JSON document in ``body``, once it is known to be safe to store and to show.

    Raises ``NoEnvelopeError`` when the body is not UTF-8 JSON, and ``PayloadError``
    naming the problem when it starts with a byte order mark, repeats a key, nests deeper
    than ``MAX_DEPTH``, holds a number that is not finite or has more than
    ``MAX_INTEGER_DIGITS`` digits, or a string with a NUL character or an unpaired
    surrogate (which no database column can hold).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoEnvelopeError(f"body is not valid JSON: it is not UTF-8 ({exc.reason})") from None
    if text.startswith("\ufeff"):
        raise PayloadError("body is not valid JSON: it starts with a byte order mark")
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
    except RecursionError:
        raise PayloadError(f"body nests deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise NoEnvelopeError(f"body is not valid JSON: {exc}") from None
    if _may_hold_unstorable_values(text):
        _check_values(document)
    return document


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a repeated key is ambiguous (parsers disagree on which one wins)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise PayloadError("body is not valid JSON: an object repeats a key")
    return document


def _integer(text: str) -> int:
    """A JSON integer, refused before conversion when it is too long to be one of ours."""
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise PayloadError(f"body has a number with more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    """A JSON number with a fraction or exponent; one past a double's range is refused."""
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError("body has a number too large to read")
    return value


def _constant(text: str) -> float:
    """``NaN``, ``Infinity`` and ``-Infinity``, which Python's parser would accept."""
    raise PayloadError(f"body is not valid JSON: {text} is not a JSON number")


def _may_hold_unstorable_values(text: str) -> bool:
    """Whether the JSON ``text`` needs ``_check_values``; most bodies do not.

    Once parsed strictly from UTF-8, a string can hold a NUL character or a lone surrogate
    only through a ``\\u`` escape (raw control characters are invalid JSON, and UTF-8
    encodes no surrogate), and a body with at most ``MAX_DEPTH`` brackets cannot nest
    deeper than that. Either sign may be a false alarm (inside a string), never a miss.
    """
    return "\\u" in text or text.count("{") + text.count("[") > MAX_DEPTH


def _check_values(document: Any) -> None:
    """Walk ``document`` without recursion: its depth, and every key and string in it."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise PayloadError(f"body nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key in value:
                _check_text(key)
            pending.extend((item, depth + 1) for item in value.values())
        else:
            pending.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    problem = unstorable_character(text)
    if problem:
        raise PayloadError(f"body has a string with {problem}, which cannot be stored")


def _trigger(trigger: str) -> str:
    """The trigger, which must fit ``webhook_events.trigger_event`` whole."""
    if len(trigger) > MAX_TRIGGER:
        raise PayloadError(f"the trigger is longer than {MAX_TRIGGER} characters")
    return trigger


def parse_booking(delivery: Delivery) -> Booking:
    """Extract the booking from an unwrapped delivery.

    In a seated event each delivery is about one seat holder, the first attendee; the
    form's answers count only when they are that person's (a seat holder's cancellation
    carries the first seat holder's answers). Raises ``PayloadError`` naming the problem
    when the booking uid is missing or a time cannot be read.
    """
    data = delivery.data
    uid = delivery.booking_uid
    if uid is None:
        raise PayloadError("payload has no booking uid")
    if len(uid) > MAX_UID:
        raise PayloadError(f"booking uid is longer than {MAX_UID} characters")
    attendees = _attendees(data)
    booker = _first_attendee(data)
    organizer = data.get("organizer") if isinstance(data.get("organizer"), dict) else {}
    seats = data.get("seatsPerTimeSlot")
    seated = isinstance(seats, int) and not isinstance(seats, bool) and seats > 0
    responses = _responses(data)
    if seated and not _answered_by(responses, booker):
        responses = {}
    email = _text(_answer(responses, "email")) or _text(booker.get("email"))

    booking_id = data.get("bookingId", data.get("id"))
    answers = _answers(responses)
    reschedule_requested = data.get("requestReschedule") is True
    reason = _text(data.get("cancellationReason")) or _text(data.get("rejectionReason"))
    if reschedule_requested:
        reason = _reschedule_reason(reason)
    sms_number = _text(data.get("smsReminderNumber"))
    if sms_number and "smsReminderNumber" not in answers:
        answers["smsReminderNumber"] = {"label": "SMS reminder number", "value": sms_number}
    return Booking(
        trigger=delivery.trigger,
        uid=uid,
        email=email,
        sent_at=delivery.sent_at,
        booking_id=booking_id if _is_database_id(booking_id) else None,
        name=_clip(_name(_answer(responses, "name")) or _name(booker), 200),
        phones=tuple(phone[:64] for phone in _phones(data, responses, booker)),
        location=_clip(_patient_location(responses), 200),
        country=_clip(_answer_meaning(responses, COUNTRY_WORDS), 100),
        city=_clip(_answer_meaning(responses, CITY_WORDS), 100),
        timezone=_clip(_text(booker.get("timeZone")), 64),
        title=_clip(_text(data.get("title")), 300),
        start_time=parse_time(data.get("startTime"), "startTime"),
        end_time=parse_time(data.get("endTime"), "endTime"),
        answers=answers,
        reschedule_uid=_clip(
            _text(data.get("rescheduleUid")) or _text(data.get("fromReschedule")), MAX_UID
        ),
        reschedule_start_time=parse_time(data.get("rescheduleStartTime"), "rescheduleStartTime"),
        reschedule_end_time=parse_time(data.get("rescheduleEndTime"), "rescheduleEndTime"),
        cancellation_reason=_clip(reason, 2000),
        reschedule_requested=reschedule_requested,
        attendees=attendees,
        meeting_url=_clip(_meeting_url(data), 500),
        meeting_location=_clip(_text(data.get("location")), 300),
        organizer_name=_clip(_text(organizer.get("name")), 200),
        organizer_email=_clip(_text(organizer.get("email")), 320),
        locale=_clip(_locale(booker), 20),
        seated=seated,
    )


def parse_time(value: Any, name: str) -> datetime | None:
    """Read an ISO-8601 time (``Z`` or an offset) as an aware UTC datetime.

    A time without an offset is taken as UTC, which is what Cal.com means.
    Raises ``PayloadError`` for anything that is not such a time, and for a time outside
    ``EARLIEST_TIME``..``LATEST_TIME``: no clinic books there, and such values overflow
    when shown in a time zone.
    """
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{name} must be an ISO-8601 time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"{name} is not an ISO-8601 time") from None
    in_utc: datetime | None
    try:
        in_utc = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # the offset takes it past year 1 or 9999
        in_utc = None
    if in_utc is None or not EARLIEST_TIME <= in_utc < LATEST_TIME:
        raise PayloadError(
            f"{name} is outside {EARLIEST_TIME:%Y-%m-%d} to {LATEST_TIME:%Y-%m-%d} (UTC)"
        )
    return in_utc


def _reschedule_reason(text: str | None) -> str | None:
    """The reason of a reschedule request as the consultant gave it: Cal.com's delivery
    wraps it as ``Please reschedule. <reason>`` (``undefined`` when none was given), while
    its API shows the reason alone."""
    reason = text.removeprefix(RESCHEDULE_REQUEST_PREFIX).strip() if text else None
    return None if not reason or reason == "undefined" else reason


def _is_database_id(value: Any) -> bool:
    """Whether ``value`` can be Cal.com's numeric booking id (and fits our integer column)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def _clip(text: str | None, limit: int) -> str | None:
    """Free text cut to the column that stores it; what Cal.com sent stays in the event."""
    return text[:limit] if text else text


def _responses(data: dict[str, Any]) -> dict[str, Any]:
    responses = data.get("responses")
    return responses if isinstance(responses, dict) else {}


def _first_attendee(data: dict[str, Any]) -> dict[str, Any]:
    """The booker: Cal.com lists them first, then every guest (guests are not patients)."""
    attendees = data.get("attendees")
    if isinstance(attendees, list) and attendees and isinstance(attendees[0], dict):
        return attendees[0]
    return {}


def _attendees(data: dict[str, Any]) -> tuple[Attendee, ...]:
    """Everyone the delivery lists, by lower-cased email, with their no-show flag if given."""
    attendees = data.get("attendees")
    if not isinstance(attendees, list):
        return ()
    listed = []
    for attendee in attendees:
        email = _text(attendee.get("email")) if isinstance(attendee, dict) else None
        if email:
            flag = attendee.get("noShow")
            listed.append(Attendee(email.lower(), flag if isinstance(flag, bool) else None))
    return tuple(listed)


def _meeting_url(data: dict[str, Any]) -> str | None:
    """The link to join the meeting: Cal Video's own, the video provider's, or a URL location."""
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    video = data.get("videoCallData") if isinstance(data.get("videoCallData"), dict) else {}
    for candidate in (metadata.get("videoCallUrl"), video.get("url"), data.get("location")):
        url = _text(candidate)
        if url and url.startswith(("https://", "http://")):
            return url
    return None


def _locale(attendee: dict[str, Any]) -> str | None:
    """The attendee's language: ``{"locale": "tr"}`` in deliveries, a plain string in the API."""
    language = attendee.get("language")
    if isinstance(language, dict):
        return _text(language.get("locale"))
    return _text(language) or _text(attendee.get("locale"))


def _answered_by(responses: dict[str, Any], attendee: dict[str, Any]) -> bool:
    """Whether the form's answers are this attendee's (or name nobody in particular)."""
    answered = _text(_answer(responses, "email"))
    own = _text(attendee.get("email"))
    return answered is None or own is None or answered.lower() == own.lower()


def _answer(responses: dict[str, Any], key: str) -> Any:
    """The value of a booking-form field: ``{"label", "value"}`` or the legacy plain value.

    An unanswered or hidden field has no ``value`` key and gives ``None``.
    """
    entry = responses.get(key)
    if isinstance(entry, dict) and ("label" in entry or "isHidden" in entry):
        return entry.get("value")
    return entry


def _unwrap(value: Any) -> Any:
    """Custom fields may hold ``{"value": ...}`` instead of the value itself."""
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _text(value: Any) -> str | None:
    value = _unwrap(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _name(value: Any) -> str | None:
    """A name given as a string, as ``{firstName, lastName}`` or as an attendee's ``name``."""
    if not isinstance(value, dict):
        return _text(value)
    parts = [_text(value.get("firstName")), _text(value.get("lastName"))]
    return _text(value.get("name")) or " ".join(part for part in parts if part) or None


def _phones(data: dict[str, Any], responses: dict[str, Any], booker: dict[str, Any]) -> list[str]:
    """Every phone the booking gives for its patient, in the order they are trusted: the
    booker's answer, the attendee's phone, phone-like custom questions, the SMS-reminder
    number (answer, then payload), and the number of an "attendee phone" meeting location.
    Guests' phones are never among them.
    """
    custom = sorted(
        (position, key) for key in responses if (position := rank(key, PHONE_WORDS)) is not None
    )
    candidates = [_answer(responses, "attendeePhoneNumber"), booker.get("phoneNumber")]
    candidates += [_answer(responses, key) for _, key in custom]
    candidates += [_answer(responses, "smsReminderNumber"), data.get("smsReminderNumber")]
    candidates += [_phone_location(_answer(responses, "location")), _phone_location(data)]
    phones: list[str] = []
    for candidate in candidates:
        phone = _text(candidate)
        if phone and phone not in phones:
            phones.append(phone)
    return phones


def _phone_location(value: Any) -> str | None:
    """The patient's number from an "attendee phone" meeting location, if that is one.

    In the form's answer it is ``{"value": "phone", "optionValue": "+44..."}``; the
    payload's own ``location`` is then the bare number.
    """
    if isinstance(value, dict):
        if "location" in value:  # the payload itself
            location = _text(value.get("location"))
            looks_like_phone = location and location.lstrip("+").replace(" ", "").isdigit()
            return location if looks_like_phone else None
        if value.get("value") == "phone":
            return _text(value.get("optionValue"))
    return None


def _is_meeting_location(value: str) -> bool:
    return value.startswith(MEETING_LOCATION_PREFIXES) or value in MEETING_LOCATION_TYPES


def _patient_location(responses: dict[str, Any]) -> str | None:
    """Where the patient lives, from the form's own questions, never the meeting location.

    Questions are recognised by their words (``LOCATION_WORDS``), most precise place first.
    Cal.com's system ``location`` field is always the meeting place (an integration, a link
    or the clinic's address), so ``location`` counts only as the legacy envelope's plain
    answer, and then only when it is not a video link or integration.
    """
    ranked = sorted(
        (position, index, key)
        for index, key in enumerate(responses)
        if (position := rank(key, LOCATION_WORDS)) is not None
    )
    keys = [key for *_, key in ranked]
    if isinstance(responses.get("location"), str):
        keys.append("location")
    parts: list[str] = []
    for key in keys:
        text = _text(_answer(responses, key))
        if text and not _is_meeting_location(text) and text not in parts:
            parts.append(text)
    return ", ".join(parts) or None


def _answer_meaning(responses: dict[str, Any], groups: tuple[tuple[str, ...], ...]) -> str | None:
    """The first answer to a question that means one of ``groups`` (by its words)."""
    for key in responses:
        if rank(key, groups) is not None:
            text = _text(_answer(responses, key))
            if text and not _is_meeting_location(text):
                return text
    return None


def _answers(responses: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every answered booking-form field, by its key, with its label."""
    answers: dict[str, dict[str, Any]] = {}
    for key, entry in responses.items():
        if isinstance(entry, dict) and ("label" in entry or "isHidden" in entry):
            if "value" not in entry or entry["value"] in (None, "", []):
                continue
            answers[key] = {"label": entry.get("label") or key, "value": entry["value"]}
        elif entry not in (None, "", []):
            answers[key] = {"label": key, "value": entry}
    return answers
