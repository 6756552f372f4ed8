"""read_delivery / parse_booking on Cal.com's fixtures and on hand-built payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import fixture_body, fixture_json
from webapp.cal.payload import (
    Attendee,
    Booking,
    Delivery,
    NoEnvelopeError,
    PayloadError,
    parse_booking,
    parse_time,
    read_delivery,
    why_unreadable,
)

BOOKING_FIXTURES = [
    "booking_created.json",
    "booking_rescheduled.json",
    "booking_cancelled.json",
    "meeting_ended.json",
    "booking_created_legacy_envelope.json",
]
OLD_UID = "r8KqT2mWv5XbN7pLc3YdZa"
NEW_UID = "h3ZtW9qLs2KdF6mXv8NcRb"
BOOKER_EMAIL = "Oliver.Bennett@Example.co.uk"
GUEST_EMAIL = "emma.bennett@example.co.uk"
MISSING = object()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def from_fixture(name: str) -> Booking:
    return parse_booking(read_delivery(fixture_body(name)))


def from_document(document: dict[str, Any] | list[Any]) -> Booking:
    return parse_booking(read_delivery(json.dumps(document).encode()))


def field(label: str, value: Any = MISSING, *, hidden: bool = False) -> dict[str, Any]:
    """A ``responses`` entry as Cal.com sends it; no ``value`` key when unanswered."""
    entry: dict[str, Any] = {"label": label, "isHidden": hidden}
    if value is not MISSING:
        entry["value"] = value
    return entry


def envelope(payload: Any, trigger: str = "BOOKING_CREATED") -> dict[str, Any]:
    return {"triggerEvent": trigger, "createdAt": "2026-11-02T09:14:07.331Z", "payload": payload}


def booking_payload(
    responses: dict[str, Any] | None = None,
    attendees: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A minimal BOOKING_CREATED payload; ``responses`` replace the defaults key by key."""
    base_responses: dict[str, Any] = {
        "name": field("your_name", "Ada Lovelace"),
        "email": field("email_address", "ada@example.com"),
    }
    base_responses.update(responses or {})
    payload: dict[str, Any] = {
        "uid": "uid-ada-1",
        "bookingId": 101,
        "startTime": "2026-11-05T10:00:00Z",
        "endTime": "2026-11-05T10:15:00Z",
        "attendees": attendees
        if attendees is not None
        else [{"name": "Ada Lovelace", "email": "ada@example.com", "timeZone": "Europe/London"}],
        "responses": {k: v for k, v in base_responses.items() if v is not MISSING},
    }
    payload.update(extra)
    return payload


def assert_utc(value: datetime | None, expected: datetime) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    assert value == expected


# --- read_delivery on the fixtures -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "trigger", "sent_at"),
    [
        ("booking_created.json", "BOOKING_CREATED", utc(2026, 11, 2, 9, 14, 7, 331000)),
        ("booking_rescheduled.json", "BOOKING_RESCHEDULED", utc(2026, 11, 3, 16, 40, 55, 90000)),
        ("booking_cancelled.json", "BOOKING_CANCELLED", utc(2026, 11, 6, 8, 2, 19, 554000)),
        ("ping.json", "PING", utc(2026, 11, 1, 12, 0)),
    ],
)
def test_read_delivery_unwraps_cal_com_envelope(name, trigger, sent_at):
    delivery = read_delivery(fixture_body(name))
    assert isinstance(delivery, Delivery)
    assert delivery.trigger == trigger
    assert_utc(delivery.sent_at, sent_at)
    assert delivery.data == fixture_json(name)["payload"]


def test_read_delivery_meeting_ended_is_flat_and_has_no_send_time():
    delivery = read_delivery(fixture_body("meeting_ended.json"))
    assert delivery.trigger == "MEETING_ENDED"
    # Flat form: ``createdAt`` is the booking's creation, never the send time.
    assert delivery.sent_at is None
    assert delivery.data == fixture_json("meeting_ended.json")
    assert delivery.booking_uid == NEW_UID


def test_read_delivery_reads_the_legacy_envelope_with_its_uid():
    delivery = read_delivery(fixture_body("booking_created_legacy_envelope.json"))
    assert delivery.trigger == "BOOKING_CREATED"
    assert delivery.sent_at is None
    assert delivery.data == fixture_json("booking_created_legacy_envelope.json")["data"]
    assert delivery.booking_uid == "cal_booking_12345"


def test_ping_is_readable_but_is_not_a_booking():
    delivery = read_delivery(fixture_body("ping.json"))
    assert delivery.trigger == "PING"
    assert delivery.booking_uid is None
    with pytest.raises(PayloadError, match="payload has no booking uid"):
        parse_booking(delivery)


# --- parse_booking on the fixtures -------------------------------------------------------


def test_booking_created_gives_every_field_the_clinic_uses():
    booking = from_fixture("booking_created.json")
    assert booking.trigger == "BOOKING_CREATED"
    assert booking.uid == OLD_UID
    assert booking.booking_id == 90211
    assert booking.name == "Oliver Bennett"
    assert booking.email == BOOKER_EMAIL  # raw, normalising is the matcher's job
    assert booking.phones[0] == "+447700900123"
    assert booking.location == "United Kingdom"
    assert booking.timezone == "Europe/London"
    assert booking.title == (
        "Hair Transplant Consultation between Dr. Selin Aydin and Oliver Bennett"
    )
    assert_utc(booking.sent_at, utc(2026, 11, 2, 9, 14, 7, 331000))
    assert_utc(booking.start_time, utc(2026, 11, 5, 10, 0))
    assert_utc(booking.end_time, utc(2026, 11, 5, 10, 15))
    assert booking.reschedule_uid is None
    assert booking.reschedule_start_time is None
    assert booking.reschedule_end_time is None
    assert booking.cancellation_reason is None
    assert [attendee.no_show for attendee in booking.attendees] == [None, None]


def test_booking_created_keeps_every_answer_by_key_with_its_label():
    answers = from_fixture("booking_created.json").answers
    assert set(answers) == {
        "name",
        "email",
        "attendeePhoneNumber",
        "location",
        "notes",
        "guests",
        "country",
        "age",
    }
    assert answers["country"] == {
        "label": "Which country do you live in?",
        "value": "United Kingdom",
    }
    assert answers["age"] == {"label": "Age", "value": "41"}
    assert answers["attendeePhoneNumber"] == {"label": "phone_number", "value": "+447700900123"}
    assert answers["notes"] == {
        "label": "additional_notes",
        "value": "Interested in FUE, crown area.",
    }
    assert answers["guests"] == {"label": "additional_guests", "value": [GUEST_EMAIL]}
    # Hidden ``title`` and unanswered ``rescheduleReason`` have no ``value`` key.
    assert "title" not in answers
    assert "rescheduleReason" not in answers


@pytest.mark.parametrize("name", ["booking_created.json", "booking_rescheduled.json"])
def test_guest_in_attendees_is_never_the_booker(name):
    document = fixture_json(name)
    assert document["payload"]["attendees"][1]["email"] == GUEST_EMAIL
    booking = from_fixture(name)
    assert booking.email == BOOKER_EMAIL
    assert booking.name == "Oliver Bennett"
    assert booking.phones[0] == "+447700900123"
    assert booking.timezone == "Europe/London"


def test_booking_rescheduled_points_back_to_the_old_booking():
    booking = from_fixture("booking_rescheduled.json")
    assert booking.trigger == "BOOKING_RESCHEDULED"
    assert booking.uid == NEW_UID
    assert booking.booking_id == 90377
    assert booking.reschedule_uid == OLD_UID
    assert_utc(booking.reschedule_start_time, utc(2026, 11, 5, 10, 0))
    assert_utc(booking.reschedule_end_time, utc(2026, 11, 5, 10, 15))
    assert_utc(booking.start_time, utc(2026, 11, 7, 13, 30))
    assert_utc(booking.end_time, utc(2026, 11, 7, 13, 45))
    assert booking.email == BOOKER_EMAIL
    assert booking.location == "United Kingdom"
    assert booking.answers["rescheduleReason"] == {
        "label": "reason_for_reschedule",
        "value": "Flight changed",
    }
    assert booking.cancellation_reason is None


def test_booking_cancelled_with_plus_zero_offsets_is_read_in_utc_with_its_reason():
    booking = from_fixture("booking_cancelled.json")
    assert booking.trigger == "BOOKING_CANCELLED"
    assert booking.uid == NEW_UID
    assert booking.booking_id == 90377
    assert booking.cancellation_reason == "Decided to postpone the procedure"
    assert_utc(booking.start_time, utc(2026, 11, 7, 13, 30))
    assert_utc(booking.end_time, utc(2026, 11, 7, 13, 45))
    assert_utc(booking.sent_at, utc(2026, 11, 6, 8, 2, 19, 554000))
    assert booking.email == BOOKER_EMAIL
    assert booking.phones[0] == "+447700900123"
    assert booking.location == "United Kingdom"
    assert booking.timezone == "Europe/London"
    assert booking.reschedule_uid is None


def test_meeting_ended_in_the_flat_form_is_read_with_the_booking_it_replaced():
    booking = from_fixture("meeting_ended.json")
    assert booking.trigger == "MEETING_ENDED"
    assert booking.sent_at is None
    assert booking.uid == NEW_UID
    assert booking.booking_id == 90377
    assert booking.name == "Oliver Bennett"
    assert booking.email == BOOKER_EMAIL
    assert booking.phones[0] == "+447700900123"
    assert booking.location == "United Kingdom"
    assert booking.timezone == "Europe/London"
    assert_utc(booking.start_time, utc(2026, 11, 7, 13, 30))  # ".000Z" form
    assert_utc(booking.end_time, utc(2026, 11, 7, 13, 45))
    assert booking.reschedule_uid == OLD_UID  # ``fromReschedule`` in the flat form
    assert booking.cancellation_reason is None
    assert booking.attendees[0].no_show is False
    assert "title" not in booking.answers
    assert booking.answers["age"] == {"label": "Age", "value": "41"}


def test_the_legacy_envelope_is_read_with_its_uid_details_and_answers():
    booking = from_fixture("booking_created_legacy_envelope.json")
    assert booking.trigger == "BOOKING_CREATED"
    assert booking.sent_at is None
    assert booking.uid == "cal_booking_12345"
    assert booking.booking_id is None  # the legacy ``id`` is the uid, not a number
    assert booking.name == "John Doe"
    assert booking.email == "john.doe@example.com"
    assert booking.phones == ("+1-555-123-4567",)
    assert booking.location == "New York, NY"  # a plain typed answer: the patient's
    assert booking.timezone == "America/New_York"
    assert booking.title == "Hair Transplant Consultation"
    assert_utc(booking.start_time, utc(2025, 10, 26, 15, 0))
    assert_utc(booking.end_time, utc(2025, 10, 26, 15, 15))
    assert booking.answers == {
        "phone": {"label": "phone", "value": "+1-555-123-4567"},
        "location": {"label": "location", "value": "New York, NY"},
        "age": {"label": "age", "value": "35"},
    }


@pytest.mark.parametrize("name", BOOKING_FIXTURES)
def test_location_is_never_the_meeting_location(name):
    location = from_fixture(name).location
    assert location
    assert "integrations:" not in location
    assert "http" not in location
    assert "daily" not in location


@pytest.mark.parametrize("name", BOOKING_FIXTURES)
def test_times_are_aware_utc(name):
    booking = from_fixture(name)
    for value in (booking.start_time, booking.end_time, booking.reschedule_start_time):
        if value is not None:
            assert value.utcoffset() == timedelta(0)
    assert booking.start_time is not None
    assert booking.end_time is not None
    assert booking.end_time - booking.start_time == timedelta(minutes=15)


# --- hand-built payloads: names ----------------------------------------------------------


def test_a_name_given_as_first_and_last_name_is_read_as_one_name():
    payload = booking_payload(
        {"name": field("your_name", {"firstName": "Ada", "lastName": "Byron"})}
    )
    assert from_document(envelope(payload)).name == "Ada Byron"


def test_a_name_with_only_a_first_name_is_that_first_name():
    payload = booking_payload({"name": field("your_name", {"firstName": "Ada", "lastName": ""})})
    assert from_document(envelope(payload)).name == "Ada"


def test_name_falls_back_to_the_booker_in_attendees():
    payload = booking_payload(
        {"name": MISSING},
        attendees=[{"name": "Ada Lovelace", "email": "ada@example.com"}],
    )
    assert from_document(envelope(payload)).name == "Ada Lovelace"


def test_name_falls_back_to_attendee_name_when_first_and_last_are_empty():
    # Cal.com's attendees carry ``name`` plus empty ``firstName``/``lastName`` (see fixtures).
    payload = booking_payload(
        {"name": MISSING},
        attendees=[
            {"name": "Ada Lovelace", "email": "ada@example.com", "firstName": "", "lastName": ""}
        ],
    )
    assert from_document(envelope(payload)).name == "Ada Lovelace"


# --- hand-built payloads: phones ---------------------------------------------------------


def test_the_phone_comes_from_the_first_attendee_when_the_responses_lack_it():
    payload = booking_payload(
        attendees=[{"name": "Ada", "email": "ada@example.com", "phoneNumber": "+447700900456"}]
    )
    assert "attendeePhoneNumber" not in payload["responses"]
    assert from_document(envelope(payload)).phones[0] == "+447700900456"


def test_phone_from_first_attendee_when_response_is_unanswered():
    payload = booking_payload(
        {"attendeePhoneNumber": field("phone_number")},
        attendees=[{"name": "Ada", "email": "ada@example.com", "phoneNumber": "+447700900456"}],
    )
    assert from_document(envelope(payload)).phones[0] == "+447700900456"


def test_attendee_phone_response_wins_over_custom_fields():
    payload = booking_payload(
        {
            "attendeePhoneNumber": field("phone_number", "+447700900111"),
            "whatsapp": field("WhatsApp", "+905551112233"),
        }
    )
    assert from_document(envelope(payload)).phones[0] == "+447700900111"


@pytest.mark.parametrize(
    "key", ["phone", "phone_number", "phoneNumber", "mobile", "telephone", "whatsapp"]
)
@pytest.mark.parametrize(
    "form",
    ["plain", "value-object", "cal-field"],
)
def test_a_phone_question_gives_the_phone_in_any_form_cal_com_sends(key, form):
    number = "+90 555 111 22 33"
    value = {
        "plain": number,
        "value-object": {"value": number},
        "cal-field": field("Your number", number),
    }[form]
    payload = booking_payload({key: value})
    booking = from_document(envelope(payload))
    assert booking.phones == (number,)
    assert booking.answers[key]["value"] in (number, {"value": number})


def test_phone_is_never_taken_from_a_guest():
    payload = booking_payload(
        attendees=[
            {"name": "Ada", "email": "ada@example.com"},
            {"name": "Guest", "email": "guest@example.com", "phoneNumber": "+447700900999"},
        ]
    )
    booking = from_document(envelope(payload))
    assert booking.phones == ()
    assert booking.email == "ada@example.com"


def test_email_and_name_come_from_the_booker_not_a_guest():
    payload = booking_payload(
        {"name": MISSING, "email": MISSING},
        attendees=[
            {"name": "Ada Lovelace", "email": "Ada@Example.com", "timeZone": "Europe/London"},
            {"name": "Guest", "email": "guest@example.com", "timeZone": "America/Chicago"},
        ],
    )
    booking = from_document(envelope(payload))
    assert booking.email == "Ada@Example.com"
    assert booking.name == "Ada Lovelace"
    assert booking.timezone == "Europe/London"


def test_a_booker_without_email_never_takes_a_guests():
    payload = booking_payload(
        {"email": MISSING},
        attendees=[{"name": "Ada"}, {"name": "Guest", "email": "guest@example.com"}],
    )
    assert from_document(envelope(payload)).email is None


# --- hand-built payloads: patient location -----------------------------------------------


def test_location_combines_city_and_country():
    payload = booking_payload(
        {
            "city": field("City", "Manchester"),
            "country": field("Country", "United Kingdom"),
        }
    )
    assert from_document(envelope(payload)).location == "Manchester, United Kingdom"


def test_location_combines_every_location_question_most_precise_first():
    payload = booking_payload(
        {
            "country": field("Country", "United Kingdom"),
            "where_are_you_from": field("Where are you from?", "Greater Manchester"),
            "city": field("City", "Manchester"),
            "address": field("Address", "1 Deansgate"),
        }
    )
    assert from_document(envelope(payload)).location == (
        "1 Deansgate, Manchester, Greater Manchester, United Kingdom"
    )


def test_where_are_you_from_alone_gives_the_location():
    payload = booking_payload({"where_are_you_from": field("Where are you from?", "Germany")})
    assert from_document(envelope(payload)).location == "Germany"


def test_location_skips_unanswered_questions():
    payload = booking_payload(
        {"city": field("City"), "country": field("Country", "Ireland", hidden=False)}
    )
    assert from_document(envelope(payload)).location == "Ireland"


@pytest.mark.parametrize(
    "meeting_location",
    [
        field("location", {"value": "integrations:daily", "optionValue": ""}),
        field("location", {"value": "phone", "optionValue": "+905551112233"}),
        field("location", {"value": "inPerson", "optionValue": ""}),
        field("location", "integrations:daily"),
        field("location", "https://meet.google.com/abc-defg-hij"),
        "integrations:daily",
        "https://cal.daily.co/r8KqT2mWv5XbN7pLc3YdZa",
        {"value": "integrations:daily", "optionValue": ""},
    ],
    ids=[
        "object-daily",
        "object-phone",
        "object-in-person",
        "field-daily",
        "field-url",
        "plain-daily",
        "plain-url",
        "plain-object",
    ],
)
def test_responses_location_meeting_place_is_ignored(meeting_location):
    with_country = booking_payload(
        {"location": meeting_location, "country": field("Country", "Turkey")}
    )
    assert from_document(envelope(with_country)).location == "Turkey"
    alone = booking_payload({"location": meeting_location})
    assert from_document(envelope(alone)).location is None


def test_cal_com_location_field_holding_a_clinic_address_is_not_the_patient_location():
    # README: responses.location is the meeting location (even an address of the clinic),
    # never where the patient lives; only the legacy envelope's plain string is the patient's.
    payload = booking_payload(
        {"location": field("location", "Halaskargazi Cd. 38, Sisli, Istanbul")}
    )
    assert from_document(envelope(payload)).location is None


def test_payload_location_is_never_the_patient_location():
    payload = booking_payload(location="Halaskargazi Cd. 38, Sisli, Istanbul")
    assert from_document(envelope(payload)).location is None


# --- hand-built payloads: answers, times, other triggers ---------------------------------


def test_answers_leave_out_hidden_and_unanswered_fields():
    payload = booking_payload(
        {
            "title": field("what_is_this_meeting_about", hidden=True),
            "rescheduleReason": field("reason_for_reschedule"),
            "guests": field("additional_guests", ["guest@example.com", "other@example.com"]),
            "age": field("Age", "52"),
        }
    )
    answers = from_document(envelope(payload)).answers
    assert "title" not in answers
    assert "rescheduleReason" not in answers
    assert answers["guests"] == {
        "label": "additional_guests",
        "value": ["guest@example.com", "other@example.com"],
    }
    assert answers["age"] == {"label": "Age", "value": "52"}
    assert answers["name"] == {"label": "your_name", "value": "Ada Lovelace"}


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-07T13:30:00Z",
        "2026-11-07T13:30:00.000Z",
        "2026-11-07T13:30:00+00:00",
        "2026-11-07T16:30:00+03:00",
        "2026-11-07T13:30:00",
    ],
)
def test_start_time_forms_become_aware_utc(value):
    payload = booking_payload(startTime=value, endTime=None)
    booking = from_document(envelope(payload))
    assert_utc(booking.start_time, utc(2026, 11, 7, 13, 30))
    assert booking.end_time is None


def test_a_no_show_update_is_read_with_the_attendees_it_marks():
    payload = {
        "bookingUid": OLD_UID,
        "bookingId": 90211,
        "message": "x1 attendee(s) have been marked as no-show",
        "attendees": [{"email": BOOKER_EMAIL, "noShow": True}],
    }
    booking = from_document(envelope(payload, "BOOKING_NO_SHOW_UPDATED"))
    assert booking.trigger == "BOOKING_NO_SHOW_UPDATED"
    assert booking.uid == OLD_UID
    assert booking.booking_id == 90211
    assert booking.email == BOOKER_EMAIL
    assert booking.attendees == (Attendee(BOOKER_EMAIL.lower(), no_show=True),)
    assert booking.start_time is None
    assert booking.answers == {}


def test_rejection_reason_is_the_cancellation_reason():
    payload = booking_payload(status="REJECTED", rejectionReason="Outside working hours")
    booking = from_document(envelope(payload, "BOOKING_REJECTED"))
    assert booking.cancellation_reason == "Outside working hours"


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("Please reschedule. The clinic is closed that day", "The clinic is closed that day"),
        ("Please reschedule. undefined", None),  # Cal.com's words when none was given
        ("Please reschedule.", None),
    ],
)
def test_a_reschedule_request_is_a_cancellation_with_the_reason_as_it_was_given(sent, reason):
    payload = booking_payload(status="CANCELLED", cancellationReason=sent, requestReschedule=True)
    booking = from_document(envelope(payload, "BOOKING_CANCELLED"))
    assert booking.reschedule_requested is True
    assert booking.cancellation_reason == reason


def test_a_plain_cancellation_keeps_a_reason_that_looks_like_a_request():
    payload = booking_payload(
        status="CANCELLED",
        cancellationReason="Please reschedule. I will call",
        requestReschedule=False,
    )
    booking = from_document(envelope(payload, "BOOKING_CANCELLED"))
    assert booking.reschedule_requested is False
    assert booking.cancellation_reason == "Please reschedule. I will call"


def test_numeric_id_alone_is_not_a_uid():
    payload = booking_payload()
    del payload["uid"]
    del payload["bookingId"]
    payload["id"] = 101
    with pytest.raises(PayloadError, match="payload has no booking uid"):
        from_document(envelope(payload))


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"not json", b"{", b"\xff\xfe\x00"])
def test_non_json_body_is_a_payload_error(body):
    with pytest.raises(PayloadError, match="body is not valid JSON"):
        read_delivery(body)


@pytest.mark.parametrize("body", [b"[]", b'[{"triggerEvent": "BOOKING_CREATED"}]', b'"x"', b"3"])
def test_non_object_body_is_a_payload_error(body):
    with pytest.raises(PayloadError, match="body must be a JSON object"):
        read_delivery(body)


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"event": "BOOKING_CREATED", "payload": {}},
        {"type": "BOOKING_CREATED", "data": "not an object"},
        {"triggerEvent": 3, "payload": {}},
    ],
)
def test_unknown_envelope_is_a_payload_error(document):
    with pytest.raises(PayloadError, match="unknown envelope"):
        read_delivery(json.dumps(document).encode())


@pytest.mark.parametrize("payload", [[], "booking", 3, True])
def test_payload_that_is_not_an_object_is_a_payload_error(payload):
    with pytest.raises(PayloadError, match="payload must be a JSON object"):
        read_delivery(json.dumps(envelope(payload)).encode())


@pytest.mark.parametrize("value", ["next tuesday", "2026-13-45T10:00:00Z", "10:00"])
def test_unreadable_start_time_is_a_payload_error(value):
    with pytest.raises(PayloadError, match="startTime is not an ISO-8601 time"):
        from_document(envelope(booking_payload(startTime=value)))


def test_non_string_start_time_is_a_payload_error():
    with pytest.raises(PayloadError, match="startTime must be an ISO-8601 time"):
        from_document(envelope(booking_payload(startTime=1762336800)))


def test_unreadable_created_at_is_a_payload_error():
    document = envelope(booking_payload())
    document["createdAt"] = "yesterday"
    with pytest.raises(PayloadError, match="createdAt"):
        read_delivery(json.dumps(document).encode())


def test_payload_error_is_a_value_error_with_a_readable_message():
    with pytest.raises(ValueError, match="body is not valid JSON") as caught:
        read_delivery(b"<html>")
    assert isinstance(caught.value, PayloadError)
    assert "\n" not in str(caught.value)


# --- meeting, organizer and language --------------------------------------------------------


def test_meeting_details_organizer_and_language_come_from_the_booking():
    booking = from_fixture("booking_created.json")
    assert booking.meeting_url == "https://app.cal.com/video/r8KqT2mWv5XbN7pLc3YdZa"
    assert booking.meeting_location == "integrations:daily"
    assert (booking.organizer_name, booking.organizer_email) == (
        "Dr. Selin Aydin",
        "selin.aydin@clinic.example",
    )
    assert booking.locale == "en"


@pytest.mark.parametrize(
    "location", ["javascript:alert(1)", "integrations:zoom", "+447700900123", "Clinic, Istanbul"]
)
def test_only_a_web_address_is_a_meeting_url(location):
    payload = booking_payload(location=location, metadata={}, videoCallData=None)
    booking = from_document(envelope(payload))
    assert booking.meeting_url is None
    assert booking.meeting_location == location


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:00:00Z",
        "1969-12-31T23:59:59Z",
        "1970-01-01T02:00:00+03:00",  # 23:00 UTC the day before
        "2100-01-01T00:00:00Z",
        "2100-01-01T02:00:00-03:00",
    ],
)
def test_a_time_outside_1970_to_2100_is_a_payload_error(value):
    with pytest.raises(PayloadError, match="startTime is outside 1970-01-01 to 2100-01-01"):
        parse_time(value, "startTime")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1970-01-01T00:00:00Z", utc(1970, 1, 1)),
        ("2099-12-31T23:59:59Z", utc(2099, 12, 31, 23, 59, 59)),
    ],
)
def test_a_time_at_either_edge_of_1970_to_2100_is_read_in_utc(value, expected):
    assert_utc(parse_time(value, "startTime"), expected)


def test_a_delivery_nested_64_levels_is_read_and_65_is_not():
    def body(depth: int) -> bytes:
        # The envelope and the payload are two levels; the rest is one answer.
        inner = "[" * (depth - 2) + "1" + "]" * (depth - 2)
        return f'{{"triggerEvent": "PING", "payload": {{"x": {inner}}}}}'.encode()

    assert read_delivery(body(64)).trigger == "PING"
    with pytest.raises(PayloadError, match="nests deeper than 64 levels"):
        read_delivery(body(65))


@pytest.mark.parametrize(
    ("uid", "expected"),
    [("abc", "abc"), (5, "5"), (True, None), ({"a": 1}, None), ([1], None), ("", None)],
)
def test_only_text_or_a_number_is_a_booking_uid(uid, expected):
    assert Delivery("BOOKING_CREATED", None, {"uid": uid}).booking_uid == expected


@pytest.mark.parametrize("booking_id", [2**40, -5, 0, True, "90211"])
def test_a_booking_id_our_column_cannot_hold_is_treated_as_missing(booking_id):
    payload = booking_payload(bookingId=booking_id)
    assert from_document(envelope(payload)).booking_id is None


def test_a_cancellation_reason_is_cut_to_a_readable_length():
    payload = booking_payload(cancellationReason="x" * 5000)
    assert len(from_document(envelope(payload)).cancellation_reason) == 2000


# --- What pages learn of a stored body: never an exception ---------------------------------

CUSTOM_TEMPLATES = [
    b"New booking: Oliver Bennett",
    b"triggerEvent=BOOKING_CREATED&name=%00",
    b'{"event": "booking"}',
    b"[1, 2]",
    b"null",
    b"\xff\xfe",
]
REFUSED_FOR_OTHER_REASONS = [
    b'{"triggerEvent": "BOOKING_CREATED", "payload": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    b'{"triggerEvent": "BOOKING_CREATED", "payload": {"id": ' + b"7" * 5000 + b"}}",
    b"\xef\xbb\xbf" + fixture_body("booking_created.json"),
]


@pytest.mark.parametrize("body", CUSTOM_TEMPLATES)
def test_a_body_in_no_envelope_is_refused_as_a_custom_templates(body):
    assert isinstance(why_unreadable(body), NoEnvelopeError)


@pytest.mark.parametrize("body", REFUSED_FOR_OTHER_REASONS)
def test_a_body_refused_for_its_content_says_why_and_is_no_template(body):
    refusal = why_unreadable(body)

    assert isinstance(refusal, PayloadError) and not isinstance(refusal, NoEnvelopeError)
    assert str(refusal)


def test_a_readable_body_is_not_refused():
    assert why_unreadable(fixture_body("booking_created.json")) is None
