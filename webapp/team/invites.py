"""Invite links: an admin makes a one-time link for an email and a role, valid for 72 hours;
the invitee sets their name, time zone and password through it. The link is used up when
the invitee completes it, not when it is opened (WhatsApp and email previews open links).

The same link brings back a deactivated consultant: reactivating needs a new password.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from webapp.audit.trail import record
from webapp.auth.consultants import (
    ConsultantError,
    create_consultant,
    find_consultant,
    set_password,
)
from webapp.extensions import db
from webapp.models import Consultant, ConsultantInvite, ConsultantRole
from webapp.patients.contact import normalise_email

INVITE_LIFETIME = timedelta(hours=72)


class InviteError(ValueError):
    """An invite cannot be made or completed; the message says why."""


def invite(
    email: str, role: ConsultantRole, by: Consultant | None, now: datetime
) -> tuple[ConsultantInvite, str]:
    """Make a one-time invite for ``email`` with ``role``; returns it and its token (the
    link's secret, shown once; only its hash is stored). Flushes.

    Raises ``InviteError`` for an invalid email or one an active consultant already has.
    """
    normalised = normalise_email(email)
    if normalised is None:
        raise InviteError("The email is not a valid address.")
    existing = find_consultant(normalised)
    if existing is not None and existing.active:
        raise InviteError("A consultant with this email is already on the team.")
    token = secrets.token_urlsafe(32)
    made = ConsultantInvite(
        email=normalised,
        role=role,
        token_hash=_token_hash(token),
        created_at=now,
        expires_at=now + INVITE_LIFETIME,
        invited_by_id=by.id if by is not None else None,
    )
    db.session.add(made)
    db.session.flush()
    details = {"invite_id": made.id, "email": normalised, "role": str(role)}
    if existing is not None:
        details["consultant_id"] = existing.id
    record("consultant.invited", by, details=details)
    return made, token


def find_invite(token: str) -> ConsultantInvite | None:
    """The invite whose link carries ``token``, used or not; ``None`` when there is none."""
    return db.session.scalar(
        select(ConsultantInvite).where(ConsultantInvite.token_hash == _token_hash(token))
    )


def is_open(found: ConsultantInvite, now: datetime) -> bool:
    """Whether ``found`` can still be completed: not used, not expired."""
    return found.used_at is None and now < found.expires_at


def complete_invite(
    found: ConsultantInvite, name: str, timezone: str, password: str, now: datetime
) -> Consultant:
    """Complete ``found``: a new consultant joins, or a deactivated one comes back with a new
    password, the invite's role and active again; the invite is used up. Flushes.

    Raises ``InviteError`` when the invite is used (even by a simultaneous request), has
    expired, or its email now belongs to an active consultant, and ``ConsultantError``
    for a name or password that will not do (the invite stays open).
    """
    if not is_open(found, now):
        raise InviteError("This invite link has been used or has expired.")
    returning = find_consultant(found.email)
    if returning is not None and returning.active:
        raise InviteError("This email is already on the team: sign in instead.")
    role = ConsultantRole(found.role)
    if returning is None:
        consultant = create_consultant(found.email, name, password, timezone, role)
        action = "consultant.joined"
    else:
        if not name.strip():
            raise ConsultantError("the name is empty")
        returning.name = name.strip()
        returning.timezone = timezone
        returning.role = role
        set_password(returning, password)
        returning.active = True
        consultant, action = returning, "consultant.reactivated"
    claimed = db.session.execute(
        update(ConsultantInvite)
        .where(ConsultantInvite.id == found.id, ConsultantInvite.used_at.is_(None))
        .values(used_at=now, consultant_id=consultant.id)
    )
    if claimed.rowcount != 1:
        raise InviteError("This invite link has been used or has expired.")
    record(
        action,
        consultant,
        details={"consultant_id": consultant.id, "invite_id": found.id, "role": str(role)},
    )
    return consultant


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
