"""``flask dev ...``: what ``make run`` needs to hand a developer a working app."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from webapp.auth.consultants import create_consultant
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole

dev = AppGroup("dev", help="Development helpers.")

DEV_URL = "http://127.0.0.1:5000"
DEMO_EMAIL = "demo@clinic.example"
DEMO_LOGIN_FILE = "dev-demo-login"


@dev.command("bootstrap")
def bootstrap() -> None:
    """Create a demo consultant when there is none; print the URL, login and webhook secret."""
    if current_app.config["APP_ENV"] != "development":
        raise click.ClickException("dev bootstrap is for APP_ENV=development only")
    login = _demo_login()
    click.echo(
        "\n".join(
            [
                "",
                f"  Clinic app:          {DEV_URL}/",
                f"  Log in as:           {login}",
                f"  Cal.com webhook URL: {DEV_URL}/webhooks/cal",
                f"  Webhook secret:      {current_app.config['CAL_WEBHOOK_SECRET']}",
                "  Try a booking:       .venv/bin/flask --app wsgi cal simulate "
                "tests/fixtures/booking_created.json",
                "",
            ]
        )
    )


def _demo_login() -> str:
    """The demo consultant's login, creating it (with a random password) if no one exists."""
    password_file = Path(current_app.instance_path) / DEMO_LOGIN_FILE
    if db.session.scalar(select(func.count()).select_from(Consultant)):
        if password_file.exists():
            return f"{DEMO_EMAIL} / {password_file.read_text().strip()}"
        return "an existing consultant (flask --app wsgi consultants create ... adds one)"
    password = secrets.token_urlsafe(12)
    create_consultant(
        DEMO_EMAIL,
        "Demo Consultant",
        password,
        current_app.config["CLINIC_TIMEZONE"],
        ConsultantRole.ADMIN,
    )
    db.session.commit()
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    return f"{DEMO_EMAIL} / {password}"


def register(app: Flask) -> None:
    """Add the ``dev`` command group to ``app``."""
    app.cli.add_command(dev)
