"""The dashboard's search: what it looks in, the indexes that answer it, and its order.

A search compares folded text (``fold``) kept in each profile's ``search_text``, so SQLite
and PostgreSQL find the same patients; PostgreSQL answers from a trigram index, SQLite from
an FTS5 table kept by triggers (``SQLITE_SEARCH_DDL``). It lists patients latest booking
first, from ``latest_booking_at``, which triggers keep (``LATEST_BOOKING_DDL``). The
migrations that build these import them from here.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import DDL, ColumnElement, column, event, or_, select, table, true

from webapp.extensions import db
from webapp.models import Consultation, PatientProfile
from webapp.patients.contact import read_phone

# Letters that Unicode does not decompose into a base letter and a mark, read as their
# nearest ASCII spelling (Turkish dotless i, Scandinavian o and ae, Polish l, German sharp s).
EXTRA_FOLDS = str.maketrans(
    {"ı": "i", "ø": "o", "æ": "ae", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "œ": "oe", "ß": "ss"}
)


def fold(text: str | None) -> str:
    """``text`` as the search compares it: accents dropped, case folded, a few letters
    spelled in ASCII, so that "muller" finds Müller, "ozge" Özge and "istanbul" İstanbul."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    bare = "".join(character for character in decomposed if not unicodedata.combining(character))
    return bare.translate(EXTRA_FOLDS)


def search_text_for(
    name: str | None,
    email: str | None,
    phone: str | None,
    city: str | None = None,
    country: str | None = None,
) -> str:
    """What the dashboard's search looks in, one line each: the name, the email, the phone's
    digits, the city and the country, folded by ``fold`` (in Python, since SQLite's
    ``lower`` knows ASCII letters only)."""
    digits = "".join(character for character in phone or "" if character.isdigit())
    return "\n".join([fold(name), fold(email), digits, fold(city), fold(country)])


@event.listens_for(PatientProfile, "before_insert")
@event.listens_for(PatientProfile, "before_update")
def _refresh_search_text(_mapper: Any, _connection: Any, patient: PatientProfile) -> None:
    """Keep ``search_text`` in step with what it is made of, however the profile changes.
    An erased patient is found as "erased patient <id>", the words their rows show."""
    name = patient.name if patient.erased_at is None else f"erased patient {patient.id}"
    patient.search_text = search_text_for(
        name, patient.email, patient.phone, patient.city, patient.country
    )


# The trigram index needs its extension; ``create_all`` (the tests' schema) adds it first.
event.listen(
    PatientProfile.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)

# SQLite has no trigram index; its FTS5 full-text engine has a trigram tokenizer, whose
# index answers a phrase query (a substring, three characters or more) on a virtual table.
# That table reads ``search_text`` from ``patient_profiles`` (external content) and the
# triggers keep its index in step with every insert, update and delete, ORM or Core.
# A batch migration that rebuilds ``patient_profiles`` on SQLite drops the triggers: it
# must create them again (``SQLITE_SEARCH_DDL``).
SQLITE_SEARCH = "patient_profiles_search"
SQLITE_SEARCH_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS patient_profiles_search USING fts5(search_text,"
    " content='patient_profiles', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS patient_profiles_search_insert"
    " AFTER INSERT ON patient_profiles BEGIN"
    " INSERT INTO patient_profiles_search(rowid, search_text) VALUES (new.id, new.search_text);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS patient_profiles_search_delete"
    " AFTER DELETE ON patient_profiles BEGIN"
    " INSERT INTO patient_profiles_search(patient_profiles_search, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS patient_profiles_search_update"
    " AFTER UPDATE OF search_text ON patient_profiles BEGIN"
    " INSERT INTO patient_profiles_search(patient_profiles_search, rowid, search_text)"
    " VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO patient_profiles_search(rowid, search_text) VALUES (new.id, new.search_text);"
    " END",
    # Index the rows already there (none in a new database).
    "INSERT INTO patient_profiles_search(patient_profiles_search) VALUES ('rebuild')",
)
for _statement in SQLITE_SEARCH_DDL:
    event.listen(
        PatientProfile.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite")
    )
event.listen(
    PatientProfile.__table__,
    "before_drop",
    DDL(f"DROP TABLE IF EXISTS {SQLITE_SEARCH}").execute_if(dialect="sqlite"),
)

# SQLite's search index, as queries name it: a trigram index, so fragments shorter than
# three characters are looked for by a scan.
_sqlite_search = table(SQLITE_SEARCH, column("rowid"), column("search_text"))
TRIGRAM = 3


def search_condition(query: str) -> ColumnElement[bool]:
    """Patients whose name, email, city or country contains ``query`` (accents and case
    folded by ``fold``) or whose phone has its digits. A phone written the local way
    ("07700 900123") is read in ``PHONE_DEFAULT_REGION`` and found by its E.164 digits."""
    folded = fold(query).strip()
    if not folded:
        return true()
    fragments = [folded]
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 4:
        fragments.append(digits)
        phone = read_phone(query)
        if phone is not None and phone.e164 and phone.e164[1:] != digits:
            fragments.append(phone.e164[1:])
    return or_(*(_containing(fragment) for fragment in dict.fromkeys(fragments)))


def _containing(fragment: str) -> ColumnElement[bool]:
    """Patients whose search text contains ``fragment``. PostgreSQL's trigram index answers
    the ``LIKE``; on SQLite, SQLite's trigram index (``SQLITE_SEARCH``) answers a phrase
    query of three characters or more (a phrase is a substring there; every character in
    it, ``%`` and ``_`` too, stands for itself). Shorter fragments are looked for by a scan.
    """
    if db.session.get_bind().dialect.name == "sqlite" and len(fragment) >= TRIGRAM:
        phrase = '"' + fragment.replace('"', '""') + '"'
        return PatientProfile.id.in_(
            select(_sqlite_search.c.rowid).where(_sqlite_search.c.search_text.op("MATCH")(phrase))
        )
    return PatientProfile.search_text.like(f"%{_escape_like(fragment)}%", escape="\\")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ``patient_profiles.latest_booking_at``, kept by the database: each insert, delete, move to
# another patient or new start time of a consultation recomputes it for the patients
# concerned (from the patient/start-time index's rows). A batch migration that rebuilds
# ``consultations`` on SQLite drops the triggers: it must create them again.
_LATEST_BOOKING_OF = (
    "UPDATE patient_profiles SET latest_booking_at = ("
    "SELECT max(coalesce(start_time, created_at)) FROM consultations"
    " WHERE patient_profile_id = {row}.patient_profile_id"
    ") WHERE id = {row}.patient_profile_id;"
)
LATEST_BOOKING_DDL = {
    "postgresql": (
        "CREATE OR REPLACE FUNCTION patient_latest_booking() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP <> 'DELETE' THEN " + _LATEST_BOOKING_OF.format(row="NEW") + " END IF;"
        " IF TG_OP = 'DELETE' OR OLD.patient_profile_id <> NEW.patient_profile_id THEN "
        + _LATEST_BOOKING_OF.format(row="OLD")
        + " END IF;"
        " RETURN NULL; END $$",
        "CREATE TRIGGER consultations_latest_booking"
        " AFTER INSERT OR DELETE OR UPDATE OF patient_profile_id, start_time ON consultations"
        " FOR EACH ROW EXECUTE FUNCTION patient_latest_booking()",
    ),
    "sqlite": (
        "CREATE TRIGGER IF NOT EXISTS consultations_latest_booking_insert"
        " AFTER INSERT ON consultations BEGIN " + _LATEST_BOOKING_OF.format(row="new") + " END",
        "CREATE TRIGGER IF NOT EXISTS consultations_latest_booking_update"
        " AFTER UPDATE OF patient_profile_id, start_time ON consultations BEGIN "
        + _LATEST_BOOKING_OF.format(row="new")
        + " "
        + _LATEST_BOOKING_OF.format(row="old")
        + " END",
        "CREATE TRIGGER IF NOT EXISTS consultations_latest_booking_delete"
        " AFTER DELETE ON consultations BEGIN " + _LATEST_BOOKING_OF.format(row="old") + " END",
    ),
}
for _dialect, _statements in LATEST_BOOKING_DDL.items():
    for _statement in _statements:
        event.listen(
            Consultation.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )
