"""A small client for reading bookings from Cal.com's API v2 (bookings version 2024-08-13).

It follows Cal.com's API as ../shared/cal-api/README.md describes it: the
``cal-api-version`` header on every request
(without it Cal.com silently answers in an older shape), offset pages walked until one comes
back short, and the ``X-RateLimit-*`` headers: when a window is used up, or on a 429, it
waits the ``Reset`` seconds (Cal.com sends no ``Retry-After``) and repeats the same request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

logger = logging.getLogger(__name__)

API_VERSION = "2024-08-13"
PAGE_SIZE = 100
ATTEMPTS = 6
TIMEOUT_SECONDS = 30.0
# Longest single wait for a rate-limit window; Cal.com's default block is 60 s.
MAX_WAIT_SECONDS = 300.0
RATE_LIMIT_REMAINING = "x-ratelimit-remaining-"
RATE_LIMIT_RESET = "x-ratelimit-reset-"


class CalApiError(RuntimeError):
    """Cal.com's API could not be read; the message says why, readably and without secrets."""


class CalApi:
    """Reads bookings with one API key. ``sleep`` is how it waits (tests pass their own)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._sleep = sleep or pause
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
            answer = self._get("/bookings", {**params, "take": str(page_size), "skip": str(skip)})
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
        answer = self._get(f"/bookings/{uid}", {}, missing_ok=True)
        data = answer.get("data") if answer else None
        return data if isinstance(data, dict) else None

    def _get(
        self, path: str, params: dict[str, str], *, missing_ok: bool = False
    ) -> dict[str, Any]:
        """GET ``path``; waits out rate limits and retries 5xx and network errors."""
        for attempt in range(1, ATTEMPTS + 1):
            if self._wait_before_next:
                self._wait(self._wait_before_next, "rate-limit window used up")
                self._wait_before_next = 0.0
            try:
                response = self._client.get(path, params=params)
            except httpx.TransportError as exc:
                if attempt == ATTEMPTS:
                    raise CalApiError(
                        f"cannot reach Cal.com's API at {self.base_url}: {type(exc).__name__}"
                        + (f" ({exc})" if str(exc) else "")
                    ) from None
                self._wait(_backoff(attempt), f"{type(exc).__name__}, retrying")
                continue
            if _remaining(response) == 0:
                self._wait_before_next = _reset_seconds(response) or _backoff(attempt)
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == ATTEMPTS:
                    break
                wait = _reset_seconds(response) if response.status_code == 429 else None
                self._wait_before_next = 0.0
                self._wait(wait or _backoff(attempt), f"HTTP {response.status_code}")
                continue
            if response.status_code == 404 and missing_ok:
                return {}
            if response.status_code >= 400:
                raise CalApiError(_refusal(response))
            try:
                answer = response.json()
            except ValueError:
                raise CalApiError(f"Cal.com answered {path} with something not JSON") from None
            if not isinstance(answer, dict):
                raise CalApiError(f"Cal.com answered {path} with something not a JSON object")
            return answer
        raise CalApiError(
            f"Cal.com kept answering HTTP {response.status_code} after {ATTEMPTS} attempts"
        )

    def _wait(self, seconds: float, why: str) -> None:
        seconds = min(max(seconds, 0.0), MAX_WAIT_SECONDS)
        logger.info("cal api: waiting %.1f s (%s)", seconds, why)
        self._sleep(seconds)


def pause(seconds: float) -> None:
    """Wait ``seconds`` before asking Cal.com again: how a client waits unless given ``sleep``."""
    time.sleep(seconds)


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


def _refusal(response: httpx.Response) -> str:
    """A readable sentence for a 4xx, with Cal.com's own message when it gave one."""
    message = ""
    try:
        error = response.json().get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
    except (ValueError, AttributeError):
        pass
    hint = {
        401: "the API key is wrong or expired; check CAL_API_KEY",
        403: "the API key may not read bookings; check CAL_API_KEY",
    }.get(response.status_code, "the request was refused")
    return f"Cal.com answered HTTP {response.status_code}: {hint}" + (
        f" ({message})" if message else ""
    )
