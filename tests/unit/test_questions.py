"""Custom booking questions are recognised by their words, whatever the organizer typed."""

from __future__ import annotations

import pytest

from webapp.cal.questions import LOCATION_WORDS, PHONE_WORDS, means, rank, words


@pytest.mark.parametrize(
    "identifier",
    ["Country-of-residence", "country_of_residence", "COUNTRY-OF-RESIDENCE", "countryOfResidence"],
)
def test_country_of_residence_in_any_spelling_is_a_location(identifier):
    assert means(identifier, LOCATION_WORDS)
    assert not means(identifier, PHONE_WORDS)


@pytest.mark.parametrize("identifier", ["Your-City", "your_city", "yourCity", "City"])
def test_a_city_question_is_a_location(identifier):
    assert rank(identifier, LOCATION_WORDS) == LOCATION_WORDS.index(("city",))


@pytest.mark.parametrize(
    "identifier", ["WhatsApp-number", "whatsapp_number", "Mobile-Phone", "mobile", "Phone"]
)
def test_phone_like_questions_are_phones(identifier):
    assert means(identifier, PHONE_WORDS)
    assert not means(identifier, LOCATION_WORDS)


@pytest.mark.parametrize(
    "identifier", ["location", "attendeePhoneNumber", "smsReminderNumber", "notes", "email"]
)
def test_cal_com_system_fields_never_take_a_custom_meaning(identifier):
    assert rank(identifier, PHONE_WORDS) is None
    assert rank(identifier, LOCATION_WORDS) is None


def test_words_split_at_separators_and_camel_case_and_keep_whole_parts():
    assert words("WhatsApp-number") == {"whatsapp", "whats", "app", "number"}
    assert "hotel" in words("Hotel-name") and "tel" not in words("Hotel-name")


def test_an_address_is_more_precise_than_a_country():
    assert rank("Home-address", LOCATION_WORDS) < rank("Country", LOCATION_WORDS)
