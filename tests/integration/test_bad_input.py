"""No input breaks anything: a corpus of hostile or broken requests, each answered with a
clear 4xx (never a 500), every authentic delivery kept, and pages that render whatever the
database holds."""

from __future__ import annotations

import http.client
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.conftest import (
    CONSULTANT_EMAIL,
    WEBHOOK_SECRET,
    csrf_token_from,
    deliver,
    fixture_body,
    fixture_json,
    log_in,
    post_delivery,
)
from webapp.cal.signature import SIGNATURE_HEADER, sign
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile, User, WebhookEvent

MIB = 1024 * 1024
JSON_ACCEPT = {"Accept": "application/json"}


# --- Helpers ---------------------------------------------------------------------------------


def fixture_text() -> str:
    return fixture_body("booking_created.json").decode()


def replaced(old: str, new: str) -> bytes:
    """The fixture booking's raw text with one piece replaced (JSON escapes kept as typed)."""
    source = fixture_text()
    assert old in source, old
    return source.replace(old, new, 1).encode()


def with_payload(**fields: Any) -> bytes:
    """The fixture booking with payload fields replaced."""
    document = fixture_json("booking_created.json")
    document["payload"].update(fields)
    return json.dumps(document).encode()


def with_envelope(**fields: Any) -> bytes:
    """The fixture booking with envelope fields replaced."""
    return json.dumps(fixture_json("booking_created.json") | fields).encode()


def nested(depth: int, leaf: str = '"x"') -> str:
    return "[" * depth + leaf + "]" * depth


def assert_error_shape(response, code: int) -> dict[str, Any]:
    """Every JSON error: ``{"error": <readable text>, "status": <the HTTP code>, ...}``."""
    assert response.status_code == code, response.get_data(as_text=True)[:500]
    answer = response.get_json()
    assert isinstance(answer, dict), response.get_data(as_text=True)[:500]
    assert isinstance(answer["error"], str) and answer["error"]
    assert answer["status"] == code
    assert "Traceback" not in response.get_data(as_text=True)
    return answer


def stored_events() -> list[WebhookEvent]:
    return list(db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- Authentic deliveries we cannot read: kept as rejected, answered 400 ---------------------

UNREADABLE = {
    # Structure the parser refuses, or that would exhaust it.
    "nested-10000-levels": (
        f'{{"triggerEvent": "BOOKING_CREATED", "payload": {nested(10_000)}}}'.encode(),
        "nests deeper than 64 levels",
    ),
    "answer-nested-900-levels": (
        replaced('"value": "41"', f'"value": {nested(900)}'),
        "nests deeper than 64 levels",
    ),
    "answer-nested-70-levels": (
        replaced('"value": "41"', f'"value": {nested(70)}'),
        "nests deeper than 64 levels",
    ),
    "integer-of-5000-digits": (
        replaced('"bookingId": 90211', '"bookingId": ' + "7" * 5000),
        "digits",
    ),
    "integer-of-21-digits": (replaced('"price": 0', '"price": -' + "9" * 21), "digits"),
    "float-beyond-double": (replaced('"price": 0', '"price": 1e400'), "too large"),
    "nan-literal": (replaced('"price": 0', '"price": NaN'), "NaN is not a JSON number"),
    "infinity-literal": (replaced('"price": 0', '"price": Infinity'), "not a JSON number"),
    "minus-infinity-literal": (replaced('"price": 0', '"price": -Infinity'), "not a JSON number"),
    "duplicate-key": (
        replaced(
            '"triggerEvent": "BOOKING_CREATED",',
            '"triggerEvent": "BOOKING_CREATED",\n  "triggerEvent": "PING",',
        ),
        "repeats a key",
    ),
    "truncated": (fixture_body("booking_created.json")[:-10], "not valid JSON"),
    "empty-body": (b"", "not valid JSON"),
    "whitespace-body": (b" \r\n\t", "not valid JSON"),
    "trailing-garbage": (fixture_body("booking_created.json") + b"}", "not valid JSON"),
    "raw-control-character-in-string": (
        replaced("Oliver Bennett", "Oliver\x01Bennett"),
        "not valid JSON",
    ),
    # Bytes that are not UTF-8 JSON.
    "invalid-utf8": (
        fixture_body("booking_created.json").replace(b"Oliver", b"Oli\xff\xfe"),
        "not UTF-8",
    ),
    "utf8-encoded-surrogate": (
        fixture_body("booking_created.json").replace(b"Oliver", b"Oli\xed\xa0\x80"),
        "not UTF-8",
    ),
    "latin1-byte": (
        fixture_body("booking_created.json").replace(b"Oliver", b"Oli\xe9er"),
        "not UTF-8",
    ),
    "utf8-bom": (b"\xef\xbb\xbf" + fixture_body("booking_created.json"), "byte order mark"),
    "utf16": (fixture_text().encode("utf-16"), "not UTF-8"),
    "utf32": (fixture_text().encode("utf-32"), "not UTF-8"),
    # Characters no database column can hold, wherever they are.
    "lone-surrogate-in-trigger": (
        replaced('"triggerEvent": "BOOKING_CREATED"', '"triggerEvent": "BOOKING_CREATED\\ud800"'),
        "unpaired surrogate",
    ),
    "lone-surrogate-in-uid": (
        replaced('"uid": "r8KqT2mWv5XbN7pLc3YdZa"', '"uid": "\\ud800"'),
        "unpaired surrogate",
    ),
    "lone-low-surrogate-in-answer": (
        replaced('"value": "41"', '"value": "4\\udfff1"'),
        "unpaired surrogate",
    ),
    "nul-in-trigger": (
        replaced('"triggerEvent": "BOOKING_CREATED"', '"triggerEvent": "BOOKING_CREATED\\u0000"'),
        "NUL character",
    ),
    "nul-in-uid": (
        replaced('"uid": "r8KqT2mWv5XbN7pLc3YdZa"', '"uid": "r8Kq\\u0000"'),
        "NUL character",
    ),
    "nul-in-answer": (replaced('"value": "41"', '"value": "4\\u00001"'), "NUL character"),
    "nul-in-name": (
        replaced('"value": "Oliver Bennett"', '"value": "Oliver\\u0000"'),
        "NUL character",
    ),
    "nul-in-a-key": (replaced('"age": {', '"a\\u0000ge": {'), "NUL character"),
    "nul-in-an-ignored-trigger": (
        replaced('"triggerEvent": "BOOKING_CREATED"', '"triggerEvent": "BOOKING_PAID"').replace(
            b'"currency": "usd"', b'"currency": "\\u0000"'
        ),
        "NUL character",
    ),
    # Times outside what a clinic books (and what a page can show).
    "created-at-overflows-utc": (
        replaced(
            '"createdAt": "2026-11-02T09:14:07.331Z"', '"createdAt": "0001-01-01T00:00:00+01:00"'
        ),
        "createdAt is outside 1970-01-01 to 2100-01-01",
    ),
    "start-time-year-9999": (
        with_payload(startTime="9999-12-31T23:00:00Z"),
        "startTime is outside 1970-01-01 to 2100-01-01",
    ),
    "start-time-overflows-utc-forwards": (
        with_payload(startTime="9999-12-31T23:59:59-23:59"),
        "startTime is outside",
    ),
    "start-time-year-1-european": (
        with_payload(startTime="0001-01-01T00:00:00+01:00"),
        "startTime is outside",
    ),
    "start-time-before-1970": (
        with_payload(startTime="1969-12-31T23:59:59Z"),
        "startTime is outside",
    ),
    "start-time-at-2100": (with_payload(startTime="2100-01-01T00:00:00Z"), "startTime is outside"),
    "end-time-year-1": (with_payload(endTime="0001-01-01T00:00:00"), "endTime is outside"),
    "reschedule-time-year-9999": (
        with_payload(rescheduleUid="old-uid", rescheduleStartTime="9999-01-01T00:00:00Z"),
        "rescheduleStartTime is outside",
    ),
    # Documents that are not a delivery, and fields of the wrong type.
    "top-level-array": (
        b"[" + fixture_body("booking_created.json") + b"]",
        "must be a JSON object",
    ),
    "top-level-string": (b'"BOOKING_CREATED"', "must be a JSON object"),
    "top-level-null": (b"null", "must be a JSON object"),
    "top-level-number": (b"42", "must be a JSON object"),
    "no-envelope": (b'{"hello": "world"}', "unknown envelope"),
    "trigger-is-a-number": (
        replaced('"triggerEvent": "BOOKING_CREATED"', '"triggerEvent": 5'),
        "unknown envelope",
    ),
    "trigger-too-long": (
        replaced('"triggerEvent": "BOOKING_CREATED"', '"triggerEvent": "' + "B" * 65 + '"'),
        "longer than 64 characters",
    ),
    "payload-is-an-array": (with_envelope(payload=[]), "payload must be a JSON object"),
    "payload-is-a-list-of-the-booking": (
        with_envelope(payload=[fixture_json("booking_created.json")["payload"]]),
        "payload must be a JSON object",
    ),
    "payload-is-a-string": (
        b'{"triggerEvent": "BOOKING_CREATED", "payload": "x"}',
        "payload must be a JSON object",
    ),
    "legacy-data-is-a-list": (b'{"type": "BOOKING_CREATED", "data": []}', "unknown envelope"),
    "start-time-is-a-number": (with_payload(startTime=5), "startTime must be an ISO-8601 time"),
    "start-time-is-an-object": (with_payload(startTime={"at": "now"}), "startTime must be"),
    "end-time-is-a-list": (with_payload(endTime=["2026-11-05T10:00:00Z"]), "endTime must be"),
    "start-time-is-not-a-time": (with_payload(startTime="soon"), "startTime is not an ISO-8601"),
    "created-at-is-a-number": (
        replaced('"createdAt": "2026-11-02T09:14:07.331Z"', '"createdAt": 1762074847'),
        "createdAt must be",
    ),
    "uid-is-an-object": (with_payload(uid={"id": "x"}), "payload has no booking uid"),
    "uid-is-true": (with_payload(uid=True), "payload has no booking uid"),
    "uid-of-100000-characters": (with_payload(uid="u" * 100_000), "longer than 100 characters"),
    "email-is-a-number": (
        replaced('"value": "Oliver.Bennett@Example.co.uk"', '"value": 5'),
        "not a valid address",
    ),
    "no-email-anywhere": (
        with_payload(attendees="x", responses={"name": {"label": "name", "value": "X"}}),
        "payload has no attendee email",
    ),
}


@pytest.mark.parametrize(("body", "problem"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_authentic_delivery_is_kept_as_rejected_and_answered_400(
    app, client, body, problem
):
    response = post_delivery(client, body)

    answer = assert_error_shape(response, 400)
    assert problem in answer["error"]
    with app.app_context():
        [event] = stored_events()
        assert event.status == "rejected"
        assert event.body == body
        assert event.error == answer["error"]
        assert answer["event_id"] == event.id
        assert answer["trigger"] == event.trigger_event
        assert (count(PatientProfile), count(Consultation)) == (0, 0)


def test_a_rejected_delivery_sent_again_gets_the_same_answer_and_is_stored_once(app, client):
    body = with_payload(startTime="9999-12-31T23:00:00Z")
    first = assert_error_shape(post_delivery(client, body), 400)

    again = assert_error_shape(post_delivery(client, body), 400)

    assert again["error"] == first["error"]
    with app.app_context():
        assert count(WebhookEvent) == 1


def test_the_rejected_row_names_what_could_be_read(app, client):
    answer = assert_error_shape(post_delivery(client, with_payload(uid="u" * 100_000)), 400)

    assert answer["trigger"] == "BOOKING_CREATED"
    with app.app_context():
        [event] = stored_events()
        assert (event.trigger_event, event.booking_uid) == ("BOOKING_CREATED", "u" * 100)


# --- Odd but readable: stored and answered, never a 500 --------------------------------------

ODD_BUT_READABLE = {
    "attendees-is-a-string": (with_payload(attendees="x"), "processed"),
    "attendees-holds-numbers": (with_payload(attendees=[5, None]), "processed"),
    "responses-is-a-string-attendee-has-email": (with_payload(responses="x"), "processed"),
    "responses-is-a-list": (with_payload(responses=[]), "processed"),
    "name-is-a-list": (
        replaced('"value": "Oliver Bennett"', '"value": [1, {"a": 2}]'),
        "processed",
    ),
    "uid-is-a-number": (with_payload(uid=5), "processed"),
    "booking-id-is-text": (with_payload(bookingId="abc"), "processed"),
    "title-is-an-object": (with_payload(title={"a": 1}), "processed"),
    "title-of-100000-characters": (with_payload(title="T" * 100_000), "processed"),
    "time-zone-is-a-path": (
        replaced('"timeZone": "Europe/London"', '"timeZone": "../../../etc/passwd"'),
        "processed",
    ),
    "time-zone-is-a-number": (
        replaced('"timeZone": "Europe/London"', '"timeZone": 5'),
        "processed",
    ),
    "answer-nested-60-levels": (replaced('"value": "41"', f'"value": {nested(60)}'), "processed"),
    "answer-of-100000-characters": (
        replaced('"value": "41"', '"value": "' + "y" * 100_000 + '"'),
        "processed",
    ),
    "other-control-characters-escaped": (
        replaced('"value": "41"', '"value": "4\\u0001\\u001f\\u007f1"'),
        "processed",
    ),
    "number-of-20-digits": (replaced('"price": 0', '"price": 18446744073709551615'), "processed"),
    "start-time-at-1970": (with_payload(startTime="1970-01-01T00:00:00Z"), "processed"),
    "start-time-with-odd-offset": (
        with_payload(startTime="2026-11-05T10:00:00-23:59"),
        "processed",
    ),
    "trigger-is-empty": (
        replaced('"triggerEvent": "BOOKING_CREATED"', '"triggerEvent": ""'),
        "ignored",
    ),
    "unknown-trigger-without-payload-fields": (b'{"triggerEvent": "X", "payload": {}}', "ignored"),
}


@pytest.mark.parametrize(("body", "status"), ODD_BUT_READABLE.values(), ids=ODD_BUT_READABLE.keys())
def test_an_odd_but_readable_delivery_is_stored_and_answered_200(app, client, body, status):
    response = post_delivery(client, body)

    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.get_json()["status"] == status
    with app.app_context():
        [event] = stored_events()
        assert (event.status, event.body) == (status, body)


def test_a_booking_id_too_big_for_its_column_keeps_the_delivery(app, client):
    response = post_delivery(client, with_payload(bookingId=2**40))

    assert response.status_code == 200
    assert response.get_json()["status"] in ("processed", "failed")
    with app.app_context():
        assert count(WebhookEvent) == 1


# --- The signature header, the body size -----------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "\xe9" * 64,
        "\x80" + "a" * 63,
        "sha256=" + "a" * 64,
        "g" * 64,
        "a" * 63,
        "a" * 65,
        "a" * 10_000,
    ],
    ids=["latin1", "byte-0x80", "prefixed", "not-hex", "short", "long", "huge"],
)
def test_a_signature_that_is_not_hex_is_401_and_nothing_is_stored(app, client, signature):
    response = post_delivery(client, fixture_body("booking_created.json"), signature=signature)

    assert "signature" in assert_error_shape(response, 401)["error"]
    with app.app_context():
        assert count(WebhookEvent) == 0


def test_a_signature_with_high_bytes_over_real_http_is_401(app, live_server):
    body = fixture_body("booking_created.json")
    connection = http.client.HTTPConnection(urlsplit(live_server).netloc, timeout=30)
    connection.putrequest("POST", "/webhooks/cal")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(len(body)))
    connection.putheader(SIGNATURE_HEADER, b"\xff\xfe" + b"a" * 62)
    connection.endheaders(body)
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()

    assert response.status == 401
    assert answer["status"] == 401
    with app.app_context():
        assert count(WebhookEvent) == 0


def padded(size: int) -> bytes:
    """The fixture booking padded with trailing spaces to exactly ``size`` bytes."""
    body = fixture_body("booking_created.json")
    return body + b" " * (size - len(body))


def post_stream(client, body: bytes):
    """Post ``body`` signed and chunked, as a WSGI server hands it on: de-chunked, with no
    Content-Length, and marked as terminated by the server."""
    return client.post(
        "/webhooks/cal",
        input_stream=io.BytesIO(body),
        headers={
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
            SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET),
        },
        environ_overrides={"wsgi.input_terminated": True},
    )


def post_chunked(base_url: str, body: bytes, chunk: int = 64 * 1024):
    """Post ``body`` signed with Transfer-Encoding: chunked to a real server."""

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]

    connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=60)
    connection.request(
        "POST",
        "/webhooks/cal",
        body=chunks(),
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET)},
        encode_chunked=True,
    )
    response = connection.getresponse()
    status, answer = response.status, json.loads(response.read())
    connection.close()
    return status, answer


def test_a_signed_body_of_exactly_one_mebibyte_is_accepted(app, client):
    assert post_delivery(client, padded(MIB)).get_json()["status"] == "processed"


@pytest.mark.parametrize("size", [MIB + 1, 2 * MIB])
def test_a_signed_body_over_one_mebibyte_with_a_content_length_is_413(app, client, size):
    assert "1 MiB" in assert_error_shape(post_delivery(client, padded(size)), 413)["error"]
    with app.app_context():
        assert count(WebhookEvent) == 0


def test_a_streamed_body_without_a_content_length_is_read_whole(app, client):
    response = post_stream(client, padded(MIB))

    assert response.status_code == 200
    assert response.get_json()["status"] == "processed"


def test_a_streamed_body_over_one_mebibyte_is_413_not_401(app, client):
    response = post_stream(client, padded(MIB + 1))

    assert "1 MiB" in assert_error_shape(response, 413)["error"]
    with app.app_context():
        assert count(WebhookEvent) == 0


def test_a_chunked_delivery_over_real_http_is_processed(app, live_server):
    status, answer = post_chunked(live_server, padded(MIB))

    assert (status, answer["status"]) == (200, "processed")


def test_a_chunked_body_over_one_mebibyte_over_real_http_is_413(app, live_server):
    status, answer = post_chunked(live_server, padded(MIB + 10))

    assert status == 413
    assert answer == {"error": "request body is larger than 1 MiB", "status": 413}
    with app.app_context():
        assert count(WebhookEvent) == 0


# --- Every JSON error has one shape ----------------------------------------------------------


def test_json_errors_share_one_shape(app, client, consultant):
    responses = {
        400: post_delivery(client, b"nope"),
        401: post_delivery(client, b"{}", secret=None),
        404: client.get("/no-such-page", headers=JSON_ACCEPT),
        405: client.get("/webhooks/cal"),
        413: post_delivery(client, padded(MIB + 1)),
    }
    for code, response in responses.items():
        answer = assert_error_shape(response, code)
        assert set(answer) >= {"error", "status"}
    assert set(responses[401].get_json()) == {"error", "status"}
    assert set(responses[400].get_json()) == {"error", "status", "event_id", "trigger", "message"}


# --- Unstorable characters in query parameters, form fields and URLs -------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"q": "\x00"},
        {"q": "Ada\x00"},
        {"q": "\x01"},
        {"q": "\x1b[31m"},
        {"tab": "past\x00"},
        {"page": "1\x00"},
        {"\x00": "1"},
    ],
    ids=["nul", "nul-after-text", "soh", "escape", "nul-in-tab", "nul-in-page", "nul-in-a-name"],
)
def test_an_unstorable_character_in_a_query_is_a_400_page(consultant_client, query):
    response = consultant_client.get("/", query_string=query)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "cannot be stored" in page
    assert "something went wrong" not in page


def test_a_nul_in_a_query_is_a_json_400_for_a_json_client(consultant_client):
    answer = assert_error_shape(consultant_client.get("/?q=%00", headers=JSON_ACCEPT), 400)

    assert "cannot be stored" in answer["error"]


def test_a_nul_in_the_poll_is_a_400(consultant_client):
    response = consultant_client.get(
        "/dashboard/updates", query_string={"cursor": "|0", "q": "a\x00"}
    )

    assert response.status_code == 400


@pytest.mark.parametrize("q", ["a\tb", "a\nb", "a\rb", "ü", "%_\\"])
def test_tabs_newlines_and_any_letter_are_fine_in_a_search(consultant_client, q):
    assert consultant_client.get("/", query_string={"q": q}).status_code == 200


def test_a_nul_in_the_login_form_is_a_400_and_logs_nobody_in(client, consultant):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))

    response = client.post(
        "/login",
        data={"email": CONSULTANT_EMAIL + "\x00", "password": "x\x00", "csrf_token": token},
    )

    assert response.status_code == 400
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("field", ["full_name", "email", "phone", "anything"])
def test_a_nul_in_a_questionnaire_field_is_a_400(app, client, field):
    deliver(client, fixture_body("booking_created.json"))
    path = "/questionnaire/r8KqT2mWv5XbN7pLc3YdZa"
    token = csrf_token_from(client.get(path).get_data(as_text=True))

    response = client.post(path, data={field: "x\x00y", "csrf_token": token})

    assert response.status_code == 400
    assert "cannot be stored" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/questionnaire/abc%00def", "/questionnaire/%01", "/patients/1%00"]
)
def test_a_nul_in_a_url_is_a_400_or_404_never_a_500(client, consultant, path):
    log_in(client)

    assert client.get(path).status_code in (400, 404)


def test_a_form_encoded_delivery_with_nul_is_still_kept_as_rejected(app, client):
    body = b"triggerEvent=BOOKING_CREATED&name=%00"
    response = client.post(
        "/webhooks/cal",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            SIGNATURE_HEADER: sign(body, WEBHOOK_SECRET),
        },
    )

    assert_error_shape(response, 400)
    with app.app_context():
        [event] = stored_events()
        assert (event.status, event.body) == ("rejected", body)


# --- Odd cursors, pages and tabs on the dashboard --------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        "9999-12-31T23:59:59-23:59|0",
        "9999-12-31T23:59:59+00:00|0",
        "0001-01-01T00:00:00+01:00|0",
        "0001-01-01T00:00:00-23:59|0",
        "2999-01-01T00:00:00+00:00|0",
        "1999-12-31T23:59:59+00:00|0",
        "2026-11-25T06:00:00+00:00|" + "9" * 5000,
        "2026-11-25T06:00:00+00:00|abc",
        "2026-11-25T06:00:00+00:00|",
        "2026-11-25T06:00:00+00:00",
        "now|0",
        "|",
    ],
)
def test_an_odd_cursor_is_a_400(consultant_client, cursor):
    response = consultant_client.get("/dashboard/updates", query_string={"cursor": cursor})

    assert response.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "|-5"},
        {"cursor": "|0", "opened": "0001-01-01T00:00:00+01:00"},
        {"cursor": "|0", "opened": "9999-12-31T23:59:59-23:59"},
        {"cursor": "|0", "opened": "garbage"},
        {"cursor": "|0", "page": "9" * 5000},
        {"cursor": "|0", "page": "-1"},
        {"cursor": "|0", "tab": "x" * 5000},
    ],
)
def test_a_poll_with_odd_parameters_is_answered(consultant_client, query):
    deliver(consultant_client, fixture_body("booking_created.json"))

    response = consultant_client.get("/dashboard/updates", query_string=query)

    assert response.status_code in (200, 204)


@pytest.mark.parametrize(
    "query",
    [
        {"page": "9" * 5000},
        {"page": "1e9"},
        {"page": "-99999999999999999999"},
        {"page": "0x10"},
        {"tab": ""},
        {"tab": "x" * 5000},
        {"tab": "upcoming", "q": "q" * 10_000},
        {"opened": "9999-12-31T23:59:59-23:59"},
    ],
)
def test_odd_pages_and_tabs_show_a_page(consultant_client, query):
    assert consultant_client.get("/", query_string=query).status_code == 200


# --- Pages show whatever the database holds --------------------------------------------------


def store_consultation(
    uid: str,
    start: datetime | None,
    *,
    status: str = "scheduled",
    answers: dict[str, Any] | None = None,
    timezone: str | None = "America/New_York",
) -> tuple[int, int]:
    """Insert a patient and consultation directly, as an old or hostile row might be."""
    user = User(email=f"{uid}@example.com", name="Stored Patient")
    patient = PatientProfile(user=user, email=f"{uid}@example.com", name="Stored Patient")
    end = None
    if start is not None and start.year < 9999:
        end = start + timedelta(minutes=15)
    consultation = Consultation(
        cal_booking_uid=uid,
        patient=patient,
        status=status,
        start_time=start,
        end_time=end,
        attendee_timezone=timezone,
        booking_answers=answers,
    )
    db.session.add_all([user, patient, consultation])
    db.session.commit()
    return patient.id, consultation.id


EXTREME_TIMES = {
    "year-9999": datetime(9999, 12, 31, 23, 0, tzinfo=UTC),
    "year-1": datetime(1, 1, 1, 0, 30, tzinfo=UTC),
}


@pytest.mark.parametrize("when", EXTREME_TIMES.values(), ids=EXTREME_TIMES.keys())
def test_an_extreme_stored_time_renders_on_every_tab_the_poll_and_the_patient_page(
    app, consultant_client, when
):
    with app.app_context():
        patient_id, consultation_id = store_consultation("uid-extreme", when)
        cancelled = store_consultation("uid-extreme-off", when, status="cancelled")[1]

    shown = []
    for tab in ("today", "upcoming", "past", "cancelled", "review"):
        for headers in ({}, {"HX-Request": "true"}):
            response = consultant_client.get("/", query_string={"tab": tab}, headers=headers)
            assert response.status_code == 200, (tab, response.status_code)
            shown.append(response.get_data(as_text=True))
    page = "\n".join(shown)
    assert f'id="consultation-{consultation_id}"' in page
    assert f'id="consultation-{cancelled}"' in page
    assert when.isoformat() in page

    poll = consultant_client.get(
        "/dashboard/updates", query_string={"cursor": "|0", "tab": "upcoming"}
    )
    assert poll.status_code == 200
    assert f'id="consultation-{consultation_id}"' in poll.get_data(as_text=True)

    patient_page = consultant_client.get(f"/patients/{patient_id}")
    assert patient_page.status_code == 200
    assert f'id="consultation-{consultation_id}"' in patient_page.get_data(as_text=True)


def test_a_time_that_overflows_in_the_readers_zone_is_shown_in_utc(app):
    from webapp.pages.filters import local_time

    assert local_time(EXTREME_TIMES["year-9999"], "Europe/Istanbul") == "Fri 31 Dec 23:00 UTC"
    assert local_time(EXTREME_TIMES["year-1"], "America/New_York", "%d %b %Y") == "01 Jan 1 UTC"
    assert local_time(EXTREME_TIMES["year-1"], "Europe/Istanbul", "%Y") == "1"


def deep(depth: int) -> Any:
    value: Any = "deepest"
    for _ in range(depth):
        value = [value]
    return value


def test_a_deeply_nested_stored_answer_renders_flattened(app, consultant_client):
    with app.app_context():
        patient_id, _ = store_consultation(
            "uid-deep",
            datetime(2026, 11, 5, 10, tzinfo=UTC),
            answers={"deep": {"label": "Deep", "value": deep(900)}},
        )

    response = consultant_client.get(f"/patients/{patient_id}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r"<dt>Deep</dt><dd>…</dd>", page)
    assert "deepest" not in page


def test_a_huge_stored_answer_and_label_render_cut_with_an_ellipsis(app, consultant_client):
    answers = {
        "k" * 5000: {"label": "L" * 100_000, "value": "v" * 100_000},
        "list": {"label": "List", "value": ["w" * 600] * 200},
        "odd": "not an answer object",
        "wrong": {"label": {"not": "text"}, "value": {"a": {"b": {"c": {"d": "e"}}}}},
    }
    with app.app_context():
        patient_id, _ = store_consultation(
            "uid-huge", datetime(2026, 11, 5, 10, tzinfo=UTC), answers=answers
        )

    response = consultant_client.get(f"/patients/{patient_id}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "L" * 199 + "…" in page and "L" * 200 not in page
    assert "v" * 999 + "…" in page and "v" * 1000 not in page
    assert len(page) < 100_000


def test_a_stored_delivery_with_an_answer_60_levels_deep_shows_on_the_patient_page(
    app, consultant_client
):
    answer = deliver(consultant_client, replaced('"value": "41"', f'"value": {nested(60)}'))

    response = consultant_client.get(f"/patients/{answer['patient_id']}")

    assert response.status_code == 200


# --- Unexpected errors are logged by their frames, never their messages ----------------------


SECRET_DETAIL = "Oliver Bennett, +447700900123"


def explode(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError(SECRET_DETAIL)


def test_an_unexpected_error_in_a_view_logs_frames_not_its_message(
    consultant_client, monkeypatch, caplog
):
    monkeypatch.setattr("webapp.dashboard.views.tab_counts", explode)

    with caplog.at_level(logging.ERROR):
        response = consultant_client.get("/")

    assert response.status_code == 500
    assert "something went wrong" in response.get_data(as_text=True)
    assert SECRET_DETAIL not in response.get_data(as_text=True)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET / failed with RuntimeError" in logged
    assert 'File "' in logged and "in explode" in logged and "in index" in logged
    assert SECRET_DETAIL not in logged
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.fresh_app
def test_an_error_outside_any_view_is_logged_the_same_way(app, client, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production, not as in testing
    calls = []

    @app.after_request
    def explode_once(response):
        calls.append(response)
        if len(calls) == 1:
            explode()
        return response

    with caplog.at_level(logging.ERROR):
        response = client.get("/login")

    assert response.status_code == 500
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /login failed with RuntimeError" in logged
    assert "in explode" in logged
    assert SECRET_DETAIL not in logged
    assert not any(record.exc_info for record in caplog.records)


def test_a_bug_while_applying_a_delivery_logs_frames_not_its_message(
    app, client, monkeypatch, caplog
):
    monkeypatch.setattr("webapp.cal.events.change_status", explode)

    with caplog.at_level(logging.ERROR):
        answer = post_delivery(client, fixture_body("booking_created.json")).get_json()

    assert answer["status"] == "failed"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"cal event {answer['event_id']}: applying failed with RuntimeError" in logged
    assert "in explode" in logged
    assert SECRET_DETAIL not in logged


# --- Connection settings belong to the app's engine ------------------------------------------


def test_connection_settings_are_the_apps_own(app):
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        else:
            assert connection.exec_driver_sql("SHOW TIME ZONE").scalar() == "UTC"

    other = create_engine("sqlite://")
    with other.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 0
    other.dispose()
