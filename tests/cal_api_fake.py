"""A small local fake of Cal.com's API v2 bookings endpoints, written from
../shared/cal-api/README.md (its examples are copied to tests/fixtures/cal_api/), served
on a thread on 127.0.0.1 for the reconcile and booking-action tests.

It reads bookings (list and one) and acts on them as Cal.com does (confirm, decline,
cancel, mark-absent, request-reschedule): the same answers, a 400 to a repeat, a 401 or
403 when the key's account may not act on a booking, the mark-absent rules. Each action
queues the delivery Cal.com's webhook sends for it; ``send_webhooks`` posts them, signed,
to the app under test.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Thread
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.conftest import SERVER_POLL_SECONDS

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


# The delivery that brings a booking in each state.
STATUS_TRIGGER = {
    "accepted": "BOOKING_CREATED",
    "pending": "BOOKING_REQUESTED",
    "cancelled": "BOOKING_CANCELLED",
    "rejected": "BOOKING_REJECTED",
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


def api_time(moment: datetime) -> str:
    """A time as Cal.com writes it: UTC with milliseconds and ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def now_api() -> str:
    """Now as Cal.com writes it."""
    return api_time(datetime.now(UTC))


def api_booking(
    uid: str,
    *,
    start: datetime,
    status: str = "accepted",
    email: str = "mateo.alvarez@example.com",
    name: str = "Mateo Alvarez",
    phone: str = "+34611222333",
    seats: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A booking of 30 minutes at ``start`` in the API's shape, after the first example:
    its booker's ``email``, ``name`` and ``phone``, or, for a seated event, one attendee
    with a seat uid for each (email, name) of ``seats``."""
    booking = copy.deepcopy(example_bookings()[0])
    created = now_api()
    booking |= {
        "uid": uid,
        "id": int(hashlib.sha256(uid.encode()).hexdigest()[:6], 16) + 1,
        "status": status,
        "start": api_time(start),
        "end": api_time(start + timedelta(minutes=30)),
        "createdAt": created,
        "updatedAt": created,
    }
    person = booking["attendees"][0]
    person["phoneNumber"] = booking["bookingFieldsResponses"]["attendeePhoneNumber"] = phone
    if seats is None:
        person |= {"email": email, "displayEmail": email, "name": name}
        booking["bookingFieldsResponses"] |= {"email": email, "displayEmail": email, "name": name}
        return booking
    answers = {k: v for k, v in booking.pop("bookingFieldsResponses").items() if k != "email"}
    booking.pop("guests", None)
    booking["description"] = None
    booking["attendees"] = [
        person
        | {
            "email": seat_email,
            "displayEmail": seat_email,
            "name": seat_name,
            "seatUid": f"seat-{index}-{uid}",
            "bookingFieldsResponses": answers | {"name": seat_name},
            "metadata": {},
        }
        for index, (seat_email, seat_name) in enumerate(seats)
    ]
    return booking


def _is_seated(booking: dict[str, Any]) -> bool:
    return any(person.get("seatUid") for person in booking.get("attendees") or [])


def delivery(
    trigger: str,
    booking: dict[str, Any],
    people: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The delivery Cal.com's webhook sends of ``trigger`` for ``booking`` (API shape),
    naming ``people`` (default: every attendee; a seat holder alone for a seat), with
    ``extra`` payload keys. Answers are rebuilt from the booking, their labels the field
    names, as Cal.com does after a confirmation; for a seated event they are the seat
    holder's, except that a seat's cancellation carries the first seat holder's."""
    people = booking["attendees"] if people is None else people
    seated = _is_seated(booking)
    if seated:
        cancelling = trigger == "BOOKING_CANCELLED" and booking["attendees"]
        first = booking["attendees"][0] if cancelling else people[0]
        answers = first.get("bookingFieldsResponses", {}) | {"email": first["email"]}
    else:
        answers = booking.get("bookingFieldsResponses") or {}
    host = booking["hosts"][0]
    payload = {
        "uid": booking["uid"],
        "bookingId": booking["id"],
        "title": booking["title"],
        "startTime": booking["start"],
        "endTime": booking["end"],
        "status": booking["status"].upper(),
        "organizer": {key: host[key] for key in ("id", "name", "email", "username", "timeZone")},
        "attendees": [
            {
                "email": person["email"],
                "name": person["name"],
                "timeZone": person["timeZone"],
                "language": {"locale": person.get("language") or "en"},
            }
            for person in people
        ],
        "responses": {
            key: {"label": key, "value": value}
            for key, value in answers.items()
            if key not in ("displayEmail", "displayGuests")
        },
        "location": booking["location"],
        "seatsPerTimeSlot": 6 if seated else None,
        "metadata": {},
        **extra,
    }
    return {"triggerEvent": trigger, "createdAt": now_api(), "payload": payload}


class FakeCalApi:
    """Holds bookings and answers Cal.com's bookings endpoints as Cal.com does: auth,
    version header, filters, sort, take/skip pagination, rate limits, and the actions.

    ``others`` holds the uids of bookings the key's account does not organize: confirm and
    decline answer 401, request-reschedule 403, marking an attendee absent 500, and the
    single read of a seated one hides its attendees. ``delay`` holds every answer that many
    seconds; ``broken`` answers the next so many requests 503."""

    def __init__(self, bookings: list[dict[str, Any]] | None = None) -> None:
        self.bookings = {b["uid"]: b for b in copy.deepcopy(bookings or [])}
        self.requests: list[dict[str, Any]] = []
        self.throttle = 0  # how many next requests get a 429
        self.reset_seconds = 3
        self.remaining = 120
        self.others: set[str] = set()
        self.delay = 0.0
        self.broken = 0
        self.url = ""
        self.webhook_url = ""
        self.webhook_secret = ""
        self.outbox: list[bytes] = []
        self._lock = threading.Lock()
        self._routes = Map(
            [
                Rule("/v2/bookings", endpoint="list", methods=["GET"]),
                Rule("/v2/bookings/<uid>", endpoint="one", methods=["GET"]),
                Rule("/v2/bookings/<uid>/<action>", endpoint="act", methods=["POST"]),
            ]
        )

    def put(self, booking: dict[str, Any]) -> None:
        self.bookings[booking["uid"]] = copy.deepcopy(booking)

    def book(self, booking: dict[str, Any]) -> None:
        """A booking made in Cal.com: kept, and the delivery of its state queued (one per
        seat holder)."""
        self.put(booking)
        trigger = STATUS_TRIGGER[booking["status"]]
        people = booking["attendees"]
        for person in people if _is_seated(booking) else [None]:
            self._send(delivery(trigger, booking, [person] if person else None))

    def patient_rebooks(self, old_uid: str, new_uid: str, start: datetime) -> None:
        """The patient follows Cal.com's reschedule link: a new booking replaces the old one,
        and its delivery (BOOKING_RESCHEDULED, naming the old uid) is queued."""
        old = self.bookings[old_uid]
        new = api_booking(
            new_uid,
            start=start,
            email=old["attendees"][0]["email"],
            name=old["attendees"][0]["name"],
        )
        new["rescheduledFromUid"] = old_uid
        old["rescheduledToUid"] = new_uid
        self.put(new)
        self._send(delivery("BOOKING_RESCHEDULED", new, rescheduleUid=old_uid))

    def send_webhooks(self) -> list[dict[str, Any]]:
        """Post every queued delivery to ``webhook_url``, signed with ``webhook_secret`` as
        Cal.com signs them; the app's JSON answers, in order."""
        answers = []
        with self._lock:
            bodies, self.outbox = self.outbox, []
        for body in bodies:
            signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
            request = urllib.request.Request(  # noqa: S310 - the app under test, on 127.0.0.1
                self.webhook_url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "X-Cal-Signature-256": signature},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    answers.append(json.loads(response.read()))
            except urllib.error.HTTPError as error:
                answers.append(json.loads(error.read()) | {"http_status": error.code})
        return answers

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_json(silent=True) if request.method == "POST" else None
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "params": dict(request.args),
                "headers": dict(request.headers),
                "body": body,
            }
        )
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            return self._answer(request, body)(environ, start_response)

    def actions(self) -> list[tuple[str, Any]]:
        """The actions asked of the fake so far: (path, JSON body) of every POST."""
        return [(r["path"], r["body"]) for r in self.requests if r["method"] == "POST"]

    def _answer(self, request: Request, body: Any) -> Response:
        adapter = self._routes.bind_to_environ(request.environ)
        endpoint, values = adapter.match()
        if self.throttle > 0:
            self.throttle -= 1
            return self._json(api_fixture("error_429.json"), 429, remaining=0)
        if self.broken > 0:
            self.broken -= 1
            return self._error(503, "ServiceUnavailableException", "Service Unavailable")
        authorization = request.headers.get("Authorization")
        if authorization is None and endpoint == "list":
            return self._error(403, "ForbiddenException", "Forbidden resource")
        if authorization is not None and authorization != f"Bearer {API_KEY}":
            return self._json(api_fixture("error_401.json"), 401)
        if endpoint == "act":
            return self._act(values["uid"], values["action"], body or {}, authorization)
        if endpoint == "one":
            booking = self.bookings.get(values["uid"])
            if booking is None:
                return self._not_found(values["uid"])
            return self._json({"status": "success", "data": self._as_shown(booking)})
        return self._list(request)

    def _as_shown(self, booking: dict[str, Any]) -> dict[str, Any]:
        """A single booking as the key's account may see it: a seated booking of another
        organizer without its attendees."""
        if booking["uid"] in self.others and _is_seated(booking):
            return booking | {"attendees": []}
        return booking

    def _not_found(self, uid: str) -> Response:
        return self._error(
            404, "NotFoundException", f"Booking with uid={uid} was not found in the database"
        )

    # --- Acting on a booking (POST /v2/bookings/{uid}/{action}) ------------------------------

    def _act(self, uid: str, action: str, body: dict[str, Any], key: str | None) -> Response:
        handler = {
            "confirm": self._confirm,
            "decline": self._decline,
            "cancel": self._cancel,
            "mark-absent": self._mark_absent,
            "request-reschedule": self._request_reschedule,
        }.get(action)
        if handler is None:
            return self._error(404, "NotFoundException", f"Cannot POST /v2/bookings/{uid}/{action}")
        if key is None and action != "cancel":
            return self._json(api_fixture("error_401.json"), 401)
        booking = self.bookings.get(uid)
        if booking is None:
            return self._not_found(uid)
        return handler(booking, body)

    def _changed(self, booking: dict[str, Any], **changes: Any) -> dict[str, Any]:
        booking |= changes | {"updatedAt": now_api()}
        return booking

    def _refused_by_trpc(self, verb: str) -> Response:
        return self._error(401, "TRPCError", f"User is not authorized to {verb} this booking")

    def _confirm(self, booking: dict[str, Any], _body: dict[str, Any]) -> Response:
        if booking["uid"] in self.others:
            return self._refused_by_trpc("confirm")
        if booking["status"] == "accepted":
            return self._error(400, "BadRequestException", "Booking already confirmed")
        self._changed(booking, status="accepted")
        self._send(delivery("BOOKING_CREATED", booking))
        return self._json({"status": "success", "data": self._as_shown(booking)})

    def _decline(self, booking: dict[str, Any], body: dict[str, Any]) -> Response:
        if booking["uid"] in self.others:
            return self._refused_by_trpc("confirm")
        if booking["status"] == "accepted":
            return self._error(400, "BadRequestException", "Booking already confirmed")
        self._changed(booking, status="rejected")
        reason = body.get("reason")
        self._send(delivery("BOOKING_REJECTED", booking, rejectionReason=reason))
        return self._json({"status": "success", "data": self._as_shown(booking)})

    def _cancel(self, booking: dict[str, Any], body: dict[str, Any]) -> Response:
        uid = booking["uid"]
        if "seatUid" in body and set(body) != {"seatUid"}:
            wrong = next(key for key in body if key != "seatUid")
            return self._error(
                400, "BadRequestException", f"{wrong} property is wrong, seatUid must be alone"
            )
        if booking["status"] in ("cancelled", "rejected"):
            return self._error(
                400,
                "BadRequestException",
                f"Can't cancel booking with uid={uid} because it has been cancelled already.",
            )
        if _time(booking["end"]) < datetime.now(UTC):
            return self._plain(400, "Cannot cancel a booking that has already ended")
        if "seatUid" in body:
            leaving = next(
                (p for p in booking["attendees"] if p.get("seatUid") == body["seatUid"]), None
            )
            if leaving is None:
                return self._plain(400, "Attendee not found")
            booking["attendees"].remove(leaving)
            self._send(delivery("BOOKING_CANCELLED", booking, [leaving], cancellationReason=None))
            return self._json({"status": "success", "data": self._as_shown(booking)})
        if _is_seated(booking) and uid in self.others:
            return self._plain(401, "User not a host of this event or an admin of the booking user")
        reason = body.get("cancellationReason") or ""
        self._changed(booking, status="cancelled", cancellationReason=reason)
        booking["cancelledByEmail"] = booking["hosts"][0]["email"]
        self._send(
            delivery(
                "BOOKING_CANCELLED", booking, cancellationReason=reason, requestReschedule=False
            )
        )
        return self._json({"status": "success", "data": self._as_shown(booking)})

    def _mark_absent(self, booking: dict[str, Any], body: dict[str, Any]) -> Response:
        marks = body.get("attendees")
        if "host" not in body and not marks:
            return self._error(400, "BadRequestException", "attendees must contain at least 1 item")
        if _time(booking["start"]) > datetime.now(UTC):
            return self._error(
                400,
                "BadRequestException",
                "Bookings can only be marked as absent after their scheduled start time.",
            )
        if marks and booking["uid"] in self.others:
            return self._plain(500, "Failed to update no-show status")
        if "host" in body:
            booking["absentHost"] = bool(body["host"])
        changed = []
        for mark in marks or []:
            person = next((p for p in booking["attendees"] if p["email"] == mark["email"]), None)
            if person is not None:  # emails not on the booking are skipped silently
                person["absent"] = bool(mark["absent"])
                changed.append({"email": person["email"], "noShow": person["absent"]})
        if changed:
            self._send(
                {
                    "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
                    "createdAt": now_api(),
                    "payload": {
                        "message": "x_marked_as_no_show",
                        "attendees": changed,
                        "bookingUid": booking["uid"],
                        "bookingId": booking["id"],
                    },
                }
            )
        return self._json({"status": "success", "data": booking})

    def _request_reschedule(self, booking: dict[str, Any], body: dict[str, Any]) -> Response:
        if booking["uid"] in self.others:
            return self._error(403, "ForbiddenException", "User isn't owner of the current booking")
        if booking["status"] in ("cancelled", "rejected"):
            return self._error(
                400,
                "BadRequestException",
                "Cannot request reschedule for cancelled or rejected booking",
            )
        reason = body.get("rescheduleReason")
        self._changed(booking, status="cancelled", cancellationReason=reason or "")
        self._send(
            delivery(
                "BOOKING_CANCELLED",
                booking,
                cancellationReason=f"Please reschedule. {reason or 'undefined'}",
                requestReschedule=True,
            )
        )
        return self._json({"status": "success"})

    def _send(self, document: dict[str, Any]) -> None:
        self.outbox.append(json.dumps(document).encode())

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

    def _plain(self, status: int, message: str) -> Response:
        """A handler's error as NestJS's base filter answers it: no Cal.com envelope."""
        return self._json({"statusCode": status, "message": message}, status)

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
    thread = Thread(target=server.serve_forever, args=(SERVER_POLL_SECONDS,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}/v2"
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(timeout=5)
