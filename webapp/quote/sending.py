"""The ways a consultant sends the patient their quote's link: copy it, WhatsApp with a
prefilled message, or a prefilled email, each in the language the quote is written in."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote as url_quote

from flask import current_app
from flask_babel import force_locale, gettext

from webapp.models import Quote
from webapp.patients.summary import phone_links
from webapp.treatment.links import quote_url


@dataclass(frozen=True)
class SendOptions:
    """The patient's link and the prefilled messages that carry it; a channel is ``None``
    when the patient has no WhatsApp-able phone or no email."""

    url: str
    message: str
    whatsapp: str | None
    mailto: str | None


def send_options(quote: Quote) -> SendOptions:
    """The link to ``quote`` and the WhatsApp and email messages that send it, written in
    the quote's language; ``quote.patient`` must be loaded."""
    url = quote_url(quote)
    clinic = current_app.config["CLINIC_NAME"] or ""
    with force_locale(quote.language):
        message = gettext(
            "Hello, here is your quote %(number)s from %(clinic)s, with your treatment plan, "
            "the price and the terms. Open it to read it and to accept it, decline it or ask "
            "us a question: %(url)s",
            number=quote.quote_number,
            clinic=clinic,
            url=url,
        )
        subject = gettext(
            "Your quote %(number)s from %(clinic)s", number=quote.quote_number, clinic=clinic
        )
    patient = quote.patient
    phone = phone_links(patient.phone)
    whatsapp = f"{phone.whatsapp}?text={url_quote(message)}" if phone and phone.whatsapp else None
    mailto = (
        f"mailto:{url_quote(patient.email, safe='@')}"
        f"?subject={url_quote(subject)}&body={url_quote(message)}"
        if patient.email
        else None
    )
    return SendOptions(url, message, whatsapp, mailto)
