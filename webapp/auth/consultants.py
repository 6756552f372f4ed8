"""Consultant accounts: creation, passwords (Argon2id, at least 12 characters and not too
guessable by zxcvbn's measure) and password checks."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from zxcvbn import zxcvbn

from webapp.auth.sessions import end_every_session
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole
from webapp.patients.contact import normalise_email

PASSWORD_HASHER = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
UNKNOWN_EMAIL_HASH = PASSWORD_HASHER.hash("no consultant has this password")
MIN_PASSWORD_LENGTH = 12
# zxcvbn's score from 0 (guessable in a few tries) to 4; 3 resists an offline attack on a
# slow hash, which is what a stolen database would face.
MIN_PASSWORD_SCORE = 3
# zxcvbn's own limit; beyond it a password's first 72 characters are what it judges.
ZXCVBN_MAX_LENGTH = 72


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
    that ``password_problem`` refuses.
    """
    normalised = normalise_email(email)
    if normalised is None:
        raise ConsultantError("the email is not a valid address")
    if not name.strip():
        raise ConsultantError("the name is empty")
    password_hash = _password_hash(password, normalised, name)
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

    Raises ``ConsultantError`` for a password that ``password_problem`` refuses.
    """
    consultant.password_hash = _password_hash(password, consultant.email, consultant.name)
    end_every_session(consultant)


def password_problem(password: str, *personal: str) -> str | None:
    """Why ``password`` will not do, as a sentence for the form; ``None`` when it will.

    A password needs ``MIN_PASSWORD_LENGTH`` characters and a zxcvbn score of at least
    ``MIN_PASSWORD_SCORE``; ``personal`` words (the consultant's email, name) count as
    easy to guess.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password needs at least {MIN_PASSWORD_LENGTH} characters."
    words = [word for text in (*personal, "clinic") for word in re.split(r"[\s@.]+", text) if word]
    verdict = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=words)
    if verdict["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = verdict["feedback"]
    reasons = [feedback["warning"], *feedback["suggestions"]]
    return " ".join(["This password is too easy to guess.", *(r for r in reasons if r)])


def _password_hash(password: str, *personal: str) -> str:
    """The Argon2id hash of an acceptable password; raises ``ConsultantError`` saying why a
    password will not do."""
    problem = password_problem(password, *personal)
    if problem is not None:
        raise ConsultantError(problem)
    return PASSWORD_HASHER.hash(password)


def find_consultant(email: str) -> Consultant | None:
    """The consultant with this email (as typed: it is normalised here), if any."""
    normalised = normalise_email(email)
    if normalised is None:
        return None
    return db.session.scalar(select(Consultant).where(Consultant.email == normalised))


def password_matches(consultant: Consultant, password: str) -> bool:
    """Whether ``password`` is ``consultant``'s (asked again before changes that matter)."""
    try:
        return PASSWORD_HASHER.verify(consultant.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str) -> Consultant | None:
    """Return the consultant whose email and password these are, else ``None``.

    Takes about as long whether or not the email exists, so timing tells nothing. A
    deactivated consultant is refused like a wrong password.
    """
    consultant = find_consultant(email)
    try:
        PASSWORD_HASHER.verify(
            consultant.password_hash if consultant else UNKNOWN_EMAIL_HASH, password
        )
    except (VerificationError, InvalidHashError):
        return None
    if consultant is None or not consultant.active:
        return None
    if PASSWORD_HASHER.check_needs_rehash(consultant.password_hash):
        consultant.password_hash = PASSWORD_HASHER.hash(password)
    return consultant
