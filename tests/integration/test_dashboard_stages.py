"""The dashboard's stage: on each row, as a filter (through ``read_filters``), and counted
per stage, with "expired" read from the clock."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.conftest import booking_document, deliver
from tests.integration.test_dashboard import count, page_text
from webapp.dashboard.counts import tab_counts
from webapp.dashboard.queries import (
    DashboardView,
    Filters,
    change_cursor,
    patient_conditions,
    read_filters,
)
from webapp.extensions import db
from webapp.models import Consultant, PatientProfile
from webapp.treatment.assessment import AssessmentDraft, record_assessment
from webapp.treatment.quotes import make_quote, send_quote
from webapp.treatment.responses import accept_quote
from webapp.treatment.stage import clinic_today, current_quote

DRAFT = AssessmentDraft("norwood_3", "good", None, 1000, 1600, "fue", "suitable", None, "")
PEOPLE = {
    "Assessed Arda": "assessed",
    "Sent Selin": "quote_sent",
    "Expired Emre": "expired",
    "Accepted Ayla": "accepted",
    "Booked Berk": None,
}


@pytest.fixture
def patients(app, consultant_client, consultant) -> dict[str, int]:
    ids = {}
    for number, name in enumerate(PEOPLE):
        document = booking_document(
            f"stageBooking{number:04d}",
            email=f"person{number}@example.com",
            name=name,
            phone=None,
            booking_id=1000 + number,
        )
        held = datetime.now(UTC) - timedelta(days=3)  # on the Past tab whatever the date
        document["payload"]["startTime"] = held.isoformat()
        document["payload"]["endTime"] = (held + timedelta(minutes=15)).isoformat()
        ids[name] = deliver(consultant_client, document)["patient_id"]
    with app.app_context():
        who = db.session.get(Consultant, consultant)
        for name, stage in PEOPLE.items():
            if stage is None:
                continue
            patient = db.session.get(PatientProfile, ids[name])
            record_assessment(patient, DRAFT, who)
            if stage == "assessed":
                continue
            quote = make_quote(patient, who, "en")
            if stage == "expired":
                quote.valid_until = clinic_today() - timedelta(days=1)
            send_quote(quote, who)
            if stage == "accepted":
                accept_quote(quote, name, True)
        db.session.commit()
    return ids


def listed(client, **args) -> set[str]:
    page = client.get("/", query_string={"q": "example.com", **args}).get_data(as_text=True)
    return set(re.findall(r'id="patient-link-\d+"[^>]*>([^<]+)</a>', page))


def test_each_row_shows_its_patients_stage(consultant_client, patients):
    page = consultant_client.get("/", query_string={"q": "example.com"}).get_data(as_text=True)
    for stage, label in (("quote_sent", "Quote sent"), ("expired", "Expired")):
        assert f'<span class="stage stage-{stage}">{label}</span>' in page


@pytest.mark.parametrize(
    ("stage", "names"),
    [
        ("assessed", {"Assessed Arda"}),
        ("quote_sent", {"Sent Selin"}),
        ("expired", {"Expired Emre"}),
        ("accepted", {"Accepted Ayla"}),
        ("declined", set()),
    ],
)
def test_the_stage_filter_lists_the_patients_in_that_stage(
    consultant_client, patients, stage, names
):
    assert listed(consultant_client, stage=stage) == names


def test_an_unknown_stage_is_no_filter(consultant_client, patients):
    assert listed(consultant_client, stage="bribed") == set(PEOPLE)
    assert read_filters({"stage": "'; DROP TABLE x"}).stage is None


def test_the_stage_filter_counts_every_stage(consultant_client, patients):
    page = consultant_client.get("/").get_data(as_text=True)
    for label, patients_in_it in (
        ("Assessed", 1),
        ("Quote sent", 1),
        ("Expired", 1),
        ("Accepted", 1),
        ("Declined", 0),
        ("Surgery scheduled", 0),
    ):
        assert f">{label} ({patients_in_it})</option>" in page


def test_a_waiting_quote_expires_on_the_clock(app, patients, time_machine):
    with app.app_context():
        valid_until = clinic_today() + timedelta(days=30)
    time_machine.move_to(valid_until + timedelta(days=2), tick=False)
    with app.app_context():

        def names(stage: str) -> set[str]:
            conditions = patient_conditions(read_filters({"stage": stage}))
            return set(db.session.scalars(select(PatientProfile.name).where(*conditions)))

        assert names("expired") == {"Expired Emre", "Sent Selin"}
        assert names("quote_sent") == set()
        assert names("accepted") == {"Accepted Ayla"}


def test_a_stage_filters_counts_take_a_patient_entering_it_at_once(
    app, consultant_client, patients
):
    def accepted() -> int:
        return count(page_text(consultant_client, "/?tab=past&stage=accepted"), "past")

    assert [accepted(), accepted()] == [1, 1]  # counted, then remembered for this version
    with app.app_context():
        selin = db.session.get(PatientProfile, patients["Sent Selin"])
        accept_quote(current_quote(selin), "Sent Selin", True)
        db.session.commit()

    assert accepted() == 2


def test_a_stage_filters_counts_turn_at_the_clinics_midnight(app, patients, time_machine):
    """A quote expires when the clinic's day ends, though no data changed and the
    consultant, in New York, is still on the same day."""
    with app.app_context():
        last_day = current_quote(db.session.get(PatientProfile, patients["Sent Selin"])).valid_until
        clinic = ZoneInfo(app.config["CLINIC_TIMEZONE"])
    new_york = ZoneInfo("America/New_York")

    def counted(stage: str, at: datetime) -> int:
        time_machine.move_to(at, tick=False)
        with app.app_context():
            view = DashboardView("past", "", 1, at, new_york, Filters(stage=stage))
            return tab_counts(view, change_cursor())["past"]

    before = datetime.combine(last_day, time(23, 58), tzinfo=clinic)
    after = before + timedelta(minutes=3)
    assert before.astimezone(new_york).date() == after.astimezone(new_york).date()
    assert (counted("quote_sent", before), counted("expired", before)) == (1, 1)
    assert (counted("quote_sent", after), counted("expired", after)) == (0, 2)


def test_the_csv_export_carries_the_stage_and_filters_by_it(consultant_client, patients):
    response = consultant_client.get("/export.csv", query_string={"q": "example.com"})
    rows = csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")))
    stages = {row["Name"]: row["Stage"] for row in rows}
    assert stages == {
        "Assessed Arda": "Assessed",
        "Sent Selin": "Quote sent",
        "Expired Emre": "Expired",
        "Accepted Ayla": "Accepted",
        "Booked Berk": "",
    }

    response = consultant_client.get(
        "/export.csv", query_string={"q": "example.com", "stage": "expired"}
    )
    rows = csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")))
    assert [row["Name"] for row in rows] == ["Expired Emre"]
