"""How long the law makes the clinic keep a patient's record, and who is due for erasure.

A clinic sets ``MEDICAL_RECORDS_MIN_YEARS`` (default 0): a patient seen (a consultation
that started, and was not called off) more recently than that is kept. ``flask patients
retention`` erases patients with no consultation in N years, this minimum respected.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import and_, func, or_, select

from webapp.extensions import db
from webapp.models import Consultation, ConsultationStatus, PatientProfile

# Bookings that never took place: they count for "no consultation in N years", not as
# the patient having been seen.
CALLED_OFF = (
    ConsultationStatus.CANCELLED,
    ConsultationStatus.REJECTED,
    ConsultationStatus.RESCHEDULED,
)


def add_years(moment: datetime, years: int) -> datetime:
    """``moment`` ``years`` later on the calendar; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def minimum_years() -> int:
    """``MEDICAL_RECORDS_MIN_YEARS``: years a record is kept after the last consultation."""
    return int(current_app.config.get("MEDICAL_RECORDS_MIN_YEARS") or 0)


def last_seen(patient: PatientProfile, now: datetime) -> datetime | None:
    """When the patient's latest consultation that took place started; ``None`` if none did."""
    return db.session.scalar(
        select(func.max(Consultation.start_time)).where(
            Consultation.patient_profile_id == patient.id,
            Consultation.start_time <= now,
            Consultation.status.not_in(CALLED_OFF),
        )
    )


def kept_until(patient: PatientProfile, now: datetime) -> datetime | None:
    """Until when the law makes the clinic keep this patient's record (erasure is refused
    before then); ``None`` when it may be erased now."""
    years = minimum_years()
    seen = last_seen(patient, now) if years > 0 else None
    if seen is None:
        return None
    until = add_years(seen, years)
    return until if until > now else None


def patients_due(older_than_years: int, now: datetime) -> list[PatientProfile]:
    """Patients, not erased nor merged away, with no consultation (of any status) starting
    in the last ``older_than_years`` years, and none booked since; those the minimum
    retention still keeps are left out. Oldest first."""
    cutoff = add_years(now, -older_than_years)
    candidates = db.session.scalars(
        select(PatientProfile)
        .where(
            PatientProfile.erased_at.is_(None),
            PatientProfile.merged_into_id.is_(None),
            PatientProfile.created_at < cutoff,
            or_(
                PatientProfile.latest_booking_at.is_(None),
                PatientProfile.latest_booking_at < cutoff,
            ),
            ~select(Consultation.id)
            .where(
                and_(
                    Consultation.patient_profile_id == PatientProfile.id,
                    Consultation.start_time >= cutoff,
                )
            )
            .exists(),
        )
        .order_by(PatientProfile.id)
    )
    return [patient for patient in candidates if kept_until(patient, now) is None]
