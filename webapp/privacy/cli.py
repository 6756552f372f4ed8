"""``flask patients export|erase|retention``: a patient's data rights from a shell."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from webapp.audit import trail
from webapp.extensions import db
from webapp.models import PatientProfile
from webapp.privacy.archive import export_zip
from webapp.privacy.erasure import ErasureRefusedError, erase_patient, erasure_refusal
from webapp.privacy.export import as_json
from webapp.privacy.fhir import fhir_bundle
from webapp.privacy.retention import patients_due

patients = AppGroup("patients", help="A patient's record out, erasure and retention.")


def _patient(patient_id: int) -> PatientProfile:
    patient = db.session.get(PatientProfile, patient_id)
    if patient is None:
        raise click.ClickException(f"There is no patient #{patient_id}.")
    return patient


@patients.command("export")
@click.argument("patient_id", type=int)
@click.option(
    "--format",
    "kind",
    type=click.Choice(["zip", "fhir"]),
    default="zip",
    show_default=True,
    help="zip: patient.json, fhir.json and the photos; fhir: the FHIR R4 Bundle alone, "
    "photos inside.",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file to write; standard output when not given.")  # fmt: skip
def export_command(patient_id: int, kind: str, output: Path | None) -> None:
    """Write patient PATIENT_ID's whole record; records ``patient.exported``."""
    patient = _patient(patient_id)
    now = datetime.now(UTC)
    if kind == "zip":
        body = export_zip(patient, now)
    else:
        body = as_json(fhir_bundle(patient, now, embed_photos=True))
    trail.record("patient.exported", None, patient, {"format": kind, "via": "cli"})
    db.session.commit()
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(body)
        click.echo(f"Patient #{patient.id}'s record written to {output} ({len(body)} bytes).",
                   err=True)  # fmt: skip


@patients.command("erase")
@click.argument("patient_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask to confirm.")
def erase_command(patient_id: int, yes: bool) -> None:
    """Erase patient PATIENT_ID's personal data, keeping consultation times and statuses
    and the audit trail; refused while the law keeps the record."""
    patient = _patient(patient_id)
    if patient.erased_at is not None:
        click.echo(f"Patient #{patient.id} was erased already, on {patient.erased_at:%d %b %Y}.")
        return
    refusal = erasure_refusal(patient, datetime.now(UTC))
    if refusal is not None:
        raise click.ClickException(refusal)
    if not yes:
        click.confirm(
            f"Erase patient #{patient.id}'s name, contact details, answers, photos and notes "
            "for good?",
            abort=True,
        )
    try:
        erasure = erase_patient(patient, None, datetime.now(UTC))
    except ErasureRefusedError as refused:
        db.session.rollback()
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    click.echo(json.dumps({"erased": patient.id, **(erasure.as_details() if erasure else {})}))


@patients.command("retention")
@click.option("--older-than-years", type=click.IntRange(min=1), required=True,
              help="Erase patients with no consultation in this many years.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Only list them.")
@click.option("--yes", is_flag=True, help="Do not ask to confirm.")
def retention_command(older_than_years: int, dry_run: bool, yes: bool) -> None:
    """List, or erase, patients with no consultation in the last N years (never one that
    MEDICAL_RECORDS_MIN_YEARS still keeps), each in its own transaction."""
    now = datetime.now(UTC)
    due = patients_due(older_than_years, now)
    for patient in due:
        last = patient.latest_booking_at or patient.created_at
        click.echo(f"patient #{patient.id}: last consultation or booking {last:%Y-%m-%d}")
    click.echo(f"{len(due)} patient(s) with no consultation in {older_than_years} years.")
    if dry_run or not due:
        return
    if not yes:
        click.confirm(f"Erase these {len(due)} patients for good?", abort=True)
    for patient in due:
        erase_patient(patient, None, now)
        db.session.commit()
    click.echo(f"Erased {len(due)} patient(s).")


def register(app: Flask) -> None:
    """Add the ``patients`` command group to ``app``."""
    app.cli.add_command(patients)
