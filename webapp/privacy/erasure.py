"""Erasing a patient: their personal data goes, the clinic's books stay.

``erase_patient`` empties every column ``personal_data`` classifies as personal, in every
row about the patient (and every record merged into them: the same person), one plain
function per kind of data. What stays: each consultation's time, status and event type, the
audit trail (ids only), and the record itself, shown as "Erased patient #<id>". From then
on no booking is matched to the record, a later delivery or reconcile changes only its
bookings' times and statuses (``webapp.cal.events``), and every link to it stops working
(``erased_at`` is set). Functions here flush; the request or CLI command commits, so an erasure
is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update

from webapp.audit import trail
from webapp.database.locks import lock_booking
from webapp.extensions import db
from webapp.models import (
    Assessment,
    Consultant,
    Consultation,
    PatientMerge,
    PatientNote,
    PatientPhoto,
    PatientProfile,
    QuestionnaireDraft,
    QuestionnaireSubmission,
    Quote,
    QuoteResponse,
    WebhookEvent,
)
from webapp.privacy.personal_data import (
    ERASED_BODY,
    ERASED_SEAT_PREFIX,
    erased_values,
)
from webapp.privacy.retention import kept_until
from webapp.questionnaire.links import title_without_names
from webapp.treatment.links import forget_quote_links


class ErasureRefusedError(Exception):
    """The patient cannot be erased now; the message says why, in the clinic's words."""


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed, counted (ids only: this goes into the audit trail)."""

    patient_ids: list[int]
    consultations: int
    deliveries: int
    submissions: int
    photos: int
    drafts: int
    notes: int
    assessments: int
    quotes: int

    def as_details(self) -> dict[str, object]:
        """The audit event's details."""
        return {
            "merged_records": self.patient_ids[1:],
            "consultations": self.consultations,
            "deliveries": self.deliveries,
            "submissions": self.submissions,
            "photos": self.photos,
            "drafts": self.drafts,
            "notes": self.notes,
            "assessments": self.assessments,
            "quotes": self.quotes,
        }


def is_erased_booking(booking_uid: str) -> bool:
    """Whether a booking uid belongs to an erased patient (any seat of it)."""
    return (
        db.session.scalar(
            select(Consultation.id)
            .join(Consultation.patient)
            .where(
                Consultation.cal_booking_uid == booking_uid, PatientProfile.erased_at.is_not(None)
            )
            .limit(1)
        )
        is not None
    )


def patient_label(patient: PatientProfile) -> str:
    """How the clinic's pages name a patient: their name, or "Erased patient #<id>" with
    the date of erasure."""
    if patient.erased_at is not None:
        return f"Erased patient #{patient.id} (erased {patient.erased_at:%d %b %Y})"
    return patient.name or "Name not given"


def erasure_refusal(patient: PatientProfile, now: datetime) -> str | None:
    """Why ``patient`` cannot be erased now, or ``None`` when they can."""
    if patient.merged_into_id is not None:
        return (
            f"This record was merged into patient #{patient.merged_into_id}: erase that "
            "record, which erases this one with it."
        )
    until = kept_until(patient, now)
    if until is not None:
        return (
            f"The law requires the clinic to keep this patient's medical record until "
            f"{until:%d %b %Y} (MEDICAL_RECORDS_MIN_YEARS after their last consultation)."
        )
    return None


def erase_patient(
    patient: PatientProfile, consultant: Consultant | None, now: datetime
) -> Erasure | None:
    """Erase ``patient``'s personal data and that of every record merged into them, and
    record ``patient.erased`` (by ``consultant``, ``None`` for a shell command) with counts
    only. Returns ``None`` when the patient was erased already (nothing changes).

    Raises ``ErasureRefusedError`` when the record was merged away or the law keeps it.
    """
    db.session.refresh(patient, with_for_update=True)
    if patient.erased_at is not None:
        return None
    refusal = erasure_refusal(patient, now)
    if refusal is not None:
        raise ErasureRefusedError(refusal)
    family = merged_family(patient)
    ids = [record.id for record in family]
    consultations = list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.patient_profile_id.in_(ids))
            .order_by(Consultation.id)
            .with_for_update()
        )
    )
    uids = sorted({c.cal_booking_uid for c in consultations})
    lock_booking(*uids)  # a delivery of these bookings waits, then sees the erasure
    # A seated booking's uid is shared by every seat holder: answers sent from it are no
    # one's, so only the patient's own bookings' answers are theirs.
    own_uids = sorted({c.cal_booking_uid for c in consultations if not c.seat_key})
    names = [word for record in family for word in (record.name or "").split()]

    submission_ids = erase_questionnaire_answers(ids, own_uids)
    photos = erase_photos(ids, submission_ids, own_uids)
    drafts = erase_drafts(ids, own_uids)
    erasure = Erasure(
        patient_ids=ids,
        consultations=erase_consultations(consultations, names),
        deliveries=erase_deliveries(ids, uids),
        submissions=len(submission_ids),
        photos=photos,
        drafts=drafts,
        notes=erase_notes(ids),
        assessments=erase_assessments(ids),
        quotes=erase_quotes(family),
    )
    erase_merge_snapshots(ids)
    for record in family:
        erase_contact(record, now)
    trail.record("patient.erased", consultant, patient, erasure.as_details())
    return erasure


def merged_family(patient: PatientProfile) -> list[PatientProfile]:
    """``patient`` first, then every record merged into them, directly or through others."""
    family, frontier = [patient], [patient.id]
    while frontier:
        merged = list(
            db.session.scalars(
                select(PatientProfile)
                .where(PatientProfile.merged_into_id.in_(frontier))
                .order_by(PatientProfile.id)
            )
        )
        merged = [record for record in merged if record not in family]
        family += merged
        frontier = [record.id for record in merged]
    return family


def erase_contact(patient: PatientProfile, now: datetime) -> None:
    """Empty the profile's and its user's personal columns and mark the record erased; a
    record flagged as a possible duplicate of it is no longer."""
    for table, record in (("users", patient.user), ("patient_profiles", patient)):
        for column, value in erased_values(table).items():
            setattr(record, column, value)
    patient.possible_duplicate_of_id = None
    patient.erased_at = now
    db.session.execute(
        update(PatientProfile)
        .where(PatientProfile.possible_duplicate_of_id == patient.id)
        .values(possible_duplicate_of_id=None)
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()  # search_text follows the emptied columns (webapp.dashboard.search)


def erase_consultations(consultations: list[Consultation], names: list[str]) -> int:
    """Empty each consultation's attendee details; keep its time, status and event type
    (``title`` cut to the part that names no one in ``names``). Returns how many."""
    for consultation in consultations:
        for column, value in erased_values("consultations").items():
            setattr(consultation, column, value)
        consultation.title = title_without_names(consultation.title, names)
        if consultation.seat_key:
            consultation.seat_key = f"{ERASED_SEAT_PREFIX}{consultation.id}"
    db.session.flush()
    return len(consultations)


def erase_deliveries(patient_ids: list[int], uids: list[str]) -> int:
    """Replace the body of every stored Cal.com delivery about these patients or bookings
    by a marker; its status, times and hash stay. A seated booking's deliveries go too,
    though they may name other seat holders, whose own records keep their details.
    Returns how many bodies were replaced."""
    conditions = [WebhookEvent.patient_profile_id.in_(patient_ids)]
    if uids:
        conditions.append(WebhookEvent.booking_uid.in_(uids))
    result = db.session.execute(
        update(WebhookEvent)
        .where(or_(*conditions), WebhookEvent.body != ERASED_BODY)
        .values(erased_values("webhook_events"))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def erase_questionnaire_answers(patient_ids: list[int], uids: list[str]) -> list[int]:
    """Empty the answers and typed details of the patients' submissions, and of answers
    still pending on their bookings. Returns the submissions' ids."""
    submissions = list(
        db.session.scalars(
            select(QuestionnaireSubmission).where(
                or_(
                    QuestionnaireSubmission.patient_profile_id.in_(patient_ids),
                    QuestionnaireSubmission.patient_profile_id.is_(None)
                    & QuestionnaireSubmission.cal_booking_uid.in_(uids),
                )
            )
        )
    )
    for submission in submissions:
        for column, value in erased_values("questionnaire_submissions").items():
            setattr(submission, column, value)
    db.session.flush()
    return [submission.id for submission in submissions]


def erase_photos(patient_ids: list[int], submission_ids: list[int], uids: list[str]) -> int:
    """Delete the patients' photos, rows and bytes, those sent with their submissions and
    those waiting on their bookings. Returns how many."""
    result = db.session.execute(
        delete(PatientPhoto)
        .where(
            or_(
                PatientPhoto.patient_profile_id.in_(patient_ids),
                PatientPhoto.questionnaire_submission_id.in_(submission_ids),
                PatientPhoto.cal_booking_uid.in_(uids),
            )
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def erase_drafts(patient_ids: list[int], uids: list[str]) -> int:
    """Delete what any browser typed into the patients' questionnaire links, with its
    photos. Returns how many drafts."""
    keys = [f"patient:{i}" for i in patient_ids] + [f"booking:{uid}" for uid in uids]
    drafts = select(QuestionnaireDraft.id).where(QuestionnaireDraft.link_key.in_(keys))
    db.session.execute(
        delete(PatientPhoto)
        .where(PatientPhoto.draft_id.in_(drafts))
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(
        delete(QuestionnaireDraft)
        .where(QuestionnaireDraft.link_key.in_(keys))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def erase_notes(patient_ids: list[int]) -> int:
    """Replace the text of every note (every version) on the patients by a marker; who
    wrote it and when stay. Returns how many."""
    result = db.session.execute(
        update(PatientNote)
        .where(PatientNote.patient_profile_id.in_(patient_ids))
        .values(erased_values("patient_notes"))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def erase_assessments(patient_ids: list[int]) -> int:
    """Replace the free texts of every assessment (every version) of the patients by a
    marker; the grade, technique and numbers stay for the clinic's statistics. Returns how
    many."""
    result = db.session.execute(
        update(Assessment)
        .where(Assessment.patient_profile_id.in_(patient_ids))
        .values(erased_values("assessments"))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def erase_quotes(family: list[PatientProfile]) -> int:
    """Make every link to the patients' quotes lead nowhere, replace each quote's note by a
    marker and empty what the patient typed in their answers (the name signed, a reason, a
    question); prices, terms and when each was sent and answered stay. Returns how many
    quote versions."""
    for record in family:
        forget_quote_links(record)
    ids = [record.id for record in family]
    quotes = select(Quote.id).where(Quote.patient_profile_id.in_(ids))
    db.session.execute(
        update(QuoteResponse)
        .where(QuoteResponse.quote_id.in_(quotes))
        .values(erased_values("quote_responses"))
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(
        update(Quote)
        .where(Quote.patient_profile_id.in_(ids))
        .values(erased_values("quotes"))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def erase_merge_snapshots(patient_ids: list[int]) -> None:
    """Empty the snapshots merges of these patients kept for an undo (every column of both
    records): such a merge can no longer be undone."""
    db.session.execute(
        update(PatientMerge)
        .where(
            or_(PatientMerge.survivor_id.in_(patient_ids), PatientMerge.merged_id.in_(patient_ids))
        )
        .values(erased_values("patient_merges"))
        .execution_options(synchronize_session=False)
    )
