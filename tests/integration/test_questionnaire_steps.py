"""The questionnaire in steps: progress, errors summarised at the top, Back, and a draft
that keeps what was typed for this browser only, resumed where the patient stopped."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import (
    FIXTURE_BOOKING_UID,
    TYPED_IDENTITY,
    booking_document,
    count,
    csrf_token_from,
    deliver,
    send_steps,
    submit,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import PatientPhoto, PatientProfile, QuestionnaireDraft
from webapp.questionnaire.drafts import DRAFT_COOKIE

UID = FIXTURE_BOOKING_UID
UNKNOWN_UID = "qWeRtY123456uIoPaSdFgH"


class Ids(HTMLParser):
    """Every element id on a page, with its tag and attributes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: dict[str, tuple[str, dict]] = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids[attributes["id"]] = (tag, attributes)


def text(response) -> str:
    return response.get_data(as_text=True)


def step_title(page: str) -> str:
    return re.search(r'<h2 class="step-title">(.*?)</h2>', page).group(1)


def post_step(client, token, step, data, csrf, go="next"):
    return client.post(
        f"/questionnaire/{token}?step={step}", data=data | {"csrf_token": csrf, "go": go}
    )


@pytest.fixture
def booked(client) -> dict:
    return deliver(client, booking_document())


# --- Progress -------------------------------------------------------------------------------


def test_the_form_runs_in_five_steps_with_progress(client, booked):
    answers = valid_answers()
    page = text(client.get(f"/questionnaire/{UID}"))
    csrf = csrf_token_from(page)
    seen = []
    for name in ("about", "medical", "hair", "photos", "consent"):
        page = text(client.get(f"/questionnaire/{UID}?step={name}"))
        number = len(seen) + 1
        assert f"Step {number} of 5" in page
        assert f'<progress value="{number}" max="5"' in page
        seen.append(step_title(page))
        fields = re.findall(r'name="([a-z_]+)"', page)
        data = {key: answers[key] for key in set(fields) if key in answers}
        response = post_step(client, UID, name, data, csrf)
        assert response.status_code == 302
    assert seen == ["Basic details", "Medical history", "Your hair loss", "Photos", "Consent"]
    assert response.headers["Location"] == "/questionnaire/thanks"


def test_a_step_cannot_be_skipped(client, booked):
    page = text(client.get(f"/questionnaire/{UID}?step=consent"))

    assert step_title(page) == "Basic details"
    response = post_step(client, UID, "consent", {"consent": "y"}, csrf_token_from(page))
    assert response.status_code == 400  # taken as the first step, whose answers are missing
    assert "Tell us where you live." in text(response)


# --- Errors ---------------------------------------------------------------------------------


def test_a_refused_step_puts_an_error_summary_first_whose_links_lead_to_each_field(client, booked):
    response = submit(
        client, UID, valid_answers(medications_details="", allergies=None, conditions="maybe")
    )

    assert response.status_code == 400
    page = text(response)
    assert step_title(page) == "Medical history"
    summary = re.search(r'<div id="error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert summary, "no error summary"
    opening = re.search(r'<div id="error-summary"[^>]*>', page).group(0)
    assert 'tabindex="-1"' in opening and "autofocus" in opening and 'role="alert"' in opening
    assert page.index('id="error-summary"') < page.index("<form")
    targets = re.findall(r'<a href="#([^"]+)">', summary.group(1))
    assert targets == ["conditions-0", "medications_details", "allergies-0"]
    ids = Ids(page).ids
    for target in targets:
        assert ids[target][0] in ("input", "textarea"), target
    assert "see the notes below" not in page


def test_the_details_boxes_are_hidden_by_css_until_yes(client, booked):
    submit(client, UID, valid_answers(consent=None))
    page = text(client.get(f"/questionnaire/{UID}?step=medical"))

    assert page.count('<div class="details">') == 5
    rules = (Path(__file__).parents[2] / "static" / "app.css").read_text(encoding="utf-8")
    assert ':has(input[value="none"]:checked) .details' in rules  # the browser tests look


# --- Back -----------------------------------------------------------------------------------


def test_back_keeps_what_was_typed_without_checking_it(app, client, booked):
    csrf = csrf_token_from(text(client.get(f"/questionnaire/{UID}")))
    answers = valid_answers()
    assert send_steps(client, UID, answers | {"consent": None}, csrf).status_code == 400

    back = post_step(
        client, UID, "hair", {"goals": "Changed my mind", "hair_loss_areas": []}, csrf, go="back"
    )

    assert back.status_code == 302
    assert back.headers["Location"] == f"/questionnaire/{UID}?step=medical"
    hair = text(client.get(f"/questionnaire/{UID}?step=hair"))
    assert "Changed my mind" in hair
    assert "field-error" not in hair


def test_the_last_step_checks_every_answer_again(app, client, booked):
    csrf = csrf_token_from(text(client.get(f"/questionnaire/{UID}")))
    assert send_steps(client, UID, valid_answers(consent=None), csrf).status_code == 400
    # Back on the medical step, a yes without details is left there with Back.
    post_step(client, UID, "medical", {"allergies": "yes", "allergies_details": ""}, csrf, "back")

    response = post_step(client, UID, "consent", {"consent": "y"}, csrf)

    assert response.status_code == 400
    page = text(response)
    assert step_title(page) == "Medical history"
    assert "You answered yes: please give the details." in page
    with app.app_context():
        assert db.session.scalar(select(PatientProfile)).questionnaire_completed_at is None


# --- The draft ------------------------------------------------------------------------------


def test_the_same_link_resumes_where_the_browser_stopped(client, booked):
    csrf = csrf_token_from(text(client.get(f"/questionnaire/{UID}")))
    send_steps(client, UID, valid_answers(hair_loss_onset=None), csrf)  # stops at the hair step

    resumed = text(client.get(f"/questionnaire/{UID}"))

    assert step_title(resumed) == "Your hair loss"
    assert "Slowed it down for a year" in resumed
    assert 'value="United Kingdom"' in text(client.get(f"/questionnaire/{UID}?step=about"))


def test_a_draft_is_reachable_only_from_the_browser_that_typed_it(app, client, booked):
    typed = valid_answers(country="Narnia", medications_details="Secret pills", consent=None)
    assert submit(client, UID, typed).status_code == 400
    stranger = app.test_client()

    for step in ("about", "medical", "hair", "consent"):
        page = text(stranger.get(f"/questionnaire/{UID}?step={step}"))
        assert step_title(page) == "Basic details"
        assert "Narnia" not in page and "Secret pills" not in page
    cookie = client.get_cookie(DRAFT_COOKIE, path="/questionnaire")
    assert cookie is not None and cookie.http_only and cookie.path == "/questionnaire"
    with app.app_context():
        draft = db.session.scalar(select(QuestionnaireDraft))
        assert draft.browser_key_hash == hashlib.sha256(cookie.value.encode()).hexdigest()
        assert cookie.value not in draft.browser_key_hash
        assert draft.link_key == f"booking:{UID}"
    # The same browser on another booking's link has no draft there.
    other = text(client.get(f"/questionnaire/{UNKNOWN_UID}?step=medical"))
    assert step_title(other) == "Basic details" and "Narnia" not in other


def test_sending_deletes_the_draft_and_the_uid_link_opens_empty(app, client, booked):
    assert submit(client, UID, valid_answers(country="Narnia")).status_code == 302

    page = text(client.get(f"/questionnaire/{UID}"))

    assert step_title(page) == "Basic details"
    assert "Narnia" not in page
    with app.app_context():
        assert count(QuestionnaireDraft) == 0


def test_a_signed_link_opens_with_the_latest_answers_to_change(app, consultant_client, booked):
    assert submit(app.test_client(), UID, valid_answers(goals="Fuller temples")).status_code == 302
    page = text(consultant_client.get(f"/patients/{booked['patient_id']}"))
    link = re.search(r'id="questionnaire-link"[^>]*value="http://localhost([^"]+)"', page).group(1)
    patient = app.test_client()

    hair = text(patient.get(f"{link}?step=hair"))

    assert step_title(hair) == "Your hair loss"  # every step is open: the answers fill them
    assert "Fuller temples" in hair


# --- Prefilled from the booking -------------------------------------------------------------


def test_the_bookings_country_and_city_are_offered_to_confirm(client):
    document = booking_document(country="Germany")
    document["payload"]["responses"]["city"] = {"label": "City", "value": "Köln"}
    deliver(client, document)

    page = text(client.get(f"/questionnaire/{UID}"))

    assert re.search(r'<input id="country"[^>]*value="Germany"', page)
    assert "Filled in from your booking" in page
    assert submit(client, UID, valid_answers(country="Deutschland")).status_code == 302


def test_a_booking_not_received_prefills_nothing(client):
    page = text(client.get(f"/questionnaire/{UNKNOWN_UID}"))

    assert re.search(r'<input id="country"[^>]*value=""', page)
    assert "Filled in from your booking" not in page


# --- Old drafts go ----------------------------------------------------------------------------


def test_purge_deletes_drafts_untouched_for_30_days_with_their_photos(app, client, runner):
    for uid in ("OldDraftBookingUid01", "NewDraftBookingUid01"):
        browser = app.test_client()
        assert (
            submit(browser, uid, valid_answers(**TYPED_IDENTITY, consent=None)).status_code == 400
        )
    with app.app_context():
        old, new = db.session.scalars(select(QuestionnaireDraft).order_by(QuestionnaireDraft.id))
        db.session.add(
            PatientPhoto(
                draft_id=old.id, view="front", content=b"x", thumbnail=b"x", width=1, height=1
            )
        )
        db.session.execute(
            update(QuestionnaireDraft)
            .where(QuestionnaireDraft.id == old.id)
            .values(updated_at=datetime.now(UTC) - timedelta(days=31))
        )
        db.session.commit()
        old_id, new_id = old.id, new.id

    result = runner.invoke(args=["questionnaire", "purge-pending"])

    assert result.exit_code == 0, result.output
    assert "deleted 1 questionnaire drafts older than 30 days" in result.output
    with app.app_context():
        assert list(db.session.scalars(select(QuestionnaireDraft.id))) == [new_id]
        assert count(PatientPhoto) == 0
        assert old_id != new_id
