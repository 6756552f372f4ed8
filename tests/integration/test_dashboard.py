"""The consultant's dashboard: tabs, rows, search, pages, empty state and live updates."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import csrf_token_from, deliver, fixture_json

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
) -> dict[str, Any]:
    """The fixture booking with another uid, patient and time (and optionally trigger)."""
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


@pytest.mark.parametrize(("query", "who"), [("%", set()), ("_", {"zeynep"}), ("p_k", {"zeynep"})])
def test_search_treats_like_wildcards_literally(consultant_client, patients, query, who):
    page = page_text(consultant_client, "/", query_string={"q": query})

    assert set(row_ids(page)) == {patients[key] for key in who}
    if not who:
        assert "matches “%”" in page


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


def test_thirty_upcoming_bookings_make_two_pages(consultant_client):
    start = datetime.now(UTC) + timedelta(days=1)
    ids = [
        deliver(
            consultant_client,
            booking(
                f"uid-page-{index:02d}",
                start + timedelta(hours=index),
                email=f"patient{index:02d}@example.com",
                name=f"Patient {index:02d}",
                phone=f"+4477009004{index:02d}",
            ),
        )["consultation_id"]
        for index in range(30)
    ]

    first = page_text(consultant_client, "/?tab=upcoming")
    assert row_ids(first) == ids[:25]  # soonest first
    assert count(first, "upcoming") == 30
    assert "Page 1 of 2 · 30 consultations" in first
    following = re.search(r'<a href="([^"]+)"[^>]*rel="next"', first)
    assert following is not None
    assert html.unescape(following.group(1)) == "/?tab=upcoming&page=2"
    assert 'rel="prev"' not in first

    second = page_text(consultant_client, html.unescape(following.group(1)))
    assert row_ids(second) == ids[25:]
    assert "Page 2 of 2 · 30 consultations" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second

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
