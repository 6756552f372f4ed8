"""Normalise contact details and find or create the one patient they belong to.

The webhook and the questionnaire both go through ``find_or_create_patient`` so that no
order of the two ever creates two patients for one person. Functions here flush; the
caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import PatientProfile, User


@dataclass(frozen=True)
class Phone:
    """A phone number as typed, and its E.164 form when ``phonenumbers`` can read it."""

    raw: str
    e164: str | None

    @property
    def stored(self) -> str:
        """What we store: E.164 when parseable, otherwise the number as typed."""
        return self.e164 or self.raw


@dataclass(frozen=True)
class ContactDetails:
    """What a booking or a questionnaire tells us about a patient, already normalised."""

    email: str | None
    name: str | None = None
    phone: Phone | None = None
    location: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class PatientMatch:
    """The patient a set of details belongs to and how we got there."""

    patient: PatientProfile
    created: bool
    rule: str  # "email", "phone", "new" or "new-possible-duplicate"


# Cal.com invents ``<digits>@sms.cal.com`` for a booker who gave only a phone; it treats
# the domain as having no mailbox, and so do we.
PLACEHOLDER_EMAIL_DOMAINS = ("sms.cal.com",)


def is_placeholder_email(raw: str | None) -> bool:
    """Whether ``raw`` is an address Cal.com invented, which is nobody's email."""
    domain = (raw or "").strip().lower().rpartition("@")[2]
    return domain in PLACEHOLDER_EMAIL_DOMAINS


def normalise_email(raw: str | None) -> str | None:
    """Trim and lower-case an email; ``None`` when it is empty, not an address, or one
    Cal.com invented (``is_placeholder_email``)."""
    if not raw or is_placeholder_email(raw):
        return None
    email = raw.strip().lower()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return None
    return email


def normalise_phone(raw: str | None, default_region: str | None = None) -> Phone | None:
    """Read a phone number into E.164.

    ``default_region`` applies only to numbers written without a leading ``+``. A number
    ``phonenumbers`` cannot parse into a possible number keeps its typed form and no
    E.164, so it is stored but never used for matching. An email address typed into the
    phone question is not a phone at all and gives ``None``.
    """
    if not raw or not raw.strip() or "@" in raw:
        return None  # nothing, or an email typed into the phone question
    typed = raw.strip()
    region = None if typed.startswith("+") else default_region
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        return Phone(typed, None)
    if not phonenumbers.is_possible_number(number):
        return Phone(typed, None)
    return Phone(typed, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


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
    if details.email:
        patient = db.session.scalar(
            select(PatientProfile).join(User).where(User.email == details.email)
        )
        if patient is not None:
            fill_missing_details(patient, details)
            return PatientMatch(patient, created=False, rule="email")

    possible_duplicate_of = None
    if details.phone and details.phone.e164:
        same_phone = db.session.scalars(
            select(PatientProfile)
            .where(PatientProfile.phone == details.phone.e164)
            .order_by(PatientProfile.id)
        ).all()
        for candidate in same_phone:
            if details.email is None or candidate.email in (None, details.email):
                fill_missing_details(candidate, details)
                return PatientMatch(candidate, created=False, rule="phone")
        possible_duplicate_of = same_phone[0] if same_phone else None

    patient = create_patient(details, possible_duplicate_of)
    rule = "new-possible-duplicate" if possible_duplicate_of else "new"
    return PatientMatch(patient, created=True, rule=rule)


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
    if details.timezone and not patient.timezone:
        patient.timezone = details.timezone
    db.session.flush()
