"""The API client's answers to what Cal.com can send back (shape, errors, rate limits)."""

from __future__ import annotations

import httpx
import pytest

from webapp.cal.api import API_VERSION, CalApi, CalApiError


def client(*responses: httpx.Response, waits: list[float] | None = None):
    sent: list[httpx.Request] = []
    queue = list(responses)

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return queue.pop(0)

    api = CalApi(
        "https://cal.example/v2",
        "cal_test_key",
        sleep=(waits if waits is not None else []).append,
        transport=httpx.MockTransport(answer),
    )
    return api, sent


def page(data, **headers) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data}, headers=headers)


def test_every_request_carries_the_version_header_and_the_key():
    api, sent = client(page([]))

    assert list(api.booking_pages({})) == [[]]
    assert sent[0].headers["cal-api-version"] == API_VERSION
    assert sent[0].headers["Authorization"] == "Bearer cal_test_key"


def test_the_older_shape_without_a_data_array_is_not_trusted():
    api, _ = client(page({"bookings": []}))

    with pytest.raises(CalApiError, match="unexpected shape"):
        list(api.booking_pages({}))


def test_a_server_error_is_retried_after_a_backoff():
    waits: list[float] = []
    api, sent = client(httpx.Response(502), page([]), waits=waits)

    assert list(api.booking_pages({})) == [[]]
    assert len(sent) == 2
    assert waits == [1.0]


def test_a_wrong_key_is_not_retried_and_reads_well():
    body = {"status": "error", "error": {"code": "UnauthorizedException", "message": "bad key"}}
    api, sent = client(httpx.Response(401, json=body))

    with pytest.raises(CalApiError, match=r"HTTP 401: the API key is wrong.*\(bad key\)"):
        list(api.booking_pages({}))
    assert len(sent) == 1


def test_custom_limit_names_are_honoured_and_the_longest_reset_is_waited():
    waits: list[float] = []
    throttled = httpx.Response(
        429,
        headers={
            "X-RateLimit-Remaining-Short": "0",
            "X-RateLimit-Reset-Short": "4",
            "X-RateLimit-Remaining-Long": "0",
            "X-RateLimit-Reset-Long": "30",
        },
    )
    api, sent = client(throttled, page([]), waits=waits)

    assert list(api.booking_pages({})) == [[]]
    assert waits == [30.0]
    assert sent[0].url == sent[1].url


def test_an_unknown_booking_is_none():
    api, _ = client(httpx.Response(404, json={"status": "error"}))

    assert api.booking("nope") is None
