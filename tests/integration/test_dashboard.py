"""The consultant's dashboard: tabs, rows, search, pages, empty state and live updates."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape

from tests.conftest import csrf_token_from, deliver, fixture_json
from webapp.dashboard.queries import filter_choices
from webapp.extensions import db
from webapp.models import Consultation, PatientProfile

ISTANBUL = ZoneInfo("Europe/Istanbul")
LONDON = ZoneInfo("Europe/London")
HTMX = {"HX-Request": "true"}
ROW_ID = re.compile(r'<tr id="consultation-(\d+)"')
TABS = ("today", "upcoming", "past", "cancelled", "review")


# --- Helpers ---------------------------------------------------------------------------------


def booking(
    uid: str,
    start: datetime,
    *,
    email: str = "Oliver.Bennett@Example.co.uk",
    name: str = "Oliver Bennett",
    phone: str = "+447700900123",
    trigger: str = "BOOKING_CREATED",
    sent: datetime | None = None,
    country: str | None = None,
    city: str | None = None,
    organizer: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The fixture booking with another uid, patient and time (and optionally trigger,
    the patient's country and city, and the consultant as ``(name, email)``)."""
    document = fixture_json("booking_created.json")
    document["triggerEvent"] = trigger
    document["createdAt"] = (sent or datetime.now(UTC)).isoformat()
    payload = document["payload"]
    payload["uid"] = uid
    payload["startTime"] = start.isoformat()
    payload["endTime"] = (start + timedelta(minutes=15)).isoformat()
    payload["responses"]["email"]["value"] = email
    payload["responses"]["name"]["value"] = name
    payload["responses"]["attendeePhoneNumber"]["value"] = phone
    payload["attendees"][0].update(email=email, name=name, phoneNumber=phone)
    if country is not None:
        payload["responses"]["country"]["value"] = country
        payload["userFieldsResponses"]["country"]["value"] = country
    if city is not None:
        payload["responses"]["city"] = {"label": "City", "value": city, "isHidden": False}
    if organizer is not None:
        payload["organizer"].update(name=organizer[0], email=organizer[1])
    if trigger == "BOOKING_CANCELLED":
        payload["status"] = "CANCELLED"
        payload["cancellationReason"] = "Decided to postpone the procedure"
    return document


def cancellation(document: dict[str, Any]) -> dict[str, Any]:
    """BOOKING_CANCELLED for the booking ``document`` created, sent a minute later."""
    payload = document["payload"]
    return booking(
        payload["uid"],
        datetime.fromisoformat(payload["startTime"]),
        email=payload["responses"]["email"]["value"],
        name=payload["responses"]["name"]["value"],
        phone=payload["responses"]["attendeePhoneNumber"]["value"],
        trigger="BOOKING_CANCELLED",
        sent=datetime.now(UTC) + timedelta(minutes=1),
    )


def row_ids(page: str) -> list[int]:
    """The consultation rows of a page or fragment, in order."""
    return [int(found) for found in ROW_ID.findall(page)]


def row(page: str, consultation_id: int) -> str:
    """The HTML of one consultation row."""
    match = re.search(rf'<tr id="consultation-{consultation_id}".*?</tr>', page, re.S)
    assert match, f"no row for consultation {consultation_id}"
    return match.group(0)


def count(page: str, tab: str) -> int:
    match = re.search(rf'<span class="count" id="count-{tab}"[^>]*>(\d+)</span>', page)
    assert match, f"no count for {tab}"
    return int(match.group(1))


def poller_url(page: str) -> str:
    """The URL the page's poller asks for changes, as the browser would request it."""
    match = re.search(r'<div id="poller"[^>]*?hx-get="([^"]+)"', page, re.S)
    assert match, "page has no poller"
    return html.unescape(match.group(1))


def cursor_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["cursor"][0]


def page_text(client, path: str, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def vary(response) -> set[str]:
    return {value.strip().lower() for value in response.headers.get("Vary", "").split(",")}


def safely_today(now: datetime) -> datetime:
    """A start time ten minutes from ``now`` that is still today in Istanbul (else before)."""
    later = now + timedelta(minutes=10)
    if later.astimezone(ISTANBUL).date() == now.astimezone(ISTANBUL).date():
        return later
    return now - timedelta(minutes=10)


@pytest.fixture
def bookings(consultant_client) -> dict[str, Any]:
    """One booking for every tab: upcoming, past, today, cancelled and a possible duplicate.

    Returns consultation ids by role, and whether today's booking is still ahead.
    """
    now = datetime.now(UTC)
    today = safely_today(now)
    client = consultant_client
    ids = {
        "upcoming": deliver(
            client,
            booking(
                "uid-upcoming",
                now + timedelta(days=2),
                email="ada.upcoming@example.com",
                name="Ada Upcoming",
                phone="+447700900201",
            ),
        )["consultation_id"],
        "past": deliver(
            client,
            booking(
                "uid-past",
                now - timedelta(days=2),
                email="pip.past@example.com",
                name="Pip Past",
                phone="+447700900202",
            ),
        )["consultation_id"],
        "today": deliver(
            client,
            booking(
                "uid-today",
                today,
                email="tia.today@example.com",
                name="Tia Today",
                phone="+447700900203",
            ),
        )["consultation_id"],
    }
    to_cancel = booking(
        "uid-cancelled",
        now + timedelta(days=3),
        email="cai.cancelled@example.com",
        name="Cai Cancelled",
        phone="+447700900204",
    )
    ids["cancelled"] = deliver(client, to_cancel)["consultation_id"]
    assert deliver(client, cancellation(to_cancel))["consultation_id"] == ids["cancelled"]
    duplicate = deliver(
        client,
        booking(
            "uid-duplicate",
            now + timedelta(days=4),
            email="dan.duplicate@example.com",
            name="Dan Duplicate",
            phone="+447700900201",  # Ada's phone, another email
        ),
    )
    assert duplicate["patient_created"] is True
    ids["duplicate"] = duplicate["consultation_id"]
    return {"ids": ids, "today_is_ahead": today > now}


# --- Full page and fragment ------------------------------------------------------------------


def test_the_dashboard_is_a_full_page_for_a_browser(consultant_client):
    response = consultant_client.get("/")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<html" in page
    assert '<form role="search"' in page and 'id="search"' in page and 'name="q"' in page
    assert '<nav id="tabs"' in page
    assert '<section id="results"' in page
    assert '<div id="poller"' in page
    assert 'hx-swap-oob="true"' not in page
    assert "hx-request" in vary(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_an_htmx_request_gets_only_the_results_and_the_tabs_out_of_band(consultant_client):
    response = consultant_client.get("/?tab=past", headers=HTMX)

    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and "<body" not in fragment
    assert '<form role="search"' not in fragment
    assert fragment.lstrip().startswith('<section id="results"')
    assert re.search(r'<nav id="tabs"[^>]*hx-swap-oob="true"', fragment)
    assert 'aria-label="Past"' in fragment
    assert '<div id="poller"' in fragment
    assert "hx-request" in vary(response)
    assert response.headers["Cache-Control"] == "no-store"


# --- Tabs ------------------------------------------------------------------------------------


def test_each_tab_lists_its_consultations_and_counts_them(consultant_client, bookings):
    ids = bookings["ids"]
    ahead = bookings["today_is_ahead"]
    expected = {
        "today": {ids["today"]},
        "upcoming": {ids["upcoming"], ids["duplicate"]} | ({ids["today"]} if ahead else set()),
        "past": {ids["past"]} | (set() if ahead else {ids["today"]}),
        "cancelled": {ids["cancelled"]},
        # Both sides of a possible duplicate need a person's eye.
        "review": {ids["duplicate"], ids["upcoming"]},
    }

    for tab in TABS:
        page = page_text(consultant_client, f"/?tab={tab}")
        assert set(row_ids(page)) == expected[tab], tab
        assert len(row_ids(page)) == len(expected[tab]), tab
        for other in TABS:
            assert count(page, other) == len(expected[other]), (tab, other)


def test_tabs_show_the_patients_by_name_and_email(consultant_client, bookings):
    upcoming = page_text(consultant_client, "/?tab=upcoming")
    past = page_text(consultant_client, "/?tab=past")
    cancelled = page_text(consultant_client, "/?tab=cancelled")
    review = page_text(consultant_client, "/?tab=review")
    today = page_text(consultant_client, "/?tab=today")

    assert "Ada Upcoming" in upcoming and "ada.upcoming@example.com" in upcoming
    assert "Cai Cancelled" not in upcoming and "Pip Past" not in upcoming
    assert "Pip Past" in past and "pip.past@example.com" in past
    assert "Ada Upcoming" not in past and "Cai Cancelled" not in past
    assert "Cai Cancelled" in cancelled and "Cancelled</span>" in cancelled
    assert "Ada Upcoming" not in cancelled
    assert "Tia Today" in today and "Ada Upcoming" not in today
    duplicate_row = row(review, bookings["ids"]["duplicate"])
    assert "Dan Duplicate" in duplicate_row and "dan.duplicate@example.com" in duplicate_row
    assert "Possible duplicate" in duplicate_row
    assert "Ada Upcoming" in review  # the patient Dan shares a phone with
    assert "Pip Past" not in review and "Cai Cancelled" not in review


def test_the_current_tab_is_marked_and_counts_are_the_same_on_every_tab(
    consultant_client, bookings
):
    page = page_text(consultant_client, "/?tab=cancelled")

    current = re.findall(r'href="/\?tab=(\w+)"[^>]*aria-current="page"', page, re.S)
    assert current == ["cancelled"]
    assert 'aria-label="Cancelled"' in page


def test_a_booking_today_in_istanbul_is_on_the_today_tab_but_not_other_days(consultant_client):
    now = datetime.now(UTC)
    today = deliver(
        consultant_client,
        booking("uid-t", safely_today(now), email="t@example.com", phone="+447700900301"),
    )
    tomorrow = deliver(
        consultant_client,
        booking("uid-n", now + timedelta(days=1, hours=1), email="n@example.com", phone=""),
    )

    page = page_text(consultant_client, "/?tab=today")

    assert row_ids(page) == [today["consultation_id"]]
    assert tomorrow["consultation_id"] not in row_ids(page)
    assert count(page, "today") == 1


# --- Rows ------------------------------------------------------------------------------------


def test_a_row_shows_both_times_the_patient_and_the_booking(consultant_client):
    start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    document = fixture_json("booking_created.json")
    document["payload"].update(
        uid="uid-row",
        startTime=start.isoformat(),
        endTime=(start + timedelta(minutes=15)).isoformat(),
    )
    consultation_id = deliver(consultant_client, document)["consultation_id"]

    shown = row(page_text(consultant_client, "/"), consultation_id)

    assert f'<time datetime="{start.isoformat()}">' in shown
    assert start.astimezone(ISTANBUL).strftime("%a %d %b %H:%M") in shown
    # The patient's time in words ("London", not "Europe/London"), the same day here.
    assert re.search(rf"{start.astimezone(LONDON).strftime('%H:%M')} London</small>", shown)
    assert "Europe/London</small>" not in shown
    assert "Oliver Bennett" in shown
    assert 'href="mailto:oliver.bennett@example.co.uk"' in shown
    assert 'href="tel:+447700900123"' in shown and ">+447700900123<" in shown
    assert '<small class="line">United Kingdom</small>' in shown
    assert '<span class="status status-scheduled">Scheduled</span>' in shown
    assert '<span class="questionnaire missing">Not yet</span>' in shown
    assert "integrations:daily" not in shown
    patient_link = re.search(r'href="/patients/(\d+)"', shown)
    assert patient_link is not None
    assert consultant_client.get(f"/patients/{patient_link.group(1)}").status_code == 200


# --- Search ----------------------------------------------------------------------------------


@pytest.fixture
def patients(consultant_client) -> dict[str, int]:
    """Three upcoming bookings of three patients; consultation ids by first name."""
    start = datetime.now(UTC) + timedelta(days=2)
    people = {
        "oliver": ("Oliver Bennett", "Oliver.Bennett@Example.co.uk", "+447700900123"),
        "ayse": ("Ayşe Demir", "ayse.demir@example.com.tr", "+905321234567"),
        "zeynep": ("Zeynep Kaya", "zeynep_kaya@example.com", "+905551112233"),
    }
    return {
        key: deliver(
            consultant_client,
            booking(
                f"uid-{key}",
                start + timedelta(hours=index),
                name=name,
                email=email,
                phone=phone,
            ),
        )["consultation_id"]
        for index, (key, (name, email, phone)) in enumerate(people.items())
    }


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("bennett", {"oliver"}),
        ("BENNETT", {"oliver"}),
        ("oLiVeR", {"oliver"}),
        ("Demir", {"ayse"}),
        ("ayşe", {"ayse"}),
        ("EXAMPLE.COM.TR", {"ayse"}),
        ("zeynep_kaya@", {"zeynep"}),
        ("example.com", {"ayse", "zeynep"}),
        ("7700900", {"oliver"}),
        ("+44 7700 900123", {"oliver"}),
        ("532 123", {"ayse"}),
        ("  kaya  ", {"zeynep"}),
    ],
)
def test_search_finds_patients_by_name_email_or_phone_ignoring_case(
    consultant_client, patients, query, who
):
    page = page_text(consultant_client, "/", query_string={"q": query})

    assert set(row_ids(page)) == {patients[key] for key in who}
    plural = "" if len(who) == 1 else "s"
    assert f"{len(who)} patient{plural} match" in page
    # A search looks in every list; the tabs still count their own bookings.
    assert count(page, "upcoming") == 3


def test_search_as_htmx_returns_the_filtered_fragment_and_keeps_the_query(
    consultant_client, patients
):
    fragment = page_text(consultant_client, "/?q=kaya&tab=upcoming", headers=HTMX)

    assert "<html" not in fragment
    assert row_ids(fragment) == [patients["zeynep"]]
    assert count(fragment, "upcoming") == 3
    # A tab leaves the search, which covers every tab already.
    assert 'href="/?tab=past"' in fragment
    assert 'aria-current="page"' not in fragment
    assert "q=kaya" in poller_url(fragment)


def test_a_search_that_matches_nothing_says_so(consultant_client, patients):
    page = page_text(consultant_client, "/", query_string={"q": "nobody-like-this"})

    assert row_ids(page) == []
    assert 'id="empty-state"' in page
    assert "No patient matches “nobody-like-this”." in page
    assert "No bookings yet" not in page
    assert count(page, "upcoming") == 3


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("%", set()),
        ("_", {"zeynep"}),
        ("p_k", {"zeynep"}),
        ("%kaya", set()),
        ("p_kaya@", {"zeynep"}),
        # Full-text query syntax (SQLite's trigram index reads a phrase) is text too.
        ('"kaya"', set()),
        ('kaya"', set()),
        ("kay*", set()),
        ("kaya OR demir", set()),
        ("NEAR(kaya demir)", set()),
        ("kaya AND", set()),
    ],
)
def test_search_treats_wildcards_and_query_syntax_literally(
    consultant_client, patients, query, who
):
    page = page_text(consultant_client, "/", query_string={"q": query})

    assert set(row_ids(page)) == {patients[key] for key in who}
    if not who:
        assert f"No patient matches “{escape(query.strip())}”." in page


def test_search_ignores_the_case_of_non_ascii_letters(consultant_client):
    start = datetime.now(UTC) + timedelta(days=2)
    consultation_id = deliver(
        consultant_client,
        booking("uid-tr", start, name="Özge Çelik", email="ozge@example.com.tr", phone=""),
    )["consultation_id"]

    for query in ("özge", "ÖZGE", "çelik", "ÇELIK"):
        page = page_text(consultant_client, "/", query_string={"q": query})
        assert row_ids(page) == [consultation_id], query


# --- Pages -----------------------------------------------------------------------------------


def thirty_patients(client, label: str) -> list[dict]:
    """Thirty new patients named ``label`` 00 to 29, booked an hour apart from tomorrow;
    the webhook's answers, in that order."""
    start = datetime.now(UTC) + timedelta(days=1)
    digits = sum(map(ord, label)) % 100  # phones of a block of their own
    return [
        deliver(
            client,
            booking(
                f"uid-{label}-{index:02d}",
                start + timedelta(hours=index),
                email=f"{label}{index:02d}@example.com",
                name=f"{label.title()} {index:02d}",
                phone=f"+44770090{digits:02d}{index:02d}",
            ),
        )
        for index in range(30)
    ]


def test_thirty_upcoming_bookings_make_two_pages(consultant_client):
    ids = [answer["consultation_id"] for answer in thirty_patients(consultant_client, "patient")]

    first = page_text(consultant_client, "/?tab=upcoming")
    assert row_ids(first) == ids[:25]  # soonest first
    assert count(first, "upcoming") == 30
    assert "Page 1 of 2 · 30 consultations" in first
    assert "Later →</a>" in first and "Older" not in first
    following = re.search(r'<a href="([^"]+)"[^>]*rel="next"', first)
    assert following is not None
    assert html.unescape(following.group(1)) == "/?tab=upcoming&page=2"
    assert 'rel="prev"' not in first

    second = page_text(consultant_client, html.unescape(following.group(1)))
    assert row_ids(second) == ids[25:]
    assert "Page 2 of 2 · 30 consultations" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "← Earlier</a>" in second

    fragment = page_text(consultant_client, "/?tab=upcoming&page=2", headers=HTMX)
    assert row_ids(fragment) == ids[25:]
    assert "page=2" in poller_url(fragment)


@pytest.mark.parametrize("page", ["0", "-3", "abc", "1.5", ""])
def test_a_nonsense_page_number_shows_the_first_page(consultant_client, page):
    start = datetime.now(UTC) + timedelta(days=1)
    consultation_id = deliver(consultant_client, booking("uid-p", start))["consultation_id"]

    shown = page_text(consultant_client, "/", query_string={"page": page})

    assert row_ids(shown) == [consultation_id]


def test_a_page_past_the_end_is_empty_not_an_error(consultant_client):
    deliver(consultant_client, booking("uid-p", datetime.now(UTC) + timedelta(days=1)))

    shown = page_text(consultant_client, "/?page=7")

    assert row_ids(shown) == []
    assert "Nothing in “Upcoming” right now." in shown


def test_a_huge_page_number_is_not_a_server_error(consultant_client):
    deliver(consultant_client, booking("uid-p", datetime.now(UTC) + timedelta(days=1)))

    response = consultant_client.get("/?page=99999999999999999999")

    assert response.status_code in (200, 400, 404)
    assert "something went wrong" not in response.get_data(as_text=True)


def test_an_unknown_tab_falls_back_to_upcoming(consultant_client):
    now = datetime.now(UTC)
    upcoming = deliver(consultant_client, booking("uid-u", now + timedelta(days=2)))
    deliver(
        consultant_client,
        booking("uid-old", now - timedelta(days=2), email="old@example.com", phone=""),
    )

    page = page_text(consultant_client, "/?tab=../../etc<b>")

    assert row_ids(page) == [upcoming["consultation_id"]]
    assert re.findall(r'href="/\?tab=(\w+)"[^>]*aria-current="page"', page, re.S) == ["upcoming"]
    assert 'aria-label="Upcoming"' in page
    assert "tab=upcoming" in poller_url(page)
    assert "<b>" not in page


# --- Empty state -----------------------------------------------------------------------------


def test_an_empty_database_explains_how_to_connect_cal_com(consultant_client):
    page = page_text(consultant_client, "/")

    assert row_ids(page) == []
    assert "No bookings yet." in page
    assert "<code>http://localhost/webhooks/cal</code>" in page
    assert all(count(page, tab) == 0 for tab in TABS)


def test_an_empty_tab_is_not_mistaken_for_an_empty_database(consultant_client):
    deliver(consultant_client, booking("uid-u", datetime.now(UTC) + timedelta(days=2)))

    page = page_text(consultant_client, "/?tab=cancelled")

    assert "Nothing in “Cancelled” right now." in page
    assert "No bookings yet" not in page and "/webhooks/cal" not in page


# --- Live updates ----------------------------------------------------------------------------


def poll(client, url: str):
    return client.get(url, headers=HTMX | {"HX-Current-URL": "http://localhost/"})


def test_an_idle_poll_on_an_empty_database_answers_204(consultant_client):
    url = poller_url(page_text(consultant_client, "/"))

    response = poll(consultant_client, url)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert "hx-request" in vary(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_an_idle_poll_with_bookings_answers_204_again_and_again(consultant_client):
    deliver(consultant_client, booking("uid-u", datetime.now(UTC) + timedelta(days=2)))
    url = poller_url(page_text(consultant_client, "/"))
    assert cursor_of(url).endswith("|1")

    for _ in range(3):
        response = poll(consultant_client, url)
        assert response.status_code == 204
        assert response.get_data() == b""


def test_a_new_booking_arrives_as_a_new_row_with_counts_and_a_new_cursor(consultant_client):
    now = datetime.now(UTC)
    old = deliver(
        consultant_client,
        booking("uid-old", now + timedelta(days=3), email="old@example.com", phone=""),
    )
    page = page_text(consultant_client, "/?tab=upcoming")
    url = poller_url(page)
    assert poll(consultant_client, url).status_code == 204

    new = deliver(
        consultant_client,
        booking("uid-new", now + timedelta(days=2), email="new@example.com", name="Nia New"),
    )
    response = poll(consultant_client, url)

    assert response.status_code == 200
    update = response.get_data(as_text=True)
    assert "<html" not in update
    added = row(update, new["consultation_id"])
    assert 'hx-swap-oob="outerHTML"' in added
    assert 'data-belongs="true"' in added
    assert re.search(r'class="[^"]*\bis-new\b', added)
    assert '<mark class="badge-new">New</mark>' in added
    assert "Nia New" in added and "new@example.com" in added
    # A booking the page already showed may come along, but is not new.
    if old["consultation_id"] in row_ids(update):
        unchanged = row(update, old["consultation_id"])
        assert "is-new" not in unchanged and "badge-new" not in unchanged
    assert re.search(r'id="count-upcoming" hx-swap-oob="true">2</span>', update)
    assert re.search(r'id="count-today" hx-swap-oob="true">0</span>', update)
    assert 'id="results"' not in update
    new_url = poller_url(update)
    assert re.search(r'<div id="poller"[^>]*hx-swap-oob="true"', update, re.S)
    assert cursor_of(new_url) != cursor_of(url)
    assert parse_qs(urlsplit(new_url).query)["tab"] == ["upcoming"]
    assert "hx-request" in vary(response)
    assert response.headers["Cache-Control"] == "no-store"

    again = poll(consultant_client, new_url)
    assert again.status_code == 204
    assert again.get_data() == b""


def test_the_first_booking_reaches_a_dashboard_opened_on_an_empty_database(consultant_client):
    url = poller_url(page_text(consultant_client, "/"))

    new = deliver(consultant_client, booking("uid-1", datetime.now(UTC) + timedelta(days=2)))
    response = poll(consultant_client, url)

    assert response.status_code == 200
    added = row(response.get_data(as_text=True), new["consultation_id"])
    assert 'data-belongs="true"' in added and "is-new" in added
    assert poll(consultant_client, poller_url(response.get_data(as_text=True))).status_code == 204


def test_a_booking_for_another_tab_comes_with_data_belongs_false(consultant_client):
    now = datetime.now(UTC)
    url = poller_url(page_text(consultant_client, "/?tab=upcoming"))

    past = deliver(
        consultant_client,
        booking("uid-past", now - timedelta(days=2), email="p@example.com", phone=""),
    )
    update = poll(consultant_client, url).get_data(as_text=True)

    assert 'data-belongs="false"' in row(update, past["consultation_id"])
    assert re.search(r'id="count-past" hx-swap-oob="true">1</span>', update)
    assert re.search(r'id="count-upcoming" hx-swap-oob="true">0</span>', update)


def test_a_cancellation_changes_the_shown_row_in_place(consultant_client):
    document = booking("uid-c", datetime.now(UTC) + timedelta(days=2), name="Cem Cancel")
    consultation_id = deliver(consultant_client, document)["consultation_id"]
    page = page_text(consultant_client, "/?tab=upcoming")
    assert row_ids(page) == [consultation_id]
    url = poller_url(page)

    deliver(consultant_client, cancellation(document))
    response = poll(consultant_client, url)

    assert response.status_code == 200
    update = response.get_data(as_text=True)
    changed = row(update, consultation_id)
    assert 'hx-swap-oob="outerHTML"' in changed
    assert 'data-belongs="false"' in changed
    assert '<span class="status status-cancelled">Cancelled</span>' in changed
    assert "is-new" not in changed and "badge-new" not in changed
    assert "Cem Cancel" in changed
    assert row_ids(update) == [consultation_id]
    assert re.search(r'id="count-upcoming" hx-swap-oob="true">0</span>', update)
    assert re.search(r'id="count-cancelled" hx-swap-oob="true">1</span>', update)
    assert poll(consultant_client, poller_url(update)).status_code == 204


def test_changes_on_the_cancelled_tab_belong_there(consultant_client):
    document = booking("uid-c", datetime.now(UTC) + timedelta(days=2))
    consultation_id = deliver(consultant_client, document)["consultation_id"]
    url = poller_url(page_text(consultant_client, "/?tab=cancelled"))

    deliver(consultant_client, cancellation(document))
    update = poll(consultant_client, url).get_data(as_text=True)

    assert 'data-belongs="true"' in row(update, consultation_id)


def test_only_the_first_page_takes_in_new_bookings(consultant_client):
    url = poller_url(page_text(consultant_client, "/?tab=upcoming&page=2"))
    assert parse_qs(urlsplit(url).query)["page"] == ["2"]

    new = deliver(consultant_client, booking("uid-n", datetime.now(UTC) + timedelta(days=2)))
    update = poll(consultant_client, url).get_data(as_text=True)

    assert 'data-belongs="false"' in row(update, new["consultation_id"])
    assert re.search(r'id="count-upcoming" hx-swap-oob="true">1</span>', update)


def test_a_poll_keeps_to_the_search_it_was_opened_with(consultant_client):
    start = datetime.now(UTC) + timedelta(days=2)
    url = poller_url(page_text(consultant_client, "/?q=kaya"))
    assert parse_qs(urlsplit(url).query)["q"] == ["kaya"]

    other = deliver(consultant_client, booking("uid-o", start))
    kaya = deliver(
        consultant_client,
        booking("uid-k", start, name="Zeynep Kaya", email="zk@example.com", phone=""),
    )
    update = poll(consultant_client, url).get_data(as_text=True)

    assert 'data-belongs="true"' in row(update, kaya["consultation_id"])
    assert 'data-belongs="false"' in row(update, other["consultation_id"])
    assert re.search(r'id="count-upcoming" hx-swap-oob="true">2</span>', update)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?cursor=",
        "?cursor=garbage",
        "?cursor=x%7Cy",
        "?cursor=%7Cabc",
        "?cursor=2026-13-45T00:00:00%2B00:00%7C1",
        "?cursor=2026-11-25T06:00:00%7C0",  # no time zone: never one of ours
        "?cursor=0001-01-01T00:00:00%2B00:00%7C0",
    ],
)
def test_a_missing_or_garbled_cursor_is_a_bad_request(consultant_client, query):
    deliver(consultant_client, booking("uid-u", datetime.now(UTC) + timedelta(days=2)))

    response = poll(consultant_client, f"/dashboard/updates{query}")

    assert response.status_code == 400, response.status_code


def test_a_poll_when_logged_out_is_sent_to_login_with_hx_redirect(consultant_client):
    page = page_text(consultant_client, "/?tab=past")
    url = poller_url(page)
    consultant_client.post("/logout", data={"csrf_token": csrf_token_from(page)})

    response = consultant_client.get(
        url, headers=HTMX | {"HX-Current-URL": "http://localhost/?tab=past"}
    )

    assert response.status_code == 401
    target = urlsplit(response.headers["HX-Redirect"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/?tab=past"]
    assert response.get_data() == b""


# --- Escaping --------------------------------------------------------------------------------


def test_a_patient_name_with_markup_is_escaped_everywhere(consultant_client):
    evil = "<script>alert(1)</script>"
    url = poller_url(page_text(consultant_client, "/"))
    answer = deliver(
        consultant_client,
        booking("uid-xss", datetime.now(UTC) + timedelta(days=2), name=f"Mal {evil}"),
    )
    escaped = "Mal &lt;script&gt;alert(1)&lt;/script&gt;"

    dashboard = page_text(consultant_client, "/")
    fragment = page_text(consultant_client, "/", headers=HTMX)
    update = poll(consultant_client, url).get_data(as_text=True)
    patient = page_text(consultant_client, f"/patients/{answer['patient_id']}")

    for shown in (dashboard, fragment, update, patient):
        assert escaped in shown
        assert "<script>alert" not in shown
    assert f"<title>{escaped} · Clinic bookings</title>" in patient
    assert f"<h1>{escaped}</h1>" in patient


def test_a_search_with_markup_is_escaped_in_the_empty_message(consultant_client):
    deliver(consultant_client, booking("uid-u", datetime.now(UTC) + timedelta(days=2)))

    page = page_text(consultant_client, "/", query_string={"q": '"><script>alert(2)</script>'})

    assert "<script>alert(2)" not in page
    assert "matches “&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;”" in page


def test_past_pages_lead_to_earlier_bookings(consultant_client):
    start = datetime.now(UTC) - timedelta(days=1)
    for index in range(26):
        deliver(
            consultant_client,
            booking(
                f"uid-past-{index:02d}",
                start - timedelta(hours=index),
                email=f"past{index:02d}@example.com",
                phone="",
            ),
        )

    first = page_text(consultant_client, "/?tab=past")
    second = page_text(consultant_client, "/?tab=past&page=2")

    assert "Earlier →</a>" in first
    assert "← Later</a>" in second


# --- Actions on a booking ---------------------------------------------------------------------


def outcome_form(page: str, consultation_id: int) -> str | None:
    """Where the row's mark-completed/no-show form posts, when it has one."""
    match = re.search(r'<form method="post" action="([^"]+)"', row(page, consultation_id))
    return html.unescape(match.group(1)) if match else None


def test_a_row_offers_join_call_whatsapp_and_the_signed_questionnaire_link(app, consultant_client):
    answer = deliver(consultant_client, booking("uid-a", datetime.now(UTC) + timedelta(days=1)))
    shown = row(page_text(consultant_client, "/"), answer["consultation_id"])

    join = re.search(r'<a class="action join" href="([^"]+)"([^>]*)>Join</a>', shown)
    assert join is not None
    assert join.group(1) == "https://app.cal.com/video/r8KqT2mWv5XbN7pLc3YdZa"
    assert 'target="_blank"' in join.group(2) and 'rel="noopener noreferrer"' in join.group(2)
    assert 'href="tel:+447700900123" aria-label="Call Oliver Bennett"' in shown
    assert 'href="https://wa.me/447700900123"' in shown
    copy = re.search(r'<a class="action copy" href="([^"]+)" data-copy', shown)
    assert copy is not None
    link = urlsplit(html.unescape(copy.group(1)))
    token = link.path.removeprefix("/questionnaire/")
    assert "." in token  # a signed link, not the booking uid
    with app.test_request_context():
        from webapp.questionnaire.links import resolve_access

        access = resolve_access(token)
        assert access.signed and access.patient.id == answer["patient_id"]
    assert consultant_client.get(link.path).status_code == 200
    assert outcome_form(page_text(consultant_client, "/"), answer["consultation_id"]) is None


def test_a_phone_only_patient_has_call_and_whatsapp_but_no_email(consultant_client):
    document = fixture_json("booking_created_phone_only.json")
    document["payload"]["startTime"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    document["payload"]["endTime"] = (datetime.now(UTC) + timedelta(days=1, minutes=15)).isoformat()
    answer = deliver(consultant_client, document)

    shown = row(page_text(consultant_client, "/"), answer["consultation_id"])

    assert "mailto:" not in shown and "sms.cal.com" not in shown
    contact = re.search(r'<td class="contact">(.*?)</td>', shown, re.S)
    assert contact is not None and 'href="tel:+' in contact.group(1)
    assert 'href="https://wa.me/' in shown


def past_booking(client, uid: str = "uid-past", hours_ago: int = 2) -> dict[str, Any]:
    """A booking that started ``hours_ago`` and that Cal.com still has as scheduled."""
    document = booking(uid, datetime.now(UTC) - timedelta(hours=hours_ago))
    return deliver(client, document) | {"document": document}


def audit_rows(app) -> list[Any]:
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import AuditEvent

    with app.app_context():
        return [
            (event.action, event.consultant_id, event.patient_profile_id, event.details)
            for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def status_of(app, consultation_id: int) -> str:
    from webapp.extensions import db
    from webapp.models import Consultation

    with app.app_context():
        return db.session.get(Consultation, consultation_id).status


@pytest.mark.parametrize(("outcome", "shown"), [("completed", "Completed"), ("no_show", "No show")])
def test_a_past_booking_is_marked_by_htmx_and_the_change_is_audited(
    app, consultant_client, consultant, outcome, shown
):
    answer = past_booking(consultant_client)
    page = page_text(consultant_client, "/?tab=past")
    action = outcome_form(page, answer["consultation_id"])
    assert action == f"/consultations/{answer['consultation_id']}/outcome"
    assert 'name="outcome" value="completed"' in row(page, answer["consultation_id"])

    response = consultant_client.post(
        action, data={"outcome": outcome}, headers=HTMX | {"X-CSRFToken": csrf_token_from(page)}
    )

    assert response.status_code == 200
    changed = response.get_data(as_text=True)
    assert changed.lstrip().startswith(f'<tr id="consultation-{answer["consultation_id"]}"')
    assert f'<span class="status status-{outcome}">{shown}</span>' in changed
    assert "<form" not in changed  # marked once; not offered again
    assert status_of(app, answer["consultation_id"]) == outcome
    assert audit_rows(app) == [
        (
            "consultation.status_changed",
            consultant,
            answer["patient_id"],
            {"consultation_id": answer["consultation_id"], "from": "scheduled", "to": outcome},
        )
    ]


def test_the_plain_form_marks_a_booking_and_comes_back_to_the_dashboard(app, consultant_client):
    answer = past_booking(consultant_client)
    page = page_text(consultant_client, "/?tab=past")

    response = consultant_client.post(
        outcome_form(page, answer["consultation_id"]),
        data={"outcome": "completed", "csrf_token": csrf_token_from(page)},
    )

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    assert status_of(app, answer["consultation_id"]) == "completed"


def test_marking_without_the_csrf_token_is_refused(app, consultant_client):
    answer = past_booking(consultant_client)

    response = consultant_client.post(
        f"/consultations/{answer['consultation_id']}/outcome",
        data={"outcome": "no_show"},
        headers=HTMX,
    )

    assert response.status_code == 400
    assert status_of(app, answer["consultation_id"]) == "scheduled"
    assert audit_rows(app) == []


def test_marking_needs_a_login(app, client):
    answer = past_booking(client)

    response = client.post(
        f"/consultations/{answer['consultation_id']}/outcome", data={"outcome": "completed"}
    )

    assert response.status_code in (302, 400)  # to the login page, or refused for CSRF
    assert status_of(app, answer["consultation_id"]) == "scheduled"
    assert audit_rows(app) == []


def test_marking_needs_a_login_even_with_a_csrf_token(app, consultant_client):
    answer = past_booking(consultant_client)
    page = page_text(consultant_client, "/")
    token = csrf_token_from(page)
    consultant_client.post("/logout", data={"csrf_token": token})

    response = consultant_client.post(
        f"/consultations/{answer['consultation_id']}/outcome",
        data={"outcome": "completed", "csrf_token": token},
    )

    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert urlsplit(response.headers["Location"]).path == "/login"
    assert status_of(app, answer["consultation_id"]) == "scheduled"


@pytest.mark.parametrize(
    ("when", "outcome", "expected"),
    [
        ("future", "completed", 409),  # not started yet
        ("cancelled", "no_show", 409),  # Cal.com called it off
        ("past", "cancelled", 400),  # not an outcome a consultant marks
        ("past", "", 400),
    ],
)
def test_only_a_past_scheduled_booking_can_be_marked(
    app, consultant_client, when, outcome, expected
):
    start = datetime.now(UTC) + (timedelta(days=1) if when == "future" else -timedelta(hours=2))
    document = booking("uid-m", start)
    consultation_id = deliver(consultant_client, document)["consultation_id"]
    if when == "cancelled":
        deliver(consultant_client, cancellation(document))
    before = status_of(app, consultation_id)
    token = csrf_token_from(page_text(consultant_client, "/"))

    response = consultant_client.post(
        f"/consultations/{consultation_id}/outcome",
        data={"outcome": outcome},
        headers=HTMX | {"X-CSRFToken": token},
    )

    assert response.status_code == expected
    if expected == 409:  # the row again, saying why
        assert "Only a past booking that is still scheduled can be marked." in response.text
    assert status_of(app, consultation_id) == before
    assert audit_rows(app) == []
    assert (
        consultant_client.post(
            "/consultations/999999/outcome",
            data={"outcome": "completed"},
            headers={"X-CSRFToken": token},
        ).status_code
        == 404
    )


def no_show_update(uid: str, marked: bool, sent: datetime) -> dict[str, Any]:
    """BOOKING_NO_SHOW_UPDATED for the fixture's attendee, sent at ``sent``."""
    return {
        "triggerEvent": "BOOKING_NO_SHOW_UPDATED",
        "createdAt": sent.isoformat(),
        "payload": {
            "bookingUid": uid,
            "bookingId": 90211,
            "message": "x_marked_as_no_show" if marked else "x_unmarked_as_no_show",
            "attendees": [{"email": "Oliver.Bennett@Example.co.uk", "noShow": marked}],
        },
    }


def mark(client, consultation_id: int, outcome: str) -> None:
    token = csrf_token_from(page_text(client, "/"))
    response = client.post(
        f"/consultations/{consultation_id}/outcome",
        data={"outcome": outcome},
        headers=HTMX | {"X-CSRFToken": token},
    )
    assert response.status_code == 200


def test_a_later_cal_com_unmark_after_a_marked_no_show_makes_it_completed(app, consultant_client):
    answer = past_booking(consultant_client)
    mark(consultant_client, answer["consultation_id"], "no_show")

    later = datetime.now(UTC) + timedelta(minutes=5)
    deliver(consultant_client, no_show_update("uid-past", False, later))

    assert status_of(app, answer["consultation_id"]) == "completed"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [(timedelta(minutes=5), "completed"), (-timedelta(minutes=30), "no_show")],
)
def test_meeting_ended_after_a_marked_no_show_follows_the_lifecycle_rules(
    app, consultant_client, sent, expected
):
    answer = past_booking(consultant_client)
    mark(consultant_client, answer["consultation_id"], "no_show")
    ended = answer["document"] | {"triggerEvent": "MEETING_ENDED"}
    ended["createdAt"] = (datetime.now(UTC) + sent).isoformat()

    deliver(consultant_client, ended)

    # A later event of the same class wins; an older one changes nothing.
    assert status_of(app, answer["consultation_id"]) == expected


def test_a_later_cancellation_still_wins_over_a_marked_completion(app, consultant_client):
    answer = past_booking(consultant_client)
    mark(consultant_client, answer["consultation_id"], "completed")

    deliver(consultant_client, cancellation(answer["document"]))

    assert status_of(app, answer["consultation_id"]) == "cancelled"


# --- Search across every tab, folded ----------------------------------------------------------


def patient_groups(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tbody id="patient-group-(\d+)"', page)]


@pytest.fixture
def international(consultant_client) -> dict[str, int]:
    """Upcoming bookings of patients whose names need folding; patient ids by key."""
    start = datetime.now(UTC) + timedelta(days=2)
    people = {
        "muller": ("Hans Müller", "+491701234567", "Germany", "München"),
        "ozge": ("Özge Çelik", "+905321234567", "Turkey", "İstanbul"),
        "sergul": ("Sergül Aydın", "+905321234568", "Turkey", "Ankara"),
        "gross": ("Anna Großmann", "+436641234567", "Austria", "Wien"),
        "isik": ("IŞIK Yılmaz", "+905321234569", "Turkey", "Izmir"),
        "bjorn": ("Bjørn Sæther", "+4791234567", "Norway", "Tromsø"),
        "oliver": ("Oliver Bennett", "+447700900123", "United Kingdom", "Leeds"),
    }
    return {
        key: deliver(
            consultant_client,
            booking(
                f"uid-{key}",
                start + timedelta(hours=index),
                name=name,
                email=f"{key}@example.com",
                phone=phone,
                country=country,
                city=city,
            ),
        )["patient_id"]
        for index, (key, (name, phone, country, city)) in enumerate(people.items())
    }


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("muller", {"muller"}),
        ("MÜLLER", {"muller"}),
        ("Mueller", set()),  # folding drops accents; it does not spell them out
        ("ozge", {"ozge"}),
        ("ÖZGE çelik", {"ozge"}),
        ("sergul", {"sergul"}),
        ("aydin", {"sergul"}),
        ("grossmann", {"gross"}),
        ("großmann", {"gross"}),
        ("isik", {"isik"}),
        ("ışık", {"isik"}),
        ("yilmaz", {"isik"}),
        ("bjorn saether", {"bjorn"}),
        ("leeds", {"oliver"}),  # city
        ("istanbul", {"ozge"}),  # İstanbul, folded
        ("tromso", {"bjorn"}),
        ("turkey", {"ozge", "sergul", "isik"}),  # country
        ("united kingdom", {"oliver"}),
        ("muenchen", set()),
    ],
)
def test_search_folds_accents_and_case_and_looks_in_city_and_country(
    consultant_client, international, query, who
):
    page = page_text(consultant_client, "/", query_string={"q": query})

    assert set(patient_groups(page)) == {international[key] for key in who}


def test_search_reads_a_local_phone_number_in_the_clinic_region(app, consultant_client):
    answer = deliver(consultant_client, booking("uid-p", datetime.now(UTC) + timedelta(days=1)))
    app.config["PHONE_DEFAULT_REGION"] = "GB"

    for query in ("07700 900123", "07700900123", "+44 7700 900123", "447700900123"):
        page = page_text(consultant_client, "/", query_string={"q": query})
        assert patient_groups(page) == [answer["patient_id"]], query

    app.config["PHONE_DEFAULT_REGION"] = None
    assert patient_groups(page_text(consultant_client, "/?q=07700+900123")) == []


def test_search_covers_every_tab_and_shows_each_patient_once_with_their_bookings(
    consultant_client,
):
    now = datetime.now(UTC)
    past = deliver(consultant_client, booking("uid-1", now - timedelta(days=10)))
    upcoming = deliver(consultant_client, booking("uid-2", now + timedelta(days=10)))
    to_cancel = booking("uid-3", now + timedelta(days=20))
    cancelled = deliver(consultant_client, to_cancel)
    deliver(consultant_client, cancellation(to_cancel))
    other = deliver(
        consultant_client,
        booking("uid-4", now + timedelta(days=1), name="Ada Other", email="ada@example.com"),
    )
    assert {past["patient_id"], upcoming["patient_id"], cancelled["patient_id"]} == {
        past["patient_id"]
    }

    for tab in TABS:
        page = page_text(consultant_client, f"/?tab={tab}&q=bennett")
        assert patient_groups(page) == [past["patient_id"]], tab
        # Newest first, whatever tab each is on.
        assert row_ids(page) == [
            cancelled["consultation_id"],
            upcoming["consultation_id"],
            past["consultation_id"],
        ], tab
        assert other["consultation_id"] not in row_ids(page)
        assert "1 patient match “bennett”" in page
        assert "3 bookings" in page


def test_a_search_poll_takes_in_a_new_booking_of_a_shown_patient(consultant_client):
    now = datetime.now(UTC)
    first = deliver(consultant_client, booking("uid-1", now + timedelta(days=1)))
    url = poller_url(page_text(consultant_client, "/?q=bennett"))

    again = deliver(consultant_client, booking("uid-2", now - timedelta(days=3)))
    update = poll(consultant_client, url).get_data(as_text=True)

    added = row(update, again["consultation_id"])
    assert 'data-belongs="true"' in added
    assert f'data-patient="{first["patient_id"]}"' in added


# --- Filters ------------------------------------------------------------------------------------


@pytest.fixture
def varied(app, consultant_client) -> dict[str, int]:
    """Upcoming bookings that differ in questionnaire, country, consultant and day;
    consultation ids by key. Only "done" has answered the questionnaire."""
    from webapp.extensions import db
    from webapp.models import PatientProfile

    now = datetime.now(UTC)
    selin = ("Dr. Selin Aydin", "selin.aydin@clinic.example")
    mert = ("Dr. Mert Kaya", "mert.kaya@clinic.example")
    plans = {
        "done": ("United Kingdom", selin, 3),
        "turkey": ("Turkey", mert, 5),
        "later": ("Turkey", selin, 9),
    }
    ids = {}
    for index, (key, (country, organizer, days)) in enumerate(plans.items()):
        answer = deliver(
            consultant_client,
            booking(
                f"uid-{key}",
                now + timedelta(days=days),
                name=f"Patient {key}",
                email=f"{key}@example.com",
                phone=f"+4477009005{index:02d}",
                country=country,
                organizer=organizer,
            ),
        )
        ids[key] = answer["consultation_id"]
        if key == "done":
            with app.app_context():
                db.session.get(
                    PatientProfile, answer["patient_id"]
                ).questionnaire_completed_at = now
                db.session.commit()
    return ids


def istanbul_day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(ISTANBUL).date().isoformat()


@pytest.mark.parametrize(
    ("args", "who"),
    [
        ({"questionnaire": "done"}, {"done"}),
        ({"questionnaire": "missing"}, {"turkey", "later"}),
        ({"country": "Turkey"}, {"turkey", "later"}),
        ({"consultant": "selin.aydin@clinic.example"}, {"done", "later"}),
        ({"consultant": "mert.kaya@clinic.example", "country": "Turkey"}, {"turkey"}),
        ({"from": "DAY4"}, {"turkey", "later"}),
        ({"to": "DAY5"}, {"done", "turkey"}),
        ({"from": "DAY5", "to": "DAY5"}, {"turkey"}),
        ({"from": "DAY6", "to": "DAY8"}, set()),
        ({"questionnaire": "nonsense", "from": "not-a-day"}, {"done", "turkey", "later"}),
    ],
)
def test_filters_narrow_the_tab_and_its_count(consultant_client, varied, args, who):
    query = {
        key: istanbul_day(int(value[3:])) if value.startswith("DAY") else value
        for key, value in args.items()
    }

    page = page_text(consultant_client, "/", query_string={"tab": "upcoming", **query})

    assert set(row_ids(page)) == {varied[key] for key in who}
    assert count(page, "upcoming") == len(who)


def test_filters_combine_with_search_and_stay_in_every_link(consultant_client, varied):
    query = {"tab": "upcoming", "country": "Turkey", "consultant": "selin.aydin@clinic.example"}
    page = page_text(consultant_client, "/", query_string=query)
    assert row_ids(page) == [varied["later"]]

    searched = page_text(consultant_client, "/", query_string=query | {"q": "patient"})
    assert row_ids(searched) == [varied["later"]]

    tab_link = re.search(r'<a href="([^"]+)" hx-get="[^"]+" data-tab="past"', page)
    assert tab_link is not None
    assert parse_qs(urlsplit(html.unescape(tab_link.group(1))).query) == {
        "tab": ["past"],
        "country": ["Turkey"],
        "consultant": ["selin.aydin@clinic.example"],
    }
    poller = parse_qs(urlsplit(poller_url(page)).query)
    assert poller["country"] == ["Turkey"]
    assert poller["consultant"] == ["selin.aydin@clinic.example"]
    assert "Clear filters" in page


def test_the_filter_form_offers_the_countries_and_consultants_the_bookings_name(
    consultant_client, varied
):
    page = page_text(consultant_client, "/?country=Turkey")

    assert '<option value="Turkey" selected>Turkey</option>' in page
    assert '<option value="United Kingdom">United Kingdom</option>' in page
    assert '<option value="mert.kaya@clinic.example">Dr. Mert Kaya</option>' in page


def test_the_poll_respects_the_filters(consultant_client, varied):
    url = poller_url(page_text(consultant_client, "/?tab=upcoming&country=Turkey"))
    now = datetime.now(UTC)

    turkish = deliver(
        consultant_client,
        booking("uid-t", now + timedelta(days=1), email="t@example.com", country="Turkey"),
    )
    british = deliver(
        consultant_client,
        booking("uid-b", now + timedelta(days=1), email="b@example.com", country="United Kingdom"),
    )
    update = poll(consultant_client, url).get_data(as_text=True)

    assert 'data-belongs="true"' in row(update, turkish["consultation_id"])
    assert 'data-belongs="false"' in row(update, british["consultation_id"])
    assert re.search(r'id="count-upcoming" hx-swap-oob="true">3</span>', update)


def test_an_htmx_view_pushes_its_own_address_and_a_history_restore_gets_the_page(
    consultant_client,
):
    response = consultant_client.get(
        "/?tab=past&q=&questionnaire=&country=Turkey&consultant=&from=&to=", headers=HTMX
    )
    assert response.headers["HX-Push-Url"] == "/?tab=past&country=Turkey"

    restored = consultant_client.get(
        "/?tab=past", headers=HTMX | {"HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.get_data(as_text=True)
    assert "HX-Push-Url" not in restored.headers


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01",
        "to=9999-12-31",
        "from=9999-12-31&to=0001-01-01",
        "from=2026-02-30",
        "questionnaire=<b>&country=%F0%9F%98%80&consultant=" + "x" * 1000,
    ],
)
def test_nonsense_filters_are_ignored_not_an_error(consultant_client, query):
    answer = deliver(consultant_client, booking("uid-f", datetime.now(UTC) + timedelta(days=1)))

    for headers in ({}, HTMX):
        response = consultant_client.get(f"/?{query}", headers=headers)
        assert response.status_code == 200, (query, response.status_code)
        shown = response.get_data(as_text=True)
        if "country" not in query and "consultant" not in query:
            assert row_ids(shown) == [answer["consultation_id"]]


def test_a_search_with_thirty_patients_pages_them_latest_booking_first_and_counts_them(
    consultant_client,
):
    patients = [answer["patient_id"] for answer in thirty_patients(consultant_client, "pagesearch")]
    latest_first = patients[::-1]

    first = page_text(consultant_client, "/?q=pagesearch")
    second = page_text(consultant_client, "/?q=pagesearch&page=2")
    beyond = page_text(consultant_client, "/?q=pagesearch&page=3")

    assert patient_groups(first) == latest_first[:25]
    assert "30 patients match “pagesearch”" in first
    assert "Page 1 of 2 · 30 patients" in first
    assert patient_groups(second) == latest_first[25:]
    assert "Page 2 of 2 · 30 patients" in second
    assert patient_groups(beyond) == []
    assert "30 patients match “pagesearch”" in beyond  # still says how many there are


def test_the_search_follows_a_patients_changed_details(app, consultant_client):
    found = deliver(
        consultant_client,
        booking("uid-1", datetime.now(UTC) + timedelta(days=1), email="ob@example.com"),
    )
    with app.app_context():
        patient = db.session.get(PatientProfile, found["patient_id"])
        patient.name = "Zeynep Kalkan"
        patient.city = "Ankara"
        db.session.commit()

    assert patient_groups(page_text(consultant_client, "/?q=kalkan")) == [found["patient_id"]]
    assert patient_groups(page_text(consultant_client, "/?q=ankara")) == [found["patient_id"]]
    assert patient_groups(page_text(consultant_client, "/?q=bennett")) == []


def test_a_search_lists_the_patient_with_the_latest_booking_first_as_bookings_move(
    app, consultant_client
):
    now = datetime.now(UTC).replace(microsecond=0)
    ada = deliver(
        consultant_client,
        booking("uid-ada", now + timedelta(days=5), name="Ada Ordertest", email="ada@x.example"),
    )
    bea_booking = booking(
        "uid-bea", now + timedelta(days=3), name="Bea Ordertest", email="bea@x.example"
    )
    bea = deliver(consultant_client, bea_booking)

    def order() -> list[int]:
        return patient_groups(page_text(consultant_client, "/?q=ordertest"))

    assert order() == [ada["patient_id"], bea["patient_id"]]

    moved = dict(bea_booking, triggerEvent="BOOKING_RESCHEDULED")
    moved["payload"] = dict(
        bea_booking["payload"],
        uid="uid-bea-moved",
        bookingId=bea_booking["payload"]["bookingId"] + 1,
        rescheduleUid="uid-bea",
        startTime=(now + timedelta(days=10)).isoformat(),
        endTime=(now + timedelta(days=10, minutes=30)).isoformat(),
    )
    deliver(consultant_client, moved)
    assert order() == [bea["patient_id"], ada["patient_id"]]

    with app.app_context():  # a start time changed in place counts too
        consultation = db.session.get(Consultation, ada["consultation_id"])
        consultation.start_time = now + timedelta(days=20)
        db.session.commit()
    assert order() == [ada["patient_id"], bea["patient_id"]]


def test_the_filter_choices_are_each_country_and_consultant_once_in_order(app, consultant_client):
    now = datetime.now(UTC)
    mert, selin = "mert@clinic.example", "selin@clinic.example"
    plans = [
        ("Turkey", ("Dr. Mert Kaya", mert)),
        ("Spain", ("Dr. Selin Aydin", selin)),
        ("Germany", ("Dr. Mert Kaya", mert)),
        ("Turkey", ("Dr. Selin Aydın", selin)),  # renamed in Cal.com
        ("Austria", ("Dr. Mert Kaya", mert)),
    ]
    patients = [
        deliver(
            consultant_client,
            booking(
                f"uid-choice-{index}",
                now + timedelta(days=index + 1),
                email=f"choice{index}@example.com",
                phone=f"+4477009006{index:02d}",
                country=country,
                organizer=organizer,
            ),
        )["patient_id"]
        for index, (country, organizer) in enumerate(plans)
    ]
    with app.app_context():  # a patient who named no country
        db.session.get(PatientProfile, patients[1]).country = None
        db.session.commit()

    with app.test_request_context():
        choices = filter_choices()

    assert choices.countries == ["Austria", "Germany", "Turkey"]
    assert choices.consultants == [
        (mert, "Dr. Mert Kaya"),
        (selin, max("Dr. Selin Aydin", "Dr. Selin Aydın")),
    ]
