"""Made-up assessments and quotes for made-up patients (``webapp.demo.bookings``): what
``flask dev seed`` shows and the benchmarks measure, in every stage.

Of the patients whose consultation was completed, some are only consulted; the others were
assessed an hour after it, most were sent a quote a day later (valid for 30 days, so a
quote sent long ago and never answered has expired by the clock), which most opened; some
accepted, some declined; of those who accepted, some paid a deposit, and some of those have
a surgery date. Every time lies at least an hour before ``now``. The stage and its history
are written as ``webapp.treatment.stage`` would have kept them.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import insert, select

from webapp.auth.consultants import create_consultant
from webapp.extensions import db
from webapp.models import (
    Assessment,
    Consultant,
    DepositPayment,
    PatientStage,
    PatientStageChange,
    Quote,
    QuoteLine,
    QuoteResponse,
    SurgeryDate,
)
from webapp.treatment.assessment import SUGGESTED_GRAFTS, TECHNIQUES

# Tables given explicit ids (one row per patient at most: the patient's id).
TABLES = (Assessment, Quote, QuoteLine, QuoteResponse, DepositPayment, SurgeryDate)
# How far a patient whose consultation was completed got, of every hundred: each step the
# share of those who reached the one before.
ASSESSED = 0.75
QUOTED = 0.8
OPENED = 0.75
ANSWERED = 0.5
ACCEPTING = 0.6
DEPOSIT = 0.6
SURGERY = 0.6
VALIDITY = timedelta(days=30)
DEMO_CONSULTANT = ("Dr. Selin Aydin", "selin.aydin@clinic.example")
PRICE_PER_GRAFT = 100  # cents
PROCEDURE = 150_000  # cents


def demo_consultant() -> int:
    """The id of the consultant the made-up assessments are by: the first there is, else a
    new login (its password random and never shown). Flushes."""
    found = db.session.scalar(select(Consultant.id).order_by(Consultant.id).limit(1))
    if found is not None:
        return found
    name, email = DEMO_CONSULTANT
    return create_consultant(email, name, secrets.token_urlsafe(24), "Europe/Istanbul").id


def treatment_rows(
    consultation: dict[str, Any], profile: dict[str, Any], rng: Random, now: datetime, by: int
) -> dict[type, list[dict[str, Any]]]:
    """The made-up treatment of one patient (``profile``, with its one ``consultation``):
    rows by model, patient_stages among them; sets the profile's stage columns."""
    rows: dict[type, list[dict[str, Any]]] = {}
    if consultation["status"] != "completed":
        return rows
    i = profile["id"]
    latest = now - timedelta(hours=1)
    steps: list[tuple[str, datetime]] = [(PatientStage.CONSULTED, consultation["end_time"])]
    valid_until = None

    def at(after: datetime, hours: float) -> datetime | None:
        moment = after + timedelta(hours=hours)
        return moment if moment <= latest else None

    assessed = at(consultation["end_time"], 1) if rng.random() < ASSESSED else None
    if assessed:
        grade = rng.choice(list(SUGGESTED_GRAFTS))
        low, high = SUGGESTED_GRAFTS[grade]
        technique = rng.choice(list(TECHNIQUES))
        rows[Assessment] = [
            {
                "id": i,
                "patient_profile_id": i,
                "consultation_id": consultation["id"],
                "consultant_id": by,
                "created_at": assessed,
                "pattern": grade,
                "donor_quality": rng.choice(["good", "good", "moderate", "poor"]),
                "donor_density": rng.randint(55, 100),
                "grafts_min": low,
                "grafts_max": high,
                "technique": technique,
                "suitability": "suitable",
                "recommendations": "",
            }
        ]
        steps.append((PatientStage.ASSESSED, assessed))
        sent = at(assessed, rng.uniform(2, 48)) if rng.random() < QUOTED else None
        if sent:
            valid_until = (sent + VALIDITY).date()
            rows[Quote] = [
                {
                    "id": i,
                    "quote_number": f"Q-{sent.year}-{i:06d}",
                    "version": 1,
                    "link_key": secrets.token_hex(16),
                    "patient_profile_id": i,
                    "assessment_id": i,
                    "consultant_id": by,
                    "currency": "EUR",
                    "language": consultation["attendee_locale"]
                    if consultation["attendee_locale"] in ("en", "de", "es", "tr", "ar")
                    else "en",
                    "valid_until": valid_until,
                    "deposit_minor": 50_000,
                    "created_at": sent - timedelta(minutes=20),
                    "sent_at": sent,
                }
            ]
            rows[QuoteLine] = [
                {
                    "id": i,
                    "quote_id": i,
                    "position": 0,
                    "description": f"Hair transplant ({TECHNIQUES[technique]})",
                    "grafts": high,
                    "price_minor": PROCEDURE + high * PRICE_PER_GRAFT,
                }
            ]
            steps.append((PatientStage.QUOTE_SENT, sent))
            opened = at(sent, rng.uniform(1, 72)) if rng.random() < OPENED else None
            if opened:
                rows[Quote][0]["viewed_at"] = opened
                steps.append((PatientStage.QUOTE_VIEWED, opened))
                answered = at(opened, rng.uniform(1, 24 * 10)) if rng.random() < ANSWERED else None
                if answered and answered.date() <= valid_until:
                    _answer(rows, steps, i, answered, rng, latest)
    profile["stage"] = steps[-1][0]
    profile["stage_changed_at"] = steps[-1][1]
    waiting = profile["stage"] in (PatientStage.QUOTE_SENT, PatientStage.QUOTE_VIEWED)
    profile["quote_valid_until"] = valid_until if waiting else None
    rows[PatientStageChange] = [
        {"patient_profile_id": i, "stage": stage, "at": moment} for stage, moment in steps
    ]
    return rows


def _answer(
    rows: dict[type, list[dict[str, Any]]],
    steps: list[tuple[str, datetime]],
    i: int,
    answered: datetime,
    rng: Random,
    latest: datetime,
) -> None:
    """The patient's answer to quote ``i`` and what followed an acceptance."""
    accepted = rng.random() < ACCEPTING
    kind = PatientStage.ACCEPTED if accepted else PatientStage.DECLINED
    rows[QuoteResponse] = [
        {
            "id": i,
            "quote_id": i,
            "kind": str(kind),
            "quote_version": 1,
            "typed_name": "Signed by the patient" if accepted else None,
            "terms_accepted": accepted,
            "text": None if accepted else "Chose another clinic",
            "created_at": answered,
        }
    ]
    steps.append((kind, answered))
    if not accepted or rng.random() >= DEPOSIT:
        return
    paid = answered + timedelta(days=rng.uniform(1, 7))
    if paid > latest:
        return
    rows[DepositPayment] = [
        {
            "id": i,
            "quote_id": i,
            "amount_minor": 50_000,
            "currency": "EUR",
            "received_on": paid.date(),
            "consultant_id": rows[Quote][0]["consultant_id"],
            "recorded_at": paid,
        }
    ]
    steps.append((PatientStage.DEPOSIT_RECEIVED, paid))
    if rng.random() >= SURGERY:
        return
    scheduled = paid + timedelta(hours=rng.uniform(1, 48))
    if scheduled > latest:
        return
    rows[SurgeryDate] = [
        {
            "id": i,
            "quote_id": i,
            "surgery_on": (paid + timedelta(days=rng.randint(20, 90))).date(),
            "consultant_id": rows[Quote][0]["consultant_id"],
            "recorded_at": scheduled,
        }
    ]
    steps.append((PatientStage.SURGERY_SCHEDULED, scheduled))


def insert_treatments(batch: list[dict[type, list[dict[str, Any]]]]) -> None:
    """Insert a batch of ``treatment_rows``' rows, parents first."""
    for model in (*TABLES, PatientStageChange):
        if rows := [row for rows in batch for row in rows.get(model, [])]:
            db.session.execute(insert(model), rows)
