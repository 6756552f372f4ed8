"""Admins and consultants: who may open a page for admins only."""

from __future__ import annotations

import pytest
from flask import Blueprint

from tests.conftest import CONSULTANT_EMAIL, CONSULTANT_PASSWORD, log_in
from webapp.auth.roles import admin_required
from webapp.extensions import db
from webapp.models import Consultant, ConsultantRole


def test_consultants_create_makes_an_admin_only_when_asked(app, runner):
    admin = runner.invoke(
        args=["consultants", "create", "boss@clinic.example", "--name", "Boss", "--admin"]
        + ["--password", "a long enough password"]
    )
    plain = runner.invoke(
        args=["consultants", "create", "dr@clinic.example", "--name", "Dr", "--password"]
        + ["a long enough password"]
    )

    assert admin.exit_code == 0 and plain.exit_code == 0, admin.output + plain.output
    with app.app_context():
        roles = dict(db.session.execute(db.select(Consultant.email, Consultant.role)).all())
    assert roles == {"boss@clinic.example": "admin", "dr@clinic.example": "consultant"}


@pytest.mark.fresh_app
def test_a_page_for_admins_answers_403_to_a_consultant_and_opens_for_an_admin(app, consultant):
    page = Blueprint("admins_only_page", __name__)

    @page.get("/admins-only")
    @admin_required
    def admins_only() -> str:
        return "team business"

    app.register_blueprint(page)
    client = app.test_client()

    assert client.get("/admins-only").headers["Location"].startswith("/login")
    log_in(client, CONSULTANT_EMAIL, CONSULTANT_PASSWORD)
    refused = client.get("/admins-only")
    with app.app_context():
        db.session.get(Consultant, consultant).role = ConsultantRole.ADMIN
        db.session.commit()
    opened = client.get("/admins-only")

    assert refused.status_code == 403 and "team business" not in refused.text
    assert opened.status_code == 200 and opened.text == "team business"
