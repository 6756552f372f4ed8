"""One client for Cal.com's API v2 (bookings version 2024-08-13): reading bookings for
reconciliation, and acting on one booking for a consultant.

It follows Cal.com's API as ../shared/cal-api/README.md describes it: the
``cal-api-version`` header on every request (without it Cal.com silently answers in an
older shape), offset pages walked until one comes back short, and the ``X-RateLimit-*``
headers. How long it may wait is its ``Policy``: reconciliation (``RECONCILE``) waits out a
used-up window or a 429 for the ``Reset`` seconds (Cal.com sends no ``Retry-After``) and
retries server errors; a consultant's action (``ACTION``) never waits, has
``ACTION_SECONDS`` for all its calls together, and on a 429 says when the limit resets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)

API_VERSION = "2024-08-13"
PAGE_SIZE = 100
ATTEMPTS = 6
TIMEOUT_SECONDS = 30.0
# All the time a consultant's action may spend with Cal.com: the call and the read-back.
ACTION_SECONDS = 10.0
# Longest single wait for a rate-limit window; Cal.com's default block is 60 s.
MAX_WAIT_SECONDS = 300.0
RATE_LIMIT_REMAINING = "x-ratelimit-remaining-"
RATE_LIMIT_RESET = "x-ratelimit-reset-"


@dataclass(frozen=True)
class Policy:
    """How a caller may wait for Cal.com: ``waits`` out rate limits and retries server and
    network errors, or never waits; ``seconds`` for all its requests together (``None``:
    ``TIMEOUT_SECONDS`` for each)."""

    waits: bool
    seconds: float | None = None


RECONCILE = Policy(waits=True)
ACTION = Policy(waits=False, seconds=ACTION_SECONDS)


class CalApiError(RuntimeError):
    """Cal.com's API could not be read, or refused a request; the message says why,
    readably and without secrets.

    ``status`` is the HTTP status Cal.com answered (``None`` when it did not answer in
    time or could not be reached), ``cal_message`` Cal.com's own words, and
    ``reset_seconds`` how long until its rate limit resets (on a 429, when it said).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        cal_message: str = "",
        reset_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.cal_message = cal_message
        self.reset_seconds = reset_seconds


class CalApi:
    """Cal.com's API with one API key and one ``Policy``. ``sleep`` is how it waits (tests
    pass their own); an ``ACTION`` client's time starts when it is made."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        policy: Policy = RECONCILE,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self._sleep = sleep or pause
        self._deadline = time.monotonic() + policy.seconds if policy.seconds is not None else None
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "cal-api-version": API_VERSION,
                "Accept": "application/json",
            },
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )
        self._wait_before_next = 0.0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CalApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def booking_pages(
        self, params: dict[str, str], page_size: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of ``GET /bookings`` with ``params``, walking ``skip`` by ``page_size``
        until a page comes back short or says there is no next one.

        Raises ``CalApiError``.
        """
        page_size = page_size or PAGE_SIZE
        skip = 0
        while True:
            answer = self._request(
                "GET", "/bookings", params={**params, "take": str(page_size), "skip": str(skip)}
            )
            data = answer.get("data")
            if not isinstance(data, list):
                raise CalApiError(
                    "Cal.com answered /bookings in an unexpected shape (data is not a list); "
                    f"does it still honour cal-api-version {API_VERSION}?"
                )
            bookings = [booking for booking in data if isinstance(booking, dict)]
            yield bookings
            pagination = answer.get("pagination")
            has_next = pagination.get("hasNextPage") if isinstance(pagination, dict) else None
            if len(data) < page_size or has_next is False:
                return
            skip += page_size

    def booking(self, uid: str) -> dict[str, Any] | None:
        """One booking by uid, or ``None`` when Cal.com does not know it. Raises ``CalApiError``."""
        answer = self._request("GET", f"/bookings/{quote(uid, safe='')}", missing_ok=True)
        data = answer.get("data") if answer else None
        return data if isinstance(data, dict) else None

    def act(self, uid: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """``POST /bookings/{uid}/{action}`` with ``body`` (``confirm``, ``decline``,
        ``cancel``, ``mark-absent``, ``request-reschedule``); Cal.com's answer.

        Never repeated, whatever the policy: Cal.com refuses a second confirm or cancel.
        Raises ``CalApiError`` with Cal.com's status and message when it refuses.
        """
        return self._request(
            "POST", f"/bookings/{quote(uid, safe='')}/{action}", body=body, repeat=False
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        missing_ok: bool = False,
        repeat: bool = True,
    ) -> dict[str, Any]:
        """One request; under a waiting policy, rate limits are waited out and server and
        network errors retried (``repeat``)."""
        retries = self.policy.waits and repeat
        for attempt in range(1, ATTEMPTS + 1):
            if self._wait_before_next:
                self._wait(self._wait_before_next, "rate-limit window used up")
                self._wait_before_next = 0.0
            try:
                response = self._client.request(
                    method, path, params=params, json=body, timeout=self._timeout()
                )
            except httpx.TransportError as exc:
                if not retries or attempt == ATTEMPTS:
                    raise CalApiError(_unreachable(self.base_url, exc)) from None
                self._wait(_backoff(attempt), f"{type(exc).__name__}, retrying")
                continue
            if self.policy.waits and _remaining(response) == 0:
                self._wait_before_next = _reset_seconds(response) or _backoff(attempt)
            if response.status_code == 429 or response.status_code >= 500:
                if not retries:
                    raise _refused(response)
                if attempt == ATTEMPTS:
                    break
                wait = _reset_seconds(response) if response.status_code == 429 else None
                self._wait_before_next = 0.0
                self._wait(wait or _backoff(attempt), f"HTTP {response.status_code}")
                continue
            if response.status_code == 404 and missing_ok:
                return {}
            if response.status_code >= 400:
                raise _refused(response)
            try:
                answer = response.json()
            except ValueError:
                raise CalApiError(f"Cal.com answered {path} with something not JSON") from None
            if not isinstance(answer, dict):
                raise CalApiError(f"Cal.com answered {path} with something not a JSON object")
            return answer
        raise CalApiError(
            f"Cal.com kept answering HTTP {response.status_code} after {ATTEMPTS} attempts",
            status=response.status_code,
        )

    def _timeout(self) -> float:
        """How long the next request may take: what is left of the policy's time."""
        if self._deadline is None:
            return TIMEOUT_SECONDS
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise CalApiError(f"Cal.com did not answer within {self.policy.seconds:g} s")
        return min(left, TIMEOUT_SECONDS)

    def _wait(self, seconds: float, why: str) -> None:
        seconds = min(max(seconds, 0.0), MAX_WAIT_SECONDS)
        logger.info("cal api: waiting %.1f s (%s)", seconds, why)
        self._sleep(seconds)


def pause(seconds: float) -> None:
    """Wait ``seconds`` before asking Cal.com again: how a client waits unless given ``sleep``."""
    time.sleep(seconds)


def _unreachable(base_url: str, exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"Cal.com's API at {base_url} did not answer in time"
    return f"cannot reach Cal.com's API at {base_url}: {type(exc).__name__}" + (
        f" ({exc})" if str(exc) else ""
    )


def _header_number(response: httpx.Response, prefix: str) -> float | None:
    """The smallest (for Remaining) or largest (for Reset) value of the headers of every
    named limit (``-Default``, ``-Short``, ``-Long``...)."""
    values = []
    for name, value in response.headers.items():
        if name.lower().startswith(prefix):
            try:
                values.append(float(value))
            except ValueError:
                continue
    if not values:
        return None
    return min(values) if prefix == RATE_LIMIT_REMAINING else max(values)


def _remaining(response: httpx.Response) -> float | None:
    return _header_number(response, RATE_LIMIT_REMAINING)


def _reset_seconds(response: httpx.Response) -> float | None:
    return _header_number(response, RATE_LIMIT_RESET)


def _backoff(attempt: int) -> float:
    return float(2 ** (attempt - 1))


def _cal_message(response: httpx.Response) -> str:
    """Cal.com's own words in an error answer: its envelope's ``error.message``, or the
    ``message`` of NestJS's plain shape (``{"statusCode", "message"}``), which handler
    errors may come in; ``""`` when it gave none."""
    try:
        answer = response.json()
    except ValueError:
        return ""
    if not isinstance(answer, dict):
        return ""
    error = answer.get("error")
    message = error.get("message") if isinstance(error, dict) else answer.get("message")
    if isinstance(message, list):
        message = "; ".join(str(part) for part in message)
    return message[:500] if isinstance(message, str) else ""


def _refused(response: httpx.Response) -> CalApiError:
    """The error for an answer of 400 or more: a readable sentence with Cal.com's own
    message, its status, and when a rate limit resets."""
    status = response.status_code
    message = _cal_message(response)
    hint = {
        401: "the API key is wrong or expired, or its account may not do this; check CAL_API_KEY",
        403: "the API key's account may not do this; check CAL_API_KEY",
        429: "Cal.com's rate limit is used up",
    }.get(status, "the request was refused" if status < 500 else "Cal.com failed")
    return CalApiError(
        f"Cal.com answered HTTP {status}: {hint}" + (f" ({message})" if message else ""),
        status=status,
        cal_message=message,
        reset_seconds=_reset_seconds(response) if status == 429 else None,
    )
