"""The clinic's intake questionnaire: basic details, medical history, hair loss, consent."""

from __future__ import annotations

from typing import Any

import phonenumbers
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


def _choices(*pairs: tuple[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


AGE_RANGES = _choices(*((r, r) for r in ("18-25", "26-35", "36-45", "46-55", "56-65", "65+")))
GENDERS = _choices(
    ("female", "Female"),
    ("male", "Male"),
    ("other", "Another gender"),
    ("undisclosed", "Prefer not to say"),
)
NONE_OR_YES = _choices(("none", "None"), ("yes", "Yes"))
STARTED = _choices(
    ("under_1", "Less than 1 year ago"),
    ("1_2", "1–2 years ago"),
    ("2_5", "2–5 years ago"),
    ("5_10", "5–10 years ago"),
    ("over_10", "More than 10 years ago"),
)
ONSET = _choices(("sudden", "Suddenly"), ("gradual", "Gradually"))
AREAS = _choices(
    ("hairline", "Hairline"),
    ("temples", "Temples"),
    ("crown", "Crown"),
    ("top", "Top"),
    ("diffuse", "Diffuse (all over)"),
)
FAMILY = _choices(("father", "Father's side"), ("mother", "Mother's side"), ("none", "None"))
TREATMENTS = _choices(
    ("minoxidil", "Minoxidil"),
    ("finasteride", "Finasteride"),
    ("prp", "PRP"),
    ("transplant", "Previous transplant"),
    ("other", "Other"),
)
DETAIL_MAX = 2000

# The medical questions: (name, question, examples for the details).
MEDICAL_QUESTIONS = [
    (
        "conditions",
        "Do you have any medical conditions?",
        "For example diabetes, thyroid disease, an autoimmune disease, anaemia.",
    ),
    (
        "medications",
        "Do you take any medications or supplements?",
        "Name them, especially blood thinners.",
    ),
    ("allergies", "Do you have any allergies?", "To medicines, anaesthetics, latex, foods."),
    ("surgeries", "Have you had surgery before?", "Which operations, and when."),
    (
        "recent_events",
        "Any illness, surgery or major stress in the last six months?",
        "What happened, and when.",
    ),
]


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


def _possible_phone(form: FlaskForm, field: Field) -> None:
    """An optional phone, written with its country code."""
    if not (field.data or "").strip():
        return
    try:
        number = phonenumbers.parse(field.data, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
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


class NewPatientQuestionnaireForm(QuestionnaireForm):
    """For a booking link that arrives before the booking itself: who is answering."""

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
            Email("Enter a valid email address."),
            Length(max=320),
        ],
    )
    phone = TelField(
        "Phone (optional)",
        filters=[_strip],
        validators=[Optional(), _possible_phone, Length(max=40)],
    )


# The answers a submission stores, grouped as the form shows them.
SECTIONS = {
    "Basic": ["country", "age_range", "gender"],
    "Medical": [field for name, *_ in MEDICAL_QUESTIONS for field in (name, f"{name}_details")],
    "Hair loss": [
        "hair_loss_started",
        "hair_loss_onset",
        "hair_loss_areas",
        "family_history",
        "previous_treatments",
        "treatment_results",
        "goals",
    ],
}
ANSWER_FIELDS = [field for fields in SECTIONS.values() for field in fields]
MEDICAL_FIELDS = set(SECTIONS["Medical"])


def describe_answers(answers: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Stored answers in words, grouped as the form shows them.

    Returns ``[(section, [(field name, question, answer), ...]), ...]``; details of a
    medical question are folded into its answer.
    """
    form = QuestionnaireForm(meta={"csrf": False}, formdata=None)
    described = []
    for section, names in SECTIONS.items():
        rows = []
        for name in names:
            if name.endswith("_details"):
                continue
            field = form[name]
            text = _answer_words(field, answers.get(name))
            details = answers.get(f"{name}_details")
            if details:
                text = f"{text}: {details}"
            rows.append((name, str(field.label.text), text))
        described.append((section, rows))
    return described


def _answer_words(field: Field, value: Any) -> str:
    choices = {choice.value: choice.label for choice in getattr(field, "choices", None) or []}
    if isinstance(value, list):
        return ", ".join(str(choices.get(item, item)) for item in value) or "—"
    if value in (None, ""):
        return "—"
    return str(choices.get(value, value))
