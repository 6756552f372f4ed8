"""``flask dev ...``: what ``make run`` needs to hand a developer a working app."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

dev = AppGroup("dev", help="Development helpers.")

DEV_URL = "http://127.0.0.1:5000"


@dev.command("bootstrap")
def bootstrap() -> None:
    """Print where the app listens and the webhook secret to enter in Cal.com."""
    if current_app.config["APP_ENV"] != "development":
        raise click.ClickException("dev bootstrap is for APP_ENV=development only")
    click.echo(
        "\n".join(
            [
                "",
                f"  Clinic app:          {DEV_URL}/",
                f"  Cal.com webhook URL: {DEV_URL}/webhooks/cal",
                f"  Webhook secret:      {current_app.config['CAL_WEBHOOK_SECRET']}",
                "  Try a booking:       .venv/bin/flask --app wsgi cal simulate "
                "tests/fixtures/booking_created.json",
                "",
            ]
        )
    )


def register(app: Flask) -> None:
    """Add the ``dev`` command group to ``app``."""
    app.cli.add_command(dev)
