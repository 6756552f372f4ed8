"""The clinic's defaults for every quote: one row of ``clinic_settings``, edited by admins.

The texts (inclusions, exclusions, balance terms, cancellation and date-change terms) are
written per patient language; a language without its own reads the English one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.audit.trail import record
from webapp.extensions import db
from webapp.models import ClinicSettings, Consultant
from webapp.questionnaire.language import DEFAULT_LANGUAGE, LANGUAGES
from webapp.treatment.money import to_minor

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


def save_settings(settings: ClinicSettings, form: Any, consultant: Consultant) -> None:
    """Store what the settings form (``forms.SettingsForm``, validated) holds and audit
    ``settings.changed``. Flushes; the caller commits."""
    currency = form.currency.data
    settings.currency = currency
    settings.procedure_price_minor = to_minor(form.procedure_price.data, currency)
    settings.price_per_graft_minor = to_minor(form.price_per_graft.data, currency)
    settings.deposit_minor = to_minor(form.deposit_amount.data, currency)
    settings.deposit_percent = (
        form.deposit_percent.data if form.deposit_kind.data == "percent" else None
    )
    settings.validity_days = form.validity_days.data
    for field in TEXT_FIELDS:
        setattr(
            settings,
            field,
            {
                language: text
                for language in LANGUAGES
                if (text := (getattr(form, f"texts_{language}")[field].data or "").strip())
            },
        )
    settings.updated_by_id = consultant.id
    db.session.flush()
    record("settings.changed", consultant, None, {"settings_id": settings.id})
