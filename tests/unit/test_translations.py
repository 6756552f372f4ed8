"""Every patient-facing message is translated into every language the pages offer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from webapp.questionnaire.language import DEFAULT_LANGUAGE, LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "webapp" / "translations"
TRANSLATED = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory):
    """The messages the code and templates use today, extracted as the Makefile does."""
    pot = tmp_path_factory.mktemp("messages") / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "--quiet",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "lazy_gettext",
            "-k",
            "_l",
            "-k",
            "lazy_pgettext:1c,2",
            "--no-location",
            "-o",
            str(pot),
            str(ROOT),
        ]
    )
    with pot.open("rb") as handle:
        return read_po(handle)


def test_the_extraction_finds_the_questionnaires_messages(template):
    ids = {message.id for message in template if message.id}
    assert len(ids) > 100
    assert {"Do you have any allergies?", "Send my answers", "Hello %(name)s,"} <= ids


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_has_a_translation_and_none_is_fuzzy(template, language):
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)

    problems = []
    for message in template:
        if not message.id:
            continue
        translated = catalogue.get(message.id, context=message.context)
        if translated is None or not translated.string:
            problems.append(f"missing: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif sorted(PLACEHOLDER.findall(message.id)) != sorted(
            PLACEHOLDER.findall(translated.string)
        ):
            problems.append(f"placeholders differ: {message.id!r}")
    assert not problems, "\n".join(problems)
