"""Cal.com API bookings become the same typed ``Booking`` a delivery gives."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from tests.cal_api_fake import api_fixture, example_bookings
from webapp.cal.reconcile import bookings_from_api

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def by_uid(uid: str) -> dict:
    return copy.deepcopy(next(b for b in example_bookings() if b["uid"] == uid))


def test_an_accepted_booking_reads_like_its_booking_created_delivery():
    [booking] = bookings_from_api(by_uid("qH7mX2vKp9LwR4tYc8NbZs"), NOW)

    assert booking.trigger == "BOOKING_CREATED"
    assert (booking.uid, booking.booking_id) == ("qH7mX2vKp9LwR4tYc8NbZs", 80412)
    assert (booking.email, booking.name, booking.phones[0]) == (
        "mateo.alvarez@example.com",
        "Mateo Alvarez",
        "+34611222333",
    )
    assert booking.location == "Spain"
    assert booking.timezone == "Europe/Madrid"
    assert booking.start_time == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert booking.sent_at == datetime(2026, 11, 21, 18, 42, 7, 512000, tzinfo=UTC)
    assert booking.answers["age"] == {"label": "age", "value": "41"}
    assert "displayEmail" not in booking.answers
    assert booking.cancellation_reason is None


def test_a_cancellation_carries_its_reason_and_the_time_it_changed():
    [booking] = bookings_from_api(api_fixture("booking_cancelled.json")["data"], NOW)

    assert booking.trigger == "BOOKING_CANCELLED"
    assert booking.cancellation_reason
    assert booking.sent_at == datetime.fromisoformat(
        api_fixture("booking_cancelled.json")["data"]["updatedAt"]
    )


def test_a_reschedule_names_the_booking_it_replaces_and_ignores_its_odd_reason():
    pair = api_fixture("booking_rescheduled.json")

    [new] = bookings_from_api(pair["new"]["data"], NOW)
    [old] = bookings_from_api(pair["old"]["data"], NOW)

    assert (new.trigger, new.reschedule_uid) == ("BOOKING_RESCHEDULED", "Wm5sD2pGa7YhK9rTq4EvNc")
    assert new.cancellation_reason is None  # "Flight moved..." is the reschedule reason
    assert old.trigger == "BOOKING_CREATED"  # its replacement marks it rescheduled


def test_the_booker_is_the_attendee_whose_email_the_form_gave_not_a_guest_listed_first():
    booking = by_uid("Wm5sD2pGa7YhK9rTq4EvNc")
    booking["attendees"].reverse()

    [parsed] = bookings_from_api(booking, NOW)

    assert parsed.email == "priya.raman@example.co.uk"
    assert parsed.phones[0] == "+447700900123"


def test_an_absent_booker_adds_a_no_show_update():
    booking = by_uid("qH7mX2vKp9LwR4tYc8NbZs")
    booking["attendees"][0]["absent"] = True

    created, no_show = bookings_from_api(booking, NOW)

    assert created.trigger == "BOOKING_CREATED"
    assert (no_show.trigger, no_show.attendees[0].no_show, no_show.sent_at) == (
        "BOOKING_NO_SHOW_UPDATED",
        True,
        NOW,
    )


def test_a_seated_booking_gives_one_booking_per_seat_holder():
    booking = by_uid("qH7mX2vKp9LwR4tYc8NbZs")
    del booking["bookingFieldsResponses"]
    booking["attendees"] = [
        {
            "name": "Mateo Alvarez",
            "email": "mateo.alvarez@example.com",
            "timeZone": "Europe/Madrid",
            "absent": False,
            "seatUid": "seat-1",
            "bookingFieldsResponses": {"name": "Mateo Alvarez", "country": "Spain"},
        },
        {
            "name": "Lucia Ortega",
            "email": "lucia.ortega@example.com",
            "timeZone": "Europe/Madrid",
            "absent": False,
            "seatUid": "seat-2",
            "bookingFieldsResponses": {"name": "Lucia Ortega", "country": "Mexico"},
        },
    ]

    seats = bookings_from_api(booking, NOW)

    assert [(s.email, s.location) for s in seats] == [
        ("mateo.alvarez@example.com", "Spain"),
        ("lucia.ortega@example.com", "Mexico"),
    ]
    assert {s.uid for s in seats} == {"qH7mX2vKp9LwR4tYc8NbZs"}


def test_a_status_the_clinic_does_not_track_gives_nothing():
    assert bookings_from_api(by_uid("qH7mX2vKp9LwR4tYc8NbZs") | {"status": "odd"}, NOW) == []
