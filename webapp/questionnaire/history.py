"""What the patient page shows of the questionnaire: the latest answers in words, the
submissions, which medical answers changed, who said they were answering, the photos,
and the signed link to send the patient.

The patient page passes ``patient_questionnaire`` to ``questionnaire/_history.html``, the
section this package owns. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select
from wtforms import Field

from webapp.extensions import db
from webapp.models import PatientPhoto, PatientProfile, QuestionnaireSubmission
from webapp.questionnaire.forms import QuestionnaireForm
from webapp.questionnaire.links import questionnaire_token
from webapp.questionnaire.photos import patient_photos
from webapp.questionnaire.questions import MEDICAL_QUESTIONS, SECTIONS

DescribedAnswers = list[tuple[str, list[tuple[str, str, str]]]]


@dataclass(frozen=True)
class QuestionnaireHistory:
    """Everything the patient page's questionnaire section shows."""

    answers: DescribedAnswers
    submissions: list[QuestionnaireSubmission]
    changed: set[str]
    # Submissions sent before the booking arrived by someone who typed another email.
    other_emails: list[QuestionnaireSubmission]
    link: str
    photos: list[PatientPhoto]


def patient_questionnaire(patient: PatientProfile) -> QuestionnaireHistory:
    """The patient page's questionnaire section for ``patient``; needs a request context."""
    submissions = submissions_for(patient)
    return QuestionnaireHistory(
        answers=describe_answers(patient.questionnaire_answers or {}),
        submissions=submissions,
        changed=changed_medical_answers(submissions),
        other_emails=[s for s in submissions if s.typed_email and s.typed_email != patient.email],
        link=url_for("questionnaire.fill", token=questionnaire_token(patient), _external=True),
        photos=patient_photos(patient),
    )


def submissions_for(patient: PatientProfile) -> list[QuestionnaireSubmission]:
    """The patient's submissions, newest first; pending ones belong to no patient."""
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


def describe_answers(answers: dict[str, Any]) -> DescribedAnswers:
    """Stored answers in words, grouped as the form shows them.

    Returns ``[(section, [(field name, question, answer), ...]), ...]``; details of a
    medical question are folded into its answer.
    """
    form = QuestionnaireForm(meta={"csrf": False}, formdata=None)
    described = []
    for section, names in SECTIONS.items():
        rows = []
        for name in names:
            if name.endswith("_details"):
                continue
            field = form[name]
            text = _answer_words(field, answers.get(name))
            details = answers.get(f"{name}_details")
            if details:
                text = f"{text}: {details}"
            rows.append((name, str(field.label.text), text))
        described.append((section, rows))
    return described


def _answer_words(field: Field, value: Any) -> str:
    choices = {choice.value: choice.label for choice in getattr(field, "choices", None) or []}
    if isinstance(value, list):
        return ", ".join(str(choices.get(item, item)) for item in value) or "—"
    if value in (None, ""):
        return "—"
    return str(choices.get(value, value))
