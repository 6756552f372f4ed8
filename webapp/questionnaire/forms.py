"""The clinic's intake questionnaire: basic details, medical history, hair loss, consent.

Every label and message is translated when shown (``lazy_gettext``).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    RadioField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.patients.contact import normalise_email, read_phone
from webapp.questionnaire.questions import (
    AGE_RANGES,
    AREAS,
    DETAIL_MAX,
    FAMILY,
    GENDERS,
    MEDICAL_QUESTIONS,
    NONE_OR_YES,
    ONSET,
    STARTED,
    TREATMENTS,
)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def strip_typed(value: str | None) -> str | None:
    """What the patient typed, without stray spaces (a pasted email often has some)."""
    return value.strip() if isinstance(value, str) else value


def max_length(limit: int) -> Length:
    """Validator: at most ``limit`` characters, said in the patient's language."""
    return Length(max=limit, message=_l("Keep this to %(max)d characters or fewer."))


def _details_required_when_yes(answer_field: str) -> Any:
    """Validator: the details box must say something when its question is answered yes."""

    def check(form: FlaskForm, field: Field) -> None:
        if form[answer_field].data == "yes" and not (field.data or "").strip():
            raise ValidationError(_l("You answered yes: please give the details."))

    return check


def _readable_email(form: FlaskForm, field: Field) -> None:
    """An email the clinic reads as an address, as the webhook reads a booking's email."""
    if normalise_email(field.data) is None:
        raise ValidationError(_l("Enter a valid email address."))


def _possible_phone(form: FlaskForm, field: Field) -> None:
    """An optional phone the clinic can read, as the webhook reads a booking's phone."""
    if not (field.data or "").strip():
        return
    phone = read_phone(field.data)
    if phone is None or phone.e164 is None:
        raise ValidationError(
            _l("Enter the number with its country code, for example +44 7700 900123.")
        )


# The consent the patient gives, and its version, recorded with each submission: change
# the version whenever the wording changes (in any language), so that the record says
# which words each patient agreed to.
CONSENT_WORDING = _l("I agree that the clinic processes my health data to prepare my consultation.")
CONSENT_WORDING_VERSION = "2026-12-06"


class QuestionnaireForm(FlaskForm):
    """Everything the clinic asks before the consultation."""

    # Basic
    country = StringField(
        _l("Country of residence"),
        filters=[strip_typed],
        validators=[DataRequired(_l("Tell us where you live.")), max_length(100)],
    )
    city = StringField(
        _l("City (optional)"), filters=[strip_typed], validators=[Optional(), max_length(100)]
    )
    age_range = RadioField(
        _l("Age range"),
        choices=AGE_RANGES,
        validators=[InputRequired(_l("Choose your age range."))],
    )
    gender = RadioField(
        _l("Gender"), choices=GENDERS, validators=[InputRequired(_l("Choose an answer."))]
    )

    # Hair loss
    hair_loss_started = RadioField(
        _l("When did your hair loss start?"),
        choices=STARTED,
        validators=[InputRequired(_l("Choose when it started."))],
    )
    hair_loss_onset = RadioField(
        _l("Was it sudden or gradual?"),
        choices=ONSET,
        validators=[InputRequired(_l("Choose sudden or gradual."))],
    )
    hair_loss_areas = MultiCheckboxField(
        _l("Where are you losing hair?"),
        choices=AREAS,
        validators=[DataRequired(_l("Choose at least one area."))],
    )
    family_history = MultiCheckboxField(
        _l("Hair loss in your family"),
        choices=FAMILY,
        validators=[DataRequired(_l("Choose at least one answer."))],
    )
    previous_treatments = MultiCheckboxField(_l("Treatments you have tried"), choices=TREATMENTS)
    treatment_results = TextAreaField(
        _l("How did those treatments work for you?"), validators=[max_length(DETAIL_MAX)]
    )
    goals = TextAreaField(
        _l("Your goals, and questions for the consultant"),
        validators=[Optional(), max_length(DETAIL_MAX)],
    )

    consent = BooleanField(
        CONSENT_WORDING,
        validators=[DataRequired(_l("We need your consent to process your health data."))],
    )

    def validate_family_history(self, field: Field) -> None:
        """'None' cannot be combined with a side of the family."""
        if "none" in (field.data or []) and len(field.data) > 1:
            raise ValidationError(_l("Choose 'None' alone, or the sides of your family."))

    def validate_treatment_results(self, field: Field) -> None:
        """Tried treatments need a word on how they went."""
        if self.previous_treatments.data and not (field.data or "").strip():
            raise ValidationError(_l("Tell us how the treatments you chose worked for you."))


# Medical: each question is answered none or yes, with details required for yes.
for _name, _question, _examples in MEDICAL_QUESTIONS:
    setattr(
        QuestionnaireForm,
        _name,
        RadioField(
            _question, choices=NONE_OR_YES, validators=[InputRequired(_l("Choose none or yes."))]
        ),
    )
    setattr(
        QuestionnaireForm,
        f"{_name}_details",
        TextAreaField(
            _l("Details"),
            validators=[_details_required_when_yes(_name), max_length(DETAIL_MAX)],
        ),
    )


class PendingBookingForm(QuestionnaireForm):
    """For a booking link opened before the booking itself arrived: who is answering.

    What is typed here is kept with the answers for the consultant to see; it never finds,
    creates or changes a patient.
    """

    name = StringField(
        _l("Your name"),
        filters=[strip_typed],
        validators=[DataRequired(_l("Tell us your name.")), max_length(200)],
    )
    email = EmailField(
        _l("Email (the one you booked with)"),
        filters=[strip_typed],
        validators=[
            DataRequired(_l("We need your email.")),
            max_length(320),
            _readable_email,
        ],
    )
    phone = TelField(
        _l("Phone (optional)"),
        filters=[strip_typed],
        validators=[Optional(), _possible_phone, max_length(40)],
    )
