"""The team: /team for admins, invites, roles, deactivation, the shell, and the audit trail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from tests.conftest import CONSULTANT_EMAIL, CONSULTANT_PASSWORD, count, csrf_token_from, log_in
from webapp.auth.consultants import create_consultant
from webapp.extensions import db
from webapp.models import AuditEvent, Consultant, ConsultantRole, ConsultantSession

IDLE_POLL = "/dashboard/updates?cursor=%7C0"
ADMIN_EMAIL = "ada@clinic.example"
NEW_PASSWORD = "violet kettle harbour"


def post_form(client, path: str, data: dict[str, str], page: str = "/team"):
    token = csrf_token_from(client.get(page).text)
    return client.post(path, data=data | {"csrf_token": token})


@pytest.fixture
def admin(app) -> int:
    with app.app_context():
        made = create_consultant(
            ADMIN_EMAIL, "Ada Admin", CONSULTANT_PASSWORD, "Europe/London", ConsultantRole.ADMIN
        )
        db.session.commit()
        return made.id


@pytest.fixture
def admin_client(app, admin):
    browser = app.test_client()
    assert log_in(browser, ADMIN_EMAIL).status_code == 302
    return browser


def invite_link(admin_client, email: str, role: str = "consultant") -> str:
    """Make an invite on /team; returns the link's path."""
    page = post_form(admin_client, "/team/invite", {"email": email, "role": role})
    assert page.status_code == 200, page.text
    match = re.search(r'value="http://localhost(/join/[^"]+)"', page.text)
    assert match, "no invite link on the page"
    return match[1]


def join(client, path: str, name: str = "Nia New", password: str = NEW_PASSWORD):
    return post_form(
        client,
        path,
        {
            "name": name,
            "timezone": "Europe/London",
            "password": password,
            "password_again": password,
        },
        page=path,
    )


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_team_page_is_for_admins_only(app, consultant_client, admin_client):
    assert consultant_client.get("/team").status_code == 403
    assert app.test_client().get("/team").headers["Location"].startswith("/login")

    page = admin_client.get("/team")

    assert page.status_code == 200
    for shown in ("Dr. Selin Aydin", CONSULTANT_EMAIL, "Europe/Istanbul", "Admin", "Active"):
        assert shown in page.text
    assert 'href="/team"' not in consultant_client.get("/").text
    assert 'href="/team"' in admin_client.get("/").text


def test_an_invite_is_a_one_time_link_used_up_on_completion_not_on_opening(app, admin_client):
    path = invite_link(admin_client, "Nia@Clinic.example")
    invitee = app.test_client()

    assert invitee.get(path).status_code == 200  # a preview opens it
    assert invitee.get(path).status_code == 200  # and the invitee opens it again
    weak = join(invitee, path, password="password1234")
    assert weak.status_code == 400
    assert "too easy to guess" in weak.text
    joined = join(invitee, path)

    assert joined.headers["Location"] == "/"
    assert invitee.get("/").status_code == 200
    used = app.test_client().get(path)
    assert used.status_code == 410
    assert "used already" in used.text and "<form" not in used.text.split("<main", 1)[1]
    with app.app_context():
        nia = db.session.scalar(select(Consultant).where(Consultant.email == "nia@clinic.example"))
        assert nia.name == "Nia New" and nia.timezone == "Europe/London" and not nia.is_admin
    assert actions(app)[-2:] == ["consultant.invited", "consultant.joined"]


def test_an_invite_expires_after_72_hours(app, admin_client):
    path = invite_link(admin_client, "late@clinic.example")

    with time_machine.travel(datetime.now(UTC) + timedelta(hours=72, minutes=1)):
        expired = app.test_client().get(path)

    assert expired.status_code == 410
    assert "expired" in expired.text
    assert app.test_client().get("/join/not-a-token").status_code == 404


def test_an_invite_for_someone_on_the_team_is_refused(consultant, admin_client):
    page = post_form(admin_client, "/team/invite", {"email": CONSULTANT_EMAIL, "role": "admin"})

    assert page.status_code == 400
    assert "already on the team" in page.text


def test_deactivation_ends_every_session_and_refuses_sign_in_poll_included(
    app, consultant, consultant_client, admin_client
):
    laptop = consultant_client
    tablet = app.test_client()
    log_in(tablet)

    done = post_form(admin_client, f"/team/{consultant}/deactivate", {})

    assert done.status_code == 302
    poll = laptop.get(IDLE_POLL, headers={"HX-Request": "true"})
    assert poll.status_code == 401 and poll.headers["HX-Redirect"].startswith("/login")
    page = tablet.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert log_in(app.test_client()).status_code == 401
    with app.app_context():
        assert (
            db.session.scalar(
                select(ConsultantSession).where(ConsultantSession.consultant_id == consultant)
            )
            is None
        )
    assert "Deactivated" in admin_client.get("/team").text
    assert actions(app)[-1] == "consultant.deactivated"


def test_a_deactivated_consultant_comes_back_only_through_a_fresh_invite(
    app, consultant, admin_client
):
    post_form(admin_client, f"/team/{consultant}/deactivate", {})
    page = post_form(admin_client, f"/team/{consultant}/reactivate", {})
    path = re.search(r'value="http://localhost(/join/[^"]+)"', page.text)[1]
    returning = app.test_client()

    join(returning, path, name="Dr. Selin Aydin")

    assert returning.get("/").status_code == 200
    assert log_in(app.test_client()).status_code == 401  # the old password is gone
    assert log_in(app.test_client(), password=NEW_PASSWORD).status_code == 302
    assert actions(app)[-2:] == ["consultant.invited", "consultant.reactivated"]


def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(
    app, admin, consultant, admin_client
):
    demoted = post_form(admin_client, f"/team/{admin}/role", {"role": "consultant"})
    assert "at least one active admin" in admin_client.get(demoted.headers["Location"]).text
    post_form(admin_client, f"/team/{admin}/deactivate", {})

    with app.app_context():
        ada = db.session.get(Consultant, admin)
        assert ada.is_admin and ada.active

    post_form(admin_client, f"/team/{consultant}/role", {"role": "admin"})
    post_form(admin_client, f"/team/{admin}/role", {"role": "consultant"})

    with app.app_context():
        assert not db.session.get(Consultant, admin).is_admin
        assert db.session.get(Consultant, consultant).is_admin
    assert admin_client.get("/team").status_code == 403
    assert actions(app)[-2:] == ["consultant.role_changed", "consultant.role_changed"]


def test_an_admin_resets_a_consultants_two_factor(app, consultant, consultant_client, admin_client):
    with app.app_context():
        selin = db.session.get(Consultant, consultant)
        selin.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        selin.two_factor_enabled_at = datetime.now(UTC)
        db.session.commit()
    assert "Reset two-factor" in admin_client.get("/team").text

    post_form(admin_client, f"/team/{consultant}/reset-two-factor", {})

    assert consultant_client.get("/").status_code == 302
    with app.app_context():
        assert not db.session.get(Consultant, consultant).has_two_factor
    assert actions(app)[-1] == "consultant.two_factor_reset"


def test_the_shell_deactivates_and_activates_by_invite(app, runner, consultant, consultant_client):
    deactivated = runner.invoke(args=["consultants", "deactivate", CONSULTANT_EMAIL])
    again = runner.invoke(args=["consultants", "deactivate", CONSULTANT_EMAIL])

    assert deactivated.exit_code == 0 and "deactivated" in deactivated.output
    assert "already" in again.output
    assert consultant_client.get("/").status_code == 302
    activated = runner.invoke(
        args=["consultants", "activate", CONSULTANT_EMAIL, "--url", "https://clinic.example"]
    )
    assert activated.exit_code == 0, activated.output
    path = re.search(r"https://clinic\.example(/join/\S+)", activated.output)[1]
    assert log_in(app.test_client()).status_code == 401  # not before the invite is completed
    join(app.test_client(), path, name="Dr. Selin Aydin")
    assert log_in(app.test_client(), password=NEW_PASSWORD).status_code == 302
    with app.app_context():
        systems = db.session.scalars(
            select(AuditEvent.consultant_id).order_by(AuditEvent.id).limit(2)
        ).all()
    assert systems == [None, None]  # the shell acts as the system


def test_the_shell_refuses_to_deactivate_the_last_admin(app, runner, admin):
    result = runner.invoke(args=["consultants", "deactivate", ADMIN_EMAIL])

    assert result.exit_code != 0 and "at least one active admin" in result.output
    with app.app_context():
        assert db.session.get(Consultant, admin).active
        assert count(AuditEvent) == 0


def test_a_consultant_cannot_change_the_team_by_posting_to_it(app, admin, consultant_client):
    for path in (f"/team/{admin}/deactivate", f"/team/{admin}/role", "/team/invite"):
        response = post_form(
            consultant_client, path, {"role": "consultant", "email": "x@clinic.example"}, "/"
        )
        assert response.status_code == 403, path

    with app.app_context():
        ada = db.session.get(Consultant, admin)
        assert ada.active and ada.is_admin
        assert count(AuditEvent) == 0
