"""A small local fake of Cal.com's API v2 bookings endpoints, written from
../shared/cal-api/README.md (its examples are copied to tests/fixtures/cal_api/), served
on a thread on 127.0.0.1 for the reconcile tests."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from threading import Thread
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

FIXTURES = Path(__file__).parent / "fixtures" / "cal_api"
API_KEY = "cal_test_0123456789abcdef"
VERSION = "2024-08-13"
SORT_KEYS = {
    "sortStart": "start",
    "sortEnd": "end",
    "sortCreated": "createdAt",
    "sortUpdatedAt": "updatedAt",
}
FILTERS = {
    "afterUpdatedAt": ("updatedAt", ">="),
    "beforeUpdatedAt": ("updatedAt", "<="),
    "afterCreatedAt": ("createdAt", ">="),
    "beforeCreatedAt": ("createdAt", "<="),
    "afterStart": ("start", ">="),
    "beforeEnd": ("end", "<="),
}


def api_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def example_bookings() -> list[dict[str, Any]]:
    """The four bookings of the two example list pages."""
    return (
        api_fixture("bookings_list_page1.json")["data"]
        + api_fixture("bookings_list_page2.json")["data"]
    )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


class FakeCalApi:
    """Holds bookings and answers ``GET /v2/bookings`` and ``GET /v2/bookings/{uid}`` as
    Cal.com does: auth, version header, filters, sort, take/skip pagination, rate limits."""

    def __init__(self, bookings: list[dict[str, Any]] | None = None) -> None:
        self.bookings = {b["uid"]: b for b in copy.deepcopy(bookings or [])}
        self.requests: list[dict[str, Any]] = []
        self.throttle = 0  # how many next requests get a 429
        self.reset_seconds = 3
        self.remaining = 120
        self.url = ""
        self._routes = Map(
            [
                Rule("/v2/bookings", endpoint="list"),
                Rule("/v2/bookings/<uid>", endpoint="one"),
            ]
        )

    def put(self, booking: dict[str, Any]) -> None:
        self.bookings[booking["uid"]] = copy.deepcopy(booking)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            {"path": request.path, "params": dict(request.args), "headers": dict(request.headers)}
        )
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        adapter = self._routes.bind_to_environ(request.environ)
        endpoint, values = adapter.match()
        if self.throttle > 0:
            self.throttle -= 1
            return self._json(api_fixture("error_429.json"), 429, remaining=0)
        authorization = request.headers.get("Authorization")
        if authorization is None and endpoint == "list":
            return self._error(403, "ForbiddenException", "Forbidden resource")
        if authorization is not None and authorization != f"Bearer {API_KEY}":
            return self._json(api_fixture("error_401.json"), 401)
        if endpoint == "one":
            booking = self.bookings.get(values["uid"])
            if booking is None:
                return self._error(
                    404,
                    "NotFoundException",
                    f"Booking with uid={values['uid']} was not found in the database",
                )
            return self._json({"status": "success", "data": booking})
        return self._list(request)

    def _list(self, request: Request) -> Response:
        bookings = list(self.bookings.values())
        if request.headers.get("cal-api-version") != VERSION:
            # The 2024-04-15 controller: a different shape, still 200.
            return self._json({"status": "success", "data": {"bookings": bookings}})
        take = int(request.args.get("take", 100))
        skip = int(request.args.get("skip", 0))
        if not 1 <= take <= 250 or skip < 0:
            return self._error(400, "BadRequestException", "Bad Request Exception")
        for parameter, (key, operator) in FILTERS.items():
            if parameter in request.args:
                bound = _time(request.args[parameter])
                bookings = [
                    b
                    for b in bookings
                    if b.get(key) is not None
                    and (_time(b[key]) >= bound if operator == ">=" else _time(b[key]) <= bound)
                ]
        sort = next((SORT_KEYS[k] for k in SORT_KEYS if k in request.args), None)
        if sort is not None:
            reverse = request.args[next(k for k in SORT_KEYS if SORT_KEYS[k] == sort)] == "desc"
            bookings.sort(key=lambda b: (b.get(sort) or "", b["id"]), reverse=reverse)
        else:
            bookings.sort(key=lambda b: (b["start"], b["id"]))
        total = len(bookings)
        page = bookings[skip : skip + take]
        pages = math.ceil(total / take)
        return self._json(
            {
                "status": "success",
                "data": page,
                "pagination": {
                    "returnedItems": max(0, min(total - skip, take)),
                    "totalItems": total,
                    "itemsPerPage": take,
                    "remainingItems": max(0, total - (skip + take)),
                    "currentPage": min(max(skip // take + 1, 1), pages) if total else 0,
                    "totalPages": pages,
                    "hasNextPage": skip + take < total,
                    "hasPreviousPage": skip > 0,
                },
            }
        )

    def _error(self, status: int, code: str, message: str) -> Response:
        return self._json(
            {
                "status": "error",
                "timestamp": "2026-11-29T09:12:44.118Z",
                "path": "/v2/bookings",
                "error": {"code": code, "message": message, "details": {}},
            },
            status,
        )

    def _json(self, body: Any, status: int = 200, remaining: int | None = None) -> Response:
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        left = self.remaining if remaining is None else remaining
        response.headers["X-RateLimit-Limit-Default"] = "120"
        response.headers["X-RateLimit-Remaining-Default"] = str(left)
        response.headers["X-RateLimit-Reset-Default"] = str(self.reset_seconds)
        response.headers["X-Request-Id"] = "fake-request"
        return response


@contextmanager
def serving(fake: FakeCalApi) -> Iterator[FakeCalApi]:
    """Serve ``fake`` on a free port of 127.0.0.1; ``fake.url`` is its ``/v2`` base URL."""
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}/v2"
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(timeout=5)
