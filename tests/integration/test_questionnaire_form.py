"""The questionnaire form, field by field: what it accepts, refuses, says and keeps.

Every request goes through the real form: the CSRF token comes from the page the patient
was shown, and answers are posted the way a browser posts them.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import FIXTURE_BOOKING_UID as BOOKING_UID
from tests.conftest import (
    TYPED_IDENTITY,
    count,
    csrf_token_from,
    fixture_body,
    post_delivery,
    send_steps,
    submit,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import PatientProfile, QuestionnaireSubmission, User

UNKNOWN_UID = "qWeRtY123456uIoPaSdFgH"  # a booking whose webhook has not arrived
MEDICAL = ("conditions", "medications", "allergies", "surgeries", "recent_events")
THANKS = "/questionnaire/thanks"


class FormPage(HTMLParser):
    """The parts of a rendered questionnaire that a browser and a screen reader use."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[dict[str, Any]] = []
        self.fieldsets: list[dict[str, Any]] = []
        self.label_targets: set[str] = set()
        self.ids: dict[str, tuple[str, dict[str, Any]]] = {}
        self.errors: list[dict[str, Any]] = []
        self._fieldset: dict[str, Any] | None = None
        self._in_legend = False
        self._open_labels = 0
        self._textarea: dict[str, Any] | None = None
        self._error: dict[str, Any] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids[attributes["id"]] = (tag, attributes)
        if tag == "fieldset":
            self._fieldset = {"attrs": attributes, "legend": "", "names": set()}
            self.fieldsets.append(self._fieldset)
        elif tag == "legend":
            self._in_legend = True
        elif tag == "label":
            self._open_labels += 1
            if attributes.get("for"):
                self.label_targets.add(attributes["for"])
        elif tag in ("input", "textarea", "select"):
            control = {
                "tag": tag,
                "attrs": attributes,
                "fieldset": self._fieldset,
                "in_label": self._open_labels > 0,
                "text": "",
            }
            self.controls.append(control)
            if self._fieldset is not None and attributes.get("name"):
                self._fieldset["names"].add(attributes["name"])
            if tag == "textarea":
                self._textarea = control
        elif tag == "small" and "field-error" in (attributes.get("class") or "").split():
            named = [c["attrs"].get("name") for c in self.controls if c["attrs"].get("name")]
            self._error = {
                "id": attributes.get("id"),
                "text": "",
                "after": named[-1] if named else None,
                "fieldset": self._fieldset,
            }
            self.errors.append(self._error)

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset":
            self._fieldset = None
        elif tag == "legend":
            self._in_legend = False
        elif tag == "label":
            self._open_labels -= 1
        elif tag == "textarea":
            self._textarea = None
        elif tag == "small":
            self._error = None

    def handle_data(self, data: str) -> None:
        if self._in_legend and self._fieldset is not None:
            self._fieldset["legend"] += data
        if self._textarea is not None:
            self._textarea["text"] += data
        if self._error is not None:
            self._error["text"] += data

    # What the page shows --------------------------------------------------------------------

    def named(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.controls if c["attrs"].get("name") == name]

    def value(self, name: str) -> str:
        """A text input's value or a textarea's content, as the browser would fill it."""
        (control,) = self.named(name)
        if control["tag"] == "textarea":
            return control["text"].removeprefix("\r\n").removeprefix("\n")
        return control["attrs"].get("value") or ""

    def checked(self, name: str) -> set[str]:
        return {c["attrs"]["value"] for c in self.named(name) if "checked" in c["attrs"]}

    def field_errors(self) -> dict[str, list[str]]:
        """Each error message under the id of the field it belongs to."""
        found: dict[str, list[str]] = {}
        for error in self.errors:
            field = (error["id"] or "").removesuffix("-error")
            found.setdefault(field, []).append(error["text"].strip())
        return found


def page_of(response: Any) -> FormPage:
    return FormPage(response.get_data(as_text=True))


@pytest.fixture
def booked(client):
    """The fixture booking has arrived through the webhook."""
    response = post_delivery(client, fixture_body("booking_created.json"))
    assert response.status_code == 200
    assert response.get_json()["status"] == "processed"


# --- A complete answer ---------------------------------------------------------------------


def test_a_complete_valid_answer_is_stored_and_thanked(app, client, booked):
    answers = valid_answers(
        country="  Ireland  ",
        conditions_details="typed, then answered none",
        goals="  A denser crown  ",
    )

    response = submit(client, BOOKING_UID, answers)

    assert response.status_code == 302
    assert response.headers["Location"] == THANKS
    assert client.get(THANKS).status_code == 200
    with app.app_context():
        assert count(QuestionnaireSubmission) == 1
        stored = db.session.scalar(select(QuestionnaireSubmission)).answers
    assert stored["country"] == "Ireland"
    assert stored["goals"] == "A denser crown"
    assert stored["conditions"] == "none"
    assert stored["conditions_details"] == ""  # details only for a yes
    assert stored["medications_details"] == "Aspirin 75 mg daily"
    assert stored["hair_loss_areas"] == ["crown", "top"]
    assert stored["family_history"] == ["father"]
    assert stored["previous_treatments"] == ["minoxidil"]


@pytest.mark.parametrize(
    "changes",
    [
        {"family_history": ["none"]},
        {"family_history": ["father", "mother"]},
        {"previous_treatments": None, "treatment_results": ""},
        {"goals": ""},
        {"medications": "none", "medications_details": ""},
        {"hair_loss_areas": ["hairline", "temples", "crown", "top", "diffuse"]},
        {"age_range": "65+", "gender": "undisclosed"},
    ],
    ids=[
        "family-none-alone",
        "both-sides",
        "no-treatments",
        "no-goals",
        "all-medical-none",
        "every-area",
        "edge-choices",
    ],
)
def test_other_valid_answer_sets_are_accepted(app, client, booked, changes):
    response = submit(client, BOOKING_UID, valid_answers(**changes))

    assert response.status_code == 302, page_of(response).field_errors()
    assert response.headers["Location"] == THANKS
    with app.app_context():
        assert count(QuestionnaireSubmission) == 1


# --- Required answers ----------------------------------------------------------------------

REQUIRED = [
    ("country", "Tell us where you live."),
    ("age_range", "Choose your age range."),
    ("gender", "Choose an answer."),
    *[(question, "Choose none or yes.") for question in MEDICAL],
    ("hair_loss_started", "Choose when it started."),
    ("hair_loss_onset", "Choose sudden or gradual."),
    ("hair_loss_areas", "Choose at least one area."),
    ("family_history", "Choose at least one answer."),
    ("consent", "We need your consent to process your health data."),
]


@pytest.mark.parametrize(("field", "message"), REQUIRED, ids=[f for f, _ in REQUIRED])
def test_a_missing_required_answer_is_asked_for_beside_its_field(
    app, client, booked, field, message
):
    response = submit(client, BOOKING_UID, valid_answers(**{field: None}))

    assert response.status_code == 400
    page = page_of(response)
    assert page.field_errors() == {field: [message]}
    (error,) = page.errors
    assert error["after"] == field  # right after the field's own inputs
    if field in ("country", "consent"):
        assert error["fieldset"] is None
    else:  # a group of choices: the message sits inside its fieldset
        assert error["fieldset"] is not None and field in error["fieldset"]["names"]
    assert "Some answers need attention" in response.get_data(as_text=True)
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0


def test_a_country_of_only_spaces_counts_as_missing(client, booked):
    response = submit(client, BOOKING_UID, valid_answers(country="   "))

    assert response.status_code == 400
    assert page_of(response).field_errors() == {"country": ["Tell us where you live."]}


def test_consent_left_unticked_as_an_empty_value_is_refused(client, booked):
    response = submit(client, BOOKING_UID, valid_answers(consent=""))

    assert response.status_code == 400
    assert page_of(response).field_errors() == {
        "consent": ["We need your consent to process your health data."]
    }


# --- Choices that are not on the form ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age_range", "17"),
        ("gender", "x"),
        ("hair_loss_areas", ["legs"]),
        ("hair_loss_areas", ["crown", "legs"]),
        ("conditions", "maybe"),
        ("allergies", "no"),
        ("hair_loss_started", "yesterday"),
        ("hair_loss_onset", "slowly"),
        ("family_history", ["cousin"]),
        ("previous_treatments", ["magic"]),
    ],
)
def test_a_choice_that_is_not_offered_is_refused(app, client, booked, field, value):
    response = submit(client, BOOKING_UID, valid_answers(**{field: value}))

    assert response.status_code == 400
    errors = page_of(response).field_errors()
    assert list(errors) == [field]
    assert len(errors[field]) == 1 and errors[field][0]
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0


# --- Rules between answers -----------------------------------------------------------------


@pytest.mark.parametrize("question", MEDICAL)
@pytest.mark.parametrize("details", [None, "", "   \r\n  "], ids=["absent", "empty", "blank"])
def test_yes_without_details_is_refused_for_each_medical_question(
    app, client, booked, question, details
):
    answers = valid_answers(**{question: "yes", f"{question}_details": details})

    response = submit(client, BOOKING_UID, answers)

    assert response.status_code == 400
    page = page_of(response)
    assert page.field_errors() == {
        f"{question}_details": ["You answered yes: please give the details."]
    }
    assert page.errors[0]["after"] == f"{question}_details"
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0


@pytest.mark.parametrize(
    "family", [["none", "father"], ["none", "mother"], ["father", "mother", "none"]]
)
def test_none_cannot_be_combined_with_a_side_of_the_family(app, client, booked, family):
    response = submit(client, BOOKING_UID, valid_answers(family_history=family))

    assert response.status_code == 400
    assert page_of(response).field_errors() == {
        "family_history": ["Choose 'None' alone, or the sides of your family."]
    }
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0


@pytest.mark.parametrize("results", [None, "", "  "], ids=["absent", "empty", "blank"])
def test_treatments_tried_need_a_word_on_how_they_worked(app, client, booked, results):
    answers = valid_answers(previous_treatments=["finasteride", "prp"], treatment_results=results)

    response = submit(client, BOOKING_UID, answers)

    assert response.status_code == 400
    assert page_of(response).field_errors() == {
        "treatment_results": ["Tell us how the treatments you chose worked for you."]
    }
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0


# --- Lengths -------------------------------------------------------------------------------

LONG_TEXTS = [f"{question}_details" for question in MEDICAL] + ["treatment_results", "goals"]


def _text_changes(field: str, text: str) -> dict[str, Any]:
    """``text`` in ``field``; a medical question's details come with a yes."""
    question = field.removesuffix("_details")
    changes: dict[str, Any] = {field: text}
    if question in MEDICAL:
        changes[question] = "yes"
    return changes


@pytest.mark.parametrize("field", LONG_TEXTS)
def test_text_longer_than_2000_characters_is_refused(app, client, booked, field):
    response = submit(client, BOOKING_UID, valid_answers(**_text_changes(field, "x" * 2001)))

    assert response.status_code == 400
    errors = page_of(response).field_errors()
    assert list(errors) == [field]
    assert "2000" in errors[field][0]
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0


def test_text_of_exactly_2000_characters_is_accepted(app, client, booked):
    changes: dict[str, Any] = {}
    for field in LONG_TEXTS:
        changes.update(_text_changes(field, "y" * 2000))
    answers = valid_answers(**changes)

    response = submit(client, BOOKING_UID, answers)

    assert response.status_code == 302, page_of(response).field_errors()
    with app.app_context():
        stored = db.session.scalar(select(QuestionnaireSubmission)).answers
    assert all(stored[field] == "y" * 2000 for field in LONG_TEXTS)


def test_a_country_longer_than_100_characters_is_refused(client, booked):
    response = submit(client, BOOKING_UID, valid_answers(country="z" * 101))

    assert response.status_code == 400
    assert list(page_of(response).field_errors()) == ["country"]


# --- The identity questions of a booking not received yet ----------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": None}, "name", "Tell us your name."),
        ({"name": "   "}, "name", "Tell us your name."),
        ({"email": None}, "email", "We need your email."),
        ({"email": "oliver at example"}, "email", "Enter a valid email address."),
        (
            {"phone": "12"},
            "phone",
            "Enter the number with its country code, for example +44 7700 900123.",
        ),
    ],
    ids=["no-name", "blank-name", "no-email", "bad-email", "bad-phone"],
)
def test_an_unknown_bookings_identity_questions_are_validated(app, client, changes, field, message):
    response = submit(client, UNKNOWN_UID, valid_answers(**TYPED_IDENTITY) | changes)

    assert response.status_code == 400
    page = page_of(response)
    assert page.field_errors() == {field: [message]}
    assert page.errors[0]["after"] == field
    with app.app_context():
        assert (count(User), count(PatientProfile), count(QuestionnaireSubmission)) == (0, 0, 0)


def test_the_phone_is_optional_for_an_unknown_booking(app, client):
    response = submit(client, UNKNOWN_UID, valid_answers(**TYPED_IDENTITY) | {"phone": ""})

    assert response.status_code == 302
    with app.app_context():
        submission = db.session.scalar(select(QuestionnaireSubmission))
        assert submission.typed_phone is None
        assert submission.typed_email == "oliver.bennett@example.co.uk"


@pytest.mark.parametrize(
    ("region", "typed", "stored"),
    [
        ("GB", "07700 900123", "+447700900123"),
        ("GB", "+90 532 123 45 67", "+905321234567"),
        (None, "+44 7700 900123", "+447700900123"),
    ],
    ids=["national-in-gb", "international-in-gb", "international-without-region"],
)
def test_the_phone_is_read_as_the_webhook_reads_it(app, client, region, typed, stored):
    app.config["PHONE_DEFAULT_REGION"] = region

    response = submit(client, UNKNOWN_UID, valid_answers(**TYPED_IDENTITY) | {"phone": typed})

    assert response.status_code == 302, page_of(response).field_errors()
    with app.app_context():
        assert db.session.scalar(select(QuestionnaireSubmission.typed_phone)) == stored


def test_a_national_number_is_refused_when_the_clinic_has_no_region(app, client):
    response = submit(
        client, UNKNOWN_UID, valid_answers(**TYPED_IDENTITY) | {"phone": "07700 900123"}
    )

    assert response.status_code == 400
    assert list(page_of(response).field_errors()) == ["phone"]


# --- A form that comes back keeps what was typed -------------------------------------------


def test_a_form_with_errors_keeps_everything_the_patient_typed(client, booked):
    typed = valid_answers(
        country='Türkiye & "Cyprus"',
        gender="other",
        conditions="yes",
        conditions_details="Hypothyroidism <since 2019>",
        medications_details="Levothyroxine & aspirin",
        recent_events="yes",
        recent_events_details="",  # the one error: yes without details
        hair_loss_started="over_10",
        hair_loss_onset="sudden",
        hair_loss_areas=["hairline", "temples"],
        family_history=["father", "mother"],
        previous_treatments=["minoxidil", "prp"],
        treatment_results="Minoxidil helped; PRP did not",
        goals="A natural hairline\nand a quick recovery",
    )

    response = submit(client, BOOKING_UID, typed)

    # The medical step is refused and comes back with everything typed on it.
    assert response.status_code == 400
    page = page_of(response)
    assert list(page.field_errors()) == ["recent_events_details"]
    assert page.value("conditions_details") == "Hypothyroidism <since 2019>"
    assert page.value("medications_details") == "Levothyroxine & aspirin"
    for name in MEDICAL:
        assert page.checked(name) == {typed[name]}, name
    # Typed text is shown as text, never as markup.
    assert "<since 2019>" not in response.get_data(as_text=True)
    # The step before keeps its answers too, in this browser's draft.
    about = page_of(client.get(f"/questionnaire/{BOOKING_UID}?step=about"))
    assert about.value("country") == 'Türkiye & "Cyprus"'
    for name in ("age_range", "gender"):
        assert about.checked(name) == {typed[name]}, name

    # Corrected, the patient goes on; the later steps keep what is typed on them.
    fixed = typed | {"recent_events_details": "Flu in May", "consent": None}
    response = send_steps(
        client, BOOKING_UID, fixed, csrf_token_from(response.get_data(as_text=True))
    )
    assert response.status_code == 400
    assert list(page_of(response).field_errors()) == ["consent"]
    hair = page_of(client.get(f"/questionnaire/{BOOKING_UID}?step=hair"))
    assert hair.value("treatment_results") == "Minoxidil helped; PRP did not"
    assert hair.value("goals").replace("\r\n", "\n") == "A natural hairline\nand a quick recovery"
    for name in ("hair_loss_started", "hair_loss_onset"):
        assert hair.checked(name) == {typed[name]}, name
    assert hair.checked("hair_loss_areas") == {"hairline", "temples"}
    assert hair.checked("family_history") == {"father", "mother"}
    assert hair.checked("previous_treatments") == {"minoxidil", "prp"}


def test_a_form_with_errors_keeps_the_identity_the_patient_typed(client):
    response = submit(
        client,
        UNKNOWN_UID,
        valid_answers(consent=None) | {"name": "Oliver O'Brien", "email": "o.b@example.ie"},
    )

    assert response.status_code == 400
    page = page_of(response)
    assert list(page.field_errors()) == ["consent"]
    assert page.checked("consent") == set()
    about = page_of(client.get(f"/questionnaire/{UNKNOWN_UID}?step=about"))
    assert about.value("name") == "Oliver O'Brien"
    assert about.value("email") == "o.b@example.ie"
    hair = page_of(client.get(f"/questionnaire/{UNKNOWN_UID}?step=hair"))
    assert hair.checked("hair_loss_areas") == {"crown", "top"}


# --- CSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["missing", "forged"])
def test_a_submission_without_a_valid_csrf_token_is_refused_and_stores_nothing(
    app, client, booked, token
):
    client.get(f"/questionnaire/{BOOKING_UID}")
    data = valid_answers() | ({"csrf_token": token} if token else {})

    response = client.post(f"/questionnaire/{BOOKING_UID}", data=data)

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    with app.app_context():
        assert count(QuestionnaireSubmission) == 0
        patient = db.session.scalar(select(PatientProfile))
        assert patient.questionnaire_answers is None
        assert patient.questionnaire_completed_at is None


def test_an_unknown_bookings_submission_without_csrf_creates_no_patient(app, client):
    client.get(f"/questionnaire/{UNKNOWN_UID}")

    response = client.post(f"/questionnaire/{UNKNOWN_UID}", data=valid_answers(**TYPED_IDENTITY))

    assert response.status_code == 400
    with app.app_context():
        assert (count(User), count(PatientProfile), count(QuestionnaireSubmission)) == (0, 0, 0)


# --- Accessibility -------------------------------------------------------------------------

CHOICE_GROUPS = (
    "age_range",
    "gender",
    *MEDICAL,
    "hair_loss_started",
    "hair_loss_onset",
    "hair_loss_areas",
    "family_history",
    "previous_treatments",
)


def every_step(client, uid: str) -> FormPage:
    """Every step of the questionnaire as one page: each step is visited (the answers go
    up to the consent, left unticked), then shown again."""
    from webapp.questionnaire.questions import STEP_NAMES

    assert submit(client, uid, valid_answers(**TYPED_IDENTITY, consent=None)).status_code == 400
    pages = [client.get(f"/questionnaire/{uid}?step={name}") for name in STEP_NAMES]
    assert all(page.status_code == 200 for page in pages)
    return FormPage("".join(page.get_data(as_text=True) for page in pages))


@pytest.mark.parametrize("uid", [BOOKING_UID, UNKNOWN_UID], ids=["known", "unknown"])
def test_every_input_has_a_label_and_every_group_of_choices_a_fieldset(client, booked, uid):
    page = every_step(client, uid)

    visible = [c for c in page.controls if c["attrs"].get("type") != "hidden"]
    assert len(visible) > 30
    for control in visible:
        control_id = control["attrs"].get("id")
        assert control_id, control
        assert control_id in page.label_targets, f"no <label for> for {control_id}"
        assert control["in_label"], f"{control_id} is not inside its label"
    for name in CHOICE_GROUPS:
        options = page.named(name)
        assert len(options) >= 2, name
        groups = {id(option["fieldset"]) for option in options}
        assert len(groups) == 1, f"{name} is split across fieldsets"
        fieldset = options[0]["fieldset"]
        assert fieldset is not None, f"{name} is not in a fieldset"
        assert fieldset["legend"].strip(), f"{name}'s fieldset has no legend"
        assert fieldset["names"] == {name}
    legends = {fieldset["legend"].strip() for fieldset in page.fieldsets}
    assert {"Age range", "Gender", "Where are you losing hair?"} <= legends
    assert "Do you have any medical conditions?" in legends


@pytest.mark.parametrize(
    ("answers", "step", "invalid"),
    [
        ({"country": None, "age_range": None}, "about", {"country", "age_range"}),
        ({"medications_details": ""}, "medical", {"medications_details"}),
        ({"goals": "g" * 2001}, "hair", {"goals"}),
        ({"consent": None}, "consent", {"consent"}),
    ],
    ids=["about", "medical", "hair", "consent"],
)
def test_fields_with_errors_are_marked_invalid_and_point_to_their_message(
    client, booked, answers, step, invalid
):
    response = submit(client, BOOKING_UID, valid_answers(**answers))

    assert response.status_code == 400
    page = page_of(response)
    assert set(page.field_errors()) == invalid
    for name in invalid - {"age_range"}:
        (control,) = page.named(name)
        assert control["attrs"].get("aria-invalid") == "true", name
        described = control["attrs"].get("aria-describedby")
        assert described == f"{name}-error"
        tag, attributes = page.ids[described]
        assert tag == "small" and "field-error" in attributes["class"]
    if "age_range" in invalid:
        fieldset = page.named("age_range")[0]["fieldset"]
        assert fieldset["attrs"].get("aria-invalid") == "true"
        assert fieldset["attrs"].get("aria-describedby") == "age_range-error"
        assert "age_range-error" in page.ids


def test_fields_without_errors_are_not_marked_invalid(client, booked):
    """Only a field with an error says so; a screen reader reads any aria-invalid value
    other than "false" (even "None") as invalid, and aria-describedby must name an element
    that exists."""
    shown = page_of(client.get(f"/questionnaire/{BOOKING_UID}"))
    returned = page_of(submit(client, BOOKING_UID, valid_answers(country=None)))

    for page, invalid in ((shown, set()), (returned, {"country"})):
        marked = {
            attributes.get("name") or element_id
            for element_id, (_tag, attributes) in page.ids.items()
            if attributes.get("aria-invalid") not in (None, "false")
        }
        assert marked == invalid
        for element_id, (_tag, attributes) in page.ids.items():
            described = attributes.get("aria-describedby")
            if described is not None:
                assert described in page.ids, f"{element_id} points to missing #{described}"
    for fieldset in returned.fieldsets:
        assert fieldset["attrs"].get("aria-invalid") is None
