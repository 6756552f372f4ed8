"""``/account``: change one's password (the current one required) and time zone, turn
two-factor on, see and renew recovery codes, and see and end one's sessions."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from webapp.audit.trail import record
from webapp.auth.consultants import password_matches, set_password
from webapp.auth.forms import CodeForm, CurrentPasswordForm, PasswordChangeForm, TimezoneForm
from webapp.auth.sessions import (
    current_session,
    end_one_session,
    end_other_sessions,
    live_sessions,
    start_session,
)
from webapp.auth.two_factor import enable_two_factor, new_recovery_codes, recovery_codes_left
from webapp.auth.views import FAILED_CODE, PER_ACCOUNT, enrolment_page
from webapp.extensions import db, limiter

bp = Blueprint("account", __name__)

WRONG_PASSWORD = "That is not your current password."  # noqa: S105 - a message, not a password


def _consultant_key() -> str:
    """Rate-limit key for re-typed passwords and codes: the signed-in consultant."""
    return f"account:{current_user.get_id()}"


def _failed(response: Response) -> bool:
    return response.status_code not in (200, 302)


@bp.get("/account")
@login_required
def index() -> str:
    """The consultant's own account."""
    return _account_page()


@bp.post("/account/password")
@login_required
@limiter.limit(PER_ACCOUNT, key_func=_consultant_key, deduct_when=_failed)
def password() -> Response | tuple[str, int]:
    """A new password: every session ends, and this browser gets a fresh one."""
    consultant = current_user._get_current_object()
    form = PasswordChangeForm(personal=[consultant.email, consultant.name])
    if not form.validate_on_submit():
        return _account_page(password_form=form), 400
    if not password_matches(consultant, form.current_password.data or ""):
        form.current_password.errors = [WRONG_PASSWORD]
        return _account_page(password_form=form), 401
    set_password(consultant, form.password.data or "")
    record("consultant.password_changed", consultant, details={"consultant_id": consultant.id})
    start_session(consultant)
    db.session.commit()
    flash("Your password is changed, and every other session of yours has ended.", "success")
    return redirect(url_for("account.index"))


@bp.post("/account/timezone")
@login_required
def timezone() -> Response | tuple[str, int]:
    """The zone the consultant reads times in."""
    form = TimezoneForm()
    if not form.validate_on_submit():
        return _account_page(timezone_form=form), 400
    current_user.timezone = form.timezone.data
    db.session.commit()
    flash(f"Times now show in {form.timezone.data}.", "success")
    return redirect(url_for("account.index"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
@limiter.limit(PER_ACCOUNT, methods=["POST"], key_func=_consultant_key, deduct_when=_failed)
def two_factor() -> Response | str | tuple[str, int]:
    """Turn two-factor on: scan, then confirm with one code; the recovery codes show once."""
    consultant = current_user._get_current_object()
    if consultant.has_two_factor:
        return redirect(url_for("account.index"))
    form = CodeForm()
    if form.validate_on_submit():
        codes = enable_two_factor(consultant, form.code.data or "", datetime.now(UTC))
        if codes is not None:
            record(
                "consultant.two_factor_enabled",
                consultant,
                details={"consultant_id": consultant.id},
            )
            db.session.commit()
            return render_template(
                "auth/recovery_codes.html", codes=codes, continue_url=url_for("account.index")
            )
        db.session.commit()
        return enrolment_page(consultant, form, FAILED_CODE), 401
    page = enrolment_page(consultant, form)
    db.session.commit()
    return page, 400 if request.method == "POST" else 200


@bp.post("/account/recovery-codes")
@login_required
@limiter.limit(PER_ACCOUNT, key_func=_consultant_key, deduct_when=_failed)
def recovery_codes() -> Response | str | tuple[str, int]:
    """Ten new recovery codes (the current password required); the old ones stop working."""
    consultant = current_user._get_current_object()
    form = CurrentPasswordForm()
    if not consultant.has_two_factor:
        return redirect(url_for("account.index"))
    if not form.validate_on_submit():
        return _account_page(codes_form=form), 400
    if not password_matches(consultant, form.current_password.data or ""):
        form.current_password.errors = [WRONG_PASSWORD]
        return _account_page(codes_form=form), 401
    codes = new_recovery_codes(consultant)
    record(
        "consultant.recovery_codes_renewed", consultant, details={"consultant_id": consultant.id}
    )
    db.session.commit()
    return render_template(
        "auth/recovery_codes.html", codes=codes, continue_url=url_for("account.index")
    )


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> Response:
    """End one of the consultant's other sessions (this one ends by logging out)."""
    this = current_session()
    if this is not None and session_id == this.id:
        flash("To end this session, log out.", "info")
    elif end_one_session(current_user, session_id):
        db.session.commit()
        flash("That session has ended.", "success")
    else:
        flash("That session had ended already.", "info")
    return redirect(url_for("account.index"))


@bp.post("/account/sessions/end-others")
@login_required
def end_others() -> Response:
    """End every session of the consultant's but this one."""
    this = current_session()
    ended = end_other_sessions(current_user, this) if this is not None else 0
    db.session.commit()
    flash(f"{ended} other session{'' if ended == 1 else 's'} ended.", "success")
    return redirect(url_for("account.index"))


def _account_page(
    password_form: PasswordChangeForm | None = None,
    timezone_form: TimezoneForm | None = None,
    codes_form: CurrentPasswordForm | None = None,
) -> str:
    consultant = current_user._get_current_object()
    timezone_form = timezone_form or TimezoneForm(formdata=None, timezone=consultant.timezone)
    this = current_session()
    sessions = sorted(live_sessions(consultant), key=lambda row: this is None or row.id != this.id)
    return render_template(
        "account/index.html",
        consultant=consultant,
        this_session=this,
        sessions=sessions,
        codes_left=recovery_codes_left(consultant) if consultant.has_two_factor else None,
        password_form=password_form or PasswordChangeForm(formdata=None),
        timezone_form=timezone_form,
        codes_form=codes_form or CurrentPasswordForm(formdata=None),
    )
