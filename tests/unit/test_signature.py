"""Cal.com's webhook signature: lowercase hex HMAC-SHA256 of the raw body bytes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.conftest import fixture_body
from webapp.cal.signature import NO_SECRET, SIGNATURE_HEADER, is_authentic, sign

SECRET = "test-webhook-secret"
BODY = fixture_body("booking_created.json")


def test_header_name_and_placeholder_are_cal_coms():
    assert SIGNATURE_HEADER == "X-Cal-Signature-256"
    assert NO_SECRET == "no-secret-provided"


def test_sign_is_lowercase_hex_hmac_sha256_of_the_raw_body():
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    signature = sign(BODY, SECRET)
    assert signature == expected
    assert len(signature) == 64
    assert signature == signature.lower()
    assert not signature.startswith("sha256=")


def test_sign_depends_on_body_and_secret():
    assert sign(BODY, SECRET) != sign(BODY, "another-secret")
    assert sign(BODY, SECRET) != sign(BODY + b" ", SECRET)


def test_correct_signature_is_authentic():
    assert is_authentic(BODY, sign(BODY, SECRET), SECRET) is True


def test_uppercase_hex_signature_is_accepted():
    assert is_authentic(BODY, sign(BODY, SECRET).upper(), SECRET) is True


def test_signature_with_surrounding_whitespace_is_accepted():
    assert is_authentic(BODY, f" {sign(BODY, SECRET)}\n", SECRET) is True


def test_signature_made_with_another_secret_is_refused():
    assert is_authentic(BODY, sign(BODY, "wrong-secret"), SECRET) is False


def test_signature_of_another_body_is_refused():
    tampered = BODY.replace(b"Oliver.Bennett@Example.co.uk", b"mallory@example.com")
    assert tampered != BODY
    assert is_authentic(tampered, sign(BODY, SECRET), SECRET) is False


@pytest.mark.parametrize("signature", [None, ""], ids=["missing-header", "empty"])
def test_missing_or_empty_signature_is_refused(signature):
    assert is_authentic(BODY, signature, SECRET) is False


def test_no_secret_provided_placeholder_is_refused():
    assert is_authentic(BODY, "no-secret-provided", SECRET) is False


def test_no_secret_provided_is_refused_even_when_it_is_the_configured_secret():
    assert is_authentic(BODY, NO_SECRET, NO_SECRET) is False


def test_without_a_configured_secret_nothing_is_authentic():
    assert is_authentic(BODY, sign(BODY, ""), "") is False


def test_garbage_signature_is_refused():
    assert is_authentic(BODY, "not-a-signature", SECRET) is False
    assert is_authentic(BODY, sign(BODY, SECRET)[:-1], SECRET) is False


def test_signature_over_reserialised_json_is_refused():
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert reserialised != BODY
    # Cal.com signs the bytes it sent; a signature computed over re-serialised JSON is not it.
    assert is_authentic(BODY, sign(reserialised, SECRET), SECRET) is False
    assert is_authentic(reserialised, sign(BODY, SECRET), SECRET) is False


@pytest.mark.parametrize(
    "signature",
    ["\xe9" * 64, "\x80" + "a" * 63, "\udcff" * 64, "ａ" * 64, "sha256=" + "a" * 57],
    ids=["latin1", "byte-0x80", "surrogate-escaped", "fullwidth", "prefixed"],
)
def test_a_signature_that_is_not_ascii_hex_is_refused_without_an_error(signature):
    assert is_authentic(BODY, signature, SECRET) is False
