"""A patient's record as a FHIR R4 ``Bundle`` of type ``collection``: the ``Patient``, an
``Appointment`` per consultation, the ``Questionnaire`` and a ``QuestionnaireResponse`` per
submission, and a ``Media`` per photo.

Codes use standard systems: FHIR's AppointmentStatus and AdministrativeGender, BCP-47 for
languages, E.164 phones in ``telecom``. Resources are named by ``urn:uuid`` URLs derived
from the clinic's ids, so the same record exports the same Bundle. Read-only; a test
validates the output with ``fhir.resources``' R4B models.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import force_locale
from wtforms import RadioField, SelectMultipleField, TextAreaField

from webapp.models import (
    Consultation,
    ConsultationStatus,
    PatientPhoto,
    PatientProfile,
    QuestionnaireSubmission,
)
from webapp.privacy.export import (
    iso_time,
    patient_consultations,
    patient_photo_rows,
    patient_submissions,
    photo_file_name,
)
from webapp.questionnaire.forms import QuestionnaireForm
from webapp.questionnaire.questions import ANSWER_FIELDS

# Our consultation statuses as FHIR R4 AppointmentStatus codes.
APPOINTMENT_STATUS = {
    ConsultationStatus.SCHEDULED: "booked",
    ConsultationStatus.PENDING: "pending",
    ConsultationStatus.RESCHEDULED: "cancelled",
    ConsultationStatus.CANCELLED: "cancelled",
    ConsultationStatus.REJECTED: "cancelled",
    ConsultationStatus.COMPLETED: "fulfilled",
    ConsultationStatus.NO_SHOW: "noshow",
}
# The questionnaire's genders as FHIR AdministrativeGender codes.
ADMINISTRATIVE_GENDER = {
    "female": "female",
    "male": "male",
    "other": "other",
    "undisclosed": "unknown",
}
BCP47 = "urn:ietf:bcp:47"
CAL_BOOKING_SYSTEM = "https://cal.com/booking-uid"
QUESTIONNAIRE_URL = "urn:clinic:questionnaire:hair-consultation"
QUESTIONNAIRE_VERSION = "1"
# A stable namespace for the urn:uuid of each exported resource.
NAMESPACE = uuid.UUID("6f1c4e3a-2b7d-4c59-9a0e-24f1f0c0de24")


def resource_url(kind: str, key: object) -> str:
    """The ``urn:uuid`` that names one resource of the Bundle."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}/{key}')}"


def _entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    resource["id"] = url.removeprefix("urn:uuid:")
    return {"fullUrl": url, "resource": resource}


def _drop_empty(resource: dict[str, Any]) -> dict[str, Any]:
    """FHIR has no empty elements: drop keys whose value is ``None``, ``""`` or ``[]``."""
    return {key: value for key, value in resource.items() if value not in (None, "", [], {})}


def patient_resource(patient: PatientProfile, language: str | None) -> dict[str, Any]:
    """The ``Patient``: name, phone (E.164) and email, gender, city and country, language."""
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone, "use": "mobile"})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    address = _drop_empty({"city": patient.city, "country": patient.country})
    return _drop_empty(
        {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:clinic:patient", "value": str(patient.id)}],
            "active": patient.erased_at is None,
            "name": [{"text": patient.name}] if patient.name else [],
            "telecom": telecom,
            "gender": ADMINISTRATIVE_GENDER.get(patient.gender or ""),
            "address": [address] if address else [],
            "communication": [
                {"language": {"coding": [{"system": BCP47, "code": language}]}, "preferred": True}
            ]
            if language
            else [],
        }
    )


def appointment_resource(consultation: Consultation, patient_url: str) -> dict[str, Any]:
    """An ``Appointment`` for one consultation, with Cal.com's booking uid."""
    participants = [{"actor": {"reference": patient_url}, "status": "accepted"}]
    if consultation.organizer_name:
        participants.append(
            {"actor": {"display": consultation.organizer_name}, "status": "accepted"}
        )
    comment = None
    if consultation.rescheduled_to is not None:
        comment = f"Rescheduled to booking {consultation.rescheduled_to.cal_booking_uid}"
    return _drop_empty(
        {
            "resourceType": "Appointment",
            "identifier": [{"system": CAL_BOOKING_SYSTEM, "value": consultation.cal_booking_uid}],
            "status": APPOINTMENT_STATUS[ConsultationStatus(consultation.status)],
            "cancelationReason": {"text": consultation.cancellation_reason}
            if consultation.cancellation_reason
            else None,
            "description": consultation.title,
            "start": iso_time(consultation.start_time),
            "end": iso_time(consultation.end_time),
            "created": iso_time(consultation.created_at),
            "comment": comment,
            "participant": participants,
        }
    )


@dataclass(frozen=True)
class Question:
    """One question of the questionnaire as FHIR describes it: its words in English, its
    type, and the choices' codes with their words."""

    text: str
    kind: str  # FHIR's item type: choice, text or string
    repeats: bool
    choices: dict[str, str]


def question(name: str) -> Question:
    """The question behind an answer field, read from the form's declaration (no request
    is needed, so a shell command exports too)."""
    declared = getattr(QuestionnaireForm, name)
    field_class = declared.field_class
    label = declared.args[0] if declared.args else declared.kwargs.get("label", name)
    choices = {choice.value: str(choice.label) for choice in declared.kwargs.get("choices") or []}
    if issubclass(field_class, SelectMultipleField | RadioField):
        return Question(str(label), "choice", issubclass(field_class, SelectMultipleField), choices)
    return Question(str(label), "text" if issubclass(field_class, TextAreaField) else "string",
                    False, {})  # fmt: skip


def questionnaire_resource() -> dict[str, Any]:
    """The ``Questionnaire`` the clinic's patients answer, its questions in English."""
    with force_locale("en"):
        items = [_questionnaire_item(name) for name in ANSWER_FIELDS]
    return {
        "resourceType": "Questionnaire",
        "url": QUESTIONNAIRE_URL,
        "version": QUESTIONNAIRE_VERSION,
        "name": "HairConsultationQuestionnaire",
        "title": "Before your hair consultation",
        "status": "active",
        "subjectType": ["Patient"],
        "item": items,
    }


def _questionnaire_item(name: str) -> dict[str, Any]:
    asked = question(name)
    item: dict[str, Any] = {"linkId": name, "text": asked.text, "type": asked.kind}
    if asked.repeats:
        item["repeats"] = True
    if asked.choices:
        item["answerOption"] = [
            {"valueCoding": {"code": code, "display": words}}
            for code, words in asked.choices.items()
        ]
    return item


def _answers(asked: Question, value: Any) -> list[dict[str, Any]]:
    values = value if isinstance(value, list) else [value]
    values = [v for v in values if v not in (None, "")]
    if asked.kind == "choice":
        return [
            {"valueCoding": {"code": v, "display": asked.choices.get(v, str(v))}} for v in values
        ]
    return [{"valueString": str(v)} for v in values]


def questionnaire_response_resource(
    submission: QuestionnaireSubmission, patient_url: str
) -> dict[str, Any]:
    """A ``QuestionnaireResponse`` for one submission; unanswered questions are left out."""
    items = []
    with force_locale("en"):
        for name in ANSWER_FIELDS:
            asked = question(name)
            answers = _answers(asked, submission.answers.get(name))
            if answers:
                items.append({"linkId": name, "text": asked.text, "answer": answers})
    return _drop_empty(
        {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": f"{QUESTIONNAIRE_URL}|{QUESTIONNAIRE_VERSION}",
            "status": "completed",
            "subject": {"reference": patient_url},
            "authored": iso_time(submission.submitted_at),
            "item": items,
        }
    )


def media_resource(photo: PatientPhoto, patient_url: str, *, embed: bool) -> dict[str, Any]:
    """A ``Media`` for one photo: the file in the ZIP, or the bytes themselves."""
    content: dict[str, Any] = {"contentType": "image/jpeg", "title": photo.view}
    if embed:
        content["data"] = base64.b64encode(photo.content).decode()
        content["size"] = len(photo.content)
        content["hash"] = base64.b64encode(hashlib.sha1(photo.content).digest()).decode()  # noqa: S324 - FHIR's Attachment.hash is SHA-1
    else:
        content["url"] = photo_file_name(photo)
    return {
        "resourceType": "Media",
        "status": "completed",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/media-type",
                    "code": "image",
                    "display": "Image",
                }
            ]
        },
        "view": {"text": photo.view},
        "subject": {"reference": patient_url},
        "createdDateTime": iso_time(photo.created_at),
        "width": photo.width,
        "height": photo.height,
        "content": content,
    }


def fhir_bundle(patient: PatientProfile, now: datetime, *, embed_photos: bool) -> dict[str, Any]:
    """The patient's record as a FHIR R4 ``Bundle`` (``collection``). ``embed_photos`` puts
    the photos' bytes in the Bundle (a Bundle alone); otherwise each ``Media`` names its
    file in the ZIP beside it."""
    consultations = patient_consultations(patient)
    submissions = patient_submissions(patient)
    photos = patient_photo_rows(patient, with_bytes=embed_photos)
    language = next((c.attendee_locale for c in reversed(consultations) if c.attendee_locale), None)
    patient_url = resource_url("Patient", patient.id)
    entries = [_entry(patient_url, patient_resource(patient, language))]
    entries += [
        _entry(resource_url("Appointment", c.id), appointment_resource(c, patient_url))
        for c in consultations
    ]
    if submissions:
        entries.append(
            _entry(resource_url("Questionnaire", QUESTIONNAIRE_VERSION), questionnaire_resource())
        )
    entries += [
        _entry(
            resource_url("QuestionnaireResponse", s.id),
            questionnaire_response_resource(s, patient_url),
        )
        for s in submissions
    ]
    entries += [
        _entry(resource_url("Media", p.id), media_resource(p, patient_url, embed=embed_photos))
        for p in photos
    ]
    return {
        "resourceType": "Bundle",
        "identifier": {
            "system": "urn:clinic:export",
            "value": f"patient-{patient.id}-{now:%Y%m%dT%H%M%S}",
        },
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": entries,
    }
