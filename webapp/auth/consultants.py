"""Consultant accounts: creation, passwords (Argon2id) and password checks."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from webapp.auth.sessions import end_every_session
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole
from webapp.patients.contact import normalise_email

PASSWORD_HASHER = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
UNKNOWN_EMAIL_HASH = PASSWORD_HASHER.hash("no consultant has this password")
MIN_PASSWORD_LENGTH = 12


class ConsultantError(ValueError):
    """A consultant account cannot be created as asked; the message says why."""


def create_consultant(
    email: str,
    name: str,
    password: str,
    timezone: str,
    role: ConsultantRole = ConsultantRole.CONSULTANT,
) -> Consultant:
    """Create a consultant login with ``role``; flushes.

    Raises ``ConsultantError`` for an invalid or taken email, an empty name or a password
    shorter than ``MIN_PASSWORD_LENGTH``.
    """
    normalised = normalise_email(email)
    if normalised is None:
        raise ConsultantError("the email is not a valid address")
    if not name.strip():
        raise ConsultantError("the name is empty")
    password_hash = _password_hash(password)
    if find_consultant(normalised) is not None:
        raise ConsultantError("a consultant with this email exists")
    consultant = Consultant(
        email=normalised,
        name=name.strip(),
        password_hash=password_hash,
        timezone=timezone,
        role=role,
    )
    db.session.add(consultant)
    db.session.flush()
    return consultant


def set_password(consultant: Consultant, password: str) -> None:
    """Give ``consultant`` a new password and end every session they have; flushes.

    Raises ``ConsultantError`` for a password shorter than ``MIN_PASSWORD_LENGTH``.
    """
    consultant.password_hash = _password_hash(password)
    end_every_session(consultant)


def _password_hash(password: str) -> str:
    """The Argon2id hash of an acceptable password; raises ``ConsultantError`` for a short one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConsultantError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    return PASSWORD_HASHER.hash(password)


def find_consultant(email: str) -> Consultant | None:
    """The consultant with this email (as typed: it is normalised here), if any."""
    normalised = normalise_email(email)
    if normalised is None:
        return None
    return db.session.scalar(select(Consultant).where(Consultant.email == normalised))


def authenticate(email: str, password: str) -> Consultant | None:
    """Return the consultant whose email and password these are, else ``None``.

    Takes about as long whether or not the email exists, so timing tells nothing.
    """
    consultant = find_consultant(email)
    try:
        PASSWORD_HASHER.verify(
            consultant.password_hash if consultant else UNKNOWN_EMAIL_HASH, password
        )
    except (VerificationError, InvalidHashError):
        return None
    if consultant is None:
        return None
    if PASSWORD_HASHER.check_needs_rehash(consultant.password_hash):
        consultant.password_hash = PASSWORD_HASHER.hash(password)
    return consultant
