"""``/login`` (the password), ``/login/code`` (the code step), ``/login/two-factor``
(enrolling while signing in) and ``/logout``."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp.auth.consultants import authenticate
from webapp.auth.forms import CodeForm, LoginForm
from webapp.auth.sessions import local_path, log_out, start_session
from webapp.auth.signin import (
    Step,
    after_password,
    pending_consultant,
    pending_consultant_id,
    pending_next_path,
)
from webapp.auth.two_factor import (
    check_second_factor,
    enable_two_factor,
    enrolment_secret,
    grouped_secret,
    provisioning_uri,
    qr_code_svg,
)
from webapp.extensions import db, limiter
from webapp.models import Consultant
from webapp.patients.contact import normalise_email

bp = Blueprint("auth", __name__)

FAILED_LOGIN = "Email or password is incorrect."
FAILED_CODE = "That code is not right, or it was used already. Try the next one from your app."
TOO_MANY_ATTEMPTS = "Too many sign-in attempts. Wait a few minutes, then try again."
STEP_RAN_OUT = "Signing in took too long. Enter your password again."
# Attempts allowed in 15 minutes, counted by failures only: per address, and per account.
PER_ADDRESS = "20 per 15 minutes"
PER_ACCOUNT = "5 per 15 minutes"


def _account_key() -> str:
    """Rate-limit key for the account being tried, whatever the address trying it."""
    return "login-account:" + (normalise_email(request.form.get("email")) or "-")


def _code_account_key() -> str:
    """Rate-limit key for the account whose code is being tried (codes count apart from
    passwords, with the same limits)."""
    return f"code-account:{pending_consultant_id() or '-'}"


def _failed(response: Response) -> bool:
    """Only failed attempts count towards the limits: a success redirects (or, enrolling,
    shows the recovery codes)."""
    return response.status_code not in (200, 302)


def _go_on(next_path: str | None) -> Response:
    return redirect(local_path(next_path) or url_for("dashboard.index"))


# Where a consultant waiting at a sign-in step does it.
STEP_ENDPOINTS = {Step.CODE: "auth.code", Step.ENROL: "auth.enrol"}


def continue_sign_in(consultant: Consultant, next_path: str | None) -> Response:
    """Send ``consultant``, whose password (or completed invite) was just accepted, on to
    their next step, or to ``next_path`` when none is left; commits."""
    step = after_password(consultant, next_path)
    db.session.commit()
    if step is not None:
        return redirect(url_for(STEP_ENDPOINTS[step]))
    return _go_on(next_path)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(PER_ADDRESS, methods=["POST"], deduct_when=_failed)
@limiter.limit(PER_ACCOUNT, methods=["POST"], key_func=_account_key, deduct_when=_failed)
def login() -> Response | tuple[str, int]:
    """The password step; on success, the code step, enrolment or the page asked for."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if request.method == "GET":
        for step, endpoint in STEP_ENDPOINTS.items():
            if pending_consultant(step) is not None:
                return redirect(url_for(endpoint))
    form = LoginForm()
    if form.validate_on_submit():
        consultant = authenticate(form.email.data or "", form.password.data or "")
        if consultant is not None:
            return continue_sign_in(consultant, request.args.get("next"))
        return render_template("auth/login.html", form=form, message=FAILED_LOGIN), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(PER_ADDRESS, methods=["POST"], deduct_when=_failed)
@limiter.limit(PER_ACCOUNT, methods=["POST"], key_func=_code_account_key, deduct_when=_failed)
def code() -> Response | tuple[str, int]:
    """The code step: a code from the app, or a recovery code, after the password."""
    consultant = pending_consultant(Step.CODE)
    if consultant is None:
        flash(STEP_RAN_OUT, "warning")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        accepted = check_second_factor(consultant, form.code.data or "", datetime.now(UTC))
        if accepted is not None:
            next_path = pending_next_path()
            start_session(consultant)
            db.session.commit()
            if accepted.recovery_codes_left is not None:
                flash(_recovery_code_used(accepted.recovery_codes_left), "warning")
            return _go_on(next_path)
        db.session.commit()
        return render_template("auth/code.html", form=form, message=FAILED_CODE), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/code.html", form=form), status


def _recovery_code_used(left: int) -> str:
    remain = f"{left} recovery code{'' if left == 1 else 's'} remain{'s' if left == 1 else ''}"
    return f"You signed in with a recovery code: {remain}. Make new ones on your account page."


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(PER_ADDRESS, methods=["POST"], deduct_when=_failed)
@limiter.limit(PER_ACCOUNT, methods=["POST"], key_func=_code_account_key, deduct_when=_failed)
def enrol() -> Response | str | tuple[str, int]:
    """Enrolment while signing in, when two-factor is required and not yet on: nothing else
    opens first. A confirmed code starts the session and shows the recovery codes once."""
    consultant = pending_consultant(Step.ENROL)
    if consultant is None:
        flash(STEP_RAN_OUT, "warning")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        codes = enable_two_factor(consultant, form.code.data or "", datetime.now(UTC))
        if codes is not None:
            next_path = pending_next_path()
            start_session(consultant)
            db.session.commit()
            return render_template(
                "auth/recovery_codes.html",
                codes=codes,
                continue_url=local_path(next_path) or url_for("dashboard.index"),
            )
        db.session.commit()
        return enrolment_page(consultant, form, FAILED_CODE), 401
    status = 400 if request.method == "POST" else 200
    page = enrolment_page(consultant, form)
    db.session.commit()
    return page, status


def enrolment_page(consultant: Consultant, form: CodeForm, message: str | None = None) -> str:
    """The enrolment page: the QR code drawn here, the key as text, and the code field.
    Flushes (the key is made on first view)."""
    secret = enrolment_secret(consultant)
    return render_template(
        "auth/enrol.html",
        form=form,
        message=message,
        qr_svg=qr_code_svg(provisioning_uri(consultant, secret)),
        secret=grouped_secret(secret),
        signing_in=not current_user.is_authenticated,
    )


@bp.errorhandler(429)
def too_many_attempts(_error: Exception) -> tuple[str, int]:
    """A rate-limited step gets its form back with a plain explanation."""
    if request.endpoint == "auth.login":
        return render_template("auth/login.html", form=LoginForm(), message=TOO_MANY_ATTEMPTS), 429
    if request.endpoint == "auth.enrol" and (consultant := pending_consultant(Step.ENROL)):
        page = enrolment_page(consultant, CodeForm(), TOO_MANY_ATTEMPTS)
        db.session.commit()
        return page, 429
    return render_template("auth/code.html", form=CodeForm(), message=TOO_MANY_ATTEMPTS), 429


@bp.post("/logout")
def logout() -> Response:
    """End this browser's session, here and on the server (POST only, CSRF-protected); the
    consultant's sessions elsewhere go on."""
    log_out()
    db.session.commit()
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))
