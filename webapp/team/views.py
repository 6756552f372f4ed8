"""``/team`` (admins only): the clinic's consultants, invites, roles, deactivation and
two-factor resets; ``/join/<token>``: completing an invite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.consultants import ConsultantError
from webapp.auth.roles import admin_required
from webapp.auth.sessions import log_out
from webapp.auth.views import continue_sign_in
from webapp.extensions import db
from webapp.models import Consultant, ConsultantInvite, ConsultantRole
from webapp.team.forms import ROLE_CHOICES, InviteForm, JoinForm, RoleForm
from webapp.team.invites import (
    InviteError,
    complete_invite,
    find_invite,
    invite,
    is_open,
)
from webapp.team.members import TeamError, change_role, deactivate, reset_two_factor, team_members

bp = Blueprint("team", __name__)


@bp.get("/team")
@admin_required
def index() -> str:
    """The team: each consultant with their role, two-factor, last sign-in and state."""
    return _team_page(InviteForm())


@bp.post("/team/invite")
@admin_required
def make_invite() -> str | tuple[str, int]:
    """Make an invite link for an email and a role; the page shows it once."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _team_page(form), 400
    try:
        made, token = invite(
            form.email.data or "",
            ConsultantRole(form.role.data),
            current_user,
            datetime.now(UTC),
        )
    except InviteError as error:
        form.email.errors = [str(error)]
        return _team_page(form), 400
    db.session.commit()
    return _team_page(InviteForm(formdata=None), link=_share(made, token))


@bp.post("/team/<int:consultant_id>/reactivate")
@admin_required
def reactivate(consultant_id: int) -> str | Response:
    """A fresh invite link for a deactivated consultant: they come back by setting a new
    password through it."""
    consultant = _member(consultant_id)
    if consultant.active:
        flash(f"{consultant.name} is active already.", "info")
        return redirect(url_for("team.index"))
    made, token = invite(
        consultant.email, ConsultantRole(consultant.role), current_user, datetime.now(UTC)
    )
    db.session.commit()
    return _team_page(InviteForm(formdata=None), link=_share(made, token))


@bp.post("/team/<int:consultant_id>/role")
@admin_required
def role(consultant_id: int) -> Response:
    """Make a consultant an admin, or an admin a consultant (never the last active admin)."""
    consultant = _member(consultant_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400, "Choose admin or consultant.")
    return _apply(
        lambda: change_role(consultant, ConsultantRole(form.role.data), current_user),
        f"{consultant.name} is now {'an admin' if form.role.data == 'admin' else 'a consultant'}.",
    )


@bp.post("/team/<int:consultant_id>/deactivate")
@admin_required
def deactivate_member(consultant_id: int) -> Response:
    """Deactivate a consultant: every session of theirs ends at once."""
    consultant = _member(consultant_id)
    return _apply(
        lambda: deactivate(consultant, current_user),
        f"{consultant.name} is deactivated: every session of theirs has ended.",
    )


@bp.post("/team/<int:consultant_id>/reset-two-factor")
@admin_required
def reset_member_two_factor(consultant_id: int) -> Response:
    """Reset a consultant's two-factor (a lost phone): their sessions end, they enrol again."""
    consultant = _member(consultant_id)
    return _apply(
        lambda: reset_two_factor(consultant, current_user),
        f"{consultant.name}'s two-factor is reset: they set it up again at their next sign-in.",
    )


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str) -> str | Response | tuple[str, int]:
    """Complete an invite: name, time zone and password, then two-factor. A used or
    expired link says so and offers nothing."""
    now = datetime.now(UTC)
    found = find_invite(token[:100])
    if found is None or not is_open(found, now):
        return render_template("team/join_closed.html", found=found), 410 if found else 404
    form = JoinForm(email=found.email)
    if form.timezone.data is None:
        form.timezone.data = current_app.config["CLINIC_TIMEZONE"]
    if form.validate_on_submit():
        try:
            consultant = complete_invite(
                found, form.name.data or "", form.timezone.data, form.password.data or "", now
            )
        except (InviteError, ConsultantError) as error:
            db.session.rollback()
            message = str(error)
            return render_template("team/join.html", form=form, message=message), 400
        if current_user.is_authenticated:
            log_out()
        response = continue_sign_in(consultant, None)
        flash(f"Welcome, {consultant.name}.", "success")
        return response
    status = 400 if form.is_submitted() else 200
    return render_template("team/join.html", form=form), status


def _member(consultant_id: int) -> Consultant:
    return db.get_or_404(Consultant, consultant_id, description="There is no such consultant.")


def _apply(change: Callable[[], object], done: str) -> Response:
    """Run ``change``; commit and say ``done``, or say why the team refused it."""
    try:
        changed = change()
    except TeamError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("team.index"))
    db.session.commit()
    if changed is not False:
        flash(done, "success")
    return redirect(url_for("team.index"))


def _share(made: ConsultantInvite, token: str) -> dict[str, Any]:
    """The invite link, and the ways to send it: WhatsApp and a prefilled email."""
    url = url_for("team.join", token=token, _external=True)
    message = (
        f"You are invited to the clinic's consultant app. Open this link within 72 hours to "
        f"set your password: {url}"
    )
    subject = "Your invite to the clinic's consultant app"
    return {
        "email": made.email,
        "url": url,
        "expires_at": made.expires_at,
        "whatsapp": "https://wa.me/?text=" + quote(message),
        "mailto": f"mailto:{quote(made.email, safe='@')}"
        f"?subject={quote(subject)}&body={quote(message)}",
    }


def _team_page(form: InviteForm, link: dict[str, Any] | None = None) -> str:
    return render_template(
        "team/index.html",
        members=team_members(),
        form=form,
        role_choices=ROLE_CHOICES,
        link=link,
    )
