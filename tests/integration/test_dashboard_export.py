"""``GET /export.csv``: the dashboard's current view, every page of it, as a spreadsheet."""

from __future__ import annotations

import csv
import gc
import html
import io
import itertools
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from tests.conftest import booking_document, deliver
from webapp.dashboard.queries import PER_PAGE
from webapp.extensions import db
from webapp.models import AuditEvent, Consultation, ConsultationStatus, PatientProfile, User
from webapp.pages.csv import INCOMPLETE, TableCutShort

ISTANBUL = ZoneInfo("Europe/Istanbul")
BOM = b"\xef\xbb\xbf"
NUMBERS = itertools.count(1)
CLINIC_TIME = "Time (Europe/Istanbul)"


def add_consultation(
    start: datetime | None,
    *,
    name: str | None = None,
    status: ConsultationStatus = ConsultationStatus.SCHEDULED,
    country: str | None = "Germany",
    city: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    timezone: str | None = "Europe/Berlin",
    questionnaire: bool = False,
    organizer: str = "dr.kaya@clinic.example",
    patient_id: int | None = None,
) -> int:
    """A consultation as given, of a new patient (or of ``patient_id``'s); inside an app
    context, committed; returns the patient's id."""
    number = next(NUMBERS)
    if patient_id is None:
        patient = PatientProfile(
            user=User(email=email or f"patient{number}@example.com"),
            name=name or f"Patient {number:03d}",
            email=email or f"patient{number}@example.com",
            phone=phone,
            country=country,
            city=city,
            timezone=timezone,
            questionnaire_completed_at=datetime.now(UTC) if questionnaire else None,
        )
    else:
        patient = db.session.get(PatientProfile, patient_id)
    db.session.add(
        Consultation(
            patient=patient,
            cal_booking_uid=f"export-{number:06d}",
            status=status,
            start_time=start,
            end_time=start + timedelta(minutes=30) if start else None,
            attendee_timezone=timezone,
            organizer_name="Dr. Kaya",
            organizer_email=organizer,
        )
    )
    db.session.commit()
    return patient.id


def exported(client, query: str = "") -> tuple[bytes, list[dict[str, str]]]:
    """The export's raw bytes and its rows (comma-separated) as dicts by header."""
    response = client.get(f"/export.csv{query}")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    body = response.get_data()
    delimiter = ";" if "sep=semicolon" in query else ","
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))
    return body, rows


def names(rows: list[dict[str, str]]) -> list[str]:
    return [row["Name"] for row in rows]


def soon(hours: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)


# --- Who may export -----------------------------------------------------------------------------


def test_the_export_needs_a_login(app, client):
    with app.app_context():
        add_consultation(soon(30), name="Oliver Bennett")

    response = client.get("/export.csv")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert b"Oliver" not in response.get_data()


# --- What the file lists ------------------------------------------------------------------------


def test_every_page_of_the_tab_in_the_dashboards_order(app, consultant_client):
    count = PER_PAGE * 2 + 3
    with app.app_context():
        for hour in range(count, 0, -1):  # booked latest first: the order is the start's
            add_consultation(soon(24 + hour), name=f"Upcoming {hour:03d}")
        add_consultation(soon(-48), name="Past Patient", status=ConsultationStatus.COMPLETED)

    _, rows = exported(consultant_client, "?tab=upcoming")
    _, past = exported(consultant_client, "?tab=past&page=3")  # the page is not the file's

    assert names(rows) == [f"Upcoming {hour:03d}" for hour in range(1, count + 1)]
    assert names(past) == ["Past Patient"]


def test_the_columns_say_when_in_both_zones_who_where_and_how_the_booking_stands(
    app, consultant_client
):
    start = soon(26).replace(minute=0, second=0)
    with app.app_context():
        add_consultation(
            start,
            name="Oliver Bennett",
            email="oliver@example.co.uk",
            phone="+447700900123",
            country="United Kingdom",
            city="London",
            timezone="Europe/London",
            questionnaire=True,
        )

    _, rows = exported(consultant_client)

    assert rows == [
        {
            CLINIC_TIME: start.astimezone(ISTANBUL).strftime("%Y-%m-%d %H:%M"),
            "Patient's time": start.astimezone(ZoneInfo("Europe/London")).strftime(
                "%Y-%m-%d %H:%M"
            ),
            "Patient's time zone": "Europe/London",
            "Name": "Oliver Bennett",
            "Email": "oliver@example.co.uk",
            "Phone": "+447700900123",
            "Country": "United Kingdom",
            "City": "London",
            "Status": "Scheduled",
            "Questionnaire": "Completed",
            "Stage": "",
        }
    ]


def test_the_filters_are_the_dashboards(app, consultant_client):
    tomorrow = soon(24)
    with app.app_context():
        add_consultation(tomorrow, name="German Done", questionnaire=True)
        add_consultation(tomorrow + timedelta(hours=1), name="German Missing")
        add_consultation(
            tomorrow + timedelta(hours=2), name="Turkish Done", country="Turkey", questionnaire=True
        )
        add_consultation(
            tomorrow + timedelta(hours=3),
            name="Other Consultant",
            organizer="dr.demir@clinic.example",
        )
        add_consultation(tomorrow + timedelta(days=20), name="Much Later")
    day = tomorrow.astimezone(ISTANBUL).date()

    checks = {
        "?questionnaire=done": ["German Done", "Turkish Done"],
        "?questionnaire=missing&country=Germany": [
            "German Missing",
            "Other Consultant",
            "Much Later",
        ],
        "?country=Turkey": ["Turkish Done"],
        "?consultant=dr.demir%40clinic.example": ["Other Consultant"],
        f"?from={day}&to={day + timedelta(days=1)}": [
            "German Done",
            "German Missing",
            "Turkish Done",
            "Other Consultant",
        ],
        f"?from={day + timedelta(days=10)}": ["Much Later"],
    }
    for query, expected in checks.items():
        _, rows = exported(consultant_client, query)
        assert sorted(names(rows)) == sorted(expected), query


def test_a_search_lists_each_patient_found_with_their_consultations(app, consultant_client):
    with app.app_context():
        older = add_consultation(
            soon(-24 * 30), name="Ayşe Müller", status=ConsultationStatus.COMPLETED
        )
        add_consultation(soon(48), patient_id=older)
        add_consultation(soon(-24), name="Hans Muller", status=ConsultationStatus.CANCELLED)
        add_consultation(soon(24), name="Oliver Bennett")

    _, rows = exported(consultant_client, "?q=muller&tab=past")
    _, filtered = exported(
        consultant_client, f"?q=muller&from={soon(0).astimezone(ISTANBUL).date()}"
    )

    # Latest booking first, each patient's latest consultation first, whatever the tab.
    assert [(row["Name"], row["Status"]) for row in rows] == [
        ("Ayşe Müller", "Scheduled"),
        ("Ayşe Müller", "Completed"),
        ("Hans Muller", "Cancelled"),
    ]
    assert [(row["Name"], row["Status"]) for row in filtered] == [("Ayşe Müller", "Scheduled")]


def test_a_search_lists_every_page_of_patients(app, consultant_client):
    with app.app_context():
        for hour in range(PER_PAGE + 5):
            add_consultation(soon(24 + hour), name=f"Kaya {hour:03d}")

    _, rows = exported(consultant_client, "?q=kaya")

    assert names(rows) == [f"Kaya {hour:03d}" for hour in range(PER_PAGE + 4, -1, -1)]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?tab=nonsense", 200),
        ("?page=-4", 200),
        ("?page=99999999999999999999", 200),
        ("?questionnaire=perhaps", 200),
        ("?from=9999-12-31&to=yesterday", 200),
        ("?sep=tab", 200),
        ("?q=" + "x" * 5000, 200),
        ("?country=" + "é" * 300, 200),
        ("?tab=upcoming&tab=past", 200),
        ("?country=%00", 400),
    ],
)
def test_arguments_the_dashboard_does_not_know_are_read_as_it_reads_them(
    app, consultant_client, query, status
):
    with app.app_context():
        add_consultation(soon(30), name="Oliver Bennett")

    response = consultant_client.get(f"/export.csv{query}")
    text = response.get_data().decode("utf-8-sig")  # the body streams: read it first
    # The file holds every page: the dashboard's first one says whether Oliver is listed.
    page = consultant_client.get("/" + re.sub(r"page=[^&]*", "", query))

    assert response.status_code == page.status_code == status
    if status == 200:
        assert text.startswith(CLINIC_TIME + ",")
        assert ("Oliver Bennett" in text) == ("Oliver Bennett" in page.get_data(as_text=True))
    else:
        assert "Traceback" not in text and "Oliver" not in text


# --- How a spreadsheet opens it -----------------------------------------------------------------


def test_utf8_with_a_byte_order_mark_keeps_every_alphabet(app, consultant_client):
    written = ["Jürgen Müller", "Özge Şahin", "ليلى الحسن", "Zoë 林"]
    with app.app_context():
        for hour, name in enumerate(written):
            add_consultation(soon(24 + hour), name=name, city="İstanbul")

    body, rows = exported(consultant_client)

    assert body.startswith(BOM)
    assert body.count(BOM) == 1
    assert names(rows) == written
    for name in written:
        assert name.encode("utf-8") in body
    assert "İstanbul".encode() in body
    assert b"\r\n" in body


def test_a_semicolon_file_for_excel_in_german_or_turkish(app, consultant_client):
    with app.app_context():
        add_consultation(soon(24), name="Müller, Jürgen", city="Köln; Süd")

    body, rows = exported(consultant_client, "?sep=semicolon")

    header = body.decode("utf-8-sig").splitlines()[0]
    assert header.split(";")[:3] == [CLINIC_TIME, "Patient's time", "Patient's time zone"]
    assert names(rows) == ["Müller, Jürgen"]
    assert rows[0]["City"] == "Köln; Süd"
    assert body.startswith(BOM)


def test_cells_a_spreadsheet_would_run_are_written_as_text(app, consultant_client):
    with app.app_context():
        add_consultation(
            soon(24),
            name='=HYPERLINK("http://evil.example","Click")',
            city="+1 city",
            country="-2+3",
            email="@sum@example.com",
            phone="=1+2",
        )
        add_consultation(soon(25), name="\tTabbed", city="\rReturned", phone="-123 456")
        add_consultation(soon(26), name="Plain Name", phone="+905321234567")
        add_consultation(soon(27), name="Typed Phone", phone="+90 532 (123)")

    _, rows = exported(consultant_client)

    first, second, plain, typed = rows
    assert first["Name"] == '\'=HYPERLINK("http://evil.example","Click")'
    assert first["City"] == "'+1 city"
    assert first["Country"] == "'-2+3"
    assert first["Email"] == "'@sum@example.com"
    assert first["Phone"] == "'=1+2"
    assert second["Name"] == "'\tTabbed"
    assert second["City"] == "'\rReturned"
    assert second["Phone"] == "'-123 456"
    # A phone in E.164 stays a number to dial; one kept as typed is text like any other.
    assert plain["Phone"] == "+905321234567"
    assert plain["Name"] == "Plain Name"
    assert typed["Phone"] == "'+90 532 (123)"


# --- The audit ----------------------------------------------------------------------------------


def test_each_export_is_audited_with_its_filters_and_the_searchs_length_only(
    app, consultant_client, consultant
):
    with app.app_context():
        add_consultation(soon(24), name="Ayşe Yılmaz")

    exported(
        consultant_client, "?q=Ayşe+Yılmaz&country=Germany&questionnaire=missing&sep=semicolon"
    )
    exported(consultant_client, "?tab=past&from=2026-01-01")

    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "dashboard.exported")
            .order_by(AuditEvent.id)
        ).all()
        assert [event.consultant_id for event in events] == [consultant, consultant]
        assert events[0].details == {
            "tab": "search",
            "search_length": len("Ayşe Yılmaz"),
            "separator": "semicolon",
            "country": "Germany",
            "questionnaire": "missing",
        }
        assert events[1].details == {
            "tab": "past",
            "search_length": 0,
            "separator": "comma",
            "from": "2026-01-01",
        }
        stored = json.dumps(events[0].details, ensure_ascii=False).casefold()
        assert "ayşe" not in stored and "yılmaz" not in stored

    page = consultant_client.get("/audit").get_data(as_text=True)
    assert "Exported the dashboard&#39;s view as CSV" in page


# --- The dashboard's link -----------------------------------------------------------------------


def test_the_dashboard_links_its_current_view_to_the_export(app, consultant_client):
    with app.app_context():
        add_consultation(soon(24))

    page = consultant_client.get(
        "/?tab=past&q=kaya&country=Germany&questionnaire=done&from=2026-01-01&page=2",
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)

    links = [html.unescape(link) for link in re.findall(r'href="(/export\.csv[^"]*)"', page)]
    assert len(links) == 2
    for link in links:
        assert "tab=past" in link and "q=kaya" in link and "country=Germany" in link
        assert "questionnaire=done" in link and "from=2026-01-01" in link
        assert "page=" not in link
    assert "sep=semicolon" in links[1]


# --- A database that fails part-way ---------------------------------------------------------------


def export_failing_part_way(app, client, monkeypatch) -> list[bytes]:
    """Six patients found by a search, exported two at a time, the database failing as
    the second two load; returns the chunks the download received."""
    with app.app_context():
        for hour in range(6):
            add_consultation(soon(24 + hour), name=f"Secret Name {hour}")
        engine = db.engine
    monkeypatch.setattr("webapp.dashboard.queries.EXPORT_CHUNK", 2)
    loads = itertools.count()

    def fail_the_second_load(
        _connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> None:
        if "patient_profile_id IN" in statement and next(loads) == 1:
            raise OperationalError(statement, parameters, Exception("server closed"))

    event.listen(engine, "before_cursor_execute", fail_the_second_load)
    try:
        response = client.get("/export.csv?q=secret", buffered=False)
        assert response.status_code == 200
        received = []
        with pytest.raises(TableCutShort):
            for chunk in response.response:
                received.append(chunk if isinstance(chunk, bytes) else chunk.encode())
    finally:
        event.remove(engine, "before_cursor_execute", fail_the_second_load)
    return received


def test_a_database_failing_part_way_cuts_the_file_short_and_logs_ids_only(
    app, consultant_client, monkeypatch, caplog
):
    with caplog.at_level(logging.ERROR):
        received = export_failing_part_way(app, consultant_client, monkeypatch)

    text = b"".join(received).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[-1] == INCOMPLETE
    assert len(lines) == 1 + 2 + 1  # the header, the first chunk's patients, the warning
    assert "dashboard export (audit" in caplog.text and "after 2 rows" in caplog.text
    assert "Secret" not in caplog.text


def test_an_export_cut_short_leaves_every_connection_able_to_write(
    app, consultant_client, monkeypatch
):
    """The export's cursor is closed when reading stops, not left to the garbage collector:
    on SQLite an open cursor keeps its pooled connection's snapshot, and once anything else
    had written, that connection's next transaction could not begin (SQLITE_BUSY_SNAPSHOT:
    a delivery answered 503)."""
    gc.disable()  # what a reference cycle does until the collector runs
    try:
        export_failing_part_way(app, consultant_client, monkeypatch)
        with app.app_context():
            engine = db.engine
            held = [engine.connect() for _ in range(engine.pool.checkedin())]
        try:
            # Written through a connection of its own, while the export's is held here.
            deliver(consultant_client, booking_document("afterTheExport01", booking_id=4242))
            for connection in held:
                with connection.begin():
                    connection.execute(select(AuditEvent.id).limit(1)).all()
        finally:
            for connection in held:
                connection.close()
    finally:
        gc.enable()
