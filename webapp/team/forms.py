"""The team's forms: an invite, a role, and joining through a link."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from webapp.auth.forms import NewPasswordFields, timezone_field
from webapp.models import ConsultantRole

ROLE_CHOICES = [
    SelectChoice(ConsultantRole.CONSULTANT.value, "Consultant"),
    SelectChoice(ConsultantRole.ADMIN.value, "Admin"),
]


class InviteForm(FlaskForm):
    """Whom to invite, and as what."""

    email = EmailField("Email", validators=[DataRequired("Enter an email."), Length(max=320)])
    role = SelectField("Role", choices=ROLE_CHOICES)


class RoleForm(FlaskForm):
    """A consultant's new role."""

    role = SelectField("Role", choices=ROLE_CHOICES)


class JoinForm(NewPasswordFields, FlaskForm):
    """What an invitee sets: their name, time zone and password."""

    name = StringField(
        "Your name, as colleagues see it",
        validators=[DataRequired("Enter your name."), Length(max=200)],
    )
    timezone = timezone_field("Your time zone")

    def __init__(self, *args: object, email: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._email = email

    def personal_words(self) -> list[str]:
        return [self._email, self.name.data or ""]
