"""The ZIP a patient's record goes out in: ``patient.json``, ``fhir.json`` and the photos
as stored JPEGs."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from webapp.models import PatientProfile
from webapp.privacy.export import as_json, patient_photo_rows, patient_record, photo_file_name
from webapp.privacy.fhir import fhir_bundle


def export_zip(patient: PatientProfile, now: datetime | None = None) -> bytes:
    """The ZIP a patient receives: ``patient.json``, ``fhir.json`` and ``photos/``."""
    now = now or datetime.now(UTC)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("patient.json", as_json(patient_record(patient, now)))
        archive.writestr("fhir.json", as_json(fhir_bundle(patient, now, embed_photos=False)))
        for photo in patient_photo_rows(patient, with_bytes=True):
            # JPEGs are compressed already: stored as they are.
            archive.writestr(photo_file_name(photo), photo.content, zipfile.ZIP_STORED)
    return buffer.getvalue()


def export_file_name(patient: PatientProfile, now: datetime, extension: str) -> str:
    """The download's name: the patient's number and the date, never their name."""
    return f"patient-{patient.id}-{now:%Y%m%d}.{extension}"
