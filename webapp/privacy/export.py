"""A patient's whole record as ``patient.json``: one function per section (GDPR articles
15 and 20, KVKK article 11). ``webapp.privacy.archive`` puts it in a ZIP with the photos
and the FHIR Bundle.

Each section is a plain function of the patient in ``SECTIONS``; a new kind of record
is one more function there. Read-only: the view or CLI command
records ``patient.exported`` and commits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import undefer

from webapp.audit.views import ACTION_LABELS
from webapp.extensions import db
from webapp.models import (
    Assessment,
    AuditEvent,
    Consultant,
    Consultation,
    DepositPayment,
    PatientNote,
    PatientPhoto,
    PatientProfile,
    PatientStageChange,
    QuestionnaireSubmission,
    Quote,
    SurgeryDate,
    WebhookEvent,
)
from webapp.privacy.erasure import merged_family
from webapp.treatment.money import from_minor

FORMAT_VERSION = 1
Section = Callable[[PatientProfile], Any]


def iso_time(moment: datetime | None) -> str | None:
    """A moment as ISO 8601, or ``None``."""
    return moment.isoformat() if moment is not None else None


def profile_section(patient: PatientProfile) -> dict[str, Any]:
    """Who the patient is: the profile and its login's details, and records merged in."""
    return {
        "id": patient.id,
        "name": patient.name,
        "email": patient.email,
        "phone": patient.phone,
        "location": patient.location,
        "country": patient.country,
        "city": patient.city,
        "timezone": patient.timezone,
        "age_range": patient.age_range,
        "gender": patient.gender,
        "questionnaire_answers": patient.questionnaire_answers,
        "questionnaire_completed_at": iso_time(patient.questionnaire_completed_at),
        "created_at": iso_time(patient.created_at),
        "erased_at": iso_time(patient.erased_at),
        "user": {
            "id": patient.user.id,
            "name": patient.user.name,
            "email": patient.user.email,
            "phone": patient.user.phone_number,
        },
        "merged_records": [record.id for record in merged_family(patient)[1:]],
    }


def patient_consultations(patient: PatientProfile) -> list[Consultation]:
    """The patient's consultations, oldest first."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.patient_profile_id == patient.id)
            .order_by(Consultation.start_time.nulls_last(), Consultation.id)
        )
    )


def consultations_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """Every consultation with its reschedule chain and its status history (each Cal.com
    delivery applied to it, in order)."""
    consultations = patient_consultations(patient)
    rescheduled_from = {c.rescheduled_to_id: c.id for c in consultations if c.rescheduled_to_id}
    deliveries: dict[int, list[dict[str, Any]]] = {}
    for event in db.session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.consultation_id.in_([c.id for c in consultations]))
        .order_by(WebhookEvent.received_at, WebhookEvent.id)
    ):
        deliveries.setdefault(event.consultation_id or 0, []).append(
            {
                "received_at": iso_time(event.received_at),
                "sent_at": iso_time(event.sent_at),
                "trigger": event.trigger_event,
                "outcome": event.status,
            }
        )
    return [
        {
            "id": c.id,
            "cal_booking_uid": c.cal_booking_uid,
            "title": c.title,
            "status": c.status,
            "status_changed_at": iso_time(c.status_changed_at),
            "start_time": iso_time(c.start_time),
            "end_time": iso_time(c.end_time),
            "attendee_email": c.attendee_email,
            "attendee_phone": c.attendee_phone,
            "attendee_timezone": c.attendee_timezone,
            "attendee_language": c.attendee_locale,
            "consultant": c.organizer_name,
            "meeting_location": c.meeting_location,
            "cancellation_reason": c.cancellation_reason,
            "reschedule_requested_at": iso_time(c.reschedule_requested_at),
            "rescheduled_to": c.rescheduled_to_id,
            "rescheduled_from": rescheduled_from.get(c.id),
            "attendance": c.attendance,
            "created_at": iso_time(c.created_at),
            "status_history": deliveries.get(c.id, []),
        }
        for c in consultations
    ]


def booking_answers_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """What the patient answered in Cal.com's booking form, per consultation."""
    return [
        {"consultation": c.id, "answers": c.booking_answers}
        for c in patient_consultations(patient)
        if c.booking_answers
    ]


def submissions_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """Every questionnaire submission, oldest first, with the consent given."""
    return [
        {
            "id": s.id,
            "consultation": s.consultation_id,
            "submitted_at": iso_time(s.submitted_at),
            "answers": s.answers,
            "typed_name": s.typed_name,
            "typed_email": s.typed_email,
            "typed_phone": s.typed_phone,
            "consent": {
                "given_at": iso_time(s.consent_given_at),
                "wording_version": s.consent_wording_version,
            },
        }
        for s in patient_submissions(patient)
    ]


def patient_submissions(patient: PatientProfile) -> list[QuestionnaireSubmission]:
    """The patient's questionnaire submissions, oldest first."""
    return list(
        db.session.scalars(
            select(QuestionnaireSubmission)
            .where(QuestionnaireSubmission.patient_profile_id == patient.id)
            .order_by(QuestionnaireSubmission.submitted_at, QuestionnaireSubmission.id)
        )
    )


def notes_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """The consultants' notes, every version, oldest first."""
    return [
        {
            "id": note.id,
            "written_at": iso_time(note.created_at),
            "by": note.consultant.name,
            "text": note.body,
            "replaces": note.replaces_id,
        }
        for note in db.session.scalars(
            select(PatientNote)
            .where(PatientNote.patient_profile_id == patient.id)
            .order_by(PatientNote.created_at, PatientNote.id)
        )
    ]


def assessments_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """The consultants' assessments, every version, oldest first."""
    return [
        {
            "id": assessment.id,
            "recorded_at": iso_time(assessment.created_at),
            "by": assessment.consultant.name,
            "consultation_id": assessment.consultation_id,
            "replaces": assessment.replaces_id,
            "hair_loss_pattern": assessment.pattern,
            "donor_area": assessment.donor_quality,
            "donor_density_fu_per_cm2": assessment.donor_density,
            "grafts": {"min": assessment.grafts_min, "max": assessment.grafts_max},
            "technique": assessment.technique,
            "suitability": assessment.suitability,
            "unsuitable_reason": assessment.unsuitable_reason,
            "recommendations": assessment.recommendations,
        }
        for assessment in db.session.scalars(
            select(Assessment)
            .where(Assessment.patient_profile_id == patient.id)
            .order_by(Assessment.created_at, Assessment.id)
        )
    ]


def _amount(minor: int, currency: str) -> str:
    """An amount as an exact decimal string (``"2500.00"``), never a float."""
    return str(from_minor(minor, currency))


def quotes_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """Every quote version, oldest first, with its lines, the patient's answers, and the
    deposits and surgery date recorded against it."""
    quotes = db.session.scalars(
        select(Quote)
        .where(Quote.patient_profile_id == patient.id)
        .order_by(Quote.quote_number, Quote.version)
    )
    return [
        {
            "id": quote.id,
            "number": quote.quote_number,
            "version": quote.version,
            "replaces": quote.replaces_id,
            "assessment_id": quote.assessment_id,
            "made_at": iso_time(quote.created_at),
            "by": quote.consultant.name,
            "sent_at": iso_time(quote.sent_at),
            "viewed_at": iso_time(quote.viewed_at),
            "language": quote.language,
            "currency": quote.currency,
            "lines": [
                {
                    "description": line.description,
                    "grafts": line.grafts,
                    "price": _amount(line.price_minor, quote.currency),
                }
                for line in quote.lines
            ],
            "total": _amount(quote.total_minor, quote.currency),
            "deposit": _amount(quote.deposit_minor, quote.currency),
            "valid_until": quote.valid_until.isoformat(),
            "included": quote.inclusions,
            "not_included": quote.exclusions,
            "balance": quote.balance_terms,
            "cancellation_and_date_change_terms": quote.terms,
            "note": quote.note,
            "answers": [
                {
                    "kind": answer.kind,
                    "at": iso_time(answer.created_at),
                    "quote_version": answer.quote_version,
                    "typed_name": answer.typed_name,
                    "terms_accepted": answer.terms_accepted,
                    "text": answer.text,
                }
                for answer in quote.responses
            ],
            "deposits_received": [
                {
                    "amount": _amount(payment.amount_minor, payment.currency),
                    "currency": payment.currency,
                    "received_on": payment.received_on.isoformat(),
                }
                for payment in db.session.scalars(
                    select(DepositPayment)
                    .where(DepositPayment.quote_id == quote.id)
                    .order_by(DepositPayment.received_on, DepositPayment.id)
                )
            ],
            "surgery_dates": [
                surgery.surgery_on.isoformat()
                for surgery in db.session.scalars(
                    select(SurgeryDate)
                    .where(SurgeryDate.quote_id == quote.id)
                    .order_by(SurgeryDate.recorded_at, SurgeryDate.id)
                )
            ],
        }
        for quote in quotes
    ]


def stages_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """Where the patient stood after their consultation, each step with its time."""
    return [
        {"stage": change.stage, "at": iso_time(change.at)}
        for change in db.session.scalars(
            select(PatientStageChange)
            .where(PatientStageChange.patient_profile_id == patient.id)
            .order_by(PatientStageChange.at, PatientStageChange.id)
        )
    ]


def patient_photo_rows(patient: PatientProfile, *, with_bytes: bool = False) -> list[PatientPhoto]:
    """The patient's photos, oldest first; their bytes loaded too when ``with_bytes``."""
    statement = (
        select(PatientPhoto)
        .where(PatientPhoto.patient_profile_id == patient.id)
        .order_by(PatientPhoto.created_at, PatientPhoto.id)
    )
    if with_bytes:
        statement = statement.options(undefer(PatientPhoto.content))
    return list(db.session.scalars(statement))


def photo_file_name(photo: PatientPhoto) -> str:
    """Where a photo is in the ZIP."""
    return f"photos/{photo.id}-{photo.view}.jpg"


def photos_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """The photos sent with the questionnaire: which view, its size and its file."""
    return [
        {
            "id": photo.id,
            "view": photo.view,
            "file": photo_file_name(photo),
            "width": photo.width,
            "height": photo.height,
            "submission": photo.questionnaire_submission_id,
            "sent_at": iso_time(photo.created_at),
        }
        for photo in patient_photo_rows(patient)
    ]


def audit_section(patient: PatientProfile) -> list[dict[str, Any]]:
    """Who saw or changed the record, and when: the audit trail about the patient."""
    ids = [record.id for record in merged_family(patient)]
    rows = db.session.execute(
        select(AuditEvent, Consultant.name)
        .outerjoin(Consultant, Consultant.id == AuditEvent.consultant_id)
        .where(AuditEvent.patient_profile_id.in_(ids))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [
        {
            "at": iso_time(event.at),
            "action": event.action,
            "what": ACTION_LABELS.get(event.action, event.action),
            "by": name or "System",
        }
        for event, name in rows
    ]


# patient.json's sections, in order: a new kind of record is one more entry.
SECTIONS: dict[str, Section] = {
    "profile": profile_section,
    "consultations": consultations_section,
    "booking_answers": booking_answers_section,
    "questionnaire_submissions": submissions_section,
    "notes": notes_section,
    "assessments": assessments_section,
    "quotes": quotes_section,
    "stages": stages_section,
    "photos": photos_section,
    "audit_events": audit_section,
}


def patient_record(patient: PatientProfile, now: datetime | None = None) -> dict[str, Any]:
    """Everything the clinic holds about ``patient``, as ``patient.json`` holds it."""
    record: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "exported_at": (now or datetime.now(UTC)).isoformat(),
    }
    for name, section in SECTIONS.items():
        record[name] = section(patient)
    return record


def as_json(document: dict[str, Any]) -> bytes:
    """A JSON document as the export writes it: UTF-8, names kept as typed, indented."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode()
