"""What patients answered on their quotes, read for the consultant: the answers to one
quote, and which patients answered since a dashboard opened (their rows show New)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Quote, QuoteResponse


def quote_answers(quote: Quote) -> list[QuoteResponse]:
    """Every answer to any version of ``quote``'s number, oldest first."""
    return list(
        db.session.scalars(
            select(QuoteResponse)
            .join(Quote, QuoteResponse.quote_id == Quote.id)
            .where(Quote.quote_number == quote.quote_number)
            .order_by(QuoteResponse.created_at, QuoteResponse.id)
        )
    )


def answered_since(patient_ids: list[int], since: datetime) -> dict[int, int]:
    """Of these patients, those who answered a quote after ``since``, each with the id of
    their newest answer (which names the news, so a row seen before is new again)."""
    if not patient_ids:
        return {}
    rows = db.session.execute(
        select(Quote.patient_profile_id, func.max(QuoteResponse.id))
        .join(QuoteResponse, QuoteResponse.quote_id == Quote.id)
        .where(Quote.patient_profile_id.in_(patient_ids), QuoteResponse.created_at > since)
        .group_by(Quote.patient_profile_id)
    )
    return dict(rows.all())
