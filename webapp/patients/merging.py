"""Possible duplicates resolved: merge two records of one person, undo a merge, or say
two records are different people.

A merge moves every row that points at the merged-away record (any table with a foreign
key to ``patient_profiles``, never audit rows) to the survivor, gives the survivor the
values the consultant chose, and keeps the other record, marked ``merged_into_id``. Its
``PatientMerge.snapshot`` lets ``undo_merge`` restore exactly what was. Functions here
flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, or_, select, update

from webapp.audit import trail
from webapp.dashboard.changes import consultations_changed
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Consultant,
    DuplicateDismissal,
    PatientMerge,
    PatientProfile,
    User,
    UTCDateTime,
    utcnow,
)
from webapp.treatment.stage import refresh_stage

# The fields a consultant chooses between, in the order the form shows them. Each names
# the profile columns that go together ("questionnaire" is the latest answers and all
# that came with them).
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "email": ("email",),
    "phone": ("phone",),
    "location": ("location",),
    "country": ("country",),
    "city": ("city",),
    "timezone": ("timezone",),
    "questionnaire": ("questionnaire_answers", "questionnaire_completed_at", "age_range", "gender"),
}
# Tables whose rows stay where they are: the audit trail, and the records of merges and
# dismissals themselves.
NEVER_MOVED = {
    AuditEvent.__tablename__,
    PatientMerge.__tablename__,
    DuplicateDismissal.__tablename__,
    PatientProfile.__tablename__,
}


class MergeError(ValueError):
    """The merge, undo or dismissal asked for cannot be done; the message says why."""


def differing_fields(first: PatientProfile, second: PatientProfile) -> list[str]:
    """The ``MERGE_FIELDS`` whose values differ between the two records."""
    return [
        field
        for field, columns in MERGE_FIELDS.items()
        if any(getattr(first, c) != getattr(second, c) for c in columns)
    ]


def default_choices(survivor: PatientProfile, merged: PatientProfile) -> dict[str, str]:
    """For each differing field, whose value the merge form offers first: ``"survivor"``,
    or ``"merged"`` when the survivor has none (an empty value never wins by default)."""
    return {
        field: "merged"
        if all(getattr(survivor, c) in (None, "", {}) for c in MERGE_FIELDS[field])
        else "survivor"
        for field in differing_fields(survivor, merged)
    }


def merge_patients(
    survivor: PatientProfile,
    merged: PatientProfile,
    take_from_merged: Iterable[str],
    consultant: Consultant,
) -> PatientMerge:
    """Merge ``merged`` into ``survivor`` and record ``patient.merged``.

    ``take_from_merged`` names the ``MERGE_FIELDS`` whose value comes from ``merged``; the
    others keep the survivor's. The merged-away user's email is cleared (users' emails
    are unique, and the survivor may take it); it comes back on undo. Raises
    ``MergeError`` for the same record twice, an unknown field, or a record already
    merged away.
    """
    chosen = set(take_from_merged)
    if unknown := chosen - set(MERGE_FIELDS):
        raise MergeError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    # Two consultants resolving the same pair at once: the second waits, then sees the
    # first's merge and refuses.
    for patient in sorted((survivor, merged), key=lambda p: p.id):
        db.session.refresh(patient, with_for_update=True)
    _check_pair(survivor, merged)
    db.session.flush()
    snapshot: dict[str, Any] = {
        "profiles": {str(p.id): _row(_table(PatientProfile), p.id) for p in (survivor, merged)},
        "users": {str(p.user_id): _row(_table(User), p.user_id) for p in (survivor, merged)},
        "moved": {},
        "flags_repointed": [],
    }
    for column in _references_to_patients():
        key = f"{column.table.name}.{column.name}"
        snapshot["moved"][key] = _move(column, merged.id, survivor.id)
    flagged_others = db.session.scalars(
        select(PatientProfile.id).where(
            PatientProfile.possible_duplicate_of_id == merged.id,
            PatientProfile.id.not_in([survivor.id, merged.id]),
        )
    ).all()
    if flagged_others:
        db.session.execute(
            update(_table(PatientProfile))
            .where(_table(PatientProfile).c.id.in_(flagged_others))
            .values(possible_duplicate_of_id=survivor.id)
        )
    snapshot["flags_repointed"] = list(flagged_others)
    db.session.expire_all()

    kept = snapshot["profiles"][str(merged.id)]
    for field in chosen:
        for column in MERGE_FIELDS[field]:
            setattr(survivor, column, _value(_table(PatientProfile).c[column], kept[column]))
    if survivor.possible_duplicate_of_id == merged.id:
        survivor.possible_duplicate_of_id = None
    merged.merged_into_id = survivor.id
    merged.possible_duplicate_of_id = None
    merged.user.email = None
    db.session.flush()  # frees the email before the survivor's user may take it
    survivor.user.email = survivor.email
    survivor.user.phone_number = survivor.phone
    survivor.user.name = survivor.name
    merge = PatientMerge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        consultant_id=consultant.id,
        merged_at=utcnow(),
        snapshot=snapshot,
    )
    db.session.add(merge)
    db.session.flush()
    for patient in (survivor, merged):
        refresh_stage(patient)
    trail.record(
        "patient.merged",
        consultant,
        survivor,
        {
            "merge_id": merge.id,
            "survivor_id": survivor.id,
            "merged_id": merged.id,
            "fields_from_merged": sorted(chosen),
        },
    )
    return merge


def undo_merge(merge: PatientMerge, consultant: Consultant) -> None:
    """Put both records back exactly as they were before ``merge`` and record
    ``patient.merge_undone``: every column of both profiles and both users, and every
    moved row back on the merged-away record. Rows that reached the survivor after the
    merge stay with it. Raises ``MergeError`` when the merge was undone already, a later
    merge of either record is still in place, or another user took one of the emails."""
    db.session.refresh(merge, with_for_update=True)
    if merge.undone_at is not None:
        raise MergeError("This merge was undone already.")
    later = db.session.scalar(
        select(PatientMerge.id).where(
            PatientMerge.id > merge.id,
            PatientMerge.undone_at.is_(None),
            or_(
                PatientMerge.survivor_id.in_([merge.survivor_id, merge.merged_id]),
                PatientMerge.merged_id.in_([merge.survivor_id, merge.merged_id]),
            ),
        )
    )
    if later is not None:
        raise MergeError("A later merge of these records must be undone first.")
    snapshot = merge.snapshot
    if snapshot.get("erased"):
        raise MergeError("The patient was erased since: this merge cannot be undone.")
    users = _table(User)
    user_ids = [int(i) for i in snapshot["users"]]
    emails = [row["email"] for row in snapshot["users"].values() if row["email"]]
    taken = db.session.scalar(
        select(users.c.id).where(users.c.email.in_(emails), users.c.id.not_in(user_ids))
    )
    if taken is not None:
        raise MergeError("Another patient now has one of these emails; the merge stays.")
    db.session.flush()
    for key, ids in snapshot["moved"].items():
        table_name, column_name = key.split(".")
        table = db.metadata.tables[table_name]
        if ids:
            db.session.execute(
                update(table)
                .where(_primary_key(table).in_(ids))
                .values({column_name: merge.merged_id})
            )
    profiles = _table(PatientProfile)
    if snapshot["flags_repointed"]:
        db.session.execute(
            update(profiles)
            .where(profiles.c.id.in_(snapshot["flags_repointed"]))
            .values(possible_duplicate_of_id=merge.merged_id)
        )
    db.session.execute(update(users).where(users.c.id.in_(user_ids)).values(email=None))
    for table, rows in ((users, snapshot["users"]), (profiles, snapshot["profiles"])):
        for row_id, row in rows.items():
            values = {name: _value(table.c[name], value) for name, value in row.items()}
            db.session.execute(update(table).where(table.c.id == int(row_id)).values(values))
    db.session.expire_all()
    merge.undone_at = utcnow()
    merge.undone_by_id = consultant.id
    db.session.flush()
    for patient_id in (merge.survivor_id, merge.merged_id):
        refresh_stage(db.session.get(PatientProfile, patient_id))
    trail.record(
        "patient.merge_undone",
        consultant,
        db.session.get(PatientProfile, merge.survivor_id),
        {"merge_id": merge.id, "survivor_id": merge.survivor_id, "merged_id": merge.merged_id},
    )


def dismiss_duplicate(
    patient: PatientProfile, other: PatientProfile, consultant: Consultant
) -> DuplicateDismissal:
    """Record that ``patient`` and ``other`` are different people: the flag between them
    clears and matching never flags the pair again (``matching.pair_dismissed``). Records
    ``patient.duplicate_dismissed``. Raises ``MergeError`` for the same record twice."""
    if patient.id == other.id:
        raise MergeError("A record cannot be a duplicate of itself.")
    for one, two in ((patient, other), (other, patient)):
        if one.possible_duplicate_of_id == two.id:
            one.possible_duplicate_of_id = None
    consultations_changed(patient.id, other.id)  # their rows lose "Possible duplicate"
    low, high = sorted((patient.id, other.id))
    dismissal = db.session.scalar(
        select(DuplicateDismissal).where(
            DuplicateDismissal.first_id == low, DuplicateDismissal.second_id == high
        )
    )
    if dismissal is None:
        dismissal = DuplicateDismissal(first_id=low, second_id=high, consultant_id=consultant.id)
        db.session.add(dismissal)
    db.session.flush()
    trail.record("patient.duplicate_dismissed", consultant, patient, {"other_id": other.id})
    return dismissal


def merges_of(patient: PatientProfile) -> list[PatientMerge]:
    """Merges in which ``patient`` survived or was merged away, newest first."""
    return list(
        db.session.scalars(
            select(PatientMerge)
            .where(
                or_(PatientMerge.survivor_id == patient.id, PatientMerge.merged_id == patient.id)
            )
            .order_by(PatientMerge.id.desc())
        )
    )


def _check_pair(survivor: PatientProfile, merged: PatientProfile) -> None:
    if survivor.id == merged.id:
        raise MergeError("A record cannot be merged into itself.")
    if survivor.merged_into_id is not None or merged.merged_into_id is not None:
        raise MergeError("One of these records was merged already.")
    if survivor.erased_at is not None or merged.erased_at is not None:
        raise MergeError("An erased patient's record cannot be merged.")


def _references_to_patients() -> list[Column[Any]]:
    """Every column, outside ``NEVER_MOVED``, that points at a patient profile."""
    return [
        foreign_key.parent
        for table in db.metadata.sorted_tables
        if table.name not in NEVER_MOVED
        for foreign_key in table.foreign_keys
        if foreign_key.column.table.name == PatientProfile.__tablename__
    ]


def _move(column: Column[Any], from_id: int, to_id: int) -> list[int]:
    """Point every row of ``column``'s table at ``to_id`` instead of ``from_id``; returns
    the moved rows' ids."""
    table = column.table
    key = _primary_key(table)
    ids = list(db.session.scalars(select(key).where(column == from_id).order_by(key)))
    if ids:
        db.session.execute(update(table).where(key.in_(ids)).values({column.name: to_id}))
    return ids


def _primary_key(table: Any) -> Column[Any]:
    [key] = table.primary_key.columns
    return key


def _table(model: Any) -> Table:
    return model.__table__


def _row(table: Table, row_id: int) -> dict[str, Any]:
    """Every column of one row, as JSON can hold it (times as ISO-8601)."""
    row = db.session.execute(select(table).where(table.c.id == row_id)).mappings().one()
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in row.items()
    }


def _value(column: Column[Any], stored: Any) -> Any:
    """A snapshot's value as the column takes it (ISO-8601 back to a time)."""
    if stored is not None and isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(stored)
    return stored
