"""``/insights``: what each chart counts, that its numbers add up to the database's own
counts for the same weeks and filters, the clinic's weeks, the period asked for, and the
CSV of each chart."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, date, datetime, time, timedelta
from random import Random
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import ColumnElement, exists, func, select

from tests.conftest import CONSULTANT_PASSWORD, log_in, statements_sent
from tests.integration.test_dashboard import page_text
from webapp.auth.consultants import create_consultant
from webapp.demo.bookings import CONSULTANTS, add_bookings
from webapp.extensions import db
from webapp.insights.charts import CHARTS
from webapp.insights.period import MAX_WEEKS, monday_of
from webapp.models import (
    Consultation,
    ConsultationStatus,
    PatientProfile,
    QuestionnaireSubmission,
    User,
)

ISTANBUL = ZoneInfo("Europe/Istanbul")
CALLED_OFF = (ConsultationStatus.CANCELLED, ConsultationStatus.REJECTED)
LIVE = (ConsultationStatus.SCHEDULED, ConsultationStatus.PENDING)
NUMBERS = itertools.count(1)


# --- Helpers ---------------------------------------------------------------------------------


def add_booking(
    start: datetime | None,
    status: ConsultationStatus = ConsultationStatus.COMPLETED,
    *,
    booked: datetime | None = None,
    answered: datetime | None = None,
    country: str | None = "Germany",
    locale: str | None = "de",
    organizer: tuple[str, str] = CONSULTANTS[0],
) -> int:
    """A patient with one consultation as given (and a questionnaire sent at ``answered``);
    inside an app context, committed; returns the consultation's id."""
    number = next(NUMBERS)
    user = User(email=f"patient{number}@example.com")
    patient = PatientProfile(user=user, name="Test Patient", country=country)
    consultation = Consultation(
        patient=patient,
        cal_booking_uid=f"insights-{number:06d}",
        status=status,
        start_time=start,
        attendee_locale=locale,
        organizer_name=organizer[0],
        organizer_email=organizer[1],
        created_at=booked or (start or datetime.now(UTC)) - timedelta(days=5),
    )
    db.session.add(consultation)
    if answered:
        db.session.add(QuestionnaireSubmission(patient=patient, answers={}, submitted_at=answered))
        patient.questionnaire_completed_at = answered
    db.session.commit()
    return consultation.id


def table(client, slug: str, query: str = "") -> tuple[list[dict[str, str]], dict[str, str]]:
    """A chart's CSV: its rows, and its total row."""
    response = client.get(f"/insights/{slug}.csv{query}")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    total = [row for row in rows if row[next(iter(row))] == "total"]
    assert len(total) == 1
    return [row for row in rows if row not in total], total[0]


def number(value: str) -> int:
    return int(value) if value else 0


def column(rows: list[dict[str, str]], name: str) -> list[int]:
    return [number(row[name]) for row in rows]


def local_monday(monday: str, timezone: ZoneInfo = ISTANBUL, weeks: int = 0) -> datetime:
    day = date.fromisoformat(monday) + timedelta(weeks=weeks)
    return datetime.combine(day, time(), tzinfo=timezone)


def database_count(
    start: datetime,
    end: datetime,
    *conditions: ColumnElement[bool],
    country: str | None = None,
    consultant: str | None = None,
) -> int:
    """How many consultations the database holds starting in [start, end) under the
    filters, not rescheduled, meeting ``conditions``: a plain count, for comparison."""
    query = (
        select(func.count())
        .select_from(Consultation)
        .join(PatientProfile, PatientProfile.id == Consultation.patient_profile_id)
        .where(
            Consultation.start_time >= start,
            Consultation.start_time < end,
            Consultation.status != ConsultationStatus.RESCHEDULED,
            *conditions,
        )
    )
    if country:
        query = query.where(PatientProfile.country == country)
    if consultant:
        query = query.where(Consultation.organizer_email == consultant)
    return db.session.scalar(query)


# --- Who may see it ----------------------------------------------------------------------------


def test_insights_and_their_csv_need_a_login(client):
    for path in ("/insights", "/insights/outcomes.csv"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_every_consultant_reaches_insights_from_the_navigation(consultant_client):
    page = page_text(consultant_client, "/")
    assert 'href="/insights"' in page
    insights = page_text(consultant_client, "/insights")
    assert '<a href="/insights" aria-current="page">Insights</a>' in insights


def test_an_unknown_chart_has_no_csv(consultant_client):
    assert consultant_client.get("/insights/nothing.csv").status_code == 404


# --- Sums add up -------------------------------------------------------------------------------

SCOPES = [
    "",
    "?country=Germany",
    f"?consultant={CONSULTANTS[2][1]}",
    "?from={sixteen_weeks_ago}&to={in_three_weeks}&country=United+Kingdom",
]


@pytest.mark.parametrize("scope", SCOPES)
def test_each_charts_numbers_add_up_to_the_databases_counts(app, consultant_client, scope):
    today = datetime.now(ISTANBUL).date()
    query = scope.format(
        sixteen_weeks_ago=today - timedelta(weeks=16), in_three_weeks=today + timedelta(weeks=3)
    )
    filters = dict(re.findall(r"(country|consultant)=([^&]+)", query.replace("+", " ")))
    with app.app_context():
        add_bookings(500, Random(25), datetime.now(UTC), days_back=140, days_ahead=35)
        db.session.commit()
        outcomes, outcomes_total = table(consultant_client, "outcomes", query)
        start = local_monday(outcomes[0]["Week of"])
        end = local_monday(outcomes[-1]["Week of"], weeks=1)
        now = datetime.now(UTC)

        def counted(*conditions: ColumnElement[bool]) -> int:
            return database_count(start, end, *conditions, **filters)

        bookings = counted()
        held = counted(Consultation.status.not_in(CALLED_OFF))
        assert bookings > 10  # the scope holds enough to prove something

        # Bookings by outcome: each once, per week and in all.
        assert number(outcomes_total["Bookings"]) == bookings
        expected = {
            "Completed": counted(Consultation.status == ConsultationStatus.COMPLETED),
            "No-show": counted(Consultation.status == ConsultationStatus.NO_SHOW),
            "Cancelled or rejected": counted(Consultation.status.in_(CALLED_OFF)),
            "Still to come": counted(Consultation.status.in_(LIVE), Consultation.start_time >= now),
            "Past, not marked": counted(
                Consultation.status.in_(LIVE), Consultation.start_time < now
            ),
        }
        assert {key: number(outcomes_total[key]) for key in expected} == expected
        assert sum(expected.values()) == bookings
        for week, row in enumerate(outcomes):
            in_week = database_count(
                local_monday(outcomes[0]["Week of"], weeks=week),
                local_monday(outcomes[0]["Week of"], weeks=week + 1),
                **filters,
            )
            assert number(row["Bookings"]) == in_week
            assert sum(number(row[key]) for key in expected) == in_week
        assert sum(column(outcomes, "Bookings")) == bookings

        # The rates' counts are the outcomes'.
        rates, rates_total = table(consultant_client, "rates", query)
        assert number(rates_total["No-shows"]) == expected["No-show"]
        assert number(rates_total["Marked completed or no-show"]) == (
            expected["Completed"] + expected["No-show"]
        )
        assert number(rates_total["Cancelled or rejected"]) == expected["Cancelled or rejected"]
        assert sum(column(rates, "Bookings")) == bookings

        # Countries, languages and lead times: every booking once.
        for slug in ("countries", "languages", "lead-time"):
            rows, total = table(consultant_client, slug, query)
            assert sum(column(rows, "Bookings")) == number(total["Bookings"]) == bookings, slug

        # The questionnaire: bookings not called off, answered before, after or not at all.
        questionnaire, questionnaire_total = table(consultant_client, "questionnaire", query)
        answered_before = exists().where(
            QuestionnaireSubmission.patient_profile_id == Consultation.patient_profile_id,
            QuestionnaireSubmission.submitted_at < Consultation.start_time,
        )
        answered = exists().where(
            QuestionnaireSubmission.patient_profile_id == Consultation.patient_profile_id
        )
        assert number(questionnaire_total["Bookings"]) == held
        assert number(questionnaire_total["Before the consultation"]) == counted(
            Consultation.status.not_in(CALLED_OFF), answered_before
        )
        assert number(questionnaire_total["Not (yet) answered"]) == counted(
            Consultation.status.not_in(CALLED_OFF), ~answered
        )
        for row in questionnaire:
            parts = ("Before the consultation", "After it", "Not (yet) answered")
            assert sum(number(row[part]) for part in parts) == number(row["Bookings"])

        # Consultants: bookings not called off, each consultant's own.
        consultants, consultants_total = table(consultant_client, "consultants", query)
        assert number(consultants_total["All consultants"]) == held
        for name, email in CONSULTANTS:
            mine = counted(
                Consultation.status.not_in(CALLED_OFF), Consultation.organizer_email == email
            )
            assert number(consultants_total.get(name, "")) == mine, name
        assert sum(column(consultants, "All consultants")) == held

        # The funnel: completed consultations, and how far their patients got (the seeded
        # patients' stored stages say it independently: one consultation each).
        funnel, funnel_total = table(consultant_client, "funnel", query)
        completed = Consultation.status == ConsultationStatus.COMPLETED
        beyond = {
            "Assessed": ("assessed", "quote_sent", "quote_viewed", "accepted", "declined"),
            "Quote sent": ("quote_sent", "quote_viewed", "accepted", "declined"),
            "Accepted": (),
        }
        after_acceptance = ("accepted", "deposit_received", "surgery_scheduled")
        assert number(funnel_total["Consulted"]) == expected["Completed"]
        for step, stages in beyond.items():
            assert number(funnel_total[step]) == counted(
                completed, PatientProfile.stage.in_(stages + after_acceptance)
            ), step
        steps = ("Consulted", "Assessed", "Quote sent", "Accepted")
        for row in (*funnel, funnel_total):
            assert [number(row[step]) for step in steps] == sorted(
                (number(row[step]) for step in steps), reverse=True
            )
        for step in steps:
            assert sum(column(funnel, step)) == number(funnel_total[step]), step
        assert number(funnel_total["Accepted"]) > 0 or expected["Completed"] < 20


def test_the_page_shows_the_same_numbers_as_the_csv(app, consultant_client):
    with app.app_context():
        add_bookings(60, Random(3), datetime.now(UTC), days_back=80, days_ahead=0)
        db.session.commit()
    page = page_text(consultant_client, "/insights")
    for slug in CHARTS:
        rows, total = table(consultant_client, slug)
        section = re.search(rf'<table id="table-{slug}".*?</table>', page, re.S)
        assert section, slug
        footer = re.search(r"<tfoot>.*?</tfoot>", section.group(0), re.S)
        shown = re.findall(r"<td>([^<]*)</td>", footer.group(0))
        written = list(total.items())[1:]
        assert len(shown) == len(written), slug
        for cell, (header, value) in zip(shown, written, strict=True):
            if not header.endswith(("(%)", "(hours)")):  # counts; the page rounds the others
                assert int(cell.replace(",", "")) == int(value), (slug, header)
        if slug == "rates":  # the sentence above the chart says the totals' rates
            assert f"a no-show rate of {shown[0]} and a cancellation rate of {shown[1]}." in page


# --- What each chart counts --------------------------------------------------------------------


def test_a_rescheduled_booking_counts_where_it_moved_and_one_of_unknown_time_not_at_all(
    app, consultant_client
):
    monday = monday_of(datetime.now(ISTANBUL).date()) - timedelta(weeks=3)
    start = local_monday(monday.isoformat()) + timedelta(days=2, hours=10)
    with app.app_context():
        add_booking(start, ConsultationStatus.RESCHEDULED)
        add_booking(start + timedelta(days=1), ConsultationStatus.COMPLETED)
        add_booking(None, ConsultationStatus.PENDING)

    rows, total = table(consultant_client, "outcomes")

    assert number(total["Bookings"]) == number(total["Completed"]) == 1
    assert [row["Week of"] for row in rows if row["Bookings"] != "0"] == [monday.isoformat()]


def test_weeks_are_the_clinics_whoever_looks(app, consultant_client, client):
    app.config["CLINIC_TIMEZONE"] = "Asia/Tokyo"  # UTC+9: a Monday morning there is Sunday in UTC
    tokyo = ZoneInfo("Asia/Tokyo")
    monday = monday_of(datetime.now(tokyo).date()) - timedelta(weeks=2)
    with app.app_context():
        add_booking(local_monday(monday.isoformat(), tokyo) + timedelta(hours=2))  # Mon 02:00
        add_booking(local_monday(monday.isoformat(), tokyo) - timedelta(hours=1))  # Sun 23:00
        create_consultant("lee@clinic.example", "Dr. Lee", CONSULTANT_PASSWORD, "America/Denver")
        db.session.commit()
    query = f"?from={monday - timedelta(weeks=1)}&to={monday}"

    rows, _ = table(consultant_client, "outcomes", query)

    assert [(row["Week of"], row["Bookings"]) for row in rows] == [
        ((monday - timedelta(weeks=1)).isoformat(), "1"),
        (monday.isoformat(), "1"),
    ]
    other = app.test_client()
    assert log_in(other, "lee@clinic.example").status_code == 302
    assert table(other, "outcomes", query) == table(consultant_client, "outcomes", query)


def test_a_week_with_a_clock_change_is_counted_as_the_clinic_lives_it(app, consultant_client):
    app.config["CLINIC_TIMEZONE"] = "Europe/London"
    london = ZoneInfo("Europe/London")
    # The week the clocks went forward, last March (in London, Monday 00:30 is Sunday
    # 23:30 UTC from the Monday after).
    year = datetime.now(london).year - 1
    change = max(date(year, 3, day) for day in range(25, 32) if date(year, 3, day).weekday() == 6)
    following = change + timedelta(days=1)  # a Monday, in summer time
    with app.app_context():
        add_booking(datetime.combine(following, time(0, 30), tzinfo=london))
        add_booking(datetime.combine(change, time(23, 30), tzinfo=london))

    rows, _ = table(consultant_client, "outcomes", f"?from={change}&to={following}")

    assert [row["Bookings"] for row in rows] == ["1", "1"]


def test_questionnaire_answered_before_after_or_not_and_the_median_time(app, consultant_client):
    monday = monday_of(datetime.now(ISTANBUL).date()) - timedelta(weeks=2)
    start = local_monday(monday.isoformat()) + timedelta(days=3, hours=11)
    booked = start - timedelta(days=4)
    with app.app_context():
        for hours in (2, 10, 30):  # answered before the consultation
            add_booking(start, booked=booked, answered=booked + timedelta(hours=hours))
        add_booking(start, booked=booked, answered=start + timedelta(days=1))  # 5 days: after
        add_booking(start, booked=booked)  # never
        # Answered before booking this one (a returning patient): at once, 0 hours.
        add_booking(start, booked=booked, answered=booked - timedelta(days=30))
        add_booking(start, ConsultationStatus.CANCELLED, booked=booked)  # not counted

    rows, total = table(consultant_client, "questionnaire")

    week = next(row for row in rows if row["Week of"] == monday.isoformat())
    assert (week["Before the consultation"], week["After it"], week["Not (yet) answered"]) == (
        "4",
        "1",
        "1",
    )
    assert week["Bookings"] == "6"
    assert week["Share answered before (%)"] == "66.7"
    # 0, 2, 10, 30 and 120 hours: the middle one, over all the weeks.
    assert total["Median time to answer, all weeks (hours)"] == "10.0"
    assert week["Median time to answer, all weeks (hours)"] == ""
    assert (
        "Over these weeks: 67% answered before the consultation; the median time from "
        "booking to answering was 10 h." in page_text(consultant_client, "/insights")
    )


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(app, consultant_client):
    monday = monday_of(datetime.now(ISTANBUL).date()) - timedelta(weeks=1)
    start = local_monday(monday.isoformat()) + timedelta(days=2, hours=9)
    booked = start - timedelta(days=6)
    with app.app_context():
        for hours in (1, 3, 5, 40):
            add_booking(start, booked=booked, answered=booked + timedelta(hours=hours))

    _, total = table(consultant_client, "questionnaire")

    assert total["Median time to answer, all weeks (hours)"] == "4.0"


def test_without_answers_there_is_no_median(app, consultant_client):
    with app.app_context():
        add_booking(datetime.now(UTC) - timedelta(days=4))  # never answered

    _, total = table(consultant_client, "questionnaire")

    assert total["Not (yet) answered"] == "1"
    assert total["Median time to answer, all weeks (hours)"] == ""


def test_lead_times_fall_in_their_ranges(app, consultant_client):
    start = datetime.now(UTC) - timedelta(days=10)
    with app.app_context():
        for ahead in (
            timedelta(hours=3),
            timedelta(days=1, hours=1),
            timedelta(days=20),
            timedelta(days=90),
        ):
            add_booking(start, booked=start - ahead)
        add_booking(start, booked=start + timedelta(hours=2))  # reached us after it started

    rows, total = table(consultant_client, "lead-time")

    assert {row["Booked ahead"]: number(row["Bookings"]) for row in rows} == {
        "Under a day": 2,
        "1 to 3 days": 1,
        "3 to 7 days": 0,
        "1 to 2 weeks": 0,
        "2 to 4 weeks": 1,
        "4 to 8 weeks": 0,
        "8 weeks or more": 1,
    }
    assert total["Bookings"] == "5"


def test_countries_beyond_the_top_ten_are_other_and_languages_are_named(app, consultant_client):
    start = datetime.now(UTC) - timedelta(days=8)
    countries = [f"Country {letter}" for letter in "ABCDEFGHIJKL"]  # twelve
    with app.app_context():
        for index, country in enumerate(countries):
            for _ in range(len(countries) - index):  # A has the most
                add_booking(start, country=country, locale="pt-BR" if index else "tr")
        add_booking(start, country=None, locale=None)

    countries_rows, _ = table(consultant_client, "countries")
    languages_rows, _ = table(consultant_client, "languages")

    assert [row["Country"] for row in countries_rows] == [*countries[:10], "Other"]
    assert countries_rows[-1]["Bookings"] == str(2 + 1 + 1)  # K, L and the one not given
    assert {row["Language"]: row["Bookings"] for row in languages_rows} == {
        "Portuguese (Brazil)": str(sum(range(1, 12))),
        "Turkish": "12",
        "Not known": "1",
    }


def test_a_csv_cell_a_spreadsheet_would_run_is_written_as_text(app, consultant_client):
    with app.app_context():
        add_booking(datetime.now(UTC) - timedelta(days=3), country='=HYPERLINK("x")')

    response = consultant_client.get("/insights/countries.csv")

    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert '\'=HYPERLINK(""x"")' in response.get_data().decode("utf-8-sig")


# --- The period asked for ----------------------------------------------------------------------


def test_the_default_period_is_the_last_twelve_weeks_to_this_one(consultant_client):
    this_monday = monday_of(datetime.now(ISTANBUL).date())

    rows, _ = table(consultant_client, "outcomes")

    assert [row["Week of"] for row in rows] == [
        (this_monday - timedelta(weeks=11 - index)).isoformat() for index in range(12)
    ]


@pytest.mark.parametrize(
    ("query", "first", "weeks"),
    [
        ("?from=2026-03-04&to=2026-03-20", "2026-03-02", 3),  # whole weeks, Monday to Sunday
        ("?from=2026-03-20&to=2026-03-04", "2026-03-02", 3),  # either order
        ("?from=2026-03-02&to=2026-03-02", "2026-03-02", 1),
        ("?from=2020-01-01&to=2026-03-02", "2024-03-11", MAX_WEEKS),  # the last ones kept
        ("?from=yesterday&to=9999-12-31", None, 12),  # not days: the default
    ],
)
def test_the_period_asked_for_becomes_whole_weeks(consultant_client, query, first, weeks):
    rows, _ = table(consultant_client, "outcomes", query)

    assert len(rows) == weeks
    if first:
        assert rows[0]["Week of"] == first
    assert all(date.fromisoformat(row["Week of"]).weekday() == 0 for row in rows)


def test_a_period_too_long_is_said_so(consultant_client):
    page = page_text(consultant_client, "/insights?from=2020-01-01&to=2026-03-02")
    assert f"The insights cover at most {MAX_WEEKS} weeks" in page


def test_each_csv_is_for_the_period_and_filters_shown(consultant_client):
    monday = monday_of(datetime.now(ISTANBUL).date())
    page = page_text(
        consultant_client, f"/insights?from={monday + timedelta(days=2)}&country=Spain"
    )
    links = re.findall(r'href="(/insights/[a-z-]+\.csv\?[^"]+)"', page)
    assert len(links) == len(CHARTS)
    for link in links:
        assert f"from={monday}&amp;to={monday + timedelta(days=6)}&amp;country=Spain" in link


# --- Cost ----------------------------------------------------------------------------------------


def test_the_page_sends_as_many_statements_whatever_the_number_of_bookings(app, consultant_client):
    consultant_client.get("/insights")  # the session's own statements settle

    def statements() -> int:
        with statements_sent(app) as sent:
            assert consultant_client.get("/insights").status_code == 200
        return len(sent)

    with app.app_context():
        add_bookings(5, Random(1), datetime.now(UTC), days_back=70, days_ahead=0)
        db.session.commit()
    few = statements()
    with app.app_context():
        add_bookings(200, Random(2), datetime.now(UTC), days_back=70, days_ahead=0)
        db.session.commit()

    assert statements() == few
