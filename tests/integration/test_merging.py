"""Possible duplicates resolved: the Needs review tab side by side, merge (field by field,
rows moved, the other kept and never matched again), undo (exact restore) and dismiss
(never flagged again)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import (
    booking_document,
    csrf_token_from,
    deliver,
    fixture_body,
    submit,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Consultation,
    DuplicateDismissal,
    PatientMerge,
    PatientNote,
    PatientProfile,
    QuestionnaireSubmission,
    User,
    WebhookEvent,
)
from webapp.patients.contact import ContactDetails, Phone
from webapp.patients.matching import find_or_create_patient

EMMA_EMAIL = "emma.bennett@example.co.uk"
OLIVER_EMAIL = "oliver.bennett@example.co.uk"
PHONE = "+447700900123"
OWNED = {
    "consultations": Consultation,
    "questionnaire_submissions": QuestionnaireSubmission,
    "patient_notes": PatientNote,
    "webhook_events": WebhookEvent,
}


def emma_booking(uid: str = "emma-booking", booking_id: int = 90300) -> dict[str, Any]:
    return booking_document(
        uid, email=EMMA_EMAIL, name="Emma Bennett", phone=PHONE, booking_id=booking_id
    )


def token_of(client, path: str = "/") -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


@pytest.fixture
def pair(app, consultant_client) -> dict[str, int]:
    """Oliver, and Emma flagged as his possible duplicate (same phone, another email), each
    with a consultation, a delivery and a note; Emma with a questionnaire too."""
    oliver = deliver(consultant_client, fixture_body("booking_created.json"))["patient_id"]
    emma = deliver(consultant_client, emma_booking())["patient_id"]
    assert submit(consultant_client, "emma-booking", valid_answers()).status_code == 302
    token = token_of(consultant_client)
    for patient, body in ((oliver, "Oliver's note"), (emma, "Emma's note")):
        response = consultant_client.post(
            f"/patients/{patient}/notes", data={"body": body, "csrf_token": token}
        )
        assert response.status_code == 302
    with app.app_context():
        assert db.session.get(PatientProfile, emma).possible_duplicate_of_id == oliver
    return {"oliver": oliver, "emma": emma}


def state(app) -> dict[str, Any]:
    """Full rows of every profile and user, and the owner of every row that has one."""
    with app.app_context():
        return {
            "profiles": [
                dict(row)
                for row in db.session.execute(
                    select(PatientProfile.__table__).order_by(PatientProfile.id)
                ).mappings()
            ],
            "users": [
                dict(row)
                for row in db.session.execute(select(User.__table__).order_by(User.id)).mappings()
            ],
            "owners": {
                name: db.session.execute(
                    select(model.id, model.patient_profile_id).order_by(model.id)
                ).all()
                for name, model in OWNED.items()
            },
        }


def merge(client, survivor: int, merged: int, **fields: str):
    data = {"merged_id": str(merged), "csrf_token": token_of(client)}
    data |= {f"field-{field}": side for field, side in fields.items()}
    return client.post(f"/patients/{survivor}/merge", data=data)


def owners(app, patient_id: int) -> dict[str, int]:
    with app.app_context():
        return {
            name: len(
                db.session.scalars(
                    select(model.id).where(model.patient_profile_id == patient_id)
                ).all()
            )
            for name, model in OWNED.items()
        }


# --- Needs review ----------------------------------------------------------------------------


def test_the_review_tab_shows_each_pair_side_by_side_with_differences(consultant_client, pair):
    page = consultant_client.get("/?tab=review").get_data(as_text=True)

    card = re.search(r'<article class="review-pair" id="review-\d+".*?</article>', page, re.S)
    assert card, "no pair on the review tab"
    card = card.group(0)
    assert f"Patients {pair['oliver']} and {pair['emma']}" in card
    assert f'<a href="/patients/{pair["oliver"]}">Patient {pair["oliver"]}</a>' in card
    for label in ("Name", "Email", "Questionnaire"):
        assert re.search(rf'<tr class="differs">\s*<th scope="row">{label} <mark', card), label
    for label in ("Phone", "Time zone", "Country"):
        assert re.search(rf'<tr>\s*<th scope="row">{label}</th>', card), label
    assert "+44 7700 900123" in card
    # Each differing field offers both values; an empty one never wins by default.
    assert 'name="field-name" value="survivor" checked> Oliver Bennett' in card
    assert 'name="field-name" value="merged"> Emma Bennett' in card
    assert 'name="field-questionnaire" value="merged" checked> Completed' in card
    assert 'name="field-phone"' not in card
    assert f'action="/patients/{pair["oliver"]}/merge"' in card
    assert f'action="/patients/{pair["emma"]}/dismiss-duplicate"' in card


def test_the_review_tab_is_empty_once_resolved(consultant_client, pair):
    assert merge(consultant_client, pair["oliver"], pair["emma"]).status_code == 302

    page = consultant_client.get("/?tab=review", headers={"HX-Request": "true"})

    assert "No possible duplicates to review." in page.get_data(as_text=True)


# --- Merge -----------------------------------------------------------------------------------


def test_a_merge_takes_the_chosen_fields_and_moves_every_row(app, consultant_client, pair):
    oliver, emma = pair["oliver"], pair["emma"]
    before = {"oliver": owners(app, oliver), "emma": owners(app, emma)}
    assert before["emma"] == {
        "consultations": 1,
        "questionnaire_submissions": 1,
        "patient_notes": 1,
        "webhook_events": 1,
    }

    response = merge(consultant_client, oliver, emma, email="merged", questionnaire="merged")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/patients/{oliver}"
    assert owners(app, emma) == dict.fromkeys(OWNED, 0)
    assert owners(app, oliver) == {
        name: before["oliver"][name] + before["emma"][name] for name in OWNED
    }
    with app.app_context():
        survivor = db.session.get(PatientProfile, oliver)
        kept = db.session.get(PatientProfile, emma)
        assert (survivor.name, survivor.email, survivor.phone) == (
            "Oliver Bennett",
            EMMA_EMAIL,
            PHONE,
        )
        assert survivor.questionnaire_answers["medications_details"] == "Aspirin 75 mg daily"
        assert survivor.questionnaire_completed_at is not None
        assert (survivor.user.email, survivor.user.name) == (EMMA_EMAIL, "Oliver Bennett")
        assert EMMA_EMAIL in survivor.search_text
        assert survivor.possible_duplicate_of_id is None
        # The other record is kept as it was, marked merged, its user's email freed.
        assert (kept.name, kept.email, kept.merged_into_id) == ("Emma Bennett", EMMA_EMAIL, oliver)
        assert kept.possible_duplicate_of_id is None
        assert kept.user.email is None
        record = db.session.scalars(select(PatientMerge)).one()
        assert set(record.snapshot["moved"]) == {
            "consultations.patient_profile_id",
            "questionnaire_submissions.patient_profile_id",
            "patient_notes.patient_profile_id",
            "webhook_events.patient_profile_id",
            "patient_photos.patient_profile_id",
            "assessments.patient_profile_id",
            "quotes.patient_profile_id",
            "patient_stages.patient_profile_id",
        }  # every table that points at a patient, and never audit_events
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.merged")
        ).one()
        assert (event.patient_profile_id, event.consultant_id) == (oliver, 1)
        assert event.details == {
            "merge_id": record.id,
            "survivor_id": oliver,
            "merged_id": emma,
            "fields_from_merged": ["email", "questionnaire"],
        }


def test_the_merged_away_page_points_to_the_survivor(consultant_client, pair):
    merge(consultant_client, pair["oliver"], pair["emma"])

    emma_page = consultant_client.get(f"/patients/{pair['emma']}").get_data(as_text=True)
    oliver_page = consultant_client.get(f"/patients/{pair['oliver']}").get_data(as_text=True)

    assert "<strong>This record was merged.</strong>" in emma_page
    assert f'<a href="/patients/{pair["oliver"]}">Oliver Bennett</a>' in emma_page
    assert f"Patient {pair['emma']}</a> merged into this record" in oliver_page
    assert "Undo merge</button>" in oliver_page
    assert "Possible duplicate." not in oliver_page


def test_a_signed_link_sent_before_a_merge_reaches_the_survivor(app, consultant_client, pair):
    with app.app_context():
        from webapp.questionnaire.links import questionnaire_token

        token = questionnaire_token(db.session.get(PatientProfile, pair["emma"]))
    merge(consultant_client, pair["oliver"], pair["emma"])

    assert submit(consultant_client, token, valid_answers()).status_code == 302

    with app.app_context():
        latest = db.session.scalars(
            select(QuestionnaireSubmission).order_by(QuestionnaireSubmission.id.desc())
        ).first()
        assert latest.patient_profile_id == pair["oliver"]


def test_a_merged_away_record_is_never_matched_again(app, consultant_client, pair):
    merge(consultant_client, pair["oliver"], pair["emma"])  # Oliver keeps his own email

    again = deliver(consultant_client, emma_booking("emma-again", 90301))

    assert (again["patient_id"], again["patient_created"]) == (pair["oliver"], False)
    with app.app_context():
        for details in (
            ContactDetails(email=EMMA_EMAIL),
            ContactDetails(email=None, phone=Phone(PHONE, PHONE)),
            ContactDetails(email="someone.else@example.com", phone=Phone(PHONE, PHONE)),
        ):
            match = find_or_create_patient(details)
            assert match.patient.id != pair["emma"]
        db.session.rollback()


@pytest.mark.parametrize(
    "fields", [{}, {"name": "merged", "email": "merged", "phone": "merged", "timezone": "merged"}]
)
def test_undo_restores_both_records_exactly(app, consultant_client, pair, fields):
    before = state(app)

    assert merge(consultant_client, pair["oliver"], pair["emma"], **fields).status_code == 302
    assert state(app) != before
    with app.app_context():
        merge_id = db.session.scalars(select(PatientMerge.id)).one()
    token = token_of(consultant_client)
    response = consultant_client.post(f"/merges/{merge_id}/undo", data={"csrf_token": token})

    assert response.status_code == 302
    assert state(app) == before
    with app.app_context():
        record = db.session.get(PatientMerge, merge_id)
        assert record.undone_at is not None and record.undone_by_id == 1
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions.count("patient.merged") == 1 and actions.count("patient.merge_undone") == 1
        undone = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.merge_undone")
        ).one()
        assert undone.details == {
            "merge_id": merge_id,
            "survivor_id": pair["oliver"],
            "merged_id": pair["emma"],
        }
    # The pair is flagged again, as before, and a merge cannot be undone twice.
    again = consultant_client.post(f"/merges/{merge_id}/undo", data={"csrf_token": token})
    assert again.status_code == 302
    assert state(app) == before


def test_merging_needs_csrf_and_sensible_records(app, consultant_client, pair):
    before = state(app)

    no_token = consultant_client.post(
        f"/patients/{pair['oliver']}/merge", data={"merged_id": pair["emma"]}
    )
    itself = merge(consultant_client, pair["oliver"], pair["oliver"])
    unknown = merge(consultant_client, pair["oliver"], 999)

    assert no_token.status_code == 400
    assert itself.status_code == 302
    assert unknown.status_code == 404
    assert state(app) == before
    merge(consultant_client, pair["oliver"], pair["emma"])
    merged = state(app)
    assert merge(consultant_client, pair["emma"], pair["oliver"]).status_code == 302
    assert state(app) == merged  # a merged-away record takes part in no other merge


def test_merge_undo_and_dismiss_need_a_login(app, client, consultant):
    for path in ("/patients/1/merge", "/patients/1/dismiss-duplicate", "/merges/1/undo"):
        assert client.post(path).status_code in (302, 400)
    with app.app_context():
        assert db.session.scalars(select(AuditEvent)).all() == []


# --- Dismiss ---------------------------------------------------------------------------------


def dismiss(client, patient: int, other: int):
    data = {"other_id": str(other), "csrf_token": token_of(client)}
    return client.post(f"/patients/{patient}/dismiss-duplicate", data=data)


def test_dismissing_clears_the_flag_and_the_pair_is_never_flagged_again(
    app, consultant_client, pair
):
    response = dismiss(consultant_client, pair["emma"], pair["oliver"])

    assert response.status_code == 302
    assert response.headers["Location"] == "/?tab=review"
    deliver(consultant_client, emma_booking("emma-again", 90301))
    oliver_again = booking_document("oliver-again", booking_id=90302)
    deliver(consultant_client, oliver_again)
    with app.app_context():
        profiles = db.session.scalars(select(PatientProfile).order_by(PatientProfile.id)).all()
        assert [(p.id, p.possible_duplicate_of_id) for p in profiles] == [
            (pair["oliver"], None),
            (pair["emma"], None),
        ]
        dismissal = db.session.scalars(select(DuplicateDismissal)).one()
        assert (dismissal.first_id, dismissal.second_id) == tuple(
            sorted((pair["oliver"], pair["emma"]))
        )
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.duplicate_dismissed")
        ).one()
        assert (event.patient_profile_id, event.details) == (
            pair["emma"],
            {"other_id": pair["oliver"]},
        )
    page = consultant_client.get("/?tab=review").get_data(as_text=True)
    assert "No possible duplicates to review." in page


def test_without_a_dismissal_a_new_booking_flags_the_shared_phone_again(
    app, consultant_client, pair
):
    with app.app_context():  # the flag cleared some other way: nobody said "different"
        db.session.get(PatientProfile, pair["emma"]).possible_duplicate_of_id = None
        db.session.commit()

    deliver(consultant_client, booking_document("oliver-again", booking_id=90302))

    with app.app_context():
        assert (
            db.session.get(PatientProfile, pair["oliver"]).possible_duplicate_of_id
            == (pair["emma"])
        )


def test_dismissing_needs_csrf(app, consultant_client, pair):
    response = consultant_client.post(
        f"/patients/{pair['emma']}/dismiss-duplicate", data={"other_id": pair["oliver"]}
    )

    assert response.status_code == 400
    with app.app_context():
        assert (
            db.session.get(PatientProfile, pair["emma"]).possible_duplicate_of_id
            == (pair["oliver"])
        )
        assert db.session.scalars(select(DuplicateDismissal)).all() == []


def test_a_merge_and_its_undo_keep_each_patients_latest_booking(app, consultant_client, pair):
    def latest() -> dict[str, Any]:
        with app.app_context():
            rows = db.session.execute(
                select(PatientProfile.id, PatientProfile.latest_booking_at)
            ).all()
            starts = dict(
                db.session.execute(
                    select(Consultation.patient_profile_id, Consultation.start_time)
                ).all()
            )
        return {"rows": dict(rows), "starts": starts}

    before = latest()
    assert before["rows"] == before["starts"]  # one consultation each

    assert merge(consultant_client, pair["oliver"], pair["emma"]).status_code == 302
    merged = latest()
    assert merged["rows"] == {
        pair["oliver"]: max(before["starts"].values()),
        pair["emma"]: None,  # no consultation left: found by no search
    }

    with app.app_context():
        merge_id = db.session.scalars(select(PatientMerge.id)).one()
    consultant_client.post(
        f"/merges/{merge_id}/undo", data={"csrf_token": token_of(consultant_client)}
    )
    assert latest()["rows"] == before["rows"]
