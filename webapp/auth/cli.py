"""``flask consultants``: create, set-password, deactivate, activate, reset-two-factor.

The shell is the first way in (``create --admin``) and the way back for a team that locked
itself out (``reset-two-factor`` for a lone admin who lost their phone). What these
commands do to the team goes to the audit trail as done by the system.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask, current_app, url_for
from flask.cli import AppGroup

from webapp.auth.consultants import (
    ConsultantError,
    create_consultant,
    find_consultant,
    set_password,
)
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole
from webapp.team.invites import InviteError, invite
from webapp.team.members import TeamError, deactivate, reset_two_factor

consultants = AppGroup("consultants", help="Consultant logins.")
password_option = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given.",
)


@consultants.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Shown on the dashboard.")
@password_option
@click.option("--timezone", default=None, help="Display time zone (default CLINIC_TIMEZONE).")
@click.option("--admin", is_flag=True, help="An admin, who also manages the team.")
def create(email: str, name: str, password: str, timezone: str | None, admin: bool) -> None:
    """Create a consultant login (an admin with --admin: the first way in, and recovery)."""
    try:
        consultant = create_consultant(
            email,
            name,
            password,
            timezone or current_app.config["CLINIC_TIMEZONE"],
            ConsultantRole.ADMIN if admin else ConsultantRole.CONSULTANT,
        )
    except ConsultantError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{consultant.role} {consultant.id} created: {consultant.email}")


@consultants.command("set-password")
@click.argument("email")
@password_option
def set_password_command(email: str, password: str) -> None:
    """Give a consultant a new password; every session they have ends."""
    consultant = _consultant(email)
    try:
        set_password(consultant, password)
    except ConsultantError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"consultant {consultant.id}: new password set, every session ended")


@consultants.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """End every session of a consultant at once and refuse their sign-in."""
    consultant = _consultant(email)
    try:
        changed = deactivate(consultant, None)
    except TeamError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    state = "deactivated, every session ended" if changed else "was deactivated already"
    click.echo(f"consultant {consultant.id}: {state}")


@consultants.command("activate")
@click.argument("email")
@click.option(
    "--url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="The app's address, which the printed link starts with.",
)
def activate_command(email: str, url: str) -> None:
    """Print a fresh invite link (72 hours) that lets a deactivated consultant back in
    with a new password."""
    consultant = _consultant(email)
    if not url.startswith(("http://", "https://")):
        raise click.UsageError("--url must be an http(s) URL")
    try:
        _made, token = invite(
            consultant.email, ConsultantRole(consultant.role), None, datetime.now(UTC)
        )
    except InviteError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    with current_app.test_request_context(base_url=url):
        link = url_for("team.join", token=token, _external=True)
    click.echo(f"consultant {consultant.id}: send them this link (valid 72 hours):\n{link}")


@consultants.command("reset-two-factor")
@click.argument("email")
def reset_two_factor_command(email: str) -> None:
    """End a consultant's sessions and make them enrol two-factor again (a lost phone)."""
    consultant = _consultant(email)
    reset_two_factor(consultant, None)
    db.session.commit()
    click.echo(f"consultant {consultant.id}: two-factor reset, every session ended")


def _consultant(email: str) -> Consultant:
    consultant = find_consultant(email)
    if consultant is None:
        raise click.ClickException("no consultant has this email")
    return consultant


def register(app: Flask) -> None:
    """Add the ``consultants`` command group to ``app``."""
    app.cli.add_command(consultants)
