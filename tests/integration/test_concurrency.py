"""Simultaneous deliveries on real threads: exactly one patient and booking, never a 500;
answers sent while their booking is applied still reach its patient."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.conftest import (
    FIXTURE_BOOKING_UID,
    TYPED_IDENTITY,
    booking_document,
    deliver,
    fixture_body,
    fixture_json,
    post_delivery,
    submit,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import (
    Consultation,
    PatientProfile,
    QuestionnaireSubmission,
    User,
    WebhookEvent,
)

IDENTICAL = 40  # the same delivery at once
BOOKINGS = 20  # bookings at once: of one new patient, or one booking sent with new times
JOIN_TIMEOUT = 120


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def deliver_at_once(app: Flask, documents: list[dict[str, Any] | bytes]) -> list[tuple[int, Any]]:
    """Post every document from its own thread and test client, all released together.

    Returns ``(status code, JSON answer)`` per document, in the order given. No app context
    is held here while the threads run.
    """
    barrier = threading.Barrier(len(documents))
    answers: list[tuple[int, Any] | None] = [None] * len(documents)
    errors: list[BaseException] = []

    def deliver(index: int, document: dict[str, Any] | bytes) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            response = post_delivery(client, document)
            answers[index] = (response.status_code, response.get_json())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=deliver, args=(index, document))
        for index, document in enumerate(documents)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a delivery never finished"
    assert errors == []
    assert None not in answers
    return answers  # type: ignore[return-value]


def with_uid(uid: str, booking_id: int) -> dict[str, Any]:
    document = fixture_json("booking_created.json")
    document["payload"]["uid"] = uid
    document["payload"]["bookingId"] = booking_id
    return document


def test_forty_identical_deliveries_at_once_are_stored_and_applied_once(app):
    body = fixture_body("booking_created.json")

    answers = deliver_at_once(app, [body] * IDENTICAL)

    assert [code for code, _ in answers] == [200] * IDENTICAL, answers
    statuses = sorted(answer["status"] for _, answer in answers)
    assert statuses == ["duplicate"] * (IDENTICAL - 1) + ["processed"]
    assert len({answer["event_id"] for _, answer in answers}) == 1
    assert len({answer["consultation_id"] for _, answer in answers}) == 1
    assert len({answer["patient_id"] for _, answer in answers}) == 1
    with app.app_context():
        assert count(User) == 1
        assert count(PatientProfile) == 1
        assert count(Consultation) == 1
        assert count(WebhookEvent) == 1
        event = db.session.scalar(select(WebhookEvent))
        assert event.status == "processed"
        consultation = db.session.scalar(select(Consultation))
        assert consultation.status == "scheduled"
        assert consultation.patient.email == "oliver.bennett@example.co.uk"


def test_one_booking_sent_twenty_times_at_once_with_different_send_times_is_one_consultation(app):
    documents = []
    for second in range(BOOKINGS):
        document = fixture_json("booking_created.json")
        document["createdAt"] = f"2026-11-02T09:14:{10 + second:02d}.000Z"
        documents.append(document)

    answers = deliver_at_once(app, documents)

    assert [code for code, _ in answers] == [200] * BOOKINGS, answers
    assert {answer["status"] for _, answer in answers} <= {"processed", "duplicate"}
    assert "processed" in {answer["status"] for _, answer in answers}
    assert len({answer["consultation_id"] for _, answer in answers}) == 1
    assert len({answer["patient_id"] for _, answer in answers}) == 1
    assert sum(answer["patient_created"] for _, answer in answers) == 1
    with app.app_context():
        assert count(User) == 1
        assert count(PatientProfile) == 1
        assert count(Consultation) == 1
        assert count(WebhookEvent) == BOOKINGS
        assert db.session.scalar(select(Consultation.status)) == "scheduled"
        assert set(db.session.scalars(select(WebhookEvent.status))) <= {"processed", "duplicate"}


def test_twenty_bookings_at_once_by_one_new_email_make_one_patient(app):
    documents = [
        with_uid(f"ConcurrentBooking{index:06d}", 92000 + index) for index in range(BOOKINGS)
    ]

    answers = deliver_at_once(app, documents)

    assert [code for code, _ in answers] == [200] * BOOKINGS, answers
    assert {answer["status"] for _, answer in answers} == {"processed"}
    assert len({answer["patient_id"] for _, answer in answers}) == 1
    assert len({answer["consultation_id"] for _, answer in answers}) == BOOKINGS
    assert sum(answer["patient_created"] for _, answer in answers) == 1
    with app.app_context():
        assert count(User) == 1
        assert count(PatientProfile) == 1
        assert count(Consultation) == BOOKINGS
        assert count(WebhookEvent) == BOOKINGS
        patient = db.session.scalar(select(PatientProfile))
        assert patient.email == "oliver.bennett@example.co.uk"
        assert patient.user.email == "oliver.bennett@example.co.uk"
        assert {c.cal_booking_uid for c in patient.consultations} == {
            f"ConcurrentBooking{index:06d}" for index in range(BOOKINGS)
        }
        assert set(db.session.scalars(select(WebhookEvent.status))) == {"processed"}


def test_answers_sent_while_their_booking_is_being_applied_still_reach_its_patient(
    app, monkeypatch
):
    """The delivery has looked for pending answers and not committed yet when the last step
    of the questionnaire arrives: the answers must not stay pending beside their booking."""
    from webapp.questionnaire import submissions

    probed, release = threading.Event(), threading.Event()
    look_up = submissions.pending_answers

    def pause_after_the_delivery_looked(*uids):
        found = look_up(*uids)
        if threading.current_thread() is delivery:
            probed.set()
            release.wait(timeout=JOIN_TIMEOUT)
        return found

    monkeypatch.setattr(submissions, "pending_answers", pause_after_the_delivery_looked)
    outcomes: dict[str, Any] = {}
    delivery, answers = delivery_and_answers(app, outcomes)
    delivery.start()
    assert probed.wait(timeout=30), "the delivery never looked for pending answers"
    answers.start()
    answers.join(timeout=1.0)  # were it not held back, the last step would be done by now

    assert_answers_reached_the_patient(app, outcomes, release, delivery, answers)


def test_a_delivery_arriving_while_answers_are_being_sent_gives_them_to_its_patient(
    app, monkeypatch
):
    """The last step of the questionnaire holds the booking's lock, its answers written and
    not committed, when the booking's delivery arrives: the delivery waits, and what it
    looks up afterwards must see those answers (a statement that waited for the lock
    itself would read what was committed before it, and leave them pending)."""
    from webapp.questionnaire import submissions

    written, release = threading.Event(), threading.Event()
    attach = submissions.attach_pending_answers

    def pause_with_the_answers_written(*consultations):
        attach(*consultations)
        if threading.current_thread() is answers:
            db.session.flush()
            written.set()
            release.wait(timeout=JOIN_TIMEOUT)

    monkeypatch.setattr(submissions, "attach_pending_answers", pause_with_the_answers_written)
    outcomes: dict[str, Any] = {}
    delivery, answers = delivery_and_answers(app, outcomes)
    answers.start()
    assert written.wait(timeout=30), "the answers were never written"
    delivery.start()
    delivery.join(timeout=1.0)  # were it not held back, the delivery would be done by now

    assert_answers_reached_the_patient(app, outcomes, release, answers, delivery)


def delivery_and_answers(
    app: Flask, outcomes: dict[str, Any]
) -> tuple[threading.Thread, threading.Thread]:
    """Two threads, not started: one delivers the fixture's booking, the other sends the
    questionnaire's answers from that booking's link; each leaves its answer (or the
    exception it raised) in ``outcomes`` under "delivery" or "answers"."""

    def run(name: str, action) -> None:
        try:
            outcomes[name] = action(app.test_client())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            outcomes[name] = exc

    def send_answers(client):
        return submit(client, FIXTURE_BOOKING_UID, valid_answers(**TYPED_IDENTITY))

    delivery = threading.Thread(
        target=run, args=("delivery", lambda client: deliver(client, booking_document()))
    )
    return delivery, threading.Thread(target=run, args=("answers", send_answers))


def assert_answers_reached_the_patient(
    app: Flask, outcomes: dict[str, Any], release: threading.Event, *threads: threading.Thread
) -> None:
    """Let the held-back thread go, wait for both, and check that the answers belong to
    the patient the delivery named and completed their questionnaire."""
    release.set()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes["answers"].status_code == 302, outcomes["answers"]
    patient_id = outcomes["delivery"]["patient_id"]
    with app.app_context():
        submission = db.session.scalar(select(QuestionnaireSubmission))
        assert submission.patient_profile_id == patient_id
        assert db.session.get(PatientProfile, patient_id).questionnaire_completed_at is not None
