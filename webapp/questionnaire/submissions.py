"""What a sent questionnaire does: kept always, applied to the patient its booking names.

Answers sent from a patient's link (a booking we have, or a signed link) land on that
patient at once. Answers sent from the uid of a booking whose Cal.com delivery has not
arrived are *pending*: they belong to no patient, change no one and show nowhere until
that delivery arrives and ``attach_pending_answers`` gives them to the booking's patient.
Pending answers Cal.com never confirms are deleted by ``purge_pending``. What the person
typed about themselves is kept with the answers and never finds or changes a patient.
Functions here flush; the view, the webhook or the CLI command commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from webapp.dashboard.changes import consultations_changed
from webapp.database.locks import lock_booking
from webapp.extensions import db
from webapp.models import (
    Consultation,
    PatientProfile,
    QuestionnaireSubmission,
    utcnow,
)
from webapp.patients.contact import ContactDetails
from webapp.questionnaire.forms import CONSENT_WORDING_VERSION
from webapp.questionnaire.links import QuestionnaireAccess, consultation_of, seats_of
from webapp.questionnaire.photos import attach_submission_photos
from webapp.questionnaire.questions import ANSWER_FIELDS, MEDICAL_QUESTIONS, MULTIPLE_CHOICE_FIELDS

PENDING_MAX_AGE = timedelta(days=30)


def submit_questionnaire(
    access: QuestionnaireAccess,
    answers: dict[str, Any],
    typed: ContactDetails | None,
    consented: bool,
) -> QuestionnaireSubmission:
    """Record a submission; bring its patient's profile up to date, or keep it pending.

    ``typed`` is who the person answering said they were (asked only while the booking
    has not arrived); it is stored for the consultant and used for nothing else. If the
    booking arrived since the form was shown, the answers go to its patient. ``consented``
    says the patient ticked the consent: it is recorded with the time and the wording's
    version (``CONSENT_WORDING_VERSION``).
    """
    now = utcnow()
    patient, consultation = access.patient, access.consultation
    if patient is None and access.booking_uid:
        lock_booking(access.booking_uid)  # a delivery of this booking now waits, or is done
        consultation = consultation_of(access.booking_uid)
        patient = consultation.patient if consultation else None
    submission = QuestionnaireSubmission(
        patient_profile_id=patient.id if patient else None,
        consultation_id=consultation.id if consultation else None,
        cal_booking_uid=access.booking_uid,
        typed_name=typed.name if typed else None,
        typed_email=typed.email if typed else None,
        typed_phone=typed.phone_stored if typed else None,
        answers=answers,
        submitted_at=now,
        consent_given_at=now if consented else None,
        consent_wording_version=CONSENT_WORDING_VERSION if consented else None,
    )
    db.session.add(submission)
    if patient is not None:
        apply_submission(patient, submission)
    elif access.booking_uid:
        attach_pending_answers(*seats_of(access.booking_uid))
    db.session.flush()
    return submission


def attach_pending_answers(*consultations: Consultation) -> None:
    """Give the pending answers (and their photos) sent from these bookings' links to the
    bookings' patient.

    Called when a booking's consultation is created (by its Cal.com delivery, or as the
    booking a reschedule replaces), holding the booking's lock. In a seated booking, whose
    link every seat holder shares, a seat takes only the answers typed under its holder's
    email. Answers are applied oldest first; answers older than the profile's latest are kept
    as history without undoing newer ones. Safe to repeat: attached answers are no longer
    pending.
    """
    if not consultations:
        return
    for submission in pending_answers(
        *{consultation.cal_booking_uid for consultation in consultations}
    ):
        consultation = next(
            (
                consultation
                for consultation in consultations
                if consultation.cal_booking_uid == submission.cal_booking_uid
                and consultation.seat_key in ("", submission.typed_email)
            ),
            None,
        )
        if consultation is None:
            continue  # a seated booking's link is shared: only a seat holder's own answers
        patient = consultation.patient
        submission.patient_profile_id = patient.id
        submission.consultation_id = consultation.id
        attach_submission_photos(submission)
        latest = patient.questionnaire_completed_at
        if latest is None or submission.submitted_at >= latest:
            apply_submission(patient, submission)
    db.session.flush()


def pending_answers(*uids: str) -> list[QuestionnaireSubmission]:
    """The answers sent from these bookings' links that wait for their patient, oldest first."""
    return list(
        db.session.scalars(
            select(QuestionnaireSubmission)
            .where(
                QuestionnaireSubmission.patient_profile_id.is_(None),
                QuestionnaireSubmission.cal_booking_uid.in_(sorted(uids)),
            )
            .order_by(QuestionnaireSubmission.submitted_at, QuestionnaireSubmission.id)
        )
    )


def purge_pending(now: datetime) -> list[int]:
    """Delete pending answers older than ``PENDING_MAX_AGE``; return their ids.

    Their booking uid never reached us from Cal.com, so they belong to no one we know.
    """
    stale = list(
        db.session.scalars(
            select(QuestionnaireSubmission.id)
            .where(
                QuestionnaireSubmission.patient_profile_id.is_(None),
                QuestionnaireSubmission.submitted_at < now - PENDING_MAX_AGE,
            )
            .order_by(QuestionnaireSubmission.id)
        )
    )
    if stale:
        db.session.execute(
            delete(QuestionnaireSubmission).where(QuestionnaireSubmission.id.in_(stale))
        )
    return stale


def apply_submission(patient: PatientProfile, submission: QuestionnaireSubmission) -> None:
    """Bring the profile up to date with a submission and show it on the dashboard."""
    update_profile(patient, submission.answers)
    patient.questionnaire_completed_at = submission.submitted_at
    consultations_changed(patient.id)  # the patient's rows now read "completed"


def update_profile(patient: PatientProfile, answers: dict[str, Any]) -> None:
    """Give the profile the new answers; a question left blank keeps its earlier answer.

    A medical question answered "none" clears its details: that is an answer, not a blank.
    """
    merged = dict(patient.questionnaire_answers or {})
    for field, value in answers.items():
        if not _is_blank(value) or field not in merged:
            merged[field] = value
    for name, *_ in MEDICAL_QUESTIONS:
        if answers.get(name) == "none":
            merged[f"{name}_details"] = ""
    patient.questionnaire_answers = merged
    if answers.get("country"):
        patient.location = patient.country = answers["country"]
    if answers.get("city"):
        patient.city = answers["city"]
    if answers.get("age_range"):
        patient.age_range = answers["age_range"]
    if answers.get("gender"):
        patient.gender = answers["gender"]


def answers_from_form(data: dict[str, Any]) -> dict[str, Any]:
    """The stored answers: every question's value, text trimmed, details only for yes."""
    answers: dict[str, Any] = {}
    for field in ANSWER_FIELDS:
        value = data.get(field)
        if isinstance(value, str):
            answers[field] = value.strip()
        else:
            answers[field] = value or ([] if field in MULTIPLE_CHOICE_FIELDS else "")
    for name, *_ in MEDICAL_QUESTIONS:
        if answers.get(name) != "yes":
            answers[f"{name}_details"] = ""
    return answers


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []
