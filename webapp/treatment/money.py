"""Money held exactly: ``Decimal`` in the app, integers of the currency's smallest unit in
the database, shown with Babel in the reader's language."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

CURRENCIES = ("EUR", "USD", "GBP", "TRY", "CHF")
# No amount of ours comes near: ten billion in the currency's unit (cents: 10^12).
MAX_AMOUNT = Decimal(10) ** 10


class MoneyError(ValueError):
    """An amount that is not a finite number, is negative, or has more decimals than the
    currency has."""


def to_minor(amount: Decimal | int | str, currency: str) -> int:
    """``amount`` in the currency's smallest unit (cents for EUR).

    Raises ``MoneyError`` for a negative, non-finite or absurd amount (over
    ``MAX_AMOUNT``), or one finer than the currency's smallest unit (1.005 EUR).
    """
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise MoneyError("not an amount") from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise MoneyError("not an amount")
    scaled = value.scaleb(get_currency_precision(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError("finer than the currency's smallest unit")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """An amount in the smallest unit as a ``Decimal`` of the currency (1250 -> 12.50)."""
    precision = get_currency_precision(currency)
    return Decimal(minor).scaleb(-precision).quantize(Decimal(1).scaleb(-precision))


def percent_of(minor: int, percent: int) -> int:
    """``percent`` of an amount, rounded half up to the currency's smallest unit."""
    return int((Decimal(minor) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_money(minor: int, currency: str, locale: str) -> str:
    """An amount as the reader's language writes that currency (``1.250,00 €`` in German)."""
    return format_currency(from_minor(minor, currency), currency, locale=locale)
