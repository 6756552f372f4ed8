"""The patient's three answers on their quote's page: accept, decline, ask a question.

Each form carries the version the page showed, so an answer never reaches a version the
patient did not read (a newer one sent meanwhile). No form holds an amount: the page
changes nothing of the quote but the patient's answer. Labels and messages are translated
when shown (``lazy_gettext``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional

from webapp.questionnaire.forms import max_length, strip_typed
from webapp.treatment.responses import MAX_NAME, MAX_TEXT


class QuoteAnswerForm(FlaskForm):
    """What every answer carries: the version the patient read. Each form on the page has
    its answer's name as prefix (``accept-typed_name``), so their fields never clash."""

    version = IntegerField(validators=[InputRequired()])


class AcceptForm(QuoteAnswerForm):
    """Accepting: the patient types their full name and ticks the terms."""

    typed_name = StringField(
        _l("Your full name"),
        filters=[strip_typed],
        validators=[DataRequired(_l("Type your full name to accept.")), max_length(MAX_NAME)],
    )
    terms_accepted = BooleanField(
        _l("I have read the quote and its terms, and I accept them."),
        validators=[DataRequired(_l("Tick the box to accept the terms."))],
    )


class DeclineForm(QuoteAnswerForm):
    """Declining, with a reason if the patient wants to give one."""

    reason = TextAreaField(
        _l("Why? (optional)"), filters=[strip_typed], validators=[Optional(), max_length(MAX_TEXT)]
    )


class QuestionForm(QuoteAnswerForm):
    """A question to the clinic about the quote."""

    question = TextAreaField(
        _l("Your question"),
        filters=[strip_typed],
        validators=[DataRequired(_l("Write your question.")), max_length(MAX_TEXT)],
    )


ANSWER_FORMS: dict[str, type[QuoteAnswerForm]] = {
    "accept": AcceptForm,
    "decline": DeclineForm,
    "question": QuestionForm,
}
