"""Templates receive their data from views: no page sends a statement while it renders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, before_render_template, template_rendered
from sqlalchemy import event, select

from tests.conftest import (
    FIXTURE_BOOKING_UID,
    booking_document,
    deliver,
    fixture_json,
    submit,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import PatientProfile


@contextmanager
def statements_while_rendering(app: Flask) -> Iterator[list[tuple[str, str]]]:
    """Each statement sent while a template renders, with that template's name."""
    rendering: list[str] = []
    sent: list[tuple[str, str]] = []

    def started(_app: Flask, template: Any, **_extra: Any) -> None:
        rendering.append(template.name)

    def finished(_app: Flask, template: Any, **_extra: Any) -> None:
        rendering.pop()

    def record(_connection: Any, _cursor: Any, statement: str, *_context: Any) -> None:
        if rendering:
            sent.append((rendering[-1], " ".join(statement.split())[:80]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    before_render_template.connect(started, app)
    template_rendered.connect(finished, app)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
        before_render_template.disconnect(started, app)
        template_rendered.disconnect(finished, app)


def test_no_page_sends_a_statement_while_its_template_renders(app, consultant_client):
    deliver(consultant_client, fixture_json("booking_created.json"))
    deliver(consultant_client, fixture_json("booking_rescheduled.json"))
    # Another email with Oliver's phone: a possible duplicate for the Needs review tab.
    deliver(consultant_client, booking_document("SharedPhone001", email="emma@example.com"))
    submit(consultant_client, FIXTURE_BOOKING_UID, valid_answers())
    with app.app_context():
        patient_ids = list(db.session.scalars(select(PatientProfile.id)))
    pages = [
        "/",
        *(f"/?tab={tab}" for tab in ("today", "upcoming", "past", "cancelled", "review")),
        "/?q=oliver",
        "/connection",
        "/audit",
        "/account",
        "/account/two-factor",
        "/insights",
        *(f"/patients/{patient_id}" for patient_id in patient_ids),
        *(f"/patients/{patient_id}/audit" for patient_id in patient_ids),
        f"/questionnaire/{FIXTURE_BOOKING_UID}",
    ]

    with statements_while_rendering(app) as sent:
        for page in pages:
            assert consultant_client.get(page).status_code == 200, page
        htmx = consultant_client.get("/?tab=review", headers={"HX-Request": "true"})

    assert htmx.status_code == 200
    assert "Same person?" in htmx.get_data(as_text=True)
    assert sent == []
