"""What people tell us about who they are, read one way everywhere.

Cal.com's bookings and the questionnaire both go through these functions: an email is
trimmed and lower-cased, a phone becomes E.164 when it can, and a number written without
a leading ``+`` is read in the clinic's ``PHONE_DEFAULT_REGION``. Pure functions; only
``read_phone`` and ``contact_details`` read the app's settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app


class InvalidContactError(ValueError):
    """The details cannot identify anyone: the email is not an address, or a phone-only
    booker gave no phone."""


# Cal.com invents ``<digits>@sms.cal.com`` for a booker who gave only a phone; it treats
# the domain as having no mailbox, and so do we.
PLACEHOLDER_EMAIL_DOMAINS = ("sms.cal.com",)


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
    country: str | None = None
    city: str | None = None

    @property
    def phone_e164(self) -> str | None:
        """The phone in E.164, the form matching compares; ``None`` without a readable one."""
        return self.phone.e164 if self.phone else None

    @property
    def phone_stored(self) -> str | None:
        """The phone as it is stored (``Phone.stored``); ``None`` without one."""
        return self.phone.stored if self.phone else None


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


def read_phone(raw: str | None) -> Phone | None:
    """A phone as this clinic reads it: ``normalise_phone`` in ``PHONE_DEFAULT_REGION``."""
    return normalise_phone(raw, current_app.config["PHONE_DEFAULT_REGION"])


def contact_details(
    email: str | None,
    name: str | None = None,
    phones: Sequence[str] = (),
    location: str | None = None,
    timezone: str | None = None,
    country: str | None = None,
    city: str | None = None,
) -> ContactDetails:
    """Normalise what a booking or a patient says about who they are.

    Of ``phones`` (most trustworthy first) the first that parses wins; when none does, the
    first is kept as typed. An email Cal.com invented for a phone-only booker is no email.
    Names and places are trimmed, and an empty one is ``None``. Raises
    ``InvalidContactError`` when the email is not an address, or when a phone-only booker
    gave no phone.
    """
    read = [phone for phone in map(read_phone, phones) if phone]
    phone = next((phone for phone in read if phone.e164), read[0] if read else None)
    if is_placeholder_email(email):
        if phone is None:
            raise InvalidContactError("a phone-only booking without a phone number")
        normalised = None
    else:
        normalised = normalise_email(email)
        if normalised is None:
            raise InvalidContactError("the email is not a valid address")
    return ContactDetails(
        email=normalised,
        name=_trimmed(name),
        phone=phone,
        location=_trimmed(location),
        timezone=_trimmed(timezone),
        country=_trimmed(country),
        city=_trimmed(city),
    )


def _trimmed(value: str | None) -> str | None:
    return (value or "").strip() or None
