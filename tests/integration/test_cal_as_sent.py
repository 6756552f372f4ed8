"""Cal.com exactly as its source sends: seats, phone-only bookers, phone sources, custom
question spellings, no-show lists, Cal Video no-shows, confirmations and payment."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import empty_database, fixture_json, post_delivery
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, User

SEAT_UID = "Qm3TzLw8RkA1pXvN6cYhEs"
INGRID = "ingrid.larsen@example.no"
MATEO = "mateo.rossi@example.it"
BOOKER = "oliver.bennett@example.co.uk"
OLIVER_UID = "r8KqT2mWv5XbN7pLc3YdZa"


def deliver(client, document: dict[str, Any]) -> dict[str, Any]:
    """Post a signed delivery that must be kept and acted on; returns the JSON answer."""
    response = post_delivery(client, document)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] in ("processed", "duplicate"), answer
    return answer


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def seats_of(uid: str) -> dict[str, tuple[str, str | None]]:
    """Each seat of a booking: seat key -> (status, patient email)."""
    rows = db.session.scalars(select(Consultation).where(Consultation.cal_booking_uid == uid))
    return {row.seat_key: (row.status, row.patient.email) for row in rows}


def the_consultation(uid: str) -> Consultation:
    return db.session.scalars(select(Consultation).where(Consultation.cal_booking_uid == uid)).one()


def booking(**payload: Any) -> dict[str, Any]:
    """booking_created.json (Oliver Bennett, with a guest) with payload fields replaced."""
    document = fixture_json("booking_created.json")
    document["payload"].update(payload)
    return document


def later(document: dict[str, Any], created_at: str) -> dict[str, Any]:
    """The same delivery sent at another time (so not byte-identical)."""
    return {**copy.deepcopy(document), "createdAt": created_at}


# --- seated events --------------------------------------------------------------------


def test_every_seat_holder_is_a_patient_with_a_consultation_of_their_own(app, client):
    first = deliver(client, fixture_json("booking_created_seat_first.json"))
    second = deliver(client, fixture_json("booking_created_seat_second.json"))

    assert (first["status"], second["status"]) == ("processed", "processed")
    assert first["consultation_id"] != second["consultation_id"]
    with app.app_context():
        assert seats_of(SEAT_UID) == {
            INGRID: ("scheduled", INGRID),
            MATEO: ("scheduled", MATEO),
        }
        assert count(PatientProfile) == 2
        mateo = db.session.scalar(select(PatientProfile).where(PatientProfile.email == MATEO))
        assert (mateo.name, mateo.phone) == ("Mateo Rossi", "+393471234567")


def test_a_repeated_delivery_of_the_same_seat_stays_a_duplicate(app, client):
    deliver(client, fixture_json("booking_created_seat_first.json"))
    second = fixture_json("booking_created_seat_second.json")
    deliver(client, second)

    again = deliver(client, later(second, "2026-11-29T11:16:00.000Z"))

    assert again["status"] == "duplicate"
    with app.app_context():
        assert count(Consultation) == 2
        assert count(PatientProfile) == 2


def test_a_seat_holder_who_cancels_cancels_only_their_own_seat(app, client):
    deliver(client, fixture_json("booking_created_seat_first.json"))
    deliver(client, fixture_json("booking_created_seat_second.json"))

    deliver(client, fixture_json("booking_cancelled_one_seat.json"))

    with app.app_context():
        assert seats_of(SEAT_UID) == {
            INGRID: ("scheduled", INGRID),
            MATEO: ("cancelled", MATEO),
        }
        mateo_seat = db.session.scalar(select(Consultation).where(Consultation.seat_key == MATEO))
        assert mateo_seat.cancellation_reason == "Flight moved to the next day."
        # The cancellation's answers are the first seat holder's: they touch no one.
        assert count(PatientProfile) == 2


SEAT_DELIVERIES = [
    "booking_created_seat_first.json",
    "booking_created_seat_second.json",
    "booking_cancelled_one_seat.json",
]


def test_seats_converge_in_any_order_of_arrival(app, client):
    states = []
    for order in itertools.permutations(SEAT_DELIVERIES):
        with app.app_context():
            db.session.remove()
            empty_database()
        for name in order:
            deliver(client, fixture_json(name))
        with app.app_context():
            states.append((seats_of(SEAT_UID), count(PatientProfile)))

    expected = ({INGRID: ("scheduled", INGRID), MATEO: ("cancelled", MATEO)}, 2)
    assert states == [expected] * len(states)


def seated_meeting_ended() -> dict[str, Any]:
    """MEETING_ENDED for the seated booking, in the flat form: it names nobody in particular."""
    document = fixture_json("meeting_ended.json")
    document.update(uid=SEAT_UID, id=5920311, fromReschedule=None)
    return document


def test_a_meeting_event_applies_to_every_seat(app, client):
    deliver(client, fixture_json("booking_created_seat_first.json"))
    deliver(client, fixture_json("booking_created_seat_second.json"))

    deliver(client, seated_meeting_ended())

    with app.app_context():
        assert {status for status, _ in seats_of(SEAT_UID).values()} == {"completed"}
        assert count(PatientProfile) == 2  # the meeting's attendee touched no one


def test_a_no_show_update_for_one_seat_holder_marks_only_their_seat(app, client):
    deliver(client, fixture_json("booking_created_seat_first.json"))
    deliver(client, fixture_json("booking_created_seat_second.json"))

    deliver(client, no_show_update(SEAT_UID, [(MATEO, True)], "2027-01-16T12:20:00.000Z"))

    with app.app_context():
        assert seats_of(SEAT_UID) == {
            INGRID: ("scheduled", INGRID),
            MATEO: ("no_show", MATEO),
        }


def test_a_seat_holder_who_reschedules_moves_only_their_own_seat(app, client):
    deliver(client, fixture_json("booking_created_seat_first.json"))
    deliver(client, fixture_json("booking_created_seat_second.json"))
    moved = fixture_json("booking_created_seat_second.json")
    moved["triggerEvent"] = "BOOKING_RESCHEDULED"
    moved["createdAt"] = "2026-12-01T09:00:00.000Z"
    moved["payload"].update(
        uid="Zz9NewSlotUid00000000a",
        bookingId=5920999,
        rescheduleUid=SEAT_UID,
        startTime="2027-01-23T12:00:00Z",
        endTime="2027-01-23T12:30:00Z",
    )

    deliver(client, moved)

    with app.app_context():
        assert seats_of(SEAT_UID) == {
            INGRID: ("scheduled", INGRID),
            MATEO: ("rescheduled", MATEO),
        }
        new = the_consultation("Zz9NewSlotUid00000000a")
        old = db.session.scalar(
            select(Consultation).where(
                Consultation.cal_booking_uid == SEAT_UID, Consultation.seat_key == MATEO
            )
        )
        assert (new.status, new.patient.email, old.rescheduled_to_id) == (
            "scheduled",
            MATEO,
            new.id,
        )


# --- phone-only bookers ----------------------------------------------------------------


def test_a_phone_only_booker_has_no_email_and_is_found_by_phone(app, client, consultant_client):
    # Two days ahead, so that it is on the Upcoming tab whatever today is.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    phone_only = fixture_json("booking_created_phone_only.json")
    phone_only["payload"].update(
        startTime=start.isoformat(), endTime=(start + timedelta(minutes=30)).isoformat()
    )
    answer = deliver(client, phone_only)

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert (patient.email, patient.user.email) == (None, None)
        assert patient.phone == "+447700900456"
        assert "sms.cal.com" not in patient.search_text
    page = consultant_client.get("/?tab=upcoming").get_data(as_text=True)
    assert "sms.cal.com" not in page
    assert "+447700900456" in page

    again = copy.deepcopy(phone_only)
    again["payload"].update(uid="Hd8QwPz2NcV5tLkR7yBmXb", bookingId=5920400)
    second = deliver(client, again)
    assert second["patient_id"] == answer["patient_id"]


def test_a_phone_only_booker_who_later_books_with_an_email_is_matched_by_phone(app, client):
    first = deliver(client, fixture_json("booking_created_phone_only.json"))
    with_email = fixture_json("booking_created_phone_only.json")
    with_email["payload"].update(uid="Hd8QwPz2NcV5tLkR7yBmXc", bookingId=5920401)
    with_email["payload"]["attendees"][0]["email"] = "callum.reid@example.co.uk"
    with_email["payload"]["responses"]["email"]["value"] = "callum.reid@example.co.uk"

    second = deliver(client, with_email)

    assert second["patient_id"] == first["patient_id"]
    with app.app_context():
        patient = db.session.get(PatientProfile, first["patient_id"])
        assert patient.email == "callum.reid@example.co.uk"
        assert count(User) == 1


def test_a_phone_only_booking_finds_the_patient_who_booked_with_that_phone_before(app, client):
    first = deliver(client, booking())
    phone_only = fixture_json("booking_created_phone_only.json")
    phone_only["payload"]["responses"]["attendeePhoneNumber"]["value"] = "+447700900123"
    phone_only["payload"]["attendees"][0]["phoneNumber"] = "+447700900123"

    second = deliver(client, phone_only)

    assert second["patient_id"] == first["patient_id"]
    with app.app_context():
        assert db.session.get(PatientProfile, first["patient_id"]).email == BOOKER


def test_a_phone_only_booking_without_any_phone_is_rejected_and_kept(app, client):
    document = fixture_json("booking_created_phone_only.json")
    del document["payload"]["responses"]["attendeePhoneNumber"]
    del document["payload"]["attendees"][0]["phoneNumber"]

    response = post_delivery(client, document)

    assert response.status_code == 400
    assert "phone" in response.get_json()["error"]
    with app.app_context():
        assert count(PatientProfile) == 0


# --- where the phone comes from --------------------------------------------------------


def without_phones(document: dict[str, Any]) -> dict[str, Any]:
    del document["payload"]["responses"]["attendeePhoneNumber"]
    del document["payload"]["attendees"][0]["phoneNumber"]
    return document


@pytest.mark.parametrize(
    "source",
    ["sms-answer", "sms-payload", "phone-location-answer", "phone-location-payload"],
)
def test_the_patients_only_phone_is_found_wherever_cal_com_puts_it(app, client, source):
    document = without_phones(booking())
    payload = document["payload"]
    number = "+44 7700 900777"
    if source == "sms-answer":
        payload["responses"]["smsReminderNumber"] = {
            "label": "number_sms_notifications",
            "value": number,
            "isHidden": False,
        }
    elif source == "sms-payload":
        payload["smsReminderNumber"] = number
    elif source == "phone-location-answer":
        payload["responses"]["location"]["value"] = {"value": "phone", "optionValue": number}
    else:
        payload["location"] = number

    answer = deliver(client, document)

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.phone == "+447700900777"
        assert patient.location == "United Kingdom"  # a phone location is not where they live


def test_the_first_phone_that_parses_wins_and_the_others_are_kept(app, client):
    document = booking(smsReminderNumber="+90 532 123 45 67")
    document["payload"]["responses"]["attendeePhoneNumber"]["value"] = "call me maybe"
    document["payload"]["attendees"][0]["phoneNumber"] = "+44 7700 900123"

    answer = deliver(client, document)

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert patient.phone == "+447700900123"
        answers = the_consultation(OLIVER_UID).booking_answers
        assert answers["attendeePhoneNumber"]["value"] == "call me maybe"
        assert answers["smsReminderNumber"]["value"] == "+90 532 123 45 67"


# --- custom questions by their words ----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "field", "expected"),
    [
        ("Country-of-residence", "location", "Norway"),
        ("country_of_residence", "location", "Norway"),
        ("Your-City", "location", "Norway"),
        ("WhatsApp-number", "phone", "+4791234567"),
        ("Mobile-Phone", "phone", "+4791234567"),
    ],
)
def test_custom_questions_are_read_by_their_words(app, client, key, field, expected):
    document = without_phones(booking())
    responses = document["payload"]["responses"]
    del responses["country"]
    value = "Norway" if field == "location" else "+47 912 34 567"
    responses[key] = {"label": key.replace("-", " "), "value": value, "isHidden": False}

    answer = deliver(client, document)

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert getattr(patient, field) == expected


# --- no-shows ----------------------------------------------------------------------------


def no_show_update(uid: str, flags: list[tuple[str, bool]], created_at: str) -> dict[str, Any]:
    """BOOKING_NO_SHOW_UPDATED naming only the people whose flag changed."""
    return {
        "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
        "createdAt": created_at,
        "payload": {
            "attendees": [{"email": email, "noShow": flag} for email, flag in flags],
            "message": "attendees updated",
            "bookingUid": uid,
            "bookingId": 5920311,
        },
    }


def cal_video_no_show(trigger: str, created_at: str, uid: str = OLIVER_UID) -> dict[str, Any]:
    """AFTER_HOSTS/GUESTS_CAL_VIDEO_NO_SHOW, some minutes after the meeting's start."""
    return {
        "triggerEvent": trigger,
        "createdAt": created_at,
        "payload": {
            "bookingUid": uid,
            "bookingId": 90211,
            "attendees": [{"email": "Oliver.Bennett@Example.co.uk", "name": "Oliver Bennett"}],
            "participants": [],
            "message": "No one joined the meeting",
        },
    }


def test_a_no_show_list_naming_only_a_guest_changes_no_status_but_is_kept(
    app, client, consultant_client
):
    guest_only = fixture_json("booking_no_show_updated_guest_only.json")
    uid = guest_only["payload"]["bookingUid"]
    created = booking(uid=uid, bookingId=5920377)
    created["payload"]["attendees"][1]["email"] = "lukas.gruber@example.at"
    deliver(client, created)

    answer = deliver(client, guest_only)

    with app.app_context():
        consultation = the_consultation(uid)
        assert consultation.status == "scheduled"
        assert consultation.attendance["lukas.gruber@example.at"]["no_show"] is True
        patient_id = consultation.patient_profile_id
    assert answer["status"] == "processed"
    page = consultant_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "lukas.gruber@example.at" in page
    assert "no-show" in page


def test_guests_not_joining_cal_video_marks_the_booker_no_show_until_undone(app, client):
    deliver(client, booking())

    deliver(client, cal_video_no_show("AFTER_GUESTS_CAL_VIDEO_NO_SHOW", "2026-11-05T10:06:00Z"))
    with app.app_context():
        assert the_consultation(OLIVER_UID).status == "no_show"

    undo = no_show_update(OLIVER_UID, [(BOOKER, False)], "2026-11-05T10:30:00Z")
    deliver(client, undo)
    with app.app_context():
        assert the_consultation(OLIVER_UID).status == "completed"


def test_an_undo_arriving_before_the_cal_video_no_show_still_wins(app, client):
    deliver(client, booking())
    deliver(client, no_show_update(OLIVER_UID, [(BOOKER, False)], "2026-11-05T10:30:00Z"))

    deliver(client, cal_video_no_show("AFTER_GUESTS_CAL_VIDEO_NO_SHOW", "2026-11-05T10:06:00Z"))

    with app.app_context():
        assert the_consultation(OLIVER_UID).status == "completed"


def test_the_host_not_joining_changes_no_status_but_shows(app, client, consultant_client):
    answer = deliver(client, booking())

    deliver(client, cal_video_no_show("AFTER_HOSTS_CAL_VIDEO_NO_SHOW", "2026-11-05T10:06:00Z"))

    with app.app_context():
        consultation = the_consultation(OLIVER_UID)
        assert consultation.status == "scheduled"
        assert consultation.host_no_show_at is not None
    page = consultant_client.get(f"/patients/{answer['patient_id']}").get_data(as_text=True)
    assert "Consultant did not join" in page
    row = consultant_client.get("/?tab=past").get_data(as_text=True)
    assert "Consultant did not join" in row


def test_a_cal_video_no_show_for_a_booking_not_received_yet_waits_for_replay(app, client):
    response = post_delivery(
        client, cal_video_no_show("AFTER_GUESTS_CAL_VIDEO_NO_SHOW", "2026-11-05T10:06:00Z")
    )

    assert response.status_code == 200
    assert response.get_json()["status"] == "failed"
    with app.app_context():
        assert count(PatientProfile) == 0


# --- confirmations and payment -------------------------------------------------------------


def test_a_reschedule_that_needs_confirmation_is_pending_until_confirmed(app, client):
    deliver(client, booking())
    requested = fixture_json("booking_rescheduled.json")
    requested["triggerEvent"] = "BOOKING_REQUESTED"
    requested["payload"]["status"] = "PENDING"
    new_uid = requested["payload"]["uid"]

    deliver(client, requested)
    with app.app_context():
        assert the_consultation(OLIVER_UID).status == "rescheduled"
        assert the_consultation(new_uid).status == "pending"

    confirmed = fixture_json("booking_rescheduled.json")
    confirmed["triggerEvent"] = "BOOKING_CREATED"
    confirmed["createdAt"] = "2026-11-04T09:00:00.000Z"
    payload = confirmed["payload"]
    payload["status"] = "ACCEPTED"
    payload["responses"] = {
        "name": {"label": "name", "value": "Oliver Bennett"},
        "email": {"label": "email", "value": "Oliver.Bennett@Example.co.uk"},
    }
    for attendee in payload["attendees"]:
        attendee.pop("phoneNumber", None)
    deliver(client, confirmed)

    with app.app_context():
        new = the_consultation(new_uid)
        assert (new.status, the_consultation(OLIVER_UID).status) == ("scheduled", "rescheduled")
        assert new.patient.phone == "+447700900123"
        assert count(PatientProfile) == 1


def test_payment_initiated_is_not_yet_a_booked_consultation(app, client):
    response = post_delivery(client, booking() | {"triggerEvent": "BOOKING_PAYMENT_INITIATED"})

    assert response.get_json()["status"] == "ignored"
    with app.app_context():
        assert (count(Consultation), count(PatientProfile)) == (0, 0)


@pytest.mark.parametrize("paid_first", [True, False], ids=["paid-first", "created-first"])
def test_paid_then_created_ends_scheduled_with_nothing_doubled(app, client, paid_first):
    paid = booking() | {"triggerEvent": "BOOKING_PAID", "createdAt": "2026-11-02T09:14:07Z"}
    created = booking() | {"createdAt": "2026-11-02T09:14:09Z"}

    for document in (paid, created) if paid_first else (created, paid):
        deliver(client, document)

    with app.app_context():
        assert the_consultation(OLIVER_UID).status == "scheduled"
        assert (count(Consultation), count(PatientProfile), count(User)) == (1, 1, 1)


def test_the_bookings_country_and_city_are_kept_apart_for_the_profile(app, client):
    document = booking()
    document["payload"]["responses"]["Your-City"] = {"label": "City", "value": "Leeds"}

    answer = deliver(client, document)

    with app.app_context():
        patient = db.session.get(PatientProfile, answer["patient_id"])
        assert (patient.country, patient.city) == ("United Kingdom", "Leeds")
        assert patient.location == "Leeds, United Kingdom"


def test_a_cal_video_report_that_lists_no_attendees_is_still_applied(app, client):
    deliver(client, booking())
    report = cal_video_no_show("AFTER_HOSTS_CAL_VIDEO_NO_SHOW", "2026-11-05T10:06:00Z")
    report["payload"]["attendees"] = []

    deliver(client, report)

    with app.app_context():
        assert the_consultation(OLIVER_UID).host_no_show_at is not None
