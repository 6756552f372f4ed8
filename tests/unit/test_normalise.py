"""normalise_email / normalise_phone: pure functions, no database."""

from __future__ import annotations

import pytest

from webapp.patients.contact import Phone, normalise_email, normalise_phone

# --- email -------------------------------------------------------------------------------


def test_email_is_trimmed_and_lower_cased():
    assert normalise_email("  Oliver.Bennett@Example.co.uk \n") == "oliver.bennett@example.co.uk"


def test_valid_lower_case_email_is_unchanged():
    assert normalise_email("john.doe@example.com") == "john.doe@example.com"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_email_is_none(raw):
    assert normalise_email(raw) is None


@pytest.mark.parametrize(
    "raw", ["not-an-email", "a@@example.com", "@example.com", "oliver@", "oliver bennett@x.com"]
)
def test_invalid_email_is_none(raw):
    assert normalise_email(raw) is None


# --- phone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("+1-555-123-4567", "+15551234567"),
        ("+447700900123", "+447700900123"),
        ("  +44 (0)7700 900123 ", "+447700900123"),
    ],
)
def test_international_numbers_become_e164(raw, e164):
    phone = normalise_phone(raw)
    assert phone is not None
    assert phone.e164 == e164
    assert phone.raw == raw.strip()
    assert phone.stored == e164


def test_default_region_reads_a_national_number():
    assert normalise_phone("07700 900123", "GB") == Phone("07700 900123", "+447700900123")
    assert normalise_phone("555-123-4567", "US") == Phone("555-123-4567", "+15551234567")


def test_national_number_without_default_region_is_kept_as_typed():
    phone = normalise_phone("07700 900123", None)
    assert phone == Phone("07700 900123", None)
    assert phone.stored == "07700 900123"


@pytest.mark.parametrize("region", ["US", "TR", "GB"])
def test_default_region_is_ignored_for_numbers_with_plus(region):
    assert normalise_phone("+44 7700 900123", region) == Phone("+44 7700 900123", "+447700900123")
    assert normalise_phone("+1-555-123-4567", region) == Phone("+1-555-123-4567", "+15551234567")


@pytest.mark.parametrize("region", [None, "GB"])
def test_garbage_is_kept_as_typed_without_e164(region):
    phone = normalise_phone("call me", region)
    assert phone == Phone("call me", None)
    assert phone.stored == "call me"


@pytest.mark.parametrize("raw", ["+44 12", "+1 555", "+44 7700 900123 4567 8901"])
def test_impossible_number_has_no_e164(raw):
    phone = normalise_phone(raw, "GB")
    assert phone is not None
    assert phone.e164 is None
    assert phone.raw == raw
    assert phone.stored == raw


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_phone_is_none(raw):
    assert normalise_phone(raw, "GB") is None


def test_phone_stored_prefers_e164_over_the_typed_form():
    assert Phone("+44 7700 900123", "+447700900123").stored == "+447700900123"
    assert Phone("ring after 6", None).stored == "ring after 6"
