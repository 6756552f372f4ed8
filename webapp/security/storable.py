"""Text the clinic can store, and one app-wide check that refuses request input with any other.

PostgreSQL's text and JSON types cannot hold a NUL character, and no database driver can
encode a lone UTF-16 surrogate, so such text must be refused before it reaches a query.
People never type other control characters either: a form field or query parameter
that carries one is refused as well (tab, newline and carriage return are fine).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, abort, request
from werkzeug.datastructures import MultiDict

NUL = re.compile("\x00")
SURROGATE = re.compile("[\ud800-\udfff]")
UNTYPEABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# Endpoints that read their body raw: parsing it as a form here would consume it.
RAW_BODY_ENDPOINTS = {"cal.receive"}
UNTYPEABLE_INPUT = (
    "The request contains a character that cannot be stored (such as a NUL byte or "
    "another control character). Remove it and try again."
)


def unstorable_character(text: str) -> str | None:
    """What in ``text`` no database column can hold, in words, or ``None`` when all is fine."""
    if NUL.search(text):
        return "a NUL character (\\u0000)"
    if SURROGATE.search(text):
        return "an unpaired surrogate (\\ud800-\\udfff)"
    return None


def is_typeable(text: str) -> bool:
    """Whether ``text`` is something a person could type: storable, no control characters
    other than tab, newline and carriage return."""
    return UNTYPEABLE.search(text) is None


def refuse_untypeable_input() -> None:
    """Before each request: answer 400 when a query parameter, form field or URL part (name
    or value) holds text that cannot be stored, so no view ever passes it to the database.
    """
    texts: list[Iterable[str]] = [_items(request.args), (request.view_args or {}).values()]
    if request.endpoint not in RAW_BODY_ENDPOINTS:
        texts.append(_items(request.form))
    for group in texts:
        if not all(is_typeable(text) for text in group if isinstance(text, str)):
            abort(400, UNTYPEABLE_INPUT)


def _items(multidict: MultiDict[str, str]) -> Iterable[str]:
    for key, values in multidict.lists():
        yield key
        yield from values


def register(app: Flask) -> None:
    """Check every request's input in ``app``."""
    app.before_request(refuse_untypeable_input)
