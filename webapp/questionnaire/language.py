"""The patient's language: which one a patient-facing page speaks, and how it is chosen.

Patient-facing pages (everything under ``/questionnaire`` and ``/quote``) speak English,
German, Spanish, Turkish or Arabic (right to left). The language is, in order: the one the
patient chose with the switch (kept in a cookie), the booking's attendee locale from
Cal.com or the quote's language (set by the view through ``use_booking_locale``), the browser's
``Accept-Language``, then English. Staff pages are always English. Message catalogues
live in ``webapp/translations/<lang>/LC_MESSAGES/messages.po``; ``make install``
compiles them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_date, format_time, get_timezone_location
from flask import Flask, after_this_request, current_app, g, request, url_for
from flask_babel import Babel, get_locale, refresh
from werkzeug.wrappers import Response

from webapp.pages.filters import zone

# Each language by its own name, in the switch's order.
LANGUAGES = {
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "tr": "Türkçe",
    "ar": "العربية",
}
DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = {"ar"}
LANGUAGE_PARAMETER = "lang"
LANGUAGE_COOKIE = "patient_language"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
PATIENT_PATH = "/questionnaire"
# Every path under which pages speak to patients (the first is where the switch falls back).
PATIENT_PATHS = (PATIENT_PATH, "/quote")

babel = Babel()


def patient_path() -> str | None:
    """Which of ``PATIENT_PATHS`` the current request is under, if any."""
    for path in PATIENT_PATHS:
        if request.path == path or request.path.startswith(path + "/"):
            return path
    return None


def is_patient_page() -> bool:
    """Whether the current request is for a patient-facing page (the questionnaire's or a
    quote's)."""
    return patient_path() is not None


def supported_language(tag: str | None) -> str | None:
    """The language we speak for a locale tag such as ``de``, ``pt-BR`` or ``tr_TR``."""
    if not tag:
        return None
    language = tag.replace("_", "-").split("-")[0].strip().lower()
    return language if language in LANGUAGES else None


def chosen_language() -> str | None:
    """The language the patient chose with the switch: now (the URL), or before (cookie)."""
    return supported_language(request.args.get(LANGUAGE_PARAMETER)) or supported_language(
        request.cookies.get(LANGUAGE_COOKIE)
    )


def select_language() -> str:
    """Flask-Babel's locale selector; see the module's docstring for the order."""
    if not is_patient_page():
        return DEFAULT_LANGUAGE
    return (
        chosen_language()
        or supported_language(g.get("booking_locale"))
        or request.accept_languages.best_match(list(LANGUAGES))
        or DEFAULT_LANGUAGE
    )


def use_booking_locale(locale: str | None) -> None:
    """Let the booking's attendee locale (or the language a quote was written in) decide,
    when the patient chose no language."""
    g.booking_locale = locale
    refresh()


def current_language() -> str:
    """The language of the page being rendered (``en`` outside a request)."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def text_direction() -> str:
    """``rtl`` for a right-to-left language, else ``ltr``: the page's ``dir``."""
    return "rtl" if current_language() in RIGHT_TO_LEFT else "ltr"


def language_url(language: str) -> str:
    """This page's URL in ``language``, keeping its other query parameters (the step)."""
    arguments: dict[str, Any] = dict(request.args)
    arguments[LANGUAGE_PARAMETER] = language
    if request.endpoint is None:
        return f"{PATIENT_PATH}?{LANGUAGE_PARAMETER}={language}"
    return url_for(request.endpoint, **(request.view_args or {}), **arguments)


def local_date_and_time(value: datetime | None, zone_name: str | None) -> str:
    """``value`` as a reader of the page's language writes it, in the zone ``zone_name``,
    the zone named: "Montag, 7. Dezember 2026, 10:00 (Deutschland (Berlin))". Empty when
    either is unknown."""
    tz = zone(zone_name)
    if value is None or tz is None:
        return ""
    locale = current_language()
    try:
        local = value.astimezone(tz)
    except OverflowError:
        return ""
    day = format_date(local, "full", locale=locale)
    hour = format_time(local, "short", locale=locale)
    return f"{day}, {hour} ({get_timezone_location(tz, locale=locale)})"


def remember_choice(response: Response) -> Response:
    """After a patient page: keep the language chosen in the URL in a cookie."""
    language = supported_language(request.args.get(LANGUAGE_PARAMETER))
    if language and is_patient_page():
        _set_language_cookie(response, language)
    return response


def keep_language() -> None:
    """Keep the language of this page for the patient's next pages (which may know no
    booking, such as the thank-you page), unless the patient chose one already."""
    if chosen_language() is not None:
        return
    language = current_language()

    @after_this_request
    def set_cookie(response: Response) -> Response:
        _set_language_cookie(response, language)
        return response


def _set_language_cookie(response: Response, language: str) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        path=patient_path() or PATIENT_PATH,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["APP_ENV"] == "production",
    )


def register(app: Flask) -> None:
    """Attach Flask-Babel and the language helpers to ``app``."""
    babel.init_app(app, locale_selector=select_language)
    app.after_request(remember_choice)
    app.jinja_env.globals.update(
        patient_page=is_patient_page,
        languages=LANGUAGES,
        current_language=current_language,
        text_direction=text_direction,
        language_url=language_url,
    )
    app.jinja_env.filters["local_date_and_time"] = local_date_and_time
