"""All tables. Times are stored in UTC; emails trimmed and lower-cased; phones in E.164."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
    true,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from webapp.extensions import db


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back as an aware UTC datetime.

    SQLite keeps no time zone, so values are normalised on the way in and out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON a row may lack (answers not given yet, no attendance recorded): Python's None is
# stored as SQL NULL, never as the JSON text "null", whether the column is left unset or
# bound to None.
OPTIONAL_JSON = JSON(none_as_null=True)


class ConsultationStatus(enum.StrEnum):
    """Where a consultation stands; stored as these exact lower-case strings."""

    SCHEDULED = "scheduled"
    PENDING = "pending"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class EventStatus(enum.StrEnum):
    """What became of a stored webhook delivery."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    FAILED = "failed"
    REJECTED = "rejected"


class User(db.Model):
    """A person who can be identified by email or phone: today, a patient."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone_number: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    profile: Mapped[PatientProfile | None] = relationship(back_populates="user")


class PatientProfile(db.Model):
    """The clinic's record of one patient; every consultation hangs off one."""

    __tablename__ = "patient_profiles"
    # The dashboard's search looks for a fragment anywhere in ``search_text``; on
    # PostgreSQL a trigram index answers that without reading every patient (SQLite's
    # index is a virtual table of its own: ``webapp.dashboard.search``).
    __table_args__ = (
        Index(
            "ix_patient_profiles_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            info={"dialect": "postgresql"},
        ).ddl_if(dialect="postgresql"),
        # The insights group bookings by their patient's country: read off this index,
        # without visiting the wide rows.
        Index("ix_patient_profiles_id_country", "id", "country"),
        # The dashboard's stage filter and counts: a stage is an equality, "expired" a
        # range of ``quote_valid_until`` under quote_sent and quote_viewed.
        Index("ix_patient_profiles_stage_valid_until", "stage", "quote_valid_until", "id"),
        # A tab filtered by stage walks its consultations in time order and checks each one's
        # patient: read off this index, without visiting the wide rows (docs/decisions.md 15).
        Index("ix_patient_profiles_id_stage", "id", "stage", "quote_valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(64), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    # The country and city the patient named, from the booking form or the questionnaire.
    country: Mapped[str | None] = mapped_column(String(100), index=True)
    city: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64))
    possible_duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_profiles.id"), index=True
    )
    # Set when a consultant merged this record into another (the survivor); such a record
    # is kept for the record but never matched, listed or merged again.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_profiles.id"), index=True
    )
    age_range: Mapped[str | None] = mapped_column(String(20))
    gender: Mapped[str | None] = mapped_column(String(30))
    # Name, email, phone digits, city and country folded for the dashboard's search, kept
    # in step with them on every write (``webapp.dashboard.search``).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The latest answer to every questionnaire question; history is in the submissions.
    questionnaire_answers: Mapped[dict[str, Any] | None] = mapped_column(OPTIONAL_JSON)
    questionnaire_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the patient's latest consultation starts (one of unknown time counts from when it
    # was booked); NULL while they have none. The database keeps it, by triggers on
    # ``consultations`` (``webapp.dashboard.search``), whatever writes them; the app never
    # sets it. The dashboard's search lists the patients it finds in this order.
    latest_booking_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Where the patient stands after their consultation (``PatientStage``), kept by
    # ``webapp.treatment.stage`` alone from the facts (consultations, assessments, quotes,
    # answers, deposits); NULL before any. While a quote waits for an answer, the day it is
    # valid until stands beside it, so that "expired" is a range on the stage's index.
    stage: Mapped[str | None] = mapped_column(String(20))
    stage_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    quote_valid_until: Mapped[date | None] = mapped_column(Date)
    # When the patient's personal data was erased (``webapp.privacy.erasure``): the record
    # stays for the clinic's books as "Erased patient #<id>", every link to it stops
    # working and no booking is ever matched to it again.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="profile")
    possible_duplicate_of: Mapped[PatientProfile | None] = relationship(
        remote_side=[id], foreign_keys=[possible_duplicate_of_id]
    )
    merged_into: Mapped[PatientProfile | None] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )
    consultations: Mapped[list[Consultation]] = relationship(
        back_populates="patient", order_by="Consultation.start_time"
    )


class Consultation(db.Model):
    """One Cal.com booking of a video consultation."""

    __tablename__ = "consultations"
    # The dashboard's tabs filter on status and a time range together. Upcoming and Past
    # each have an index of only their own rows in start-time order, so a page reads the
    # index rather than sorting the tab, and the tab's count reads nothing else. Each entry
    # carries the patient, so a tab filtered by something of the patient's reads no
    # consultation row either.
    __table_args__ = (
        Index("ix_consultations_status_start_time", "status", "start_time"),
        Index(
            "ix_consultations_live_start_time",
            "start_time",
            "id",
            "patient_profile_id",
            postgresql_where=text("status IN ('scheduled', 'pending')"),
            sqlite_where=text("status IN ('scheduled', 'pending')"),
        ),
        Index(
            "ix_consultations_held_start_time",
            "start_time",
            "id",
            "patient_profile_id",
            postgresql_where=text("status NOT IN ('cancelled', 'rejected', 'rescheduled')"),
            sqlite_where=text("status NOT IN ('cancelled', 'rejected', 'rescheduled')"),
        ),
        # A patient's consultations in start-time order: their page, the trigger that keeps
        # their latest booking, a search filtered by days.
        Index("ix_consultations_patient_profile_id_start_time", "patient_profile_id", "start_time"),
        # The consultants the bookings name, each with the names Cal.com gave them: the
        # dashboard's consultant filter reads them off this index alone.
        Index("ix_consultations_organizer_email_name", "organizer_email", "organizer_name"),
        # The insights count a period's bookings many ways: every column they read, so that
        # each chart is an index-only scan of the period (make bench: docs/decisions.md).
        Index(
            "ix_consultations_insights",
            "start_time",
            "status",
            "organizer_email",
            "patient_profile_id",
            "created_at",
            "attendee_locale",
        ),
        # One consultation per booking, or per seat holder of a seated booking.
        UniqueConstraint("cal_booking_uid", "seat_key", name="uq_consultations_booking_seat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_profile_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"))
    cal_booking_uid: Mapped[str] = mapped_column(String(100))
    # "" for an ordinary booking; the seat holder's attendee email in a seated event.
    seat_key: Mapped[str] = mapped_column(String(320), default="", server_default="")
    # Whom Cal.com lists as this booking's attendee (its invented sms.cal.com email too).
    attendee_email: Mapped[str | None] = mapped_column(String(320))
    attendee_locale: Mapped[str | None] = mapped_column(String(20))
    meeting_url: Mapped[str | None] = mapped_column(String(500))
    # Cal.com's name for where the meeting happens (``integrations:daily``, an address...).
    meeting_location: Mapped[str | None] = mapped_column(String(300))
    # The consultant who hosts the booking, as Cal.com names them.
    organizer_name: Mapped[str | None] = mapped_column(String(200))
    organizer_email: Mapped[str | None] = mapped_column(String(320))
    cal_booking_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=ConsultationStatus.SCHEDULED)
    # When the event that set ``status`` happened, so an older event never wins.
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    title: Mapped[str | None] = mapped_column(String(300))
    attendee_phone: Mapped[str | None] = mapped_column(String(64))
    attendee_timezone: Mapped[str | None] = mapped_column(String(64))
    booking_answers: Mapped[dict[str, Any] | None] = mapped_column(OPTIONAL_JSON)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    rescheduled_to_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    # No-show flags Cal.com sent, by attendee email (guests too): {"no_show", "at"}.
    attendance: Mapped[dict[str, Any] | None] = mapped_column(OPTIONAL_JSON)
    # When Cal Video reported that the consultant did not join.
    host_no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When Cal.com cancelled the booking asking the patient to choose a new time; until
    # the patient's new booking replaces it, it reads "Reschedule requested".
    reschedule_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, index=True
    )

    patient: Mapped[PatientProfile] = relationship(back_populates="consultations")
    rescheduled_to: Mapped[Consultation | None] = relationship(
        remote_side=[id], foreign_keys=[rescheduled_to_id]
    )


class WebhookEvent(db.Model):
    """One authentic Cal.com delivery, kept whatever became of it."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_booking_uid_trigger", "booking_uid", "trigger_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    trigger_event: Mapped[str | None] = mapped_column(String(64))
    booking_uid: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"), index=True)
    patient_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_profiles.id"), index=True
    )


class QuestionnaireSubmission(db.Model):
    """One sending of the medical questionnaire, kept so that later changes show.

    Answers sent from the link of a booking whose Cal.com delivery has not arrived are
    *pending*: no patient (``patient_profile_id`` is NULL) until that delivery names one.
    """

    __tablename__ = "questionnaire_submissions"
    # A patient's submissions in order: their history, and when they first answered (the
    # insights read that off the index alone).
    __table_args__ = (
        Index(
            "ix_questionnaire_submissions_patient_profile_id_submitted_at",
            "patient_profile_id",
            "submitted_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL while pending: the booking's patient is known only once Cal.com sends it.
    patient_profile_id: Mapped[int | None] = mapped_column(ForeignKey("patient_profiles.id"))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    # The booking the patient came from, even before its webhook arrived.
    cal_booking_uid: Mapped[str | None] = mapped_column(String(100), index=True)
    # Who the person answering before the booking arrived said they were, normalised;
    # shown to consultants, never used to find or change a patient.
    typed_name: Mapped[str | None] = mapped_column(String(200))
    typed_email: Mapped[str | None] = mapped_column(String(320))
    typed_phone: Mapped[str | None] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The patient's consent to processing their health data: when they gave it and which
    # wording they saw (``CONSENT_WORDING_VERSION``); NULL on submissions from before
    # consent was recorded.
    consent_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_wording_version: Mapped[str | None] = mapped_column(String(20))

    patient: Mapped[PatientProfile | None] = relationship()


class ConsultantRole(enum.StrEnum):
    """What a consultant may do: an admin does all a consultant does and manages the team."""

    ADMIN = "admin"
    CONSULTANT = "consultant"


class Consultant(UserMixin, db.Model):
    """A clinic employee who logs in to the dashboard."""

    __tablename__ = "consultants"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Istanbul")
    role: Mapped[str] = mapped_column(
        String(20), default=ConsultantRole.CONSULTANT, server_default=ConsultantRole.CONSULTANT
    )
    # Kept, unread, for hosts still running the release before server-side sessions
    # (``ConsultantSession``) while a rolling upgrade runs; a later release drops it.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A deactivated consultant cannot sign in and has no session; a fresh invite brings
    # them back. Their notes and audit rows keep their name.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The TOTP key (base32). Set while enrolling; two-factor is on once a code confirmed it.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    two_factor_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The time step of the last code accepted: a code of that step or an earlier one is
    # refused, so a code works once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def is_admin(self) -> bool:
        """Whether this consultant manages the team as well."""
        return self.role == ConsultantRole.ADMIN

    @property
    def is_active(self) -> bool:
        """Flask-Login's question: whether this consultant may be signed in."""
        return self.active

    @property
    def has_two_factor(self) -> bool:
        """Whether signing in asks this consultant for a code after the password."""
        return self.two_factor_enabled_at is not None


class ReconcileRunStatus(enum.StrEnum):
    """Where a reconciliation run with Cal.com's API stands."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


class ReconcileRun(db.Model):
    """One ``flask cal reconcile``: when it ran, what it saw and what it changed."""

    __tablename__ = "reconcile_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bookings changed at or after this time were asked for.
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=ReconcileRunStatus.RUNNING)
    error: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    # Booking uids we lacked, and uids we held out of date (ids only, never patient data).
    missing_uids: Mapped[list[str]] = mapped_column(JSON, default=list)
    outdated_uids: Mapped[list[str]] = mapped_column(JSON, default=list)


class AuditEvent(db.Model):
    """Who did what, when: append-only (the app never updates or deletes a row)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # NULL when the system acted.
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("consultants.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    patient_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_profiles.id"), index=True
    )
    details: Mapped[dict[str, Any] | None] = mapped_column(OPTIONAL_JSON)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_append_only(_mapper: Any, _connection: Any, _audit: AuditEvent) -> None:
    raise RuntimeError("audit_events is append-only")


class QuestionnaireDraft(db.Model):
    """What one browser has typed into one questionnaire link so far, step by step.

    Found only by the random key in that browser's cookie (stored here as its SHA-256)
    together with the link, so knowing a booking uid never reaches someone's draft.
    Deleted when the questionnaire is sent, or after ``DRAFT_MAX_AGE`` untouched.
    """

    __tablename__ = "questionnaire_drafts"
    __table_args__ = (
        UniqueConstraint(
            "browser_key_hash", "link_key", name="uq_questionnaire_drafts_browser_link"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    browser_key_hash: Mapped[str] = mapped_column(String(64))
    # "booking:<uid>" or "patient:<id>" (a signed link): which questionnaire it is for.
    link_key: Mapped[str] = mapped_column(String(120))
    # The answers as the browser posted them: text as typed, choices as values.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # How many steps have been completed: the step to resume at.
    steps_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, index=True
    )


class PatientPhoto(db.Model):
    """A photo of the patient's hair sent with the questionnaire: shrunk, upright, no EXIF.

    While the patient is still answering it belongs to their draft; once sent, to the
    submission, and to the patient as soon as the booking names one (pending answers'
    photos wait with them).
    """

    __tablename__ = "patient_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_profiles.id"), index=True
    )
    questionnaire_submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("questionnaire_submissions.id"), index=True
    )
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("questionnaire_drafts.id", ondelete="CASCADE"), index=True
    )
    cal_booking_uid: Mapped[str | None] = mapped_column(String(100), index=True)
    # front, top, crown, left or right
    view: Mapped[str] = mapped_column(String(20))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_audit_changes(state: ORMExecuteState) -> None:
    """Bulk ``update(AuditEvent)`` / ``delete(AuditEvent)`` skip the per-row guard above;
    refuse them too."""
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ is AuditEvent:
        raise RuntimeError("audit_events is append-only")


class PatientNote(db.Model):
    """A consultant's note on a patient. Never edited in place: an edit is a new row that
    ``replaces`` the earlier one, which stays (and shows as an earlier version)."""

    __tablename__ = "patient_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_profile_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"), index=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The earlier version this one replaces; a note is current while nothing replaces it.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("patient_notes.id"), unique=True)

    consultant: Mapped[Consultant] = relationship()


class PatientMerge(db.Model):
    """A consultant's merge of one patient record into another, and what undoing it needs.

    ``snapshot`` holds every column of both profiles and both users as they were before,
    and the ids of every row that moved (by table), so an undo puts all of it back.
    """

    __tablename__ = "patient_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"), index=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("consultants.id"))

    consultant: Mapped[Consultant] = relationship(foreign_keys=[consultant_id])


class DuplicateDismissal(db.Model):
    """Two patients a consultant said are different people: never flagged again.

    The pair is ordered (``first_id`` < ``second_id``) so it is stored once.
    """

    __tablename__ = "duplicate_dismissals"
    __table_args__ = (UniqueConstraint("first_id", "second_id", name="uq_duplicate_dismissals"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"))
    second_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"), index=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsultantSession(db.Model):
    """One sign-in of a consultant on one device, named by the browser's session cookie.

    The cookie holds a random key; the row holds its SHA-256, so the table alone lets no
    one in. Ending a session deletes its row: the cookie then names nothing.
    """

    __tablename__ = "consultant_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The last request the consultant made (a poll is not one), to the minute.
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "Firefox 133 on Windows", from the User-Agent at sign-in.
    device: Mapped[str] = mapped_column(String(100), default="", server_default="")
    address: Mapped[str | None] = mapped_column(String(45))

    consultant: Mapped[Consultant] = relationship()


class RecoveryCode(db.Model):
    """One of a consultant's one-time recovery codes, stored as its SHA-256; used, it goes."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        UniqueConstraint("consultant_id", "code_hash", name="uq_recovery_codes_consultant_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsultantInvite(db.Model):
    """A one-time link an admin made for someone to join the team (or come back to it).

    The link carries a random token; the row holds its SHA-256. It is used up when the
    invitee completes it (``used_at``), not when it is opened.
    """

    __tablename__ = "consultant_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # NULL when made from a shell (``flask consultants activate``).
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("consultants.id"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who joined (or came back) through it.
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("consultants.id"))


class PatientStage(enum.StrEnum):
    """Where a patient stands after the consultation, furthest last; stored as these
    strings. ``expired`` is never stored: it is a waiting quote whose day has passed."""

    CONSULTED = "consulted"
    ASSESSED = "assessed"
    QUOTE_SENT = "quote_sent"
    QUOTE_VIEWED = "quote_viewed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    DEPOSIT_RECEIVED = "deposit_received"
    SURGERY_SCHEDULED = "surgery_scheduled"


class Assessment(db.Model):
    """A consultant's assessment of a patient's hair loss after a consultation.

    Never edited in place: an edit is a new row that ``replaces`` the earlier one, which
    stays (as notes do). Graft counts are a range; the pattern, donor area, technique and
    suitability are the keys of ``webapp.treatment.assessment``'s choices.
    """

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_profile_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"), index=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"), index=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), unique=True)
    # A Norwood-Hamilton or Ludwig grade, or "not_assessed".
    pattern: Mapped[str] = mapped_column(String(20))
    donor_quality: Mapped[str] = mapped_column(String(20))
    # Follicular units per cm2, when measured.
    donor_density: Mapped[int | None] = mapped_column(Integer)
    grafts_min: Mapped[int | None] = mapped_column(Integer)
    grafts_max: Mapped[int | None] = mapped_column(Integer)
    technique: Mapped[str] = mapped_column(String(20))
    suitability: Mapped[str] = mapped_column(String(30))
    # Why the patient is not suitable (required then).
    unsuitable_reason: Mapped[str | None] = mapped_column(Text)
    recommendations: Mapped[str] = mapped_column(Text, default="", server_default="")

    consultant: Mapped[Consultant] = relationship()


class Quote(db.Model):
    """One version of a quote for a patient's treatment.

    Versions of one quote share its ``quote_number`` (``Q-2026-000123``), numbered from 1;
    a later version ``replaces`` the one before. A version once sent is never changed.
    Money is in the currency's smallest unit (cents), never a float. The texts (inclusions,
    terms...) are copied from the clinic's settings in the patient's ``language`` when the
    quote is made, so later changes to the settings leave it as the patient saw it.
    ``link_key`` is random, shared by every version and part of the patient's signed link:
    replacing it (on erasure) makes every link to the quote useless.
    """

    __tablename__ = "quotes"
    __table_args__ = (
        UniqueConstraint("quote_number", "version", name="uq_quotes_number_version"),
        Index("ix_quotes_patient_profile_id_created_at", "patient_profile_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_number: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id"), unique=True)
    link_key: Mapped[str] = mapped_column(String(32))
    patient_profile_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), index=True)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    # ISO 4217, e.g. EUR; every amount of the quote is in it.
    currency: Mapped[str] = mapped_column(String(3))
    # The language the patient reads it in (en, de, es, tr, ar).
    language: Mapped[str] = mapped_column(String(5))
    valid_until: Mapped[date] = mapped_column(Date)
    deposit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_terms: Mapped[str] = mapped_column(Text, default="", server_default="")
    inclusions: Mapped[str] = mapped_column(Text, default="", server_default="")
    exclusions: Mapped[str] = mapped_column(Text, default="", server_default="")
    terms: Mapped[str] = mapped_column(Text, default="", server_default="")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the consultant sent it (it is a draft until then, and only then may change).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the patient first opened this version's page.
    viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[PatientProfile] = relationship()
    consultant: Mapped[Consultant] = relationship()
    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote", order_by="QuoteLine.position", cascade="all, delete-orphan"
    )
    responses: Mapped[list[QuoteResponse]] = relationship(
        back_populates="quote", order_by="QuoteResponse.created_at"
    )

    @property
    def total_minor(self) -> int:
        """The sum of the lines' prices, in the currency's smallest unit."""
        return sum(line.price_minor for line in self.lines)


class QuoteLine(db.Model):
    """One line of a quote: what is done (the procedure), how many grafts, at what price."""

    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(300))
    grafts: Mapped[int | None] = mapped_column(Integer)
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    quote: Mapped[Quote] = relationship(back_populates="lines")


class QuoteResponseKind(enum.StrEnum):
    """What a patient answered on their quote's page."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    QUESTION = "question"


class QuoteResponse(db.Model):
    """A patient's answer on a quote's page: an acceptance (the name they typed, the terms
    ticked), a decline with an optional reason, or a question. ``quote_version`` is the
    version they saw; the row points at that version."""

    __tablename__ = "quote_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    quote_version: Mapped[int] = mapped_column(Integer)
    typed_name: Mapped[str | None] = mapped_column(String(200))
    terms_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The decline's reason or the question.
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    quote: Mapped[Quote] = relationship(back_populates="responses")


class DepositPayment(db.Model):
    """A deposit received for an accepted quote, as a consultant recorded it."""

    __tablename__ = "deposit_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date] = mapped_column(Date)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurgeryDate(db.Model):
    """The day of surgery agreed for an accepted quote; a later row moves it."""

    __tablename__ = "surgery_dates"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    surgery_on: Mapped[date] = mapped_column(Date)
    consultant_id: Mapped[int] = mapped_column(ForeignKey("consultants.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PatientStageChange(db.Model):
    """A patient's stage history: the stage they reached, and when."""

    __tablename__ = "patient_stages"
    __table_args__ = (Index("ix_patient_stages_patient_profile_id_at", "patient_profile_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_profile_id: Mapped[int] = mapped_column(ForeignKey("patient_profiles.id"))
    stage: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClinicSettings(db.Model):
    """What every quote of the clinic holds unless the consultant changes it: one row.

    The texts are per language (``{"en": ..., "de": ...}``); a language without its own
    falls back to English (``webapp.treatment.settings``).
    """

    __tablename__ = "clinic_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR", server_default="EUR")
    # The procedure's price: a fixed part and a price per graft (smallest unit).
    procedure_price_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    price_per_graft_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The deposit: a fixed amount, or a percent of the total when ``deposit_percent`` is set.
    deposit_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    deposit_percent: Mapped[int | None] = mapped_column(Integer)
    validity_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    balance_terms: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    inclusions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    exclusions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    terms: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("consultants.id"))
