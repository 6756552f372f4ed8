"""The consultant's forms: the assessment, a quote draft, deposit and surgery date, and the
clinic's settings. Money is typed as text and read exactly (``money.to_minor``)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.questionnaire.language import LANGUAGES
from webapp.treatment.assessment import (
    DONOR_QUALITIES,
    MAX_DENSITY,
    MAX_GRAFTS,
    NOT_A_CANDIDATE,
    NOT_SUITABLE,
    PATTERNS,
    SUITABILITIES,
    TECHNIQUE_CHOICES,
)
from webapp.treatment.money import CURRENCIES, MoneyError, to_minor


def choices(labels: dict[str, str]) -> list[SelectChoice]:
    """A select's or radio's choices from a dict of stored value to words."""
    return [SelectChoice(value, label) for value, label in labels.items()]


MAX_TEXT = 5000
MAX_LINES = 10


class AssessmentForm(FlaskForm):
    """The assessment: pattern, donor area, graft range, technique, suitability, advice."""

    pattern = SelectField("Hair-loss pattern", choices=choices(PATTERNS))
    donor_quality = RadioField(
        "Donor area", choices=choices(DONOR_QUALITIES), validators=[InputRequired()]
    )
    donor_density = IntegerField(
        "Donor density (FU/cm²)",
        validators=[Optional(), NumberRange(1, MAX_DENSITY)],
        description="Optional; about 80 on average.",
    )
    grafts_min = IntegerField("Grafts from", validators=[Optional(), NumberRange(0, MAX_GRAFTS)])
    grafts_max = IntegerField("Grafts to", validators=[Optional(), NumberRange(0, MAX_GRAFTS)])
    technique = SelectField("Technique", choices=choices(TECHNIQUE_CHOICES))
    suitability = RadioField(
        "Suitability", choices=choices(SUITABILITIES), validators=[InputRequired()]
    )
    unsuitable_reason = TextAreaField(
        "Why not suitable",
        validators=[Length(max=MAX_TEXT)],
        description="Required when not suitable.",
    )
    recommendations = TextAreaField("Recommendations", validators=[Length(max=MAX_TEXT)])

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, then the ones between fields: a range that is one (both
        ends, the first no larger), none for "not a candidate", and a reason when not
        suitable."""
        if not super().validate(extra_validators):
            return False
        low, high = self.grafts_min.data, self.grafts_max.data
        if (low is None) != (high is None):
            self.grafts_max.errors.append("Give both ends of the range, or neither.")
            return False
        if low is not None and high is not None and low > high:
            self.grafts_max.errors.append("The range's end must not be below its start.")
            return False
        candidate = self.technique.data != NOT_A_CANDIDATE
        if candidate and self.suitability.data != NOT_SUITABLE and low is None:
            self.grafts_min.errors.append("Estimate the grafts for a candidate.")
            return False
        if (
            self.suitability.data == NOT_SUITABLE
            and not (self.unsuitable_reason.data or "").strip()
        ):
            self.unsuitable_reason.errors.append("Say why the patient is not suitable.")
            return False
        return True


def money_field(label: str, **kwargs: Any) -> StringField:
    """An amount typed as text (``1500`` or ``1500.50``), read exactly by ``to_minor``."""
    return StringField(
        label, validators=[DataRequired("Enter an amount."), Length(max=20)], **kwargs
    )


class LineForm(Form):
    """One quote line."""

    description = StringField(
        "Procedure", validators=[DataRequired("Describe the line."), Length(max=300)]
    )
    grafts = IntegerField("Grafts", validators=[Optional(), NumberRange(0, MAX_GRAFTS)])
    price = money_field("Price")


class QuoteForm(FlaskForm):
    """A quote draft: its lines, money, validity, language and texts."""

    lines = FieldList(FormField(LineForm), min_entries=1, max_entries=MAX_LINES)
    currency = SelectField("Currency", choices=[SelectChoice(c, c) for c in CURRENCIES])
    deposit = money_field("Deposit", description="Deducted from the total.")
    valid_until = DateField("Valid until", validators=[InputRequired()])
    language = SelectField("Patient's language", choices=choices(LANGUAGES))
    inclusions = TextAreaField("Included", validators=[Length(max=MAX_TEXT)])
    exclusions = TextAreaField("Not included", validators=[Length(max=MAX_TEXT)])
    balance_terms = TextAreaField("How the balance is paid", validators=[Length(max=MAX_TEXT)])
    terms = TextAreaField("Cancellation and date-change terms", validators=[Length(max=MAX_TEXT)])
    note = TextAreaField("Note to the patient", validators=[Length(max=MAX_TEXT)])

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' checks, then every amount exact in the currency."""
        if not super().validate(extra_validators):
            return False
        ok = True
        for field in [line.form.price for line in self.lines] + [self.deposit]:
            try:
                to_minor(field.data, self.currency.data)
            except MoneyError:
                field.errors.append(f"Not an amount in {self.currency.data}.")
                ok = False
        return ok


class DepositForm(FlaskForm):
    """A deposit received for an accepted quote."""

    amount = money_field("Deposit received")
    received_on = DateField("Received on", validators=[InputRequired()])


class SurgeryForm(FlaskForm):
    """The surgery's day for an accepted quote."""

    surgery_on = DateField("Surgery on", validators=[InputRequired()])


class SettingsTextsForm(Form):
    """The settings' texts in one language."""

    inclusions = TextAreaField("Included", validators=[Length(max=MAX_TEXT)])
    exclusions = TextAreaField("Not included", validators=[Length(max=MAX_TEXT)])
    balance_terms = TextAreaField("How the balance is paid", validators=[Length(max=MAX_TEXT)])
    terms = TextAreaField("Cancellation and date-change terms", validators=[Length(max=MAX_TEXT)])


class SettingsForm(FlaskForm):
    """The clinic's defaults for quotes."""

    currency = SelectField("Currency", choices=[SelectChoice(c, c) for c in CURRENCIES])
    procedure_price = money_field("Procedure price", description="A fixed part of every quote.")
    price_per_graft = money_field("Price per graft", description="0 for a fixed price.")
    deposit_kind = RadioField(
        "Deposit",
        choices=choices({"amount": "A fixed amount", "percent": "A percent of the total"}),
    )
    deposit_amount = money_field("Deposit amount")
    deposit_percent = IntegerField("Deposit percent", validators=[Optional(), NumberRange(1, 100)])
    validity_days = IntegerField(
        "Quotes valid for (days)", validators=[InputRequired(), NumberRange(1, 365)]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' checks, then the amounts exact and a percent when one is chosen."""
        if not super().validate(extra_validators):
            return False
        ok = True
        for field in (self.procedure_price, self.price_per_graft, self.deposit_amount):
            try:
                to_minor(field.data, self.currency.data)
            except MoneyError:
                field.errors.append(f"Not an amount in {self.currency.data}.")
                ok = False
        if self.deposit_kind.data == "percent" and not self.deposit_percent.data:
            self.deposit_percent.errors.append("Give the percent.")
            ok = False
        return ok


# The settings' texts, one set per language the patient pages speak.
for _language, _name in LANGUAGES.items():
    setattr(SettingsForm, f"texts_{_language}", FormField(SettingsTextsForm, label=_name))
