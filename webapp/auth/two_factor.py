"""Two-factor sign-in: TOTP codes (RFC 6238: 30 s, 6 digits) from an authenticator app, and
ten one-time recovery codes for a lost phone.

A code works once: the time step of the last accepted code is kept on the consultant, and
a code of that step or an earlier one is refused. Recovery codes are stored as their
SHA-256 (each holds 80 random bits, beyond any guessing) and deleted when used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update

from webapp.auth.sessions import end_every_session
from webapp.extensions import db
from webapp.models import Consultant, RecoveryCode

RECOVERY_CODE_COUNT = 10
# Codes a step before or after the server's clock are accepted too: a phone's clock drifts.
CLOCK_DRIFT_STEPS = 1
TOTP_CODE = re.compile(r"\d{6}")
RECOVERY_CODE = re.compile(r"[a-z2-7]{16}")
ISSUER = "Clinic bookings"


@dataclass(frozen=True)
class SecondFactor:
    """A code accepted at sign-in; ``recovery_codes_left`` is set when it was a recovery code."""

    recovery_codes_left: int | None = None


def enrolment_secret(consultant: Consultant) -> str:
    """The TOTP key ``consultant`` is enrolling with: the one shown before if enrolment is
    unfinished (a reload keeps the QR code already scanned), else a new one. Flushes.

    Raises ``ValueError`` when two-factor is already on.
    """
    if consultant.has_two_factor:
        raise ValueError("two-factor is already on")
    if consultant.totp_secret is None:
        consultant.totp_secret = pyotp.random_base32()
        db.session.flush()
    return consultant.totp_secret


def provisioning_uri(consultant: Consultant, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=consultant.email, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """``uri`` as a QR code, an inline SVG drawn here (no outside service sees the key)."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, omitsize=False)


def grouped_secret(secret: str) -> str:
    """The key in groups of four, as a person types it into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def enable_two_factor(consultant: Consultant, code: str, now: datetime) -> list[str] | None:
    """Turn two-factor on for ``consultant`` if ``code`` is right for the key they are
    enrolling with; returns their ten new recovery codes (shown once), or ``None`` for a
    wrong code. Flushes."""
    if consultant.has_two_factor or consultant.totp_secret is None:
        return None
    if not accept_totp(consultant, code, now):
        return None
    consultant.two_factor_enabled_at = now
    return new_recovery_codes(consultant)


def check_second_factor(consultant: Consultant, typed: str, now: datetime) -> SecondFactor | None:
    """Whether ``typed`` is a code from ``consultant``'s app, not used before, or one of
    their recovery codes (then used up); ``None`` when it is neither. Flushes."""
    cleaned = re.sub(r"[\s-]", "", typed).lower()
    if TOTP_CODE.fullmatch(cleaned):
        return SecondFactor() if accept_totp(consultant, cleaned, now) else None
    left = use_recovery_code(consultant, cleaned)
    return None if left is None else SecondFactor(recovery_codes_left=left)


def accept_totp(consultant: Consultant, code: str, now: datetime) -> bool:
    """Whether ``code`` is ``consultant``'s code for now (give or take a step of clock
    drift) and newer than the last one accepted; if so it is recorded as used, in a
    statement that two simultaneous requests with the same code cannot both pass."""
    if consultant.totp_secret is None or not TOTP_CODE.fullmatch(code):
        return False
    totp = pyotp.TOTP(consultant.totp_secret)
    current = totp.timecode(now)
    for step in range(current - CLOCK_DRIFT_STEPS, current + CLOCK_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            claimed = db.session.execute(
                update(Consultant)
                .where(
                    Consultant.id == consultant.id,
                    or_(Consultant.totp_last_step.is_(None), Consultant.totp_last_step < step),
                )
                .values(totp_last_step=step)
            )
            return claimed.rowcount == 1
    return False


def new_recovery_codes(consultant: Consultant) -> list[str]:
    """Replace ``consultant``'s recovery codes with ten new ones; returns them as shown to
    the consultant (``abcd-efgh-ijkl-mnop``), the only time they are. Flushes."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.consultant_id == consultant.id))
    codes = [_random_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(
        RecoveryCode(consultant_id=consultant.id, code_hash=_code_hash(code)) for code in codes
    )
    db.session.flush()
    return ["-".join(code[i : i + 4] for i in range(0, 16, 4)) for code in codes]


def use_recovery_code(consultant: Consultant, cleaned: str) -> int | None:
    """Use up ``consultant``'s recovery code ``cleaned`` (lower case, no spaces or dashes);
    returns how many remain, or ``None`` when it is not one of theirs. Flushes."""
    if not RECOVERY_CODE.fullmatch(cleaned):
        return None
    used = db.session.execute(
        delete(RecoveryCode).where(
            RecoveryCode.consultant_id == consultant.id,
            RecoveryCode.code_hash == _code_hash(cleaned),
        )
    )
    if used.rowcount != 1:
        return None
    return recovery_codes_left(consultant)


def recovery_codes_left(consultant: Consultant) -> int:
    """How many unused recovery codes ``consultant`` has."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.consultant_id == consultant.id)
        )
        or 0
    )


def turn_off_two_factor(consultant: Consultant) -> None:
    """Forget ``consultant``'s key and recovery codes and end every session they have, so
    they enrol again at their next sign-in (when two-factor is required). Flushes."""
    consultant.totp_secret = None
    consultant.two_factor_enabled_at = None
    consultant.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.consultant_id == consultant.id))
    end_every_session(consultant)
    db.session.flush()


def _random_recovery_code() -> str:
    """Sixteen characters of base32 (a-z, 2-7): 80 random bits."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def _code_hash(cleaned: str) -> str:
    return hashlib.sha256(cleaned.encode()).hexdigest()
