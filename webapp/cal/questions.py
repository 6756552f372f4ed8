"""What a booking-form question means, recognised by the words of its identifier.

Cal.com builds a custom question's identifier from whatever the organizer typed, turning
every character that is not a letter or a digit into ``-`` and keeping the case: "Country of
residence" arrives as ``Country-of-residence``, "WhatsApp number" as ``WhatsApp-number``.
So a question is recognised by its words, never by one spelling: case, dashes, underscores
and camelCase do not matter. This module is the one place that knows those words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# A question has a meaning when its identifier holds every word of one of the meaning's
# word groups. Location groups run from the most precise place to the least.
PHONE_WORDS: tuple[tuple[str, ...], ...] = (
    ("phone",),
    ("mobile",),
    ("whatsapp",),
    ("telephone",),
    ("tel",),
    ("cell",),
    ("gsm",),
)
LOCATION_WORDS: tuple[tuple[str, ...], ...] = (
    ("address",),
    ("city",),
    ("town",),
    ("where", "from"),
    ("where", "live"),
    ("country",),
    ("residence",),
)
COUNTRY_WORDS: tuple[tuple[str, ...], ...] = (("country",), ("nationality",))
CITY_WORDS: tuple[tuple[str, ...], ...] = (("city",), ("town",))
# Cal.com's own fields: what they mean is fixed, whatever their identifier's words say.
SYSTEM_FIELDS = frozenset(
    {
        "name",
        "email",
        "attendeePhoneNumber",
        "smsReminderNumber",
        "location",
        "guests",
        "notes",
        "title",
        "rescheduleReason",
    }
)

_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")
_CAMEL_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@lru_cache(maxsize=1024)
def words(identifier: str) -> frozenset[str]:
    """The lower-cased words of an identifier, split at separators and at camelCase humps.

    A part is kept whole as well as split, so ``WhatsApp`` gives ``whatsapp`` too. A
    booking form's few identifiers come with every delivery, so their words are kept.
    """
    found: set[str] = set()
    for part in _SEPARATORS.split(identifier):
        if part:
            found.add(part.lower())
            found.update(word.lower() for word in _CAMEL_WORDS.findall(part))
    return frozenset(found)


def means(identifier: str, groups: Iterable[tuple[str, ...]]) -> bool:
    """Whether a custom question's identifier holds every word of one of ``groups``."""
    return rank(identifier, tuple(groups)) is not None


def rank(identifier: str, groups: tuple[tuple[str, ...], ...]) -> int | None:
    """The position of the first group a custom question's identifier matches, or ``None``
    (always ``None`` for Cal.com's own fields)."""
    if identifier in SYSTEM_FIELDS:
        return None
    found = words(identifier)
    for position, group in enumerate(groups):
        if all(word in found for word in group):
            return position
    return None
