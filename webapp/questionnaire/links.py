"""The two ways to the questionnaire and what each may show.

A patient reaches the form by the booking uid (Cal.com's redirect after booking, which can
beat the webhook) or by a signed link a consultant copied from the patient page. A uid is
no secret, so it may greet the booker of a booking we have by first name but never shows
what is stored; only a signed link shows the patient's earlier answers. A uid we have no
booking for leads to no one: its answers wait, pending, for Cal.com's delivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Consultation, PatientProfile
from webapp.patients.matching import survivor_of

LINK_SALT = "questionnaire-link"
LINK_MAX_AGE = timedelta(days=30)
BOOKING_UID = re.compile(r"^[A-Za-z0-9_-]{6,100}$")


class LinkInvalidError(LookupError):
    """The link is neither a booking uid nor a link we signed."""


class LinkExpiredError(LookupError):
    """A link we signed, but older than ``LINK_MAX_AGE``."""


class LinkErasedError(LinkInvalidError):
    """The link leads to a patient who was erased: it no longer works, for good."""


@dataclass(frozen=True)
class QuestionnaireAccess:
    """What a questionnaire link leads to: a patient, or a booking not received yet."""

    patient: PatientProfile | None
    consultation: Consultation | None
    booking_uid: str | None
    signed: bool = False

    @property
    def first_name(self) -> str | None:
        """The name to greet the patient with, when the booking or the link names them."""
        if self.patient is None or not self.patient.name:
            return None
        return self.patient.name.split()[0]

    @property
    def booking_title(self) -> str | None:
        """The consultation's title as the patient may see it, naming no one.

        Cal.com's default title reads "<event> between <host> and <booker>", so only the
        part before " between " is kept; a title that still holds more of the patient's
        name than the first name is not shown at all.
        """
        if self.consultation is None:
            return None
        names = (self.patient.name or "").split()[1:] if self.patient else []
        return title_without_names(self.consultation.title, names)

    @property
    def earlier_answers(self) -> dict[str, Any] | None:
        """The patient's latest answers, to fill the form with; only for a signed link."""
        if not self.signed or self.patient is None:
            return None
        return self.patient.questionnaire_answers


def title_without_names(title: str | None, names: list[str]) -> str | None:
    """A booking's title cut to its event type: Cal.com's default title reads "<event>
    between <host> and <booker>", so only the part before " between " is kept; ``None``
    when that part still holds one of ``names``."""
    kept = (title or "").split(" between ")[0].strip()
    if not kept or any(name.lower() in kept.lower() for name in names):
        return None
    return kept


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


@lru_cache(maxsize=4)
def _serializer_for(secret_key: str | bytes) -> URLSafeTimedSerializer:
    """One serializer per key (the dashboard signs a link for every row it shows)."""
    return URLSafeTimedSerializer(secret_key, salt=LINK_SALT)


def questionnaire_token(patient: PatientProfile) -> str:
    """A signed token bound to ``patient``, valid for ``LINK_MAX_AGE``."""
    return _serializer().dumps({"patient": patient.id})


def resolve_access(token: str) -> QuestionnaireAccess:
    """Read a questionnaire link: a token we signed, or a Cal.com booking uid.

    Raises ``LinkExpiredError`` for an expired signed token, ``LinkErasedError`` for a
    link to an erased patient (signed, or the uid of one of their bookings) and
    ``LinkInvalidError`` for a tampered one or anything that cannot be a booking uid.
    """
    if "." in token:
        return _access_by_signed_token(token)
    if not BOOKING_UID.match(token):
        raise LinkInvalidError("not a booking uid")
    consultation = consultation_of(token)
    if consultation is not None and consultation.patient.erased_at is not None:
        raise LinkErasedError("the booking's patient was erased")
    if consultation is None:
        return QuestionnaireAccess(None, None, token)  # greet no one: anyone can invent a uid
    return QuestionnaireAccess(consultation.patient, consultation, token)


def consultation_of(booking_uid: str) -> Consultation | None:
    """The consultation of a booking uid, once Cal.com's delivery has arrived.

    A seated booking's uid is shared by every seat holder, so it names no one: ``None``.
    """
    return db.session.scalar(
        select(Consultation).where(
            Consultation.cal_booking_uid == booking_uid, Consultation.seat_key == ""
        )
    )


def seats_of(booking_uid: str) -> list[Consultation]:
    """The seat holders' consultations of a seated booking uid (empty for any other)."""
    return list(
        db.session.scalars(
            select(Consultation).where(
                Consultation.cal_booking_uid == booking_uid, Consultation.seat_key != ""
            )
        )
    )


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
    patient = survivor_of(patient)  # a link sent before a merge reaches the merged record
    if patient.erased_at is not None:
        raise LinkErasedError("the link's patient was erased")
    return QuestionnaireAccess(patient, next_consultation(patient), None, signed=True)


def next_consultation(patient: PatientProfile) -> Consultation | None:
    """The consultation an answer sent today is for: the latest one booked."""
    return db.session.scalar(
        select(Consultation)
        .where(Consultation.patient_profile_id == patient.id)
        .order_by(Consultation.start_time.desc().nulls_last(), Consultation.id.desc())
        .limit(1)
    )
