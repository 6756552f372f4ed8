"""The clinic's intake questionnaire: basic details, medical history, hair loss, consent."""

from __future__ import annotations

from typing import Any

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


def _strip(value: str | None) -> str | None:
    """What the patient typed, without stray spaces (a pasted email often has some)."""
    return value.strip() if isinstance(value, str) else value


def _details_required_when_yes(answer_field: str) -> Any:
    """Validator: the details box must say something when its question is answered yes."""

    def check(form: FlaskForm, field: Field) -> None:
        if form[answer_field].data == "yes" and not (field.data or "").strip():
            raise ValidationError("You answered yes: please give the details.")

    return check


def _readable_email(form: FlaskForm, field: Field) -> None:
    """An email the clinic reads as an address, as the webhook reads a booking's email."""
    if normalise_email(field.data) is None:
        raise ValidationError("Enter a valid email address.")


def _possible_phone(form: FlaskForm, field: Field) -> None:
    """An optional phone the clinic can read, as the webhook reads a booking's phone."""
    if not (field.data or "").strip():
        return
    phone = read_phone(field.data)
    if phone is None or phone.e164 is None:
        raise ValidationError(
            "Enter the number with its country code, for example +44 7700 900123."
        )


class QuestionnaireForm(FlaskForm):
    """Everything the clinic asks before the consultation."""

    # Basic
    country = StringField(
        "Country of residence",
        filters=[_strip],
        validators=[DataRequired("Tell us where you live."), Length(max=100)],
    )
    age_range = RadioField(
        "Age range", choices=AGE_RANGES, validators=[InputRequired("Choose your age range.")]
    )
    gender = RadioField("Gender", choices=GENDERS, validators=[InputRequired("Choose an answer.")])

    # Hair loss
    hair_loss_started = RadioField(
        "When did your hair loss start?",
        choices=STARTED,
        validators=[InputRequired("Choose when it started.")],
    )
    hair_loss_onset = RadioField(
        "Was it sudden or gradual?",
        choices=ONSET,
        validators=[InputRequired("Choose sudden or gradual.")],
    )
    hair_loss_areas = MultiCheckboxField(
        "Where are you losing hair?",
        choices=AREAS,
        validators=[DataRequired("Choose at least one area.")],
    )
    family_history = MultiCheckboxField(
        "Hair loss in your family",
        choices=FAMILY,
        validators=[DataRequired("Choose at least one answer.")],
    )
    previous_treatments = MultiCheckboxField("Treatments you have tried", choices=TREATMENTS)
    treatment_results = TextAreaField(
        "How did those treatments work for you?", validators=[Length(max=DETAIL_MAX)]
    )
    goals = TextAreaField(
        "Your goals, and questions for the consultant",
        validators=[Optional(), Length(max=DETAIL_MAX)],
    )

    consent = BooleanField(
        "I agree that the clinic processes my health data to prepare my consultation.",
        validators=[DataRequired("We need your consent to process your health data.")],
    )

    def validate_family_history(self, field: Field) -> None:
        """'None' cannot be combined with a side of the family."""
        if "none" in (field.data or []) and len(field.data) > 1:
            raise ValidationError("Choose 'None' alone, or the sides of your family.")

    def validate_treatment_results(self, field: Field) -> None:
        """Tried treatments need a word on how they went."""
        if self.previous_treatments.data and not (field.data or "").strip():
            raise ValidationError("Tell us how the treatments you chose worked for you.")


# Medical: each question is answered none or yes, with details required for yes.
for _name, _question, _examples in MEDICAL_QUESTIONS:
    setattr(
        QuestionnaireForm,
        _name,
        RadioField(
            _question, choices=NONE_OR_YES, validators=[InputRequired("Choose none or yes.")]
        ),
    )
    setattr(
        QuestionnaireForm,
        f"{_name}_details",
        TextAreaField(
            "Details", validators=[_details_required_when_yes(_name), Length(max=DETAIL_MAX)]
        ),
    )


class PendingBookingForm(QuestionnaireForm):
    """For a booking link opened before the booking itself arrived: who is answering.

    What is typed here is kept with the answers for the consultant to see; it never finds,
    creates or changes a patient.
    """

    name = StringField(
        "Your name",
        filters=[_strip],
        validators=[DataRequired("Tell us your name."), Length(max=200)],
    )
    email = EmailField(
        "Email (the one you booked with)",
        filters=[_strip],
        validators=[
            DataRequired("We need your email."),
            Length(max=320),
            _readable_email,
        ],
    )
    phone = TelField(
        "Phone (optional)",
        filters=[_strip],
        validators=[Optional(), _possible_phone, Length(max=40)],
    )
