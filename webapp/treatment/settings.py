"""The clinic's defaults for every quote: one row of ``clinic_settings``, edited by admins.

The texts (inclusions, exclusions, balance terms, cancellation and date-change terms) are
written per patient language; a language without its own reads the English one.
"""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ClinicSettings
from webapp.questionnaire.language import DEFAULT_LANGUAGE

TEXT_FIELDS = ("inclusions", "exclusions", "balance_terms", "terms")


def clinic_settings() -> ClinicSettings:
    """The clinic's settings; the first call makes the row with the defaults (flushed; the
    caller commits)."""
    settings = db.session.scalar(select(ClinicSettings).order_by(ClinicSettings.id).limit(1))
    if settings is None:
        settings = ClinicSettings(balance_terms={}, inclusions={}, exclusions={}, terms={})
        db.session.add(settings)
        db.session.flush()
    return settings


def text_for(settings: ClinicSettings, field: str, language: str) -> str:
    """One of the settings' texts (``TEXT_FIELDS``) in ``language``, else in English, else
    empty."""
    texts: dict[str, str] = getattr(settings, field) or {}
    return texts.get(language) or texts.get(DEFAULT_LANGUAGE) or ""
