"""Drafts: what a patient has typed so far, kept at every step so nothing is lost.

A draft belongs to one browser and one questionnaire link. The browser holds a random key
in a cookie scoped to ``/questionnaire``; the database keeps only its SHA-256, so neither
a booking uid alone nor a copy of the table leads to someone's draft. Sending the
questionnaire deletes its draft (its photos move to the submission); drafts untouched for
``DRAFT_MAX_AGE`` are deleted by ``purge_drafts``. Functions here flush; the view or the
CLI command commits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import after_this_request, current_app, request
from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from webapp.extensions import db
from webapp.models import PatientPhoto, QuestionnaireDraft, utcnow
from webapp.questionnaire.language import PATIENT_PATH
from webapp.questionnaire.links import QuestionnaireAccess
from webapp.questionnaire.questions import MULTIPLE_CHOICE_FIELDS

DRAFT_COOKIE = "questionnaire_browser"
DRAFT_MAX_AGE = timedelta(days=30)
BROWSER_KEY = re.compile(r"^[A-Za-z0-9_-]{32,64}$")

RawAnswers = dict[str, Any]  # field name: the text posted, or the list of values ticked


def link_key(access: QuestionnaireAccess) -> str:
    """Which questionnaire a draft is for: the patient of a signed link, or the booking."""
    if access.signed and access.patient is not None:
        return f"patient:{access.patient.id}"
    return f"booking:{access.booking_uid}"


def _digest(browser_key: str) -> str:
    return hashlib.sha256(browser_key.encode()).hexdigest()


def _browser_key() -> str | None:
    key = request.cookies.get(DRAFT_COOKIE, "")
    return key if BROWSER_KEY.match(key) else None


def find_draft(access: QuestionnaireAccess) -> QuestionnaireDraft | None:
    """This browser's draft of this questionnaire, if it has one."""
    key = _browser_key()
    if key is None:
        return None
    return db.session.scalar(
        select(QuestionnaireDraft).where(
            QuestionnaireDraft.browser_key_hash == _digest(key),
            QuestionnaireDraft.link_key == link_key(access),
        )
    )


def open_draft(access: QuestionnaireAccess) -> QuestionnaireDraft:
    """This browser's draft of this questionnaire, started (and its cookie set) if need be."""
    draft = find_draft(access)
    if draft is not None:
        return draft
    key = _browser_key() or secrets.token_urlsafe(32)
    draft = QuestionnaireDraft(
        browser_key_hash=_digest(key), link_key=link_key(access), answers={}, steps_done=0
    )
    db.session.add(draft)
    db.session.flush()
    _remember_browser(key)
    return draft


def _remember_browser(key: str) -> None:
    """Send this browser its key with the response (30 days, this site's questionnaire only)."""

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            DRAFT_COOKIE,
            key,
            max_age=int(DRAFT_MAX_AGE.total_seconds()),
            path=PATIENT_PATH,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["APP_ENV"] == "production",
        )
        return response


def keep_answers(draft: QuestionnaireDraft, fields: list[str], posted: MultiDict) -> None:
    """Keep what was posted for ``fields`` (one step's), valid or not, as it was typed."""
    answers = dict(draft.answers or {})
    for name in fields:
        values = [value for value in posted.getlist(name) if isinstance(value, str)]
        if not values:
            answers.pop(name, None)
        else:
            answers[name] = values if name in MULTIPLE_CHOICE_FIELDS else values[0]
    draft.answers = answers
    draft.updated_at = utcnow()
    db.session.flush()


def as_formdata(answers: RawAnswers) -> MultiDict:
    """Raw answers as a browser would post them, for a form to read."""
    formdata: MultiDict = MultiDict()
    for name, value in answers.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                formdata.add(name, str(item))
    return formdata


def discard_draft(draft: QuestionnaireDraft) -> None:
    """Delete a draft and any photo still only in it."""
    db.session.execute(delete(PatientPhoto).where(PatientPhoto.draft_id == draft.id))
    db.session.delete(draft)
    db.session.flush()


def purge_drafts(now: datetime) -> list[int]:
    """Delete drafts untouched for ``DRAFT_MAX_AGE``, with their unsent photos; return ids."""
    stale = list(
        db.session.scalars(
            select(QuestionnaireDraft.id)
            .where(QuestionnaireDraft.updated_at < now - DRAFT_MAX_AGE)
            .order_by(QuestionnaireDraft.id)
        )
    )
    if stale:
        db.session.execute(delete(PatientPhoto).where(PatientPhoto.draft_id.in_(stale)))
        db.session.execute(delete(QuestionnaireDraft).where(QuestionnaireDraft.id.in_(stale)))
    return stale
