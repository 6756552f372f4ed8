"""What every column of every table holds, said once: personal data of a patient, which
erasure empties, or not, with the reason it stays.

``webapp.privacy.erasure`` empties the ``Personal`` columns of a patient's rows to their
``erased`` value (or deletes the rows, or writes what ``how`` says); the test
``tests/integration/test_erasure.py`` walks ``db.metadata`` and fails on any column not
classified here, so a new column holding a patient's data cannot be added without saying
how erasure removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# What an erased text reads, and what an erased Cal.com delivery body holds instead.
ERASED_TEXT = "[erased]"
ERASED_BODY = b'{"erased": true}'
# A seat holder's consultation is keyed by their email (``seat_key``), unique per booking;
# once erased it is keyed by this prefix and the consultation's own id.
ERASED_SEAT_PREFIX = "erased-"


@dataclass(frozen=True)
class Personal:
    """Identifies or describes a patient: erasure sets it to ``erased``, unless ``how``
    says it is done another way (rows deleted, a value derived from what remains)."""

    erased: Any = None
    how: str = ""


@dataclass(frozen=True)
class Kept:
    """Holds nothing that identifies a patient, or must stay for the clinic's books: ``why``."""

    why: str


NULL = Personal()
DELETED = Personal(how="the rows are deleted")


def _kept(why: str, *columns: str) -> dict[str, Kept]:
    return dict.fromkeys(columns, Kept(why))


ROW_KEYS = "ids and times of the clinic's own records"
BOOKS = "the clinic's statistics: when, what kind and how it ended"
STAFF = "a consultant's or the system's, never a patient's"
DELIVERY = "the delivery's envelope: ids, times and what became of it"
TREATMENT = (
    "the clinic's treatment statistics: a grade, a technique and numbers, no one's once erased"
)
QUOTED = (
    "what the clinic offered and on which terms (its prices and its texts, from /settings): "
    "the books"
)

COLUMNS: dict[str, dict[str, Personal | Kept]] = {
    "users": {
        "email": NULL,
        "phone_number": NULL,
        "name": NULL,
        **_kept(ROW_KEYS, "id", "created_at"),
    },
    "patient_profiles": {
        "name": NULL,
        "email": NULL,
        "phone": NULL,
        "location": NULL,
        "country": NULL,
        "city": NULL,
        "timezone": NULL,
        "age_range": NULL,
        "gender": NULL,
        "questionnaire_answers": NULL,
        "search_text": Personal(how="derived again from the emptied columns"),
        "possible_duplicate_of_id": Personal(
            how="cleared, and cleared on other records flagged against this one"
        ),
        **_kept(
            ROW_KEYS,
            "id",
            "user_id",
            "merged_into_id",
            "questionnaire_completed_at",
            "latest_booking_at",
            "erased_at",
            "stage",
            "stage_changed_at",
            "quote_valid_until",
            "created_at",
            "updated_at",
        ),
    },
    "consultations": {
        "seat_key": Personal(how=f"'{ERASED_SEAT_PREFIX}<consultation id>' for a seat holder"),
        "attendee_email": NULL,
        "attendee_locale": NULL,
        "attendee_phone": NULL,
        "attendee_timezone": NULL,
        "meeting_url": NULL,
        # Cal.com's location of a phone consultation is the patient's number.
        "meeting_location": NULL,
        "booking_answers": NULL,
        "cancellation_reason": NULL,
        # No-show flags are kept by attendee email.
        "attendance": NULL,
        # Cal.com's default title names the booker: only the event type's part stays.
        "title": Personal(how="cut to the event type (the part before ' between ')"),
        **_kept(
            BOOKS,
            "id",
            "patient_profile_id",
            "cal_booking_uid",
            "cal_booking_id",
            "organizer_name",
            "organizer_email",
            "status",
            "status_changed_at",
            "start_time",
            "end_time",
            "rescheduled_to_id",
            "host_no_show_at",
            "reschedule_requested_at",
            "created_at",
            "updated_at",
        ),
    },
    "webhook_events": {
        "body": Personal(ERASED_BODY),
        **_kept(
            DELIVERY,
            "id",
            "received_at",
            "trigger_event",
            "booking_uid",
            "sent_at",
            "status",
            "body_sha256",
            "consultation_id",
            "patient_profile_id",
        ),
        "error": Kept("the app's own message, which names ids and never quotes the body"),
    },
    "questionnaire_submissions": {
        "typed_name": NULL,
        "typed_email": NULL,
        "typed_phone": NULL,
        "answers": Personal({}),
        **_kept(
            ROW_KEYS + "; when they answered counts in the insights",
            "id",
            "patient_profile_id",
            "consultation_id",
            "cal_booking_uid",
            "submitted_at",
        ),
        **_kept(
            "the proof that processing was consented to, which names no one",
            "consent_given_at",
            "consent_wording_version",
        ),
    },
    "questionnaire_drafts": {
        "answers": DELETED,
        **_kept(
            ROW_KEYS + " (their rows are deleted with the answers)",
            "id",
            "browser_key_hash",
            "link_key",
            "steps_done",
            "created_at",
            "updated_at",
        ),
    },
    "patient_photos": {
        "content": DELETED,
        "thumbnail": DELETED,
        **_kept(
            ROW_KEYS + " (their rows are deleted with the photos)",
            "id",
            "patient_profile_id",
            "questionnaire_submission_id",
            "draft_id",
            "cal_booking_uid",
            "view",
            "width",
            "height",
            "created_at",
        ),
    },
    "patient_notes": {
        "body": Personal(ERASED_TEXT),
        **_kept(ROW_KEYS, "id", "patient_profile_id", "consultant_id", "created_at", "replaces_id"),
    },
    "patient_merges": {
        # Every column of both records as they were before the merge.
        "snapshot": Personal({"erased": True}),
        **_kept(
            ROW_KEYS,
            "id",
            "survivor_id",
            "merged_id",
            "consultant_id",
            "merged_at",
            "undone_at",
            "undone_by_id",
        ),
    },
    "assessments": {
        "unsuitable_reason": Personal(ERASED_TEXT),
        "recommendations": Personal(ERASED_TEXT),
        **_kept(
            TREATMENT,
            "pattern",
            "donor_quality",
            "donor_density",
            "grafts_min",
            "grafts_max",
            "technique",
            "suitability",
        ),
        **_kept(
            ROW_KEYS,
            "id",
            "patient_profile_id",
            "consultation_id",
            "consultant_id",
            "created_at",
            "replaces_id",
        ),
    },
    "quotes": {
        "note": Personal(ERASED_TEXT),
        "link_key": Personal(how="a new random key (forget_quote_links): no link sent works"),
        **_kept(
            QUOTED,
            "currency",
            "language",
            "valid_until",
            "deposit_minor",
            "balance_terms",
            "inclusions",
            "exclusions",
            "terms",
        ),
        **_kept(
            ROW_KEYS,
            "id",
            "quote_number",
            "version",
            "replaces_id",
            "patient_profile_id",
            "assessment_id",
            "consultant_id",
            "created_at",
            "sent_at",
            "viewed_at",
        ),
    },
    "quote_lines": _kept(
        QUOTED, "id", "quote_id", "position", "description", "grafts", "price_minor"
    ),
    "quote_responses": {
        "typed_name": NULL,
        "text": NULL,
        **_kept(
            "that and when a quote was answered, and which version: the clinic's books",
            "id",
            "quote_id",
            "kind",
            "quote_version",
            "terms_accepted",
            "created_at",
        ),
    },
    "deposit_payments": _kept(
        BOOKS,
        "id",
        "quote_id",
        "amount_minor",
        "currency",
        "received_on",
        "consultant_id",
        "recorded_at",
    ),  # fmt: skip
    "surgery_dates": _kept(BOOKS, "id", "quote_id", "surgery_on", "consultant_id", "recorded_at"),
    "patient_stages": _kept(BOOKS, "id", "patient_profile_id", "stage", "at"),
    "clinic_settings": _kept(
        "the clinic's own prices and texts, never a patient's",
        "id",
        "currency",
        "procedure_price_minor",
        "price_per_graft_minor",
        "deposit_minor",
        "deposit_percent",
        "validity_days",
        "balance_terms",
        "inclusions",
        "exclusions",
        "terms",
        "updated_at",
        "updated_by_id",
    ),
    "audit_events": _kept(
        "append-only, and holds ids only (webapp.audit.trail.record)",
        "id",
        "at",
        "consultant_id",
        "action",
        "patient_profile_id",
        "details",
    ),
    "duplicate_dismissals": _kept(
        ROW_KEYS, "id", "first_id", "second_id", "consultant_id", "created_at"
    ),
    "reconcile_runs": _kept(
        "a run's counts and booking uids, never a patient's details",
        "id",
        "started_at",
        "finished_at",
        "since",
        "dry_run",
        "status",
        "error",
        "pages",
        "seen",
        "created",
        "updated",
        "missing_uids",
        "outdated_uids",
    ),
    "consultants": _kept(
        STAFF,
        "id",
        "email",
        "name",
        "password_hash",
        "timezone",
        "role",
        "session_version",
        "created_at",
        "active",
        "last_sign_in_at",
        "totp_secret",
        "two_factor_enabled_at",
        "totp_last_step",
    ),
    "consultant_sessions": _kept(
        STAFF,
        "id",
        "consultant_id",
        "key_hash",
        "created_at",
        "last_active_at",
        "device",
        "address",
    ),
    "recovery_codes": _kept(STAFF, "id", "consultant_id", "code_hash", "created_at"),
    "consultant_invites": _kept(
        STAFF,
        "id",
        "email",
        "role",
        "token_hash",
        "created_at",
        "expires_at",
        "invited_by_id",
        "used_at",
        "consultant_id",
    ),
}


def personal_columns(table: str) -> dict[str, Personal]:
    """The columns of ``table`` that hold a patient's personal data."""
    return {
        name: kind for name, kind in COLUMNS.get(table, {}).items() if isinstance(kind, Personal)
    }


def erased_values(table: str) -> dict[str, Any]:
    """What erasure writes into ``table``'s personal columns that have a fixed erased value
    (those whose ``how`` names another way are left to their own code)."""
    return {name: kind.erased for name, kind in personal_columns(table).items() if not kind.how}
