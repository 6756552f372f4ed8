"""``flask cal ...``: list, replay, simulate and spool deliveries; reconcile with the API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.cal import spool
from webapp.cal.api import CalApi
from webapp.cal.deliveries import replay_events
from webapp.cal.payload import PayloadError, parse_time
from webapp.cal.reconcile import ReconcileError, reconcile
from webapp.cal.signature import SIGNATURE_HEADER, sign
from webapp.extensions import db
from webapp.models import EventStatus, WebhookEvent

cal = AppGroup("cal", help="Cal.com webhook deliveries.")
STATUS_CHOICE = click.Choice([status.value for status in EventStatus])


@cal.command("events")
@click.option("--status", type=STATUS_CHOICE, help="Only deliveries with this status.")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
def list_events(status: str | None, limit: int) -> None:
    """List stored webhook deliveries (ids and outcomes, no patient data)."""
    query = select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(limit)
    if status:
        query = query.where(WebhookEvent.status == status)
    events = db.session.scalars(query).all()
    if not events:
        click.echo("no deliveries stored")
        return
    for event in events:
        click.echo(
            f"{event.id:>6}  {event.received_at:%Y-%m-%d %H:%M:%S}Z  "
            f"{event.trigger_event or '-':<24} {event.booking_uid or '-':<26} {event.status}"
            + (f"  ({event.error})" if event.error else "")
        )


@cal.command("replay")
@click.argument("ids", nargs=-1, type=int)
@click.option("--failed", is_flag=True, help="Replay every delivery whose status is failed.")
def replay(ids: tuple[int, ...], failed: bool) -> None:
    """Process stored deliveries again; applying an event twice changes nothing."""
    if not ids and not failed:
        raise click.UsageError("name event ids or pass --failed")
    query = select(WebhookEvent)
    if ids:
        query = query.where(WebhookEvent.id.in_(ids))
    if failed:
        query = query.where(WebhookEvent.status == EventStatus.FAILED)
    events = list(db.session.scalars(query))
    missing = set(ids) - {event.id for event in events}
    if missing:
        raise click.ClickException(f"no stored delivery with id {', '.join(map(str, missing))}")
    outcomes = replay_events(events)
    db.session.commit()
    for outcome in outcomes:
        click.echo(f"{outcome.event_id:>6}  {outcome.status}  {outcome.message}")


@cal.command("spool")
@click.option("--apply", "apply_now", is_flag=True, help="Apply the waiting deliveries now.")
def show_spool(apply_now: bool) -> None:
    """Show the deliveries kept on this host while the database was away (never their bodies)."""
    directory = spool.spool_directory()
    if apply_now:
        result = spool.apply_waiting(directory)
        click.echo(f"applied {result.applied}, {result.remaining} waiting")
        if result.stopped:
            raise click.ClickException(f"stopped: {result.stopped}")
        return
    waiting = spool.waiting(directory)
    if not waiting:
        click.echo(f"spool {directory}: empty")
        return
    click.echo(f"spool {directory}: {len(waiting)} waiting, oldest {_age(waiting[0].age())} old")
    for delivery in waiting:
        click.echo(f"  {delivery.name}  {delivery.size} bytes  {_age(delivery.age())} old")


@cal.command("reconcile")
@click.option("--since", help="ISO-8601 time; default: the last successful run minus 10 min.")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
def reconcile_command(since: str | None, dry_run: bool) -> None:
    """Apply the bookings Cal.com's API holds that we lack or hold out of date."""
    key = current_app.config["CAL_API_KEY"]
    if not key:
        raise click.ClickException("CAL_API_KEY is not set; reconciliation is off")
    try:
        start = parse_time(since, "--since")
    except PayloadError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    with CalApi(current_app.config["CAL_API_URL"], key) as api:
        try:
            run = reconcile(api, start, dry_run=dry_run, progress=click.echo)
        except ReconcileError as exc:
            raise click.ClickException(f"reconcile failed: {exc}") from None
        except Exception as exc:
            if not spool.is_database_unreachable(exc):
                raise
            raise click.ClickException("reconcile failed: the database is unreachable") from None
    verb = "would create" if dry_run else "created"
    click.echo(
        f"since {run.since:%Y-%m-%d %H:%M:%S}Z: {run.pages} pages, {run.seen} bookings seen, "
        f"{verb} {run.created}, {'would update' if dry_run else 'updated'} {run.updated}"
    )
    for label, uids in (("missing", run.missing_uids), ("out of date", run.outdated_uids)):
        if uids:
            click.echo(f"{label}: {', '.join(uids)}")
    if run.error:
        raise click.ClickException(run.error)


def _age(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@cal.command("simulate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--url",
    default="http://127.0.0.1:5000/webhooks/cal",
    show_default=True,
    help="Where the app listens.",
)
def simulate(file: Path, url: str) -> None:
    """Sign FILE with CAL_WEBHOOK_SECRET and post it, as Cal.com would."""
    if not url.startswith(("http://", "https://")):
        raise click.UsageError("--url must be an http(s) URL")
    body = file.read_bytes()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, current_app.config["CAL_WEBHOOK_SECRET"]),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    except urllib.error.URLError as error:
        raise click.ClickException(f"could not reach {url}: {error.reason}") from None
    click.echo(f"{status} {_pretty(answer)}")
    if status >= 400:
        raise SystemExit(1)


def _pretty(answer: bytes) -> str:
    try:
        return json.dumps(json.loads(answer))
    except ValueError:
        return answer.decode(errors="replace")


def register(app: Flask) -> None:
    """Add the ``cal`` command group to ``app``."""
    app.cli.add_command(cal)
