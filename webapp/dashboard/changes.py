"""How a change reaches every open dashboard.

A dashboard polls for consultations changed since its cursor (``queries.change_cursor``),
and every write to a consultation moves its ``updated_at``. A change made to a patient
alone moves it through ``consultations_changed``.
"""

from __future__ import annotations

from sqlalchemy import update

from webapp.extensions import db
from webapp.models import Consultation, utcnow


def consultations_changed(*patient_ids: int) -> None:
    """Mark every consultation of these patients changed now, in the session's transaction,
    so that a change to a patient alone (answers, a duplicate flag cleared) shows on every
    open dashboard."""
    db.session.execute(
        update(Consultation)
        .where(Consultation.patient_profile_id.in_(patient_ids))
        .values(updated_at=utcnow())
    )
