"""The patient page's summary in words: meeting places, phones, zones and surgeon alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from webapp.pages.filters import zone_place
from webapp.patients.summary import (
    MeetingPlace,
    PhoneLinks,
    meeting_place,
    next_consultation,
    phone_links,
    surgeon_alerts,
    web_link,
)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("integrations:daily", MeetingPlace("Cal Video")),
        ("INTEGRATIONS:DAILY", MeetingPlace("Cal Video")),
        ("integrations:zoom", MeetingPlace("Zoom")),
        ("integrations:google:meet", MeetingPlace("Google Meet")),
        ("integrations:office365_video", MeetingPlace("Microsoft Teams")),
        ("integrations:whereby_video", MeetingPlace("Whereby Video")),
        ("phone", MeetingPlace("Phone call")),
        ("+44 7700 900123", MeetingPlace("Phone call")),
        ("+905321234567", MeetingPlace("Phone call")),
        (
            "Clinic, Büyükdere Cd. 12, Istanbul",
            MeetingPlace("In person: Clinic, Büyükdere Cd. 12, Istanbul"),
        ),
        ("https://meet.example.com/abc", MeetingPlace("Link", "https://meet.example.com/abc")),
        ("javascript:alert(1)", MeetingPlace("In person: javascript:alert(1)")),
        ("", None),
        (None, None),
    ],
)
def test_a_meeting_location_is_said_as_a_call_a_link_or_a_place(location, expected):
    assert meeting_place(location) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://cal.daily.co/abc", "https://cal.daily.co/abc"),
        ("http://example.com/x", "http://example.com/x"),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ('https://x.example/"onclick', None),
        ("", None),
        (None, None),
    ],
)
def test_only_http_links_are_linked(url, expected):
    assert web_link(url) == expected


def test_a_phone_is_formatted_internationally_with_call_and_whatsapp_links():
    assert phone_links("+447700900123") == PhoneLinks(
        "+44 7700 900123", "tel:+447700900123", "https://wa.me/447700900123"
    )
    assert phone_links("+905321234567") == PhoneLinks(
        "+90 532 123 45 67", "tel:+905321234567", "https://wa.me/905321234567"
    )


def test_a_phone_that_does_not_parse_is_shown_as_stored_without_whatsapp():
    assert phone_links("ext. 12 (ask for Ali)") == PhoneLinks(
        "ext. 12 (ask for Ali)", "tel:12", None
    )
    assert phone_links(None) is None and phone_links("") is None


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Europe/London", "London"),
        ("America/New_York", "New York"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires"),
        ("UTC", "UTC"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_time_zone_is_said_as_its_city(name, label):
    assert zone_place(name) == label


NONE_ANSWERS = dict.fromkeys(("conditions", "medications", "allergies", "surgeries"), "none")


def chips(**answers: str) -> list[tuple[str, str]]:
    return [(a.label, a.details) for a in surgeon_alerts(NONE_ANSWERS | answers)]


def test_no_chip_when_every_answer_is_none():
    assert chips() == []
    assert surgeon_alerts(None) == []


@pytest.mark.parametrize(
    "details",
    ["Aspirin 75 mg daily", "warfarin", "ELIQUIS 5mg", "I take blood thinners", "Xarelto"],
)
def test_a_named_blood_thinner_is_its_own_chip(details):
    assert chips(medications="yes", medications_details=details) == [("Blood thinner", details)]


def test_other_medications_ask_about_blood_thinners():
    assert chips(medications="yes", medications_details="Finasteride") == [
        ("Medications", "Finasteride")
    ]
    alert = surgeon_alerts({"medications": "yes"})[0]
    assert (alert.label, alert.reason) == ("Medications", "ask about blood thinners")


def test_a_word_merely_containing_a_thinner_name_does_not_count():
    assert chips(medications="yes", medications_details="Vitamin D") == [
        ("Medications", "Vitamin D")
    ]


def test_allergies_surgery_and_conditions_show_only_when_yes():
    answers = {
        "allergies": "yes",
        "allergies_details": "Penicillin",
        "surgeries": "yes",
        "surgeries_details": "Appendix, 2015",
        "conditions": "yes",
        "conditions_details": "",
    }
    assert chips(**answers) == [
        ("Allergies", "Penicillin"),
        ("Earlier surgery", "Appendix, 2015"),
        ("Conditions", ""),
    ]
    assert chips(allergies="none", allergies_details="Penicillin") == []


def test_long_details_are_shortened_on_the_chip():
    alert = surgeon_alerts({"allergies": "yes", "allergies_details": "x" * 500})[0]
    assert len(alert.short_details) == 120 and alert.details == "x" * 500


def test_the_next_consultation_is_the_earliest_upcoming_live_one():
    now = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)

    def booking(id_: int, hours: int, status: str = "scheduled") -> SimpleNamespace:
        return SimpleNamespace(id=id_, start_time=now + timedelta(hours=hours), status=status)

    consultations = [
        booking(1, -2),
        booking(2, 30),
        booking(3, 5, "cancelled"),
        booking(4, 6, "pending"),
        booking(5, 1, "rescheduled"),
    ]
    assert next_consultation(consultations, now).id == 4
    assert next_consultation([booking(1, -2)], now) is None
