"""The dashboard's current view as a spreadsheet: a row per consultation, every page of it.

The view is the dashboard's own (``DashboardView``, read from the same query string) and its
rows come from the dashboard's queries (``every_consultation``), so the file lists what the
pages list, in their order. The columns are one ordered list (``export_columns``): a column
more is a line more. Writing and making cells safe to open is ``webapp.pages.csv``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from webapp.cal.actions import status_label
from webapp.dashboard.queries import DashboardView, every_consultation
from webapp.models import Consultation
from webapp.pages.csv import Column, TableCutShort
from webapp.pages.filters import local_time
from webapp.security.logs import log_failure
from webapp.treatment.stage import STAGES, clinic_today, stage_of

logger = logging.getLogger(__name__)
# Times as a spreadsheet reads them (it sorts and filters them as dates).
SPREADSHEET_TIME = "%Y-%m-%d %H:%M"
# The view's arguments the audit keeps; the search's text never (audit rows are never
# erased, and a search holds patients' names): its length only.
AUDITED_FILTERS = ("questionnaire", "stage", "country", "consultant", "from", "to")


def export_columns(view: DashboardView) -> list[Column[Consultation]]:
    """The file's columns, in order: the time in the view's zone (the consultant's, named
    in the header) and in the patient's (the zone in a column of its own), who the
    patient is and where, where the booking stands and the patient's stage."""
    clinic = view.timezone.key
    today = clinic_today(view.now)
    return [
        Column(f"Time ({clinic})", lambda c: local_time(c.start_time, clinic, SPREADSHEET_TIME)),
        Column(
            "Patient's time",
            lambda c: local_time(c.start_time, patient_timezone(c), SPREADSHEET_TIME),
        ),
        Column("Patient's time zone", patient_timezone),
        Column("Name", lambda c: c.patient.name),
        Column("Email", lambda c: c.patient.email),
        Column("Phone", lambda c: c.patient.phone, phone=True),
        Column("Country", lambda c: c.patient.country),
        Column("City", lambda c: c.patient.city),
        Column("Status", status_label),
        Column("Questionnaire", questionnaire_state),
        Column("Stage", lambda c: STAGES.get(stage_of(c.patient, today), "")),
    ]


def patient_timezone(consultation: Consultation) -> str | None:
    """The zone the patient booked from, else the one their record holds."""
    return consultation.attendee_timezone or consultation.patient.timezone


def questionnaire_state(consultation: Consultation) -> str:
    """Whether the patient has completed the questionnaire, as the dashboard says it."""
    return "Completed" if consultation.patient.questionnaire_completed_at else "Not yet"


def export_filename(view: DashboardView) -> str:
    """``consultations-<tab, or search>-<the day in the view's zone>.csv`` (ASCII, ours)."""
    listed = "search" if view.searching else view.tab
    return f"consultations-{listed}-{view.now.astimezone(view.timezone).date().isoformat()}.csv"


def export_details(view: DashboardView, separator: str) -> dict[str, Any]:
    """What the audit keeps of an export: the tab (or that it was a search), the filters in
    force, the search's length and the separator; never the search's text."""
    args = view.url_args()
    details: dict[str, Any] = {
        "tab": "search" if view.searching else view.tab,
        "search_length": len(view.query.strip()),
        "separator": separator,
    }
    details |= {name: args[name] for name in AUDITED_FILTERS if args[name]}
    return details


def exported_consultations(view: DashboardView, audit_id: int) -> Iterator[Consultation]:
    """``every_consultation`` of the view; when the database fails part-way, the failure is
    logged (the export's audit id and the rows written, no patient data) and the file is
    cut short (``TableCutShort``), so that the download is not taken for a whole one."""
    written = 0
    try:
        for consultation in every_consultation(view):
            yield consultation
            written += 1
    except SQLAlchemyError as error:
        log_failure(logger, error, f"dashboard export (audit {audit_id}) after {written} rows")
        raise TableCutShort(written) from None
