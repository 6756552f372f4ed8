"""What an admin (or a shell) does to a consultant: change their role, deactivate them,
reset their two-factor. Each is written to the audit trail; the last active admin can be
neither deactivated nor demoted, so the team always has someone who manages it."""

from __future__ import annotations

from sqlalchemy import select

from webapp.audit.trail import record
from webapp.auth.sessions import end_every_session
from webapp.auth.two_factor import turn_off_two_factor
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole


class TeamError(ValueError):
    """A change to the team that is refused; the message says why."""


LAST_ADMIN = "The team needs at least one active admin: make someone else an admin first."


def team_members() -> list[Consultant]:
    """Every consultant, active ones first, then by name."""
    return list(
        db.session.scalars(
            select(Consultant).order_by(Consultant.active.desc(), Consultant.name, Consultant.id)
        )
    )


def change_role(consultant: Consultant, role: ConsultantRole, by: Consultant | None) -> bool:
    """Give ``consultant`` ``role``; returns whether it changed. Flushes.

    Raises ``TeamError`` when it would demote the last active admin.
    """
    if consultant.role == role:
        return False
    if role != ConsultantRole.ADMIN:
        _refuse_losing_the_last_admin(consultant)
    previous = consultant.role
    consultant.role = role
    record(
        "consultant.role_changed",
        by,
        details={"consultant_id": consultant.id, "from": str(previous), "to": str(role)},
    )
    return True


def deactivate(consultant: Consultant, by: Consultant | None) -> bool:
    """End every session ``consultant`` has, at once, and refuse their sign-in from now on;
    returns whether they were active. Their notes and audit rows keep their name. Flushes.

    Raises ``TeamError`` when they are the last active admin.
    """
    if not consultant.active:
        return False
    _refuse_losing_the_last_admin(consultant)
    consultant.active = False
    end_every_session(consultant)
    record("consultant.deactivated", by, details={"consultant_id": consultant.id})
    return True


def reset_two_factor(consultant: Consultant, by: Consultant | None) -> None:
    """Forget ``consultant``'s authenticator key and recovery codes and end every session
    they have, so that they enrol again (recovery for a lost phone). Flushes."""
    turn_off_two_factor(consultant)
    record("consultant.two_factor_reset", by, details={"consultant_id": consultant.id})


def _refuse_losing_the_last_admin(consultant: Consultant) -> None:
    """Raise ``TeamError`` if ``consultant`` is the only active admin.

    The active admins' rows are locked until the transaction ends (PostgreSQL; SQLite's
    transactions take the write lock up front), so two admins demoting each other at once
    cannot both pass.
    """
    if not (consultant.active and consultant.is_admin):
        return
    admins = db.session.scalars(
        select(Consultant.id)
        .where(Consultant.active.is_(True), Consultant.role == ConsultantRole.ADMIN)
        .with_for_update()
    ).all()
    if set(admins) <= {consultant.id}:
        raise TeamError(LAST_ADMIN)
