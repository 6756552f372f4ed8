"""``/login`` and ``/logout``."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.consultants import authenticate
from webapp.auth.forms import LoginForm
from webapp.auth.sessions import local_path, log_out, start_session
from webapp.extensions import db, limiter
from webapp.patients.contact import normalise_email

bp = Blueprint("auth", __name__)

FAILED_LOGIN = "Email or password is incorrect."
TOO_MANY_ATTEMPTS = "Too many sign-in attempts. Wait a few minutes, then try again."


def _account_key() -> str:
    """Rate-limit key for the account being tried, whatever the address trying it."""
    return "login-account:" + (normalise_email(request.form.get("email")) or "-")


def _failed(response: Response) -> bool:
    """Only failed attempts count towards the limits; a successful login redirects."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per 15 minutes", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per 15 minutes", methods=["POST"], key_func=_account_key, deduct_when=_failed)
def login() -> Response | tuple[str, int]:
    """Show the login form; on success start a session and go where the consultant was going."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        consultant = authenticate(form.email.data or "", form.password.data or "")
        if consultant is not None:
            start_session(consultant)
            db.session.commit()
            return redirect(local_path(request.args.get("next")) or url_for("dashboard.index"))
        return render_template("auth/login.html", form=form, message=FAILED_LOGIN), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.errorhandler(429)
def too_many_attempts(_error: Exception) -> tuple[str, int]:
    """A rate-limited login gets the form back with a plain explanation."""
    return render_template("auth/login.html", form=LoginForm(), message=TOO_MANY_ATTEMPTS), 429


@bp.post("/logout")
def logout() -> Response:
    """End the session here and on the server (POST only, CSRF-protected)."""
    log_out()
    db.session.commit()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))
