"""The patient's link to their quote: ``/quote/<token>``.

The token is signed with ``SECRET_KEY`` and a salt of its own, and has no time limit: the
page checks the quote's validity itself. It names the quote's number, so a link to a
version that was replaced leads to the newest, and the quote's random ``link_key``, so
``forget_quote_links`` (on erasure) makes every link to a patient's quotes useless.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import PatientProfile, Quote

QUOTE_LINK_SALT = "quote-link"


class QuoteLinkError(LookupError):
    """The token was not signed by us, or names no quote sent to a patient (unknown,
    tampered, or forgotten on erasure)."""


def new_link_key() -> str:
    """A random key for a new quote's links (its later versions share it)."""
    return secrets.token_hex(16)


@lru_cache(maxsize=4)
def _serializer_for(secret_key: str | bytes) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=QUOTE_LINK_SALT)


def _serializer() -> URLSafeSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"])


def quote_token(quote: Quote) -> str:
    """The signed token of the patient's link to ``quote`` (any version: all share it)."""
    return _serializer().dumps({"q": quote.quote_number, "k": quote.link_key})


def quote_url(quote: Quote) -> str:
    """The patient's full link to ``quote`` (the patient page's route, ``webapp.quote``);
    every version of its number shares it."""
    return url_for("quote.show", token=quote_token(quote), _external=True)


def quote_of_token(token: str) -> Quote:
    """The newest sent version of the quote the token names.

    Raises ``QuoteLinkError`` when the signature is wrong or the token names no sent quote
    (a draft is not the patient's to see). Expiry is not checked here: see
    ``webapp.treatment.quotes.is_expired``.
    """
    try:
        data = _serializer().loads(token)
    except BadSignature:
        raise QuoteLinkError("the link was not signed by us") from None
    number = data.get("q") if isinstance(data, dict) else None
    key = data.get("k") if isinstance(data, dict) else None
    if not isinstance(number, str) or not isinstance(key, str):
        raise QuoteLinkError("the link names no quote")
    quote = db.session.scalar(
        select(Quote)
        .where(Quote.quote_number == number, Quote.link_key == key, Quote.sent_at.is_not(None))
        .order_by(Quote.version.desc())
        .limit(1)
    )
    if quote is None:
        raise QuoteLinkError("the link names no quote of ours")
    return quote


def forget_quote_links(patient: PatientProfile) -> None:
    """Make every link to the patient's quotes lead nowhere (for erasure): each quote gets
    a new random key, which no link sent holds. Flushes; the caller commits."""
    numbers = select(Quote.quote_number).where(Quote.patient_profile_id == patient.id).distinct()
    for (number,) in db.session.execute(numbers).all():
        db.session.execute(
            update(Quote).where(Quote.quote_number == number).values(link_key=new_link_key())
        )
    db.session.flush()
