"""``/patients/<id>``: profile, consultations with their reschedule chain, answers, deliveries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import (
    FIXTURE_BOOKING_UID,
    booking_document,
    deliver,
    fixture_body,
    fixture_json,
    submit,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import Consultation

ISTANBUL = ZoneInfo("Europe/Istanbul")
CREATED_START = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
RESCHEDULED_START = datetime(2026, 11, 7, 13, 30, tzinfo=UTC)


def shown(moment: datetime) -> str:
    """A time as the patient page shows it to the Istanbul consultant."""
    return moment.astimezone(ISTANBUL).strftime("%a %d %b %H:%M")


def article(page: str, consultation_id: int) -> str:
    match = re.search(rf'<article id="consultation-{consultation_id}".*?</article>', page, re.S)
    assert match, f"no consultation {consultation_id} on the page"
    return match.group(0)


def section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section aria-labelledby="{heading_id}">.*?</section>', page, re.S)
    assert match, f"no section {heading_id}"
    return match.group(0)


def patient_page(client, patient_id: int) -> str:
    response = client.get(f"/patients/{patient_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def lifecycle(consultant_client) -> dict[str, int]:
    """The fixtures' booking created, rescheduled, then the new booking cancelled."""
    created = deliver(consultant_client, fixture_body("booking_created.json"))
    rescheduled = deliver(consultant_client, fixture_body("booking_rescheduled.json"))
    cancelled = deliver(consultant_client, fixture_body("booking_cancelled.json"))
    assert created["patient_id"] == rescheduled["patient_id"] == cancelled["patient_id"]
    assert cancelled["consultation_id"] == rescheduled["consultation_id"]
    return {
        "patient": created["patient_id"],
        "first": created["consultation_id"],
        "second": rescheduled["consultation_id"],
    }


# --- Access ----------------------------------------------------------------------------------


def test_the_patient_page_needs_a_login(client, consultant):
    deliver(client, fixture_body("booking_created.json"))

    response = client.get("/patients/1")

    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/patients/1"]
    assert "Oliver" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/patients/999", "/patients/0"])
def test_an_unknown_patient_is_a_404_page_without_a_traceback(consultant_client, path):
    response = consultant_client.get(path)

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<html" in page
    assert "There is no patient with this number." in page
    assert "Traceback" not in page and "sqlalchemy" not in page.lower()


def test_a_patient_number_that_is_not_a_number_is_a_404(consultant_client):
    response = consultant_client.get("/patients/abc")

    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_the_patient_page_is_never_cached(consultant_client, lifecycle):
    response = consultant_client.get(f"/patients/{lifecycle['patient']}")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


# --- Profile ---------------------------------------------------------------------------------


def test_the_profile_shows_who_the_patient_is(consultant_client, lifecycle):
    page = patient_page(consultant_client, lifecycle["patient"])

    assert "<h1>Oliver Bennett</h1>" in page
    assert "<title>Oliver Bennett · Clinic bookings</title>" in page
    assert (
        '<dt>Email</dt><dd><a href="mailto:oliver.bennett@example.co.uk">'
        "oliver.bennett@example.co.uk</a></dd>" in page
    )
    assert '<dt>Phone</dt><dd><a href="tel:+447700900123">+44 7700 900123</a></dd>' in page
    assert "<dt>Location</dt><dd>United Kingdom</dd>" in page
    assert "<dt>Time zone</dt><dd>London <small>(Europe/London)</small></dd>" in page
    assert "Questionnaire not completed yet" in page
    assert "Possible duplicate" not in page
    assert "emma.bennett@example.co.uk</a></dd>" not in page  # the guest is not the patient


# --- Consultations ---------------------------------------------------------------------------


def test_both_consultations_are_shown_newest_first_with_their_status(consultant_client, lifecycle):
    page = patient_page(consultant_client, lifecycle["patient"])
    consultations = section(page, "consultations-heading")

    order = re.findall(r'<article id="consultation-(\d+)"', consultations)
    assert order == [str(lifecycle["second"]), str(lifecycle["first"])]
    first = article(page, lifecycle["first"])
    second = article(page, lifecycle["second"])
    assert f"<strong>{shown(CREATED_START)}</strong>" in first
    assert '<span class="status">Rescheduled</span>' in first
    assert "Cal.com booking r8KqT2mWv5XbN7pLc3YdZa" in first
    assert f"<strong>{shown(RESCHEDULED_START)}</strong>" in second
    assert '<span class="status">Cancelled</span>' in second
    assert "Cal.com booking h3ZtW9qLs2KdF6mXv8NcRb" in second
    assert "(Europe/Istanbul)" in first and "(Europe/Istanbul)" in second


def test_the_reschedule_chain_links_both_ways(consultant_client, lifecycle):
    page = patient_page(consultant_client, lifecycle["patient"])
    first = article(page, lifecycle["first"])
    second = article(page, lifecycle["second"])

    assert (
        f'Rescheduled to <a href="#consultation-{lifecycle["second"]}">'
        f"{shown(RESCHEDULED_START)}</a>." in first
    )
    assert "Rescheduled from" not in first
    assert (
        f'Rescheduled from <a href="#consultation-{lifecycle["first"]}">'
        f"{shown(CREATED_START)}</a>." in second
    )
    assert "Rescheduled to" not in second


def test_the_cancellation_reason_is_shown_on_the_cancelled_consultation(
    consultant_client, lifecycle
):
    page = patient_page(consultant_client, lifecycle["patient"])

    assert "Reason given: Decided to postpone the procedure" in article(page, lifecycle["second"])
    assert "Reason given" not in article(page, lifecycle["first"])


def test_booking_form_answers_have_readable_labels(consultant_client, lifecycle):
    page = patient_page(consultant_client, lifecycle["patient"])

    for consultation in (lifecycle["second"],):
        answers = article(page, consultation)
        assert "<summary>Booking form answers</summary>" in answers
        assert "<dt>Which country do you live in?</dt><dd>United Kingdom</dd>" in answers
        assert "<dt>Additional notes</dt><dd>Interested in FUE, crown area.</dd>" in answers
        assert "<dt>Guests</dt><dd>emma.bennett@example.co.uk</dd>" in answers
        assert "<dt>Name</dt><dd>Oliver Bennett</dd>" in answers
        assert "<dt>Phone</dt><dd>+447700900123</dd>" in answers
        assert "<dt>Age</dt><dd>41</dd>" in answers
        for raw_label in ("your_name", "email_address", "additional_notes", "additional_guests"):
            assert raw_label not in answers
        assert "<dt>What is this meeting about?</dt>" not in answers  # hidden, unanswered
    second = article(page, lifecycle["second"])
    assert "<dt>Reason for rescheduling</dt><dd>Flight changed</dd>" in second


def test_the_answers_of_a_rescheduled_chain_show_once(consultant_client, lifecycle):
    page = patient_page(consultant_client, lifecycle["patient"])
    first = article(page, lifecycle["first"])

    assert page.count("<summary>Booking form answers</summary>") == 1
    assert "<dt>Which country do you live in?</dt>" not in first
    assert (
        f'the same as in the <a href="#consultation-{lifecycle["second"]}">'
        "booking it was rescheduled to</a>" in first
    )


# --- Deliveries ------------------------------------------------------------------------------


def test_the_deliveries_that_touched_the_patient_are_listed_newest_first(
    consultant_client, lifecycle
):
    page = patient_page(consultant_client, lifecycle["patient"])
    deliveries = section(page, "deliveries-heading")

    rows = re.findall(
        r"<tr>\s*<td>[^<]*</td>\s*<td>([A-Z_]+)</td>\s*<td><code>(\w+)</code></td>\s*"
        r"<td>([^<]*)</td>",
        deliveries,
    )
    assert rows == [
        ("BOOKING_CANCELLED", "h3ZtW9qLs2KdF6mXv8NcRb", "processed"),
        ("BOOKING_RESCHEDULED", "h3ZtW9qLs2KdF6mXv8NcRb", "processed"),
        ("BOOKING_CREATED", "r8KqT2mWv5XbN7pLc3YdZa", "processed"),
    ]


def test_deliveries_of_other_patients_are_not_listed(consultant_client, lifecycle):
    other = fixture_json("booking_created.json")
    other["payload"]["uid"] = "someone-else"
    other["payload"]["responses"]["email"]["value"] = "someone@example.com"
    other["payload"]["responses"]["attendeePhoneNumber"]["value"] = "+905321234567"
    other["payload"]["attendees"][0].update(email="someone@example.com", phoneNumber="")
    answer = deliver(consultant_client, other)
    assert answer["patient_id"] != lifecycle["patient"]

    deliveries = section(
        patient_page(consultant_client, lifecycle["patient"]), "deliveries-heading"
    )
    assert "someone-else" not in deliveries
    others = section(patient_page(consultant_client, answer["patient_id"]), "deliveries-heading")
    assert "someone-else" in others and "r8KqT2mWv5XbN7pLc3YdZa" not in others


# --- Possible duplicates ---------------------------------------------------------------------


def test_a_possible_duplicate_is_noted_on_both_patients_pages(consultant_client):
    oliver = deliver(consultant_client, fixture_body("booking_created.json"))
    shared_phone = fixture_json("booking_created.json")
    payload = shared_phone["payload"]
    payload["uid"] = "emma-booking"
    payload["responses"]["name"]["value"] = "Emma Bennett"
    payload["responses"]["email"]["value"] = "emma.bennett@example.co.uk"
    payload["attendees"][0].update(name="Emma Bennett", email="emma.bennett@example.co.uk")
    emma = deliver(consultant_client, shared_phone)
    assert emma["patient_created"] is True
    assert emma["patient_id"] != oliver["patient_id"]

    emma_page = patient_page(consultant_client, emma["patient_id"])
    oliver_page = patient_page(consultant_client, oliver["patient_id"])

    for page, other_id, other_name in (
        (emma_page, oliver["patient_id"], "Oliver Bennett"),
        (oliver_page, emma["patient_id"], "Emma Bennett"),
    ):
        note = re.search(r'<aside class="flash flash-warning" role="note">.*?</aside>', page, re.S)
        assert note is not None
        assert "<strong>Possible duplicate.</strong>" in note.group(0)
        assert f'<a href="/patients/{other_id}">{other_name}</a>' in note.group(0)
        assert "They were kept apart" in note.group(0)


def test_a_patient_without_a_shared_phone_has_no_duplicate_note(consultant_client):
    answer = deliver(consultant_client, fixture_body("booking_created.json"))

    page = patient_page(consultant_client, answer["patient_id"])

    assert 'role="note"' not in page and "Possible duplicate" not in page


# --- Summary ---------------------------------------------------------------------------------


def upcoming_booking(start: datetime, uid: str = "upcoming-uid") -> dict:
    document = booking_document(uid, booking_id=90400)
    document["payload"]["startTime"] = start.isoformat()
    document["payload"]["endTime"] = (start + timedelta(minutes=30)).isoformat()
    return document


def summary(page: str) -> str:
    match = re.search(r'<article class="patient-summary">.*?</article>', page, re.S)
    assert match, "no summary"
    return match.group(0)


def test_the_summary_comes_first_with_the_next_consultation_in_both_zones(consultant_client):
    start = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=22, minute=30, second=0, microsecond=0
    )
    answer = deliver(consultant_client, upcoming_booking(start))
    deliver(consultant_client, fixture_body("booking_created.json"))  # in the past

    page = patient_page(consultant_client, answer["patient_id"])
    top = summary(page)

    assert page.index('class="patient-summary"') < page.index('id="notes-heading"')
    assert page.index('class="patient-summary"') < page.index('id="questionnaire-heading"')
    assert "<h1>Oliver Bennett</h1>" in top
    clinic = start.astimezone(ISTANBUL).strftime("%a %d %b %H:%M")
    theirs = start.astimezone(ZoneInfo("Europe/London")).strftime("%a %d %b %H:%M")
    assert f"<strong>{clinic}</strong></time>\n          <small>Istanbul (clinic)</small>" in top
    assert f"{theirs} <small>London (patient)</small>" in top
    assert (
        '<a class="button-link" href="https://app.cal.com/video/r8KqT2mWv5XbN7pLc3YdZa" '
        'target="_blank" rel="noopener noreferrer">Join (Cal Video)</a>' in top
    )
    assert "Europe/London" not in top


def test_a_join_link_that_is_not_http_is_never_linked(app, consultant_client):
    start = datetime.now(UTC) + timedelta(days=2)
    answer = deliver(consultant_client, upcoming_booking(start))
    with app.app_context():
        consultation = db.session.get(Consultation, answer["consultation_id"])
        consultation.meeting_url = "javascript:alert(1)"
        db.session.commit()

    top = summary(patient_page(consultant_client, answer["patient_id"]))

    assert "javascript:" not in top
    assert "Join" not in top and "Cal Video" in top


def test_without_an_upcoming_consultation_the_summary_says_so(consultant_client, lifecycle):
    top = summary(patient_page(consultant_client, lifecycle["patient"]))

    assert "No upcoming consultation." in top


def test_the_summary_formats_the_phone_with_call_and_whatsapp(consultant_client, lifecycle):
    top = summary(patient_page(consultant_client, lifecycle["patient"]))

    assert '<p class="summary-phone">+44 7700 900123</p>' in top
    assert '<a class="button-link" href="tel:+447700900123">Call</a>' in top
    assert (
        '<a class="button-link" href="https://wa.me/447700900123" target="_blank" '
        'rel="noopener noreferrer">WhatsApp</a>' in top
    )


def test_chips_show_what_a_surgeon_must_not_miss(consultant_client, lifecycle):
    answers = valid_answers(
        allergies="yes",
        allergies_details="Penicillin",
        surgeries="yes",
        surgeries_details="Appendix, 2015",
    )
    assert submit(consultant_client, FIXTURE_BOOKING_UID, answers).status_code == 302

    top = summary(patient_page(consultant_client, lifecycle["patient"]))

    chips = re.findall(
        r'<li class="chip chip-([\w-]+)" tabindex="0" title="([^"]*)">\s*<strong>([^<]*)</strong>'
        r'(?:<span class="chip-details">([^<]*)</span>)?',
        top,
    )
    assert chips == [
        (
            "blood-thinner",
            "Shown because the medications name one: Aspirin 75 mg daily",
            "Blood thinner",
            "Aspirin 75 mg daily",
        ),
        ("allergies", "Shown because allergies: yes: Penicillin", "Allergies", "Penicillin"),
        (
            "surgeries",
            "Shown because earlier surgery: yes: Appendix, 2015",
            "Earlier surgery",
            "Appendix, 2015",
        ),
    ]
    assert "chip-conditions" not in top  # answered "none"


def test_no_chips_before_the_questionnaire_or_when_all_is_none(consultant_client, lifecycle):
    assert "Not known yet: the questionnaire is not in." in summary(
        patient_page(consultant_client, lifecycle["patient"])
    )
    answers = valid_answers(medications="none", medications_details="")
    submit(consultant_client, FIXTURE_BOOKING_UID, answers)

    top = summary(patient_page(consultant_client, lifecycle["patient"]))

    assert 'class="chip' not in top
    assert "No blood thinners, allergies, earlier surgery or conditions reported." in top


def test_meeting_locations_read_in_words(consultant_client, lifecycle):
    page = patient_page(consultant_client, lifecycle["patient"])
    second = article(page, lifecycle["second"])

    assert '<p class="meeting-place">Where: Cal Video</p>' in article(page, lifecycle["first"])
    assert "<dt>Meeting location</dt><dd>Cal Video</dd>" in second
    assert "integrations:" not in page


def test_the_delivery_log_is_folded_away(consultant_client, lifecycle):
    deliveries = section(
        patient_page(consultant_client, lifecycle["patient"]), "deliveries-heading"
    )

    assert '<details class="delivery-log">' in deliveries
    assert "<summary>Delivery log (3)</summary>" in deliveries
