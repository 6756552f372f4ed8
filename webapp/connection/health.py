"""What the connection page and the dashboard's banner know about the link with Cal.com.

The banner's checks (``needs_attention``) cost a few indexed queries and a directory
listing; they run when a full dashboard page renders, never on its idle poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from webapp.cal import spool
from webapp.cal.payload import NoEnvelopeError, why_unreadable
from webapp.extensions import db
from webapp.models import EventStatus, ReconcileRun, ReconcileRunStatus, WebhookEvent

DAY = timedelta(hours=24)
WEEK = timedelta(days=7)
SPOOL_GRACE = timedelta(minutes=1)
PROBLEM_LIMIT = 200
PROBLEMS = (EventStatus.FAILED, EventStatus.REJECTED)


@dataclass(frozen=True)
class Attention:
    """One thing a consultant should look at; ``key`` names it for templates and tests."""

    key: str
    message: str


@dataclass(frozen=True)
class Problem:
    """A failed or rejected delivery: why its body cannot be read (``None`` when it can),
    and whether a custom payload template caused it."""

    event: WebhookEvent
    unreadable: str | None
    custom_template: bool


@dataclass(frozen=True)
class ConnectionHealth:
    """Everything ``/connection`` shows."""

    last_delivery_at: datetime | None
    counts_day: dict[str, int]
    counts_week: dict[str, int]
    problems: list[Problem]
    spooled: list[spool.SpooledDelivery]
    last_run: ReconcileRun | None
    api_key_set: bool
    attention: list[Attention]


def connection_health(now: datetime) -> ConnectionHealth:
    """The page's whole picture at ``now``."""
    problems = [
        _problem(event)
        for event in db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.status.in_(PROBLEMS))
            .order_by(WebhookEvent.id.desc())
            .limit(PROBLEM_LIMIT)
        )
    ]
    return ConnectionHealth(
        last_delivery_at=last_delivery_at(),
        counts_day=_counts_since(now - DAY),
        counts_week=_counts_since(now - WEEK),
        problems=problems,
        spooled=spool.waiting(spool.spool_directory()),
        last_run=last_reconcile_run(),
        api_key_set=bool(current_app.config["CAL_API_KEY"]),
        attention=needs_attention(now),
    )


def needs_attention(now: datetime) -> list[Attention]:
    """What the dashboard's banner lists: recent failures, a custom payload template, a
    spool that does not empty, a reconcile run that failed or found missing bookings, or
    a silence from Cal.com while its API shows bookings changing."""
    found: list[Attention] = []
    recent = list(
        db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.status.in_(PROBLEMS), WebhookEvent.received_at >= now - DAY)
            .order_by(WebhookEvent.id.desc())
            .limit(PROBLEM_LIMIT)
        )
    )
    templated = [event for event in recent if _problem(event).custom_template]
    if templated:
        found.append(
            Attention(
                "custom_template",
                f"{_deliveries(len(templated))} in the last 24 hours carried no booking: "
                "Cal.com is sending a custom payload template.",
            )
        )
    if len(recent) > len(templated):
        found.append(
            Attention(
                "failures",
                "Failed or rejected in the last 24 hours: "
                f"{_deliveries(len(recent) - len(templated))}.",
            )
        )
    waiting = spool.waiting(spool.spool_directory())
    if waiting and waiting[0].age(now.timestamp()) > SPOOL_GRACE.total_seconds():
        found.append(
            Attention(
                "spool",
                f"{_deliveries(len(waiting))} waiting in this host's spool: the database "
                "was unreachable and has not taken them yet.",
            )
        )
    run = last_reconcile_run()
    if run is not None and run.status == ReconcileRunStatus.FAILED:
        found.append(Attention("reconcile_failed", "The last reconciliation with Cal.com failed."))
    elif run is not None and run.created:
        found.append(
            Attention(
                "reconcile_missing",
                f"The last reconciliation found {run.created} "
                f"booking{'' if run.created == 1 else 's'} that no delivery had brought.",
            )
        )
    silence = _silence(now)
    if silence is not None:
        found.append(Attention("silence", silence))
    return found


def _problem(event: WebhookEvent) -> Problem:
    """A failed or rejected delivery as the pages show it, its body read by the one reader of
    deliveries (which no body makes raise). Only a rejected one can be a custom template's."""
    refusal = why_unreadable(event.body)
    custom_template = event.status == EventStatus.REJECTED and isinstance(refusal, NoEnvelopeError)
    return Problem(event, str(refusal) if refusal else None, custom_template)


def last_delivery_at() -> datetime | None:
    """When the newest delivery arrived (ids grow with arrival, so the primary key finds it)."""
    return db.session.scalar(
        select(WebhookEvent.received_at).order_by(WebhookEvent.id.desc()).limit(1)
    )


def last_reconcile_run() -> ReconcileRun | None:
    """The newest finished reconcile run that was not a dry run."""
    return db.session.scalar(
        select(ReconcileRun)
        .where(ReconcileRun.dry_run.is_(False), ReconcileRun.status != ReconcileRunStatus.RUNNING)
        .order_by(ReconcileRun.started_at.desc())
        .limit(1)
    )


def _silence(now: datetime) -> str | None:
    """A warning when no delivery came for ``CAL_SILENCE_ALERT_HOURS`` while a reconcile run
    that looked only at the time since the last delivery saw Cal.com's bookings change."""
    limit = timedelta(hours=current_app.config["CAL_SILENCE_ALERT_HOURS"])
    last = last_delivery_at()
    if last is not None and now - last <= limit:
        return None
    query = select(ReconcileRun.id).where(
        ReconcileRun.status == ReconcileRunStatus.OK,
        ReconcileRun.dry_run.is_(False),
        ReconcileRun.seen > 0,
    )
    if last is not None:
        query = query.where(ReconcileRun.since > last)
    if db.session.scalar(query.limit(1)) is None:
        return None
    hours = current_app.config["CAL_SILENCE_ALERT_HOURS"]
    return (
        f"No delivery from Cal.com for more than {hours:g} hours, while its API shows bookings "
        "changing: check the webhook in Cal.com's settings."
    )


def _deliveries(number: int) -> str:
    return f"{number} deliver{'y' if number == 1 else 'ies'}"


def _counts_since(start: datetime) -> dict[str, int]:
    rows = db.session.execute(
        select(WebhookEvent.status, func.count())
        .where(WebhookEvent.received_at >= start)
        .group_by(WebhookEvent.status)
    )
    counts = {status.value: 0 for status in EventStatus}
    for status, number in rows:
        counts[status] = number
    return counts
