"""Find or create the one patient a booking's contact details belong to.

Only Cal.com's booking decides who a booking's patient is: the webhook calls
``find_or_create_patient`` with the details ``contact.contact_details`` normalised.
What someone types into the questionnaire never comes here. Functions here flush; the
caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager

from webapp.extensions import db
from webapp.models import PatientProfile, User
from webapp.patients.contact import ContactDetails


@dataclass(frozen=True)
class PatientMatch:
    """The patient a set of details belongs to and how we got there."""

    patient: PatientProfile
    created: bool
    rule: str  # "email", "phone", "new" or "new-possible-duplicate"


def find_or_create_patient(details: ContactDetails) -> PatientMatch:
    """Return the patient these details belong to, creating User and profile if needed.

    Rules, in order: (1) the same normalised email is that patient; (2) the same phone is
    that patient when either side has no email (a phone-only booker) or both the same;
    (3) a phone shared with a patient whose email differs makes a new patient flagged as a
    possible duplicate of the other, never a silent merge; (4) otherwise a new patient. A
    matched profile gains any field it lacked, and no field is overwritten.

    Flushes. A concurrent insert of the same email raises ``IntegrityError`` at flush; the
    caller rolls back its savepoint and calls again, which then finds the other's patient.
    """
    candidates = _candidates(details)
    if details.email:
        patient = next((c for c in candidates if c.user.email == details.email), None)
        if patient is not None:
            fill_missing_details(patient, details)
            return PatientMatch(patient, created=False, rule="email")

    phone = details.phone.e164 if details.phone else None
    same_phone = [candidate for candidate in candidates if phone and candidate.phone == phone]
    for candidate in same_phone:
        if details.email is None or candidate.email in (None, details.email):
            fill_missing_details(candidate, details)
            return PatientMatch(candidate, created=False, rule="phone")
    possible_duplicate_of = same_phone[0] if same_phone else None

    patient = create_patient(details, possible_duplicate_of)
    rule = "new-possible-duplicate" if possible_duplicate_of else "new"
    return PatientMatch(patient, created=True, rule=rule)


def _candidates(details: ContactDetails) -> list[PatientProfile]:
    """The patients whose user has the details' email or whose profile has their phone,
    oldest first, users loaded: one query (each side on its own index)."""
    conditions = []
    if details.email:
        conditions.append(
            PatientProfile.user_id.in_(select(User.id).where(User.email == details.email))
        )
    if details.phone and details.phone.e164:
        conditions.append(PatientProfile.phone == details.phone.e164)
    if not conditions:
        return []
    return list(
        db.session.scalars(
            select(PatientProfile)
            .join(PatientProfile.user)
            .options(contains_eager(PatientProfile.user))
            .where(or_(*conditions))
            .order_by(PatientProfile.id)
        )
    )


def create_patient(
    details: ContactDetails, possible_duplicate_of: PatientProfile | None = None
) -> PatientProfile:
    """Create a User and its PatientProfile from ``details``; flushes."""
    phone = details.phone.stored if details.phone else None
    user = User(email=details.email, phone_number=phone, name=details.name)
    patient = PatientProfile(
        user=user,
        name=details.name,
        email=details.email,
        phone=phone,
        location=details.location,
        country=details.country,
        city=details.city,
        timezone=details.timezone,
        possible_duplicate_of=possible_duplicate_of,
    )
    db.session.add(patient)
    db.session.flush()
    return patient


def fill_missing_details(patient: PatientProfile, details: ContactDetails) -> None:
    """Give ``patient`` every detail it lacks; never overwrite one, never blank one."""
    user = patient.user
    if details.email and not patient.email:
        patient.email = details.email
    if details.email and not user.email:
        user.email = details.email
    if details.name and not patient.name:
        patient.name = details.name
    if details.name and not user.name:
        user.name = details.name
    phone = details.phone.stored if details.phone else None
    if phone and not patient.phone:
        patient.phone = phone
    if phone and not user.phone_number:
        user.phone_number = phone
    if details.location and not patient.location:
        patient.location = details.location
    if details.country and not patient.country:
        patient.country = details.country
    if details.city and not patient.city:
        patient.city = details.city
    if details.timezone and not patient.timezone:
        patient.timezone = details.timezone
    db.session.flush()
