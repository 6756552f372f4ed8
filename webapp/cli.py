"""``flask dev ...``: what ``make run`` needs to hand a developer a working app."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from random import Random

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from webapp.auth.consultants import create_consultant
from webapp.demo.bookings import add_bookings
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole

dev = AppGroup("dev", help="Development helpers.")

DEV_URL = "http://127.0.0.1:5000"
DEMO_EMAIL = "demo@clinic.example"
DEMO_LOGIN_FILE = "dev-demo-login"
# The made-up bookings start over these weeks: the insights' default twelve and more.
SEED_WEEKS_BACK = 16
SEED_WEEKS_AHEAD = 4


@dev.command("bootstrap")
def bootstrap() -> None:
    """Create a demo consultant when there is none; print the URL, login and webhook secret."""
    _development_only("dev bootstrap")
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
                "  Made-up bookings:    .venv/bin/flask --app wsgi dev seed "
                "(a few hundred, for the dashboard and /insights)",
                "",
            ]
        )
    )


@dev.command("seed")
@click.option(
    "--bookings",
    type=click.IntRange(1, 5_000),
    default=300,
    show_default=True,
    help="How many made-up patients to add, each with one booking.",
)
@click.option("--random-seed", type=int, default=None, help="The same bookings for the same seed.")
def seed(bookings: int, random_seed: int | None) -> None:
    """Add made-up patients with a booking each, starting over the last 16 weeks and the next
    4, across countries, languages and outcomes, most with questionnaire answers."""
    _development_only("dev seed")
    ids = add_bookings(
        bookings,
        Random(random_seed),  # noqa: S311 - made-up data, not a secret
        datetime.now(UTC),
        days_back=SEED_WEEKS_BACK * 7,
        days_ahead=SEED_WEEKS_AHEAD * 7,
    )
    db.session.commit()
    click.echo(
        f"Added {bookings} made-up patients with a booking each (patients {ids.start} to "
        f"{ids.stop - 1}): see {DEV_URL}/ and {DEV_URL}/insights"
    )


def _development_only(command: str) -> None:
    """Refuse ``command`` outside development: it makes up logins or patients."""
    if current_app.config["APP_ENV"] != "development":
        raise click.ClickException(f"{command} is for APP_ENV=development only")


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
