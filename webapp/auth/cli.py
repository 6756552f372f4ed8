"""``flask consultants create`` and ``flask consultants set-password``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp.auth.consultants import (
    ConsultantError,
    create_consultant,
    find_consultant,
    set_password,
)
from webapp.extensions import db
from webapp.models import ConsultantRole

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
    consultant = find_consultant(email)
    if consultant is None:
        raise click.ClickException("no consultant has this email")
    try:
        set_password(consultant, password)
    except ConsultantError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"consultant {consultant.id}: new password set, every session ended")


def register(app: Flask) -> None:
    """Add the ``consultants`` command group to ``app``."""
    app.cli.add_command(consultants)
