"""Find or create the one patient a booking's contact details belong to.

Only Cal.com's booking decides who a booking's patient is: the webhook calls
``find_or_create_patient`` with the details ``contact.contact_details`` normalised.
What someone types into the questionnaire never comes here. Functions here flush; the
caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, union
from sqlalchemy.orm import contains_eager

from webapp.extensions import db
from webapp.models import DuplicateDismissal, PatientProfile, User
from webapp.patients.contact import ContactDetails


@dataclass(frozen=True)
class PatientMatch:
    """The patient a set of details belongs to and how we got there."""

    patient: PatientProfile
    created: bool
    rule: str  # "email", "phone", "merged", "new" or "new-possible-duplicate"


def find_or_create_patient(details: ContactDetails) -> PatientMatch:
    """Return the patient these details belong to, creating User and profile if needed.

    Rules, in order: (1) the same email; (2) the same phone when either side has no email
    or both the same; (3) the survivor of a merged record rules 1 or 2 would match; (4) a
    phone shared with another email makes a new patient flagged as a possible duplicate,
    never a silent merge; (5) otherwise a new patient. A matched profile gains any field it
    lacked (``fill_missing_details``). Flushes; a concurrent insert of the same email
    raises ``IntegrityError``, and the caller's retry then finds the other's patient.
    """
    candidates = _candidates(details)
    current = [c for c in candidates if c.merged_into_id is None]
    if details.email:
        patient = next((c for c in current if c.user.email == details.email), None)
        if patient is not None:
            fill_missing_details(patient, details)
            flag_shared_phone(patient, details, current)
            return PatientMatch(patient, created=False, rule="email")

    phone = details.phone_e164
    same_phone = [candidate for candidate in current if phone and candidate.phone == phone]
    for candidate in same_phone:
        if details.email is None or candidate.email in (None, details.email):
            fill_missing_details(candidate, details)
            return PatientMatch(candidate, created=False, rule="phone")
    possible_duplicate_of = same_phone[0] if same_phone else None

    merged = [c for c in candidates if c.merged_into_id is not None]
    survivor = _survivor_of_merged_record(details, merged)
    if survivor is not None:
        fill_missing_details(survivor, details)
        return PatientMatch(survivor, created=False, rule="merged")

    patient = create_patient(details, possible_duplicate_of)
    rule = "new-possible-duplicate" if possible_duplicate_of else "new"
    return PatientMatch(patient, created=True, rule=rule)


def flag_shared_phone(
    patient: PatientProfile, details: ContactDetails, candidates: list[PatientProfile]
) -> None:
    """Flag ``patient`` as a possible duplicate of another patient (among ``candidates``,
    the current records found for ``details``) who has its phone and another email: unless
    ``patient`` is flagged already, the two are flagged either way round, or a consultant
    dismissed the pair."""
    phone = details.phone_e164
    if not phone or patient.possible_duplicate_of_id is not None:
        return
    others = [
        other
        for other in candidates
        if other.phone == phone
        and other.id != patient.id
        and other.email is not None
        and other.email != patient.email
    ]
    for other in others:
        if other.possible_duplicate_of_id == patient.id or pair_dismissed(patient.id, other.id):
            continue
        patient.possible_duplicate_of_id = other.id
        db.session.flush()
        return


def pair_dismissed(first_id: int, second_id: int) -> bool:
    """Whether a consultant said these two patients are different people."""
    low, high = sorted((first_id, second_id))
    return (
        db.session.scalar(
            select(DuplicateDismissal.id).where(
                DuplicateDismissal.first_id == low, DuplicateDismissal.second_id == high
            )
        )
        is not None
    )


def _survivor_of_merged_record(
    details: ContactDetails, merged: list[PatientProfile]
) -> PatientProfile | None:
    """The patient a merged-away record with these details now lives on, if any."""
    phone = details.phone_e164
    for record in merged:
        same_email = details.email is not None and record.email == details.email
        same_phone = (
            phone is not None
            and record.phone == phone
            and (details.email is None or record.email in (None, details.email))
        )
        if same_email or same_phone:
            return survivor_of(record)
    return None


def survivor_of(patient: PatientProfile) -> PatientProfile:
    """The record ``patient`` now lives on: itself, or the end of its chain of merges."""
    seen = {patient.id}
    while patient.merged_into is not None and patient.merged_into.id not in seen:
        patient = patient.merged_into
        seen.add(patient.id)
    return patient


def _candidates(details: ContactDetails) -> list[PatientProfile]:
    """The patients whose user or profile has the details' email or whose profile has
    their phone, merged-away records included, oldest first, users loaded."""
    parameters = candidate_parameters(details)
    if not any(parameters.values()):
        return []
    return list(db.session.scalars(CANDIDATES, parameters))


def candidate_parameters(details: ContactDetails) -> dict[str, str | None]:
    """What ``CANDIDATES`` looks for: the details' email and phone (a missing one is bound
    as NULL, which equals nothing)."""
    return {"email": details.email, "phone": details.phone_e164}


# One SELECT per way of matching, each answered by its own index, in a UNION: a delivery
# then reads the few patients it may belong to, however many the clinic has (an OR of the
# three in one WHERE would make PostgreSQL read every patient).
_profiles, _users = PatientProfile.__table__, User.__table__
CANDIDATE_IDS = union(
    select(_profiles.c.id).where(
        _profiles.c.user_id.in_(select(_users.c.id).where(_users.c.email == bindparam("email")))
    ),
    select(_profiles.c.id).where(_profiles.c.email == bindparam("email")),
    select(_profiles.c.id).where(_profiles.c.phone == bindparam("phone")),
)
CANDIDATES = (
    select(PatientProfile)
    .join(PatientProfile.user)
    .options(contains_eager(PatientProfile.user))
    .where(PatientProfile.id.in_(CANDIDATE_IDS))
    .order_by(PatientProfile.id)
)


def create_patient(
    details: ContactDetails, possible_duplicate_of: PatientProfile | None = None
) -> PatientProfile:
    """Insert a User and its PatientProfile from ``details`` and return the profile.

    Raises ``IntegrityError`` when a concurrent transaction inserted a user with the same
    email first: the caller rolls back its savepoint and matches again."""
    phone = details.phone_stored
    patient = PatientProfile(
        user=User(email=details.email, phone_number=phone, name=details.name),
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
    """Give ``patient`` and its user every detail they lack; never overwrite one, never
    blank one. Flushes."""
    user, phone = patient.user, details.phone_stored
    for record, attribute, value in (
        (patient, "email", details.email),
        (user, "email", details.email),
        (patient, "name", details.name),
        (user, "name", details.name),
        (patient, "phone", phone),
        (user, "phone_number", phone),
        (patient, "location", details.location),
        (patient, "country", details.country),
        (patient, "city", details.city),
        (patient, "timezone", details.timezone),
    ):
        if value and not getattr(record, attribute):
            setattr(record, attribute, value)
    db.session.flush()
