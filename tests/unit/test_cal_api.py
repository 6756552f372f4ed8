"""The API client's answers to what Cal.com can send back (shape, errors, rate limits)."""

from __future__ import annotations

import json

import httpx
import pytest

from webapp.cal.api import ACTION, API_VERSION, RECONCILE, CalApi, CalApiError, Policy


def client(
    *responses: httpx.Response, waits: list[float] | None = None, policy: Policy | None = None
):
    sent: list[httpx.Request] = []
    queue = list(responses)

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return queue.pop(0)

    api = CalApi(
        "https://cal.example/v2",
        "cal_test_key",
        policy=policy or RECONCILE,
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


# --- A consultant's action: never waits, one budget for every call --------------------------


def test_an_action_is_posted_with_its_body_the_key_and_the_version_header():
    api, sent = client(page({"uid": "a/b", "status": "accepted"}), policy=ACTION)

    answer = api.act("a/b", "cancel", {"cancellationReason": "Ill"})

    assert answer["data"]["status"] == "accepted"
    assert sent[0].method == "POST"
    assert sent[0].url.raw_path == b"/v2/bookings/a%2Fb/cancel"  # a uid is one path segment
    assert json.loads(sent[0].content) == {"cancellationReason": "Ill"}
    assert sent[0].headers["cal-api-version"] == API_VERSION
    assert sent[0].headers["Authorization"] == "Bearer cal_test_key"


def test_an_action_never_waits_for_a_rate_limit_and_says_when_it_resets():
    waits: list[float] = []
    throttled = httpx.Response(
        429,
        json={"status": "error", "error": {"message": "Too many requests."}},
        headers={"X-RateLimit-Remaining-Default": "0", "X-RateLimit-Reset-Default": "42"},
    )
    api, sent = client(throttled, waits=waits, policy=ACTION)

    with pytest.raises(CalApiError) as refused:
        api.booking("uid")

    assert (refused.value.status, refused.value.reset_seconds) == (429, 42.0)
    assert refused.value.cal_message == "Too many requests."
    assert waits == [] and len(sent) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_an_action_does_not_repeat_a_server_error(status):
    api, sent = client(httpx.Response(status), page({}), policy=ACTION)

    with pytest.raises(CalApiError) as failed:
        api.act("uid", "confirm", {})

    assert failed.value.status == status
    assert len(sent) == 1


def test_a_reconcile_run_does_not_repeat_an_action_either():
    waits: list[float] = []
    api, sent = client(httpx.Response(502), page({}), waits=waits)

    with pytest.raises(CalApiError):
        api.act("uid", "confirm", {})

    assert len(sent) == 1 and waits == []


def test_an_error_in_nest_s_own_shape_gives_cal_com_s_words():
    plain = httpx.Response(
        500, json={"statusCode": 500, "message": "Failed to update no-show status"}
    )
    api, _ = client(plain, policy=ACTION)

    with pytest.raises(CalApiError) as refused:
        api.act("uid", "mark-absent", {"host": True})

    assert refused.value.cal_message == "Failed to update no-show status"


def test_an_action_out_of_time_is_not_sent():
    api, sent = client(page({}), policy=Policy(waits=False, seconds=0.0))

    with pytest.raises(CalApiError, match="did not answer within 0 s") as late:
        api.act("uid", "confirm", {})

    assert late.value.status is None
    assert sent == []
