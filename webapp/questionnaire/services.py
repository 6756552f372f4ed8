"""Who may answer the questionnaire, and what an answer does to the patient's profile.

A patient reaches the form by the booking uid (Cal.com's redirect after booking, which can
beat the webhook) or by a signed link a consultant copied. Either way the answers land on
the one profile the booking has or will have: an unknown booking's answerer is found or
created with the webhook's own matching, and the webhook later joins that patient.
Functions here flush; the view commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import (
    Consultation,
    PatientProfile,
    QuestionnaireSubmission,
    utcnow,
)
from webapp.patients.matching import ContactDetails, fill_missing_details, find_or_create_patient
from webapp.questionnaire.forms import ANSWER_FIELDS, MEDICAL_QUESTIONS
from webapp.transactions import retry_on_conflict

LINK_SALT = "questionnaire-link"
LINK_MAX_AGE = timedelta(days=30)
BOOKING_UID = re.compile(r"^[A-Za-z0-9_-]{6,100}$")


class LinkInvalidError(LookupError):
    """The link is neither a booking of ours nor a link we signed."""


class LinkExpiredError(LookupError):
    """A link we signed, but older than ``LINK_MAX_AGE``."""


@dataclass(frozen=True)
class QuestionnaireAccess:
    """What a questionnaire link leads to: a known patient, or a booking not yet received."""

    patient: PatientProfile | None
    consultation: Consultation | None
    booking_uid: str | None

    @property
    def first_name(self) -> str | None:
        """The name to greet the patient with, when we know them."""
        if self.patient is None or not self.patient.name:
            return None
        return self.patient.name.split()[0]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def questionnaire_token(patient: PatientProfile) -> str:
    """A signed token bound to ``patient``, valid for ``LINK_MAX_AGE``."""
    return _serializer().dumps({"patient": patient.id})


def resolve_access(token: str) -> QuestionnaireAccess:
    """Read a questionnaire link: a token we signed, or a Cal.com booking uid.

    Raises ``LinkExpiredError`` for an expired signed token and ``LinkInvalidError`` for a
    tampered one or anything that cannot be a booking uid.
    """
    if "." in token:
        return _access_by_signed_token(token)
    if not BOOKING_UID.match(token):
        raise LinkInvalidError("not a booking uid")
    consultation = db.session.scalar(
        select(Consultation).where(Consultation.cal_booking_uid == token)
    )
    if consultation is not None:
        return QuestionnaireAccess(consultation.patient, consultation, token)
    # Not received yet: ask who is answering, and greet no one (anyone can invent a uid).
    return QuestionnaireAccess(None, None, token)


def _access_by_signed_token(token: str) -> QuestionnaireAccess:
    try:
        data = _serializer().loads(token, max_age=int(LINK_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise LinkExpiredError("the link has expired") from None
    except BadSignature:
        raise LinkInvalidError("the link was not signed by us") from None
    patient_id = data.get("patient") if isinstance(data, dict) else None
    patient = db.session.get(PatientProfile, patient_id) if isinstance(patient_id, int) else None
    if patient is None:
        raise LinkInvalidError("the link names no patient of ours")
    return QuestionnaireAccess(patient, next_consultation(patient), None)


def next_consultation(patient: PatientProfile) -> Consultation | None:
    """The consultation an answer sent today is for: the latest one booked."""
    return db.session.scalar(
        select(Consultation)
        .where(Consultation.patient_profile_id == patient.id)
        .order_by(Consultation.start_time.desc().nulls_last(), Consultation.id.desc())
        .limit(1)
    )


def submit_questionnaire(
    access: QuestionnaireAccess, answers: dict[str, Any], identity: ContactDetails | None
) -> QuestionnaireSubmission:
    """Record a submission and bring the patient's profile up to date.

    For a booking not received yet, ``identity`` (name, email, phone the patient typed)
    finds or creates the patient with the webhook's matching rules; if the booking
    arrived since the form was shown, its patient is used instead.
    """
    patient, consultation = access.patient, access.consultation
    if patient is None and access.booking_uid:
        consultation = db.session.scalar(
            select(Consultation).where(Consultation.cal_booking_uid == access.booking_uid)
        )
        patient = consultation.patient if consultation else None
    trusted = patient is not None
    if patient is None:
        if identity is None:
            raise ValueError("an unknown booking's questionnaire needs the patient's identity")
        match = retry_on_conflict(
            lambda: find_or_create_patient(identity), "questionnaire submission"
        )
        # Anyone can invent a booking uid: answers sent under an existing patient's email
        # wait until Cal.com confirms the booking (``apply_waiting_submissions``).
        patient, trusted = match.patient, match.created
    elif identity is not None:
        fill_missing_details(patient, identity)

    submission = QuestionnaireSubmission(
        patient_profile_id=patient.id,
        consultation_id=consultation.id if consultation else None,
        cal_booking_uid=access.booking_uid,
        answers=answers,
        submitted_at=utcnow(),
    )
    db.session.add(submission)
    if trusted:
        apply_submission(patient, submission)
    db.session.flush()
    return submission


def apply_submission(patient: PatientProfile, submission: QuestionnaireSubmission) -> None:
    """Bring the profile up to date with a submission and show it on the dashboard."""
    update_profile(patient, submission.answers)
    patient.questionnaire_completed_at = submission.submitted_at
    # The dashboard's poll watches consultations; the patient's rows now read "completed".
    db.session.execute(
        update(Consultation)
        .where(Consultation.patient_profile_id == patient.id)
        .values(updated_at=utcnow())
    )


def apply_waiting_submissions(uid: str, consultation: Consultation) -> None:
    """When a booking arrives, attach the answers sent from its link and apply them in order
    (applying one twice gives the same profile). Knowing a real uid is what Cal.com's
    redirect gives the booker, so these answers are now trusted."""
    waiting = db.session.scalars(
        select(QuestionnaireSubmission)
        .where(
            QuestionnaireSubmission.cal_booking_uid == uid,
            QuestionnaireSubmission.consultation_id.is_(None),
        )
        .order_by(QuestionnaireSubmission.id)
    ).all()
    for submission in waiting:
        submission.consultation_id = consultation.id
        apply_submission(submission.patient, submission)


def update_profile(patient: PatientProfile, answers: dict[str, Any]) -> None:
    """Give the profile the new answers; a question left blank keeps its earlier answer.

    A medical question answered "none" clears its details: that is an answer, not a blank.
    """
    merged = dict(patient.questionnaire_answers or {})
    for field, value in answers.items():
        if not _is_blank(value):
            merged[field] = value
    for name, *_ in MEDICAL_QUESTIONS:
        if answers.get(name) == "none":
            merged[f"{name}_details"] = ""
    patient.questionnaire_answers = merged
    if answers.get("country"):
        patient.location = answers["country"]
    if answers.get("age_range"):
        patient.age_range = answers["age_range"]
    if answers.get("gender"):
        patient.gender = answers["gender"]


def answers_from_form(data: dict[str, Any]) -> dict[str, Any]:
    """The stored answers: every question's value, text trimmed, details only for yes."""
    answers: dict[str, Any] = {}
    for field in ANSWER_FIELDS:
        value = data.get(field)
        answers[field] = value.strip() if isinstance(value, str) else (value or [])
    for name, *_ in MEDICAL_QUESTIONS:
        if answers.get(name) != "yes":
            answers[f"{name}_details"] = ""
    return answers


def submissions_for(patient: PatientProfile) -> list[QuestionnaireSubmission]:
    """The patient's submissions, newest first."""
    return list(
        db.session.scalars(
            select(QuestionnaireSubmission)
            .where(QuestionnaireSubmission.patient_profile_id == patient.id)
            .order_by(
                QuestionnaireSubmission.submitted_at.desc(), QuestionnaireSubmission.id.desc()
            )
        )
    )


def changed_medical_answers(submissions: list[QuestionnaireSubmission]) -> set[str]:
    """Medical questions whose answer differs between the two latest submissions."""
    if len(submissions) < 2:
        return set()
    latest, previous = submissions[0].answers, submissions[1].answers
    changed = set()
    for name, *_ in MEDICAL_QUESTIONS:
        for field in (name, f"{name}_details"):
            if latest.get(field) != previous.get(field):
                changed.add(name)
    return changed


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []
