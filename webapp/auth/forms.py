"""The forms of signing in and of a consultant's own account; CSRF-protected like every form."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import EmailField, Field, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from webapp.auth.consultants import password_problem

# Every IANA zone a consultant may choose ("Europe/Istanbul"), with UTC.
TIMEZONES = sorted(name for name in available_timezones() if "/" in name and "Etc/" not in name)
TIMEZONES.append("UTC")


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    """A code from the authenticator app, or a recovery code."""

    code = StringField(
        "Code", validators=[DataRequired("Enter the code."), Length(max=40, message="Too long.")]
    )


class CurrentPasswordForm(FlaskForm):
    """The consultant's current password, asked again before a change that matters."""

    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=1024)],
    )


def timezone_field(label: str = "Time zone") -> SelectField:
    """A choice of ``TIMEZONES``."""
    return SelectField(label, choices=[SelectChoice(name, name) for name in TIMEZONES])


class TimezoneForm(FlaskForm):
    """The zone a consultant reads times in."""

    timezone = timezone_field()


class NewPasswordFields:
    """A new password typed twice, refused (with the reason) when too short or too easy to
    guess. ``personal_words`` names what a password must not lean on (email, name)."""

    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a password."), Length(max=1024)],
        description="At least 12 characters. A few unusual words make a good one.",
    )
    password_again = PasswordField(
        "New password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", message="The two passwords differ."),
        ],
    )

    def personal_words(self) -> list[str]:
        return []

    def validate_password(self, field: Field) -> None:
        problem = password_problem(field.data or "", *self.personal_words())
        if problem is not None:
            raise ValidationError(problem)


class PasswordChangeForm(NewPasswordFields, CurrentPasswordForm):
    """The current password and a new one."""

    def __init__(self, *args: Any, personal: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._personal = personal or []

    def personal_words(self) -> list[str]:
        return self._personal
