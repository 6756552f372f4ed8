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
from sqlalchemy.orm.attributes import set_committed_value

from webapp.extensions import db
from webapp.models import Consultation, DuplicateDismissal, PatientProfile, User
from webapp.patients.contact import ContactDetails
from webapp.rows import found_objects, insert_chain, loaded


@dataclass(frozen=True)
class PatientMatch:
    """The patient a set of details belongs to and how we got there."""

    patient: PatientProfile
    created: bool
    rule: str  # "email", "phone", "merged", "new" or "new-possible-duplicate"


def find_or_create_patient(
    details: ContactDetails,
    candidate_ids: list[int] | None = None,
    first_booking: Consultation | None = None,
) -> PatientMatch:
    """Return the patient these details belong to, creating User and profile if needed.

    Rules, in order: (1) the same normalised email is that patient; (2) the same phone is
    that patient when either side has no email (a phone-only booker) or both the same;
    (3) details that rules 1 and 2 would have matched to a record since merged into
    another belong to the survivor of that merge; (4) a phone shared with a patient whose
    email differs makes a new patient flagged as a possible duplicate of the other, never
    a silent merge; (5) otherwise a new patient. A merged-away record is never the
    answer. A matched profile gains any field it lacked, and no field is overwritten; a
    patient found by email whose phone another patient with another email has is flagged
    as a possible duplicate of that patient, unless a consultant said they are different
    people (``pair_dismissed``) or the two are flagged already.

    ``candidate_ids`` is what ``CANDIDATE_IDS`` found with ``candidate_parameters``, when
    the caller looked it up together with its own lookups (``rows.found_ids``); without
    it the candidates are looked up here. ``first_booking``, a new consultation, is
    inserted with a new patient, in the same statement (``create_patient``); for a patient
    found, it is left to the caller.

    A matched profile's changes are flushed; a new patient is inserted at once
    (``create_patient``). A concurrent insert of the same email raises ``IntegrityError``;
    the caller rolls back its savepoint and calls again, which then finds the other's
    patient.
    """
    if candidate_ids is None:
        candidates = _candidates(details)
    else:
        candidates = loaded(CANDIDATES, candidate_ids)
    current = [c for c in candidates if c.merged_into_id is None]
    if details.email:
        patient = next((c for c in current if c.user.email == details.email), None)
        if patient is not None:
            fill_missing_details(patient, details)
            flag_shared_phone(patient, details, current)
            return PatientMatch(patient, created=False, rule="email")

    phone = details.phone.e164 if details.phone else None
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

    patient = create_patient(details, possible_duplicate_of, first_booking)
    rule = "new-possible-duplicate" if possible_duplicate_of else "new"
    return PatientMatch(patient, created=True, rule=rule)


def flag_shared_phone(
    patient: PatientProfile, details: ContactDetails, candidates: list[PatientProfile]
) -> None:
    """Flag ``patient`` as a possible duplicate of another patient (among ``candidates``,
    the current records found for ``details``) who has its phone and another email: unless
    ``patient`` is flagged already, the two are flagged either way round, or a consultant
    dismissed the pair."""
    phone = details.phone.e164 if details.phone else None
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
    phone = details.phone.e164 if details.phone else None
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
    their phone, merged-away records included, oldest first, users loaded: their ids in
    one query, then, when there are any, the patients (``found_objects``)."""
    parameters = candidate_parameters(details)
    if not any(parameters.values()):
        return []
    return found_objects(CANDIDATE_IDS, CANDIDATES, parameters)


def candidate_parameters(details: ContactDetails) -> dict[str, str | None]:
    """What ``CANDIDATE_IDS`` looks for: the details' email and phone (a missing one is
    bound as NULL, which equals nothing)."""
    return {"email": details.email, "phone": details.phone.e164 if details.phone else None}


# Built once, so that every delivery reuses their cache keys as well as their compiled SQL.
# One SELECT per way of matching, each answered by its own index: joined by OR in one
# WHERE, PostgreSQL read every patient to test the user's email against each, so every
# delivery grew slower with the clinic.
_profiles, _users = PatientProfile.__table__, User.__table__
CANDIDATE_IDS = union(
    select(_profiles.c.id).where(
        _profiles.c.user_id.in_(select(_users.c.id).where(_users.c.email == bindparam("email")))
    ),
    select(_profiles.c.id).where(_profiles.c.email == bindparam("email")),
    select(_profiles.c.id).where(_profiles.c.phone == bindparam("phone")),
).order_by(_profiles.c.id)
CANDIDATES = (
    select(PatientProfile)
    .join(PatientProfile.user)
    .options(contains_eager(PatientProfile.user))
    .where(PatientProfile.id.in_(bindparam("ids", expanding=True)))
    .order_by(PatientProfile.id)
)


def create_patient(
    details: ContactDetails,
    possible_duplicate_of: PatientProfile | None = None,
    first_booking: Consultation | None = None,
) -> PatientProfile:
    """Insert a User and its PatientProfile from ``details`` and return the profile, with
    its user, and ``first_booking`` (a new consultation) as the profile's (``insert_chain``:
    one statement on PostgreSQL).

    Raises ``IntegrityError`` when a concurrent transaction inserted a user with the same
    email first: the caller rolls back its savepoint and matches again."""
    phone = details.phone.stored if details.phone else None
    user = User(email=details.email, phone_number=phone, name=details.name)
    patient = PatientProfile(
        name=details.name,
        email=details.email,
        phone=phone,
        location=details.location,
        country=details.country,
        city=details.city,
        timezone=details.timezone,
        possible_duplicate_of_id=possible_duplicate_of.id if possible_duplicate_of else None,
    )
    booked = [(first_booking, "patient_profile_id")] if first_booking is not None else []
    insert_chain(user, (patient, "user_id"), *booked)
    set_committed_value(patient, "user", user)
    set_committed_value(user, "profile", patient)
    set_committed_value(patient, "possible_duplicate_of", possible_duplicate_of)
    if first_booking is not None:
        set_committed_value(first_booking, "patient", patient)
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
