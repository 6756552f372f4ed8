"""What the clinic asks before a consultation: the choices, the medical questions, the
steps the form runs in, and the order the answers are stored and shown in.

Labels are translated when shown (``lazy_gettext``); answers are stored as the choices'
values and the text the patient typed, whatever the language.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import SelectChoice


def _choices(*pairs: tuple[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


AGE_RANGES = _choices(*((r, r) for r in ("18-25", "26-35", "36-45", "46-55", "56-65", "65+")))
GENDERS = _choices(
    ("female", _l("Female")),
    ("male", _l("Male")),
    ("other", _l("Another gender")),
    ("undisclosed", _l("Prefer not to say")),
)
NONE_OR_YES = _choices(("none", _l("None")), ("yes", _l("Yes")))
STARTED = _choices(
    ("under_1", _l("Less than 1 year ago")),
    ("1_2", _l("1–2 years ago")),
    ("2_5", _l("2–5 years ago")),
    ("5_10", _l("5–10 years ago")),
    ("over_10", _l("More than 10 years ago")),
)
ONSET = _choices(("sudden", _l("Suddenly")), ("gradual", _l("Gradually")))
AREAS = _choices(
    ("hairline", _l("Hairline")),
    ("temples", _l("Temples")),
    ("crown", _l("Crown")),
    ("top", _l("Top")),
    ("diffuse", _l("Diffuse (all over)")),
)
FAMILY = _choices(
    ("father", _l("Father's side")),
    ("mother", _l("Mother's side")),
    ("none", lazy_pgettext("family history", "None")),  # no one: not the medical "no"
)
TREATMENTS = _choices(
    ("minoxidil", _l("Minoxidil")),
    ("finasteride", _l("Finasteride")),
    ("prp", _l("PRP")),
    ("transplant", _l("Previous transplant")),
    ("other", _l("Other")),
)
DETAIL_MAX = 2000

# The medical questions: (name, question, examples for the details).
MEDICAL_QUESTIONS = [
    (
        "conditions",
        _l("Do you have any medical conditions?"),
        _l("For example diabetes, thyroid disease, an autoimmune disease, anaemia."),
    ),
    (
        "medications",
        _l("Do you take any medications or supplements?"),
        _l("Name them, especially blood thinners."),
    ),
    (
        "allergies",
        _l("Do you have any allergies?"),
        _l("To medicines, anaesthetics, latex, foods."),
    ),
    ("surgeries", _l("Have you had surgery before?"), _l("Which operations, and when.")),
    (
        "recent_events",
        _l("Any illness, surgery or major stress in the last six months?"),
        _l("What happened, and when."),
    ),
]

# The answers a submission stores, grouped as the patient page shows them (in English).
SECTIONS = {
    "Basic": ["country", "city", "age_range", "gender"],
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
# Answers that are a list of the values ticked, even when one is.
MULTIPLE_CHOICE_FIELDS = {"hair_loss_areas", "family_history", "previous_treatments"}
# Who is answering: asked only while the booking has not reached us.
IDENTITY_FIELDS = ["name", "email", "phone"]


@dataclass(frozen=True)
class Step:
    """One step of the form: its name in URLs, its heading, and the fields it asks."""

    name: str
    title: str
    fields: tuple[str, ...]


STEPS = [
    Step("about", _l("Basic details"), (*IDENTITY_FIELDS, *SECTIONS["Basic"])),
    Step("medical", _l("Medical history"), tuple(SECTIONS["Medical"])),
    Step("hair", _l("Your hair loss"), tuple(SECTIONS["Hair loss"])),
    Step("photos", _l("Photos"), ()),
    Step("consent", _l("Consent"), ("consent",)),
]
STEP_NAMES = [step.name for step in STEPS]
