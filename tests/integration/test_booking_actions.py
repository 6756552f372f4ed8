"""A consultant acts on a booking in Cal.com: against the fake API, whose webhook deliveries
reach the app served on a real port, signed, as Cal.com's would. Cal.com's state wins, the
delivery that follows changes nothing more, repeats do no harm, and every failure leaves
our record as it was and says what happened on the row."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.cal_api_fake import FakeCalApi, api_booking, now_api
from tests.conftest import csrf_token_from
from webapp.cal.api import Policy
from webapp.extensions import db
from webapp.models import AuditEvent, Consultation, PatientProfile

HTMX = {"HX-Request": "true"}
UID = "actQm3TzLw8RkA1pXvN6cY"
ORGANIZER = "Dr. Lena Brandt (lena.brandt@example-clinic.com)"
REASON = "Dr. Brandt is in surgery that day; we are sorry."
AUDITED = {"confirm": "consultation.confirmed", "cancel": "consultation.cancelled"}


@pytest.fixture
def token(consultant_client) -> str:
    return csrf_token_from(consultant_client.get("/").get_data(as_text=True))


def book(cal_com: FakeCalApi, uid: str = UID, **booking: Any) -> dict[str, Any]:
    """A booking made in Cal.com (pending unless said), its deliveries applied here; it
    starts in two days unless ``start`` says otherwise."""
    booking.setdefault("status", "pending")
    made = api_booking(
        uid, start=booking.pop("start", datetime.now(UTC) + timedelta(days=2)), **booking
    )
    cal_com.book(made)
    assert [answer["status"] for answer in cal_com.send_webhooks()] == ["processed"] * max(
        1, len(booking.get("seats") or [])
    )
    return made


def consultation_id(app, uid: str = UID, seat: str = "") -> int:
    with app.app_context():
        return db.session.scalar(
            select(Consultation.id).where(
                Consultation.cal_booking_uid == uid, Consultation.seat_key == seat
            )
        )


def act(client, token: str, consultation: int, action: str, **form: str):
    """Post an action as the dashboard's row does (htmx, the page's CSRF token)."""
    return client.post(
        f"/consultations/{consultation}/{action}",
        data=form,
        headers=HTMX | {"X-CSRFToken": token},
    )


def record_of(app) -> list[tuple[Any, ...]]:
    """Everything our record says of every booking, and how many patients there are."""
    with app.app_context():
        rows = db.session.scalars(select(Consultation).order_by(Consultation.id))
        return [
            (
                c.cal_booking_uid,
                c.seat_key,
                c.status,
                c.cancellation_reason,
                c.rescheduled_to_id,
                c.reschedule_requested_at is not None,
                c.host_no_show_at is not None,
                {email: flag["no_show"] for email, flag in (c.attendance or {}).items()},
                c.booking_answers,
                c.patient_profile_id,
            )
            for c in rows
        ] + [db.session.scalar(select(func.count()).select_from(PatientProfile))]


def audits(app) -> list[tuple[str, int | None, dict[str, Any]]]:
    with app.app_context():
        return [
            (event.action, event.consultant_id, event.details)
            for event in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("consultation.%"))
                .order_by(AuditEvent.id)
            )
        ]


def status_of(app, consultation: int) -> str:
    with app.app_context():
        return db.session.get(Consultation, consultation).status


# --- Confirm ---------------------------------------------------------------------------------


def test_confirm_makes_a_pending_booking_scheduled_and_the_delivery_after_it_changes_nothing(
    app, consultant_client, consultant, token, cal_com
):
    book(cal_com)
    booking = consultation_id(app)
    page = consultant_client.get("/").get_data(as_text=True)
    assert f'hx-post="/consultations/{booking}/confirm"' in page
    assert 'data-busy="Confirming…">Confirm</button>' in page
    cal_com.requests.clear()

    response = act(consultant_client, token, booking, "confirm")

    assert response.status_code == 200
    assert response.headers["X-Booking-Row"] == str(booking)
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="consultation-{booking}"')
    assert '<span class="status status-scheduled">Scheduled</span>' in row
    assert "Confirmed in Cal.com." in row
    assert f"/consultations/{booking}/confirm" not in row  # offered only while pending
    assert cal_com.actions() == [(f"/v2/bookings/{UID}/confirm", {})]
    assert [(r["method"], r["path"]) for r in cal_com.requests] == [
        ("POST", f"/v2/bookings/{UID}/confirm"),
        ("GET", f"/v2/bookings/{UID}"),  # read back
    ]
    assert all(r["headers"]["Cal-Api-Version"] == "2024-08-13" for r in cal_com.requests)
    with app.app_context():
        patient = db.session.get(Consultation, booking).patient_profile_id
    assert audits(app) == [
        (
            "consultation.confirmed",
            consultant,
            {
                "consultation_id": booking,
                "booking_uid": UID,
                "outcome": "done",
                "cal_status": 200,
            },
        )
    ]
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.patient_profile_id)) == patient
    before = record_of(app)

    [delivered] = cal_com.send_webhooks()

    assert delivered["trigger"] == "BOOKING_CREATED"
    assert delivered["consultation_id"] == booking
    assert record_of(app) == before


def test_a_second_confirm_sends_nothing_and_says_it_is_confirmed(
    app, consultant_client, token, cal_com
):
    book(cal_com)
    booking = consultation_id(app)
    assert act(consultant_client, token, booking, "confirm").status_code == 200

    again = act(consultant_client, token, booking, "confirm")

    assert again.status_code == 200
    assert "Cal.com had confirmed this booking already." in again.get_data(as_text=True)
    assert len(cal_com.actions()) == 1
    assert status_of(app, booking) == "scheduled"


@pytest.mark.parametrize(
    ("booked_as", "action", "form", "cal_com_now", "status", "said", "cal_message"),
    [
        (
            "pending",
            "confirm",
            {},
            {"status": "accepted"},
            "scheduled",
            "Cal.com had confirmed this booking already.",
            "Booking already confirmed",
        ),
        (
            "accepted",
            "cancel",
            {"reason": REASON, "confirmed": "yes"},
            {"status": "cancelled", "cancellationReason": "Cancelled by the patient"},
            "cancelled",
            "Cal.com had cancelled this booking already.",
            f"Can't cancel booking with uid={UID} because it has been cancelled already.",
        ),
    ],
)
def test_a_booking_cal_com_changed_already_is_read_back_and_shown_done(
    app,
    consultant_client,
    consultant,
    token,
    cal_com,
    booked_as,
    action,
    form,
    cal_com_now,
    status,
    said,
    cal_message,
):
    book(cal_com, status=booked_as)
    booking = consultation_id(app)
    # Changed in Cal.com itself, and its delivery has not reached us.
    cal_com.bookings[UID] |= cal_com_now | {"updatedAt": now_api()}

    response = act(consultant_client, token, booking, action, **form)

    assert response.status_code == 200
    assert said in response.get_data(as_text=True)
    assert status_of(app, booking) == status
    [(audited, who, details)] = audits(app)
    assert (audited, who) == (AUDITED[action], consultant)
    assert details | {"consultation_id": 0} == {
        "consultation_id": 0,
        "booking_uid": UID,
        "outcome": "already",
        "cal_status": 400,
        "cal_message": cal_message,
    }
    if action == "cancel":  # Cal.com's reason, not the one typed here, which it never sent
        with app.app_context():
            reason = db.session.get(Consultation, booking).cancellation_reason
        assert reason == "Cancelled by the patient"


def test_two_consultants_confirming_at_once_confirm_it_once(app, client, cal_com):
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import log_in
    from webapp.auth.consultants import create_consultant

    with app.app_context():
        for email in ("selin@clinic.example", "ayse@clinic.example"):
            create_consultant(email, email.split("@")[0], "a long enough passphrase", "UTC")
        db.session.commit()
    book(cal_com)
    booking = consultation_id(app)
    consultants = []
    for email in ("selin@clinic.example", "ayse@clinic.example"):
        browser = app.test_client()
        assert log_in(browser, email, "a long enough passphrase").status_code == 302
        consultants.append((browser, csrf_token_from(browser.get("/").get_data(as_text=True))))
    cal_com.delay = 0.3  # both are on their way before Cal.com answers either

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: act(c[0], c[1], booking, "confirm"), consultants))

    assert [answer.status_code for answer in answers] == [200, 200]
    said = sorted("already" if "already" in a.get_data(as_text=True) else "done" for a in answers)
    assert said == ["already", "done"]
    assert status_of(app, booking) == "scheduled"
    assert sorted(details["outcome"] for _action, _who, details in audits(app)) == [
        "already",
        "done",
    ]
    assert len(cal_com.outbox) == 1  # Cal.com confirmed it once


def test_any_consultant_may_confirm(app, client, cal_com):
    from tests.conftest import log_in
    from webapp.auth.consultants import create_consultant

    with app.app_context():
        create_consultant("ayse@clinic.example", "Ayşe Kaya", "another long passphrase", "UTC")
        db.session.commit()
    assert log_in(client, "ayse@clinic.example", "another long passphrase").status_code == 302
    book(cal_com)

    response = act(
        client,
        csrf_token_from(client.get("/").get_data(as_text=True)),
        consultation_id(app),
        "confirm",
    )

    assert response.status_code == 200
    assert status_of(app, consultation_id(app)) == "scheduled"


@pytest.mark.parametrize(
    ("status", "action", "form", "shown"),
    [
        # A form left open, or a crafted post: a cancelled booking is never confirmed again.
        ("cancelled", "confirm", {}, "Confirm is not possible for this booking now (Cancelled)."),
        (
            "accepted",
            "decline",
            {"reason": REASON, "confirmed": "yes"},
            "Decline is not possible for this booking now (Scheduled).",
        ),
    ],
)
def test_an_action_our_record_does_not_offer_is_not_sent(
    app, consultant_client, token, cal_com, status, action, form, shown
):
    book(cal_com, status=status)
    before = record_of(app)

    response = act(consultant_client, token, consultation_id(app), action, **form)

    assert response.status_code == 409
    assert shown in response.get_data(as_text=True)
    assert cal_com.actions() == []
    assert record_of(app) == before
    assert audits(app) == []


# --- Decline, cancel: a typed reason and a confirmation step ------------------------------------


def test_decline_asks_for_the_reason_and_a_confirmation_then_sends_it(
    app, consultant_client, token, cal_com
):
    book(cal_com)
    booking = consultation_id(app)

    missing = act(consultant_client, token, booking, "decline", reason="   ")
    step = act(consultant_client, token, booking, "decline", reason=REASON)

    assert missing.status_code == 400
    assert "Type the reason Cal.com sends the patient." in missing.get_data(as_text=True)
    assert step.status_code == 200
    shown = step.get_data(as_text=True)
    assert "Decline this booking request in Cal.com?" in shown
    assert "Dr. Brandt is in surgery that day; we are sorry." in shown
    assert 'name="confirmed" value="yes"' in shown
    assert cal_com.actions() == []
    assert status_of(app, booking) == "pending"

    declined = act(consultant_client, token, booking, "decline", reason=REASON, confirmed="yes")

    assert declined.status_code == 200
    assert '<span class="status status-rejected">Rejected</span>' in declined.get_data(as_text=True)
    assert cal_com.actions() == [(f"/v2/bookings/{UID}/decline", {"reason": REASON})]
    with app.app_context():
        assert db.session.get(Consultation, booking).cancellation_reason == REASON
    assert [a[0] for a in audits(app)] == ["consultation.declined"]
    before = record_of(app)
    [delivered] = cal_com.send_webhooks()
    assert delivered["trigger"] == "BOOKING_REJECTED"
    assert record_of(app) == before


def test_cancel_sends_the_reason_to_cal_com(app, consultant_client, token, cal_com):
    book(cal_com, status="accepted")
    booking = consultation_id(app)

    response = act(consultant_client, token, booking, "cancel", reason=REASON, confirmed="yes")

    assert response.status_code == 200
    assert "Cancelled in Cal.com." in response.get_data(as_text=True)
    assert cal_com.actions() == [(f"/v2/bookings/{UID}/cancel", {"cancellationReason": REASON})]
    with app.app_context():
        consultation = db.session.get(Consultation, booking)
        assert (consultation.status, consultation.cancellation_reason) == ("cancelled", REASON)
    before = record_of(app)
    assert [d["trigger"] for d in cal_com.send_webhooks()] == ["BOOKING_CANCELLED"]
    assert record_of(app) == before
    again = act(consultant_client, token, booking, "cancel", reason=REASON, confirmed="yes")
    assert "Cal.com had cancelled this booking already." in again.get_data(as_text=True)
    assert len(cal_com.actions()) == 1


SEATS = [("ingrid.larsen@example.no", "Ingrid Larsen"), ("mateo.rossi@example.it", "Mateo Rossi")]


def test_cancelling_one_seat_cancels_that_seat_alone_by_its_seat_uid(
    app, consultant_client, token, cal_com
):
    book(cal_com, status="accepted", seats=SEATS)
    first = consultation_id(app, seat="ingrid.larsen@example.no")
    second = consultation_id(app, seat="mateo.rossi@example.it")

    step = act(consultant_client, token, second, "cancel", reason=REASON)
    response = act(consultant_client, token, second, "cancel", reason=REASON, confirmed="yes")

    assert "Cal.com cancels only this patient&#39;s seat" in step.get_data(as_text=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    # The seat's uid alone: Cal.com refuses a reason beside it, so the reason stays here.
    assert cal_com.actions() == [(f"/v2/bookings/{UID}/cancel", {"seatUid": f"seat-1-{UID}"})]
    with app.app_context():
        leaving = db.session.get(Consultation, second)
        assert (leaving.status, leaving.cancellation_reason) == ("cancelled", REASON)
        assert db.session.get(Consultation, first).status == "scheduled"
    before = record_of(app)
    assert [d["trigger"] for d in cal_com.send_webhooks()] == ["BOOKING_CANCELLED"]
    assert record_of(app) == before


def test_a_seat_cal_com_does_not_show_is_left_to_cancel_in_cal_com(
    app, consultant_client, token, cal_com
):
    book(cal_com, status="accepted", seats=SEATS)
    cal_com.others.add(UID)  # another organizer's event: Cal.com hides its attendees from this key
    seat = consultation_id(app, seat="mateo.rossi@example.it")
    before = record_of(app)

    response = act(consultant_client, token, seat, "cancel", reason=REASON, confirmed="yes")

    assert response.status_code == 409
    assert "Cancel this patient&#39;s seat in Cal.com" in response.get_data(as_text=True)
    assert cal_com.actions() == []
    assert record_of(app) == before
    assert audits(app)[-1][2]["outcome"] == "seat_not_shown"


# --- Ask to reschedule ---------------------------------------------------------------------------


def test_a_reschedule_request_shows_until_the_patients_new_booking_arrives_linked_to_it(
    app, consultant_client, token, cal_com
):
    book(cal_com, status="accepted")
    old = consultation_id(app)

    response = act(
        consultant_client, token, old, "request-reschedule", reason=REASON, confirmed="yes"
    )

    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert '<span class="status status-cancelled">Reschedule requested</span>' in row
    assert "emailed the patient a link to choose a new time" in row
    assert cal_com.actions() == [
        (f"/v2/bookings/{UID}/request-reschedule", {"rescheduleReason": REASON})
    ]
    with app.app_context():
        consultation = db.session.get(Consultation, old)
        assert consultation.status == "cancelled"
        assert consultation.reschedule_requested_at is not None
        assert consultation.cancellation_reason == REASON
    assert [a[0] for a in audits(app)] == ["consultation.reschedule_requested"]
    before = record_of(app)
    assert [d["trigger"] for d in cal_com.send_webhooks()] == ["BOOKING_CANCELLED"]
    assert record_of(app) == before  # the delivery's "Please reschedule. …" is the same reason

    cal_com.patient_rebooks(UID, "actNewBookingUid000000", datetime.now(UTC) + timedelta(days=5))
    assert [d["status"] for d in cal_com.send_webhooks()] == ["processed"]

    new = consultation_id(app, "actNewBookingUid000000")
    with app.app_context():
        replaced = db.session.get(Consultation, old)
        assert (replaced.status, replaced.rescheduled_to_id) == ("rescheduled", new)
        assert db.session.get(Consultation, new).status == "scheduled"
        assert db.session.get(Consultation, new).patient_profile_id == replaced.patient_profile_id
    page = consultant_client.get("/?tab=cancelled").get_data(as_text=True)
    assert "Reschedule requested" not in page


# --- Who attended ------------------------------------------------------------------------------


def mark(client, token: str, consultation: int, outcome: str):
    return act(client, token, consultation, "outcome", outcome=outcome)


def test_a_no_show_then_attended_again_are_marked_in_cal_com(
    app, consultant_client, token, cal_com
):
    book(cal_com, status="accepted", start=datetime.now(UTC) - timedelta(hours=2))
    booking = consultation_id(app)
    page = consultant_client.get("/?tab=past").get_data(as_text=True)
    assert 'value="no_show"' in page and 'value="host_absent"' in page

    no_show = mark(consultant_client, token, booking, "no_show")

    assert no_show.status_code == 200
    assert '<span class="status status-no_show">No show</span>' in no_show.get_data(as_text=True)
    assert cal_com.actions() == [
        (
            f"/v2/bookings/{UID}/mark-absent",
            {"attendees": [{"email": "mateo.alvarez@example.com", "absent": True}]},
        )
    ]
    before = record_of(app)
    assert [d["trigger"] for d in cal_com.send_webhooks()] == ["BOOKING_NO_SHOW_UPDATED"]
    assert record_of(app) == before

    attended = mark(consultant_client, token, booking, "attended")

    assert attended.status_code == 200
    assert cal_com.actions()[-1][1] == {
        "attendees": [{"email": "mateo.alvarez@example.com", "absent": False}]
    }
    assert status_of(app, booking) == "completed"  # its end has passed
    assert [(a[0], a[2]["who"], a[2]["absent"]) for a in audits(app)] == [
        ("consultation.marked_absent", "attendee", True),
        ("consultation.marked_absent", "attendee", False),
    ]


def test_consultant_did_not_join_marks_the_host_absent_in_cal_com(
    app, consultant_client, token, cal_com
):
    book(cal_com, status="accepted", start=datetime.now(UTC) - timedelta(hours=2))
    booking = consultation_id(app)

    response = mark(consultant_client, token, booking, "host_absent")

    assert response.status_code == 200
    assert "Consultant did not join</small>" in response.get_data(as_text=True)
    assert cal_com.actions() == [(f"/v2/bookings/{UID}/mark-absent", {"host": True})]
    assert cal_com.outbox == []  # Cal.com sends no delivery for the host
    with app.app_context():
        consultation = db.session.get(Consultation, booking)
        assert consultation.host_no_show_at is not None
        assert consultation.status == "scheduled"


def test_mark_completed_stays_the_clinics_own_record(app, consultant_client, token, cal_com):
    book(cal_com, status="accepted", start=datetime.now(UTC) - timedelta(hours=2))
    booking = consultation_id(app)

    response = mark(consultant_client, token, booking, "completed")

    assert response.status_code == 200
    assert status_of(app, booking) == "completed"
    assert cal_com.actions() == []
    assert [a[0] for a in audits(app)] == ["consultation.status_changed"]


# --- Failures leave our record as it was and say what happened -----------------------------------


def test_a_wrong_key_is_named_with_the_account_that_must_own_one(
    app, consultant_client, token, cal_com
):
    book(cal_com)
    app.config["CAL_API_KEY"] = "cal_live_wrong"
    before = record_of(app)

    response = act(consultant_client, token, consultation_id(app), "confirm")

    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "CAL_API_KEY is wrong or expired" in text
    assert ORGANIZER in text
    assert record_of(app) == before
    assert audits(app)[-1][2]["outcome"] == "refused"
    assert audits(app)[-1][2]["cal_status"] == 401


@pytest.mark.parametrize(
    ("action", "form", "status"),
    [
        ("confirm", {}, 401),  # Cal.com answers a refused confirm with 401, not 403
        ("request-reschedule", {"reason": REASON, "confirmed": "yes"}, 403),
    ],
)
def test_an_account_without_rights_to_the_booking_is_told_who_must_own_the_key(
    app, consultant_client, token, cal_com, action, form, status
):
    book(cal_com, status="pending" if action == "confirm" else "accepted")
    cal_com.others.add(UID)
    before = record_of(app)

    response = act(consultant_client, token, consultation_id(app), action, **form)

    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "the API key&#39;s account may not change this booking" in text
    assert ORGANIZER in text
    assert record_of(app) == before
    assert audits(app)[-1][2]["cal_status"] == status


def test_a_refused_no_show_says_cal_com_refused_it(app, consultant_client, token, cal_com):
    book(cal_com, status="accepted", start=datetime.now(UTC) - timedelta(hours=2))
    cal_com.others.add(UID)
    before = record_of(app)

    response = mark(consultant_client, token, consultation_id(app), "no_show")

    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Cal.com refused to change who attended" in text
    assert "Failed to update no-show status" in text
    assert ORGANIZER in text
    assert record_of(app) == before
    assert audits(app)[-1][2]["cal_status"] == 500


def test_a_booking_gone_from_cal_com_is_said_so(app, consultant_client, token, cal_com):
    book(cal_com)
    del cal_com.bookings[UID]
    before = record_of(app)

    response = act(consultant_client, token, consultation_id(app), "confirm")

    assert response.status_code == 409
    assert "This booking is no longer in Cal.com" in response.get_data(as_text=True)
    assert record_of(app) == before


@pytest.mark.parametrize(
    ("action", "form", "cal_com_has", "words"),
    [
        # Cal.com's clock, or its booking, says it has ended (a plain NestJS error body).
        (
            "cancel",
            {"reason": REASON, "confirmed": "yes"},
            {"end": "2020-01-01T00:30:00.000Z"},
            "Cannot cancel a booking that has already ended",
        ),
        # Cal.com marks no one absent before the start it holds.
        (
            "outcome",
            {"outcome": "no_show"},
            {"start": "2099-01-01T09:00:00.000Z", "end": "2099-01-01T09:30:00.000Z"},
            "Bookings can only be marked as absent after their scheduled start time.",
        ),
    ],
)
def test_cal_com_s_own_refusal_is_shown_in_its_words(
    app, consultant_client, token, cal_com, action, form, cal_com_has, words
):
    book(cal_com, status="accepted", start=datetime.now(UTC) - timedelta(minutes=10))
    cal_com.bookings[UID] |= cal_com_has
    before = record_of(app)

    response = act(consultant_client, token, consultation_id(app), action, **form)

    assert response.status_code == 409
    assert f"Cal.com refused (“{words}”)" in response.get_data(as_text=True)
    assert record_of(app) == before
    assert audits(app)[-1][2] | {"consultation_id": 0} == {
        "consultation_id": 0,
        "booking_uid": UID,
        "outcome": "refused",
        "cal_status": 400,
        "cal_message": words,
    } | ({"who": "attendee", "absent": True} if action == "outcome" else {})


def test_a_rate_limit_is_not_waited_and_says_when_it_resets(
    app, consultant_client, token, cal_com, monkeypatch
):
    book(cal_com)
    cal_com.throttle, cal_com.reset_seconds = 1, 45
    waits: list[float] = []
    monkeypatch.setattr("webapp.cal.api.pause", waits.append)
    before = record_of(app)

    started = time.monotonic()
    response = act(consultant_client, token, consultation_id(app), "confirm")

    assert time.monotonic() - started < 5
    assert waits == []
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "45"
    text = response.get_data(as_text=True)
    assert "Cal.com&#39;s rate limit is used up; nothing was changed." in text
    assert "(in 45 s)" in text
    assert record_of(app) == before
    assert audits(app)[-1][2]["outcome"] == "rate_limited"


def test_a_server_error_says_cal_com_did_not_answer(app, consultant_client, token, cal_com):
    book(cal_com)
    cal_com.broken = 1
    before = record_of(app)

    response = act(consultant_client, token, consultation_id(app), "confirm")

    assert response.status_code == 504
    assert "Cal.com did not answer; nothing was changed. Try again." in response.get_data(
        as_text=True
    )
    assert record_of(app) == before
    assert audits(app)[-1][2]["outcome"] == "unanswered"


def test_an_action_has_its_time_for_the_call_and_the_read_back_together(
    app, consultant_client, token, cal_com, monkeypatch
):
    book(cal_com)
    monkeypatch.setattr("webapp.dashboard.views.ACTION", Policy(waits=False, seconds=1.5))
    cal_com.delay = 1.0  # the call answers in time; the read-back cannot
    before = record_of(app)

    started = time.monotonic()
    response = act(consultant_client, token, consultation_id(app), "confirm")

    assert time.monotonic() - started < 2.5
    assert response.status_code == 202
    assert "Confirmed in Cal.com. Cal.com did not show the booking afterwards" in response.get_data(
        as_text=True
    )
    assert record_of(app) == before  # Cal.com's delivery will bring it
    cal_com.delay = 0
    cal_com.send_webhooks()
    assert status_of(app, consultation_id(app)) == "scheduled"


def test_a_call_that_times_out_says_cal_com_did_not_answer(
    app, consultant_client, token, cal_com, monkeypatch
):
    book(cal_com)
    monkeypatch.setattr("webapp.dashboard.views.ACTION", Policy(waits=False, seconds=0.3))
    cal_com.delay = 1.0
    before = record_of(app)

    started = time.monotonic()
    response = act(consultant_client, token, consultation_id(app), "confirm")

    assert time.monotonic() - started < 0.9
    assert response.status_code == 504
    assert "Cal.com did not answer" in response.get_data(as_text=True)
    assert record_of(app) == before


# --- Without a key, and the ways in ------------------------------------------------------------


def test_without_a_key_no_button_is_shown_and_the_connection_page_says_how(
    app, consultant_client, token, cal_com
):
    book(cal_com)
    app.config["CAL_API_KEY"] = None
    booking = consultation_id(app)

    page = consultant_client.get("/").get_data(as_text=True)
    response = act(consultant_client, token, booking, "confirm")
    connection = consultant_client.get("/connection").get_data(as_text=True)

    assert f"/consultations/{booking}/confirm" not in page
    assert response.status_code == 409
    assert "needs CAL_API_KEY" in response.get_data(as_text=True)
    assert cal_com.actions() == []
    assert "Settings → Developer → API keys" in connection
    assert "consultants cannot act on bookings in Cal.com" in connection


def test_acting_needs_a_login_and_the_csrf_token(app, client, consultant_client, token, cal_com):
    book(cal_com)
    booking = consultation_id(app)

    without_token = consultant_client.post(f"/consultations/{booking}/confirm", headers=HTMX)
    consultant_client.post("/logout", data={"csrf_token": token})
    signed_out = consultant_client.post(
        f"/consultations/{booking}/confirm", headers=HTMX | {"X-CSRFToken": token}
    )

    assert without_token.status_code == 400
    assert signed_out.status_code in (400, 401)
    assert cal_com.actions() == []
    assert status_of(app, booking) == "pending"


def test_the_patient_page_acts_with_plain_forms_and_comes_back_to_the_booking(
    app, consultant_client, token, cal_com
):
    book(cal_com)
    booking = consultation_id(app)
    with app.app_context():
        patient = db.session.get(Consultation, booking).patient_profile_id
    page = consultant_client.get(f"/patients/{patient}").get_data(as_text=True)
    assert f'action="/consultations/{booking}/confirm"' in page
    assert 'name="shown_on" value="patient"' in page

    step = consultant_client.post(
        f"/consultations/{booking}/decline",
        data={"csrf_token": token, "shown_on": "patient", "reason": REASON},
    )
    done = consultant_client.post(
        f"/consultations/{booking}/decline",
        data={"csrf_token": token, "shown_on": "patient", "reason": REASON, "confirmed": "yes"},
    )

    assert step.status_code == 200
    assert "<legend>Decline this booking request in Cal.com?</legend>" in step.get_data(
        as_text=True
    )
    assert f'href="/patients/{patient}#consultation-{booking}">Go back</a>' in step.get_data(
        as_text=True
    )
    assert done.status_code == 302
    assert done.headers["Location"] == f"/patients/{patient}#consultation-{booking}"
    assert "Declined in Cal.com." in consultant_client.get(done.headers["Location"]).get_data(
        as_text=True
    )


def test_go_back_from_a_confirmation_step_shows_the_row_again(
    app, consultant_client, token, cal_com
):
    book(cal_com)
    booking = consultation_id(app)

    row = consultant_client.get(f"/consultations/{booking}/row", headers=HTMX)
    plain = consultant_client.get(f"/consultations/{booking}/row")

    assert row.status_code == 200
    assert row.get_data(as_text=True).lstrip().startswith(f'<tr id="consultation-{booking}"')
    assert plain.status_code == 302
