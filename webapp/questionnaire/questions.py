"""What the clinic asks before a consultation: the choices, the medical questions, and the
order the answers are stored and shown in."""

from __future__ import annotations

from wtforms import SelectChoice


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
