"""Made-up patients, one booking each, written in bulk: what ``flask dev seed`` shows a
developer and what the benchmarks measure.

Bookings start anywhere in a window around now, in the statuses a clinic sees (past ones
mostly completed, some no-shows, cancelled, rejected, rescheduled or never marked; future
ones scheduled, pending, cancelled or rescheduled), booked a few days to weeks ahead, with
six consultants, from fourteen countries (and some who named none) in their languages.
Seven patients in ten answered the questionnaire, usually a day or two after booking, a few
only after their consultation; about 2% are flagged as possible duplicates. Rows are
inserted with ids after the highest there are, so that 100,000 patients take seconds, not
minutes; the database's triggers keep each patient's latest booking, as they do for any
write. Patients whose consultation was completed go on through the stages after it
(``webapp.demo.treatments``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import func, insert, select, text

from webapp.dashboard.search import search_text_for
from webapp.demo.treatments import TABLES as TREATMENT_TABLES
from webapp.demo.treatments import demo_consultant, insert_treatments, treatment_rows
from webapp.extensions import db
from webapp.models import (
    Consultation,
    ConsultationStatus,
    PatientProfile,
    PatientStageChange,
    QuestionnaireSubmission,
    User,
)
from webapp.questionnaire.questions import (
    AGE_RANGES,
    AREAS,
    FAMILY,
    MEDICAL_QUESTIONS,
    ONSET,
    STARTED,
    TREATMENTS,
)

BATCH = 5_000
TABLES = (User, PatientProfile, Consultation, QuestionnaireSubmission)

# fmt: off
FIRST_NAMES = (
    "Ahmet", "Mehmet", "Mustafa", "Ali", "Hasan", "Emre", "Burak", "Can", "Deniz", "Murat",
    "Kemal", "Oguz", "Serkan", "Tolga", "Umut", "James", "Oliver", "Lucas", "Mateo", "Karim",
    "Omar", "Yusuf", "Hamza", "Luca", "Marco", "Jonas", "Felix", "Pierre", "Hugo", "Ivan",
    "Dmitri", "Nikos", "Andreas", "Rafael", "Diego", "Tom", "Daniel", "Samir", "Tariq", "Faisal",
    "Khalid", "Ayse", "Elif", "Selin"
)
LAST_NAMES = (
    "Yilmaz", "Kaya", "Demir", "Sahin", "Celik", "Yildiz", "Yildirim", "Ozturk", "Aydin",
    "Ozdemir", "Arslan", "Dogan", "Kilic", "Aslan", "Cetin", "Kara", "Koc", "Kurt", "Ozkan",
    "Simsek", "Smith", "Jones", "Brown", "Taylor", "Wilson", "Muller", "Schmidt", "Schneider",
    "Fischer", "Weber", "Rossi", "Russo", "Bianchi", "Garcia", "Martinez", "Lopez", "Gonzalez",
    "Dubois", "Moreau", "Laurent", "Petrov", "Ivanov", "Papadopoulos", "Haddad", "Khoury",
    "Mansour", "Rahman", "Hussain", "Al-Farsi", "Nasser"
)
# fmt: on


@dataclass(frozen=True)
class Place:
    """Where patients book from, in what language, and how many of every hundred do."""

    city: str | None
    country: str | None
    timezone: str
    locale: str
    weight: int


PLACES = (
    Place("London", "United Kingdom", "Europe/London", "en", 18),
    Place("Berlin", "Germany", "Europe/Berlin", "de", 14),
    Place("Istanbul", "Turkey", "Europe/Istanbul", "tr", 8),
    Place("New York", "United States", "America/New_York", "en", 8),
    Place("Paris", "France", "Europe/Paris", "fr", 7),
    Place("Dubai", "United Arab Emirates", "Asia/Dubai", "ar", 6),
    Place("Riyadh", "Saudi Arabia", "Asia/Riyadh", "ar", 6),
    Place("Madrid", "Spain", "Europe/Madrid", "es", 5),
    Place("Amsterdam", "Netherlands", "Europe/Amsterdam", "nl", 4),
    Place("Milan", "Italy", "Europe/Rome", "it", 4),
    Place("Toronto", "Canada", "America/Toronto", "en", 3),
    Place("Sydney", "Australia", "Australia/Sydney", "en", 3),
    Place("Dublin", "Ireland", "Europe/Dublin", "en", 3),
    Place("Stockholm", "Sweden", "Europe/Stockholm", "sv", 2),
    Place(None, None, "Europe/Istanbul", "en", 9),  # named no place on the booking form
)
# Patients abroad who book in English rather than their own language, of every hundred.
BOOKING_IN_ENGLISH = 25
PAST_STATUSES = (
    (ConsultationStatus.COMPLETED, 50),
    (ConsultationStatus.NO_SHOW, 10),
    (ConsultationStatus.CANCELLED, 15),
    (ConsultationStatus.REJECTED, 3),
    (ConsultationStatus.RESCHEDULED, 10),
    (ConsultationStatus.SCHEDULED, 12),  # never marked
)
FUTURE_STATUSES = (
    (ConsultationStatus.SCHEDULED, 70),
    (ConsultationStatus.PENDING, 10),
    (ConsultationStatus.CANCELLED, 12),
    (ConsultationStatus.RESCHEDULED, 8),
)
# The clinic's consultants, as Cal.com names the organizers of their bookings.
CONSULTANTS = tuple(
    (f"Dr. {first} {last}", f"{first}.{last}@clinic.example".lower())
    for first, last in (
        ("Selin", "Aydin"), ("Mert", "Kaya"), ("Elif", "Demir"),
        ("Can", "Ozturk"), ("Deniz", "Arslan"), ("Emre", "Dogan"),
    )
)  # fmt: skip
# How far ahead patients book, on average; and how soon after booking they answer.
MEAN_LEAD_DAYS = 12
MAX_LEAD_DAYS = 90
MEAN_ANSWER_HOURS = 30
ANSWERING = 0.7
GOALS = ("A denser crown", "My old hairline back", "Fill the temples", "Thicker on top", "")


def add_bookings(count: int, rng: Random, now: datetime, days_back: int, days_ahead: int) -> range:
    """Insert ``count`` made-up patients, each a user, a profile, one consultation starting
    between ``days_back`` days before ``now`` and ``days_ahead`` after, (for most) a
    questionnaire submission, and after a completed consultation an assessment and quote in
    some stage (``webapp.demo.treatments``); returns their profiles' ids. Every time written
    lies before ``now``, at least an hour before (so that a change made now is the newest),
    except the future bookings' start times. Inserts in batches and flushes; the caller commits.
    """
    tables = (*TABLES, *TREATMENT_TABLES)
    first = 1 + max(db.session.scalar(select(func.max(model.id))) or 0 for model in tables)
    ids = range(first, first + count)
    by = demo_consultant()
    for start in range(first, first + count, BATCH):
        batch = [
            _patient_rows(i, ids, rng, now, days_back, days_ahead)
            for i in range(start, min(start + BATCH, ids.stop))
        ]
        # Before the profiles are written: it sets their stage.
        treatments = [treatment_rows(rows[2], rows[1], rng, now, by) for rows in batch]
        for model, rows in zip(TABLES, zip(*batch, strict=True), strict=True):
            if rows := [row for row in rows if row is not None]:
                db.session.execute(insert(model), rows)
        insert_treatments(treatments)
    if db.engine.dialect.name == "postgresql":
        for model in (*tables, PatientStageChange):
            # Ids were given explicitly; later inserts must not collide with them.
            table = model.__tablename__
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            db.session.execute(text(f"SELECT setval({sequence}, max(id)) FROM {table}"))  # noqa: S608 - our table names
    db.session.flush()
    return ids


def _patient_rows(
    i: int, ids: range, rng: Random, now: datetime, days_back: int, days_ahead: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """Patient ``i``'s user, profile, consultation and questionnaire submission (``None``
    when they have not answered)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    name = f"{first} {last}"
    email = f"{first}.{last}.{i}@example.com".lower()
    # Unique numbers (7919 is prime to 10**9); one patient in ten gave none.
    phone = f"+905{(i * 7919) % 10**9:09d}" if rng.random() >= 0.1 else None
    place = rng.choices(PLACES, weights=[place.weight for place in PLACES])[0]
    locale = "en" if rng.randrange(100) < BOOKING_IN_ENGLISH else place.locale
    organizer_name, organizer_email = rng.choice(CONSULTANTS)
    minutes = rng.randint(-days_back * 24 * 60, days_ahead * 24 * 60)
    start = (now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    statuses = PAST_STATUSES if start < now else FUTURE_STATUSES
    status = rng.choices([s for s, _ in statuses], weights=[w for _, w in statuses])[0]
    lead = timedelta(days=min(rng.expovariate(1 / MEAN_LEAD_DAYS), MAX_LEAD_DAYS))
    booked = min(start - lead, now - timedelta(hours=rng.uniform(1, 72)))
    # Spread out, as real edits are (no pile of rows sharing one timestamp).
    latest = max(min(booked + timedelta(days=30), now - timedelta(hours=1)), booked)
    updated = booked + (latest - booked) * rng.random()
    answered = booked + timedelta(hours=rng.expovariate(1 / MEAN_ANSWER_HOURS))
    if rng.random() >= ANSWERING or answered > now - timedelta(hours=1):
        answered = None
    answers = _answers(rng, place) if answered else None
    user = {"id": i, "email": email, "phone_number": phone, "name": name, "created_at": booked}
    profile = {
        "id": i,
        "user_id": i,
        "name": name,
        "email": email,
        "phone": phone,
        "location": ", ".join(part for part in (place.city, place.country) if part) or None,
        "city": place.city,
        "country": place.country,
        "timezone": place.timezone,
        "search_text": search_text_for(name, email, phone, place.city, place.country),
        "possible_duplicate_of_id": rng.randint(ids.start, i - 1)
        if i > ids.start and rng.random() < 0.02
        else None,
        "questionnaire_answers": answers,
        "questionnaire_completed_at": answered,
        "age_range": answers["age_range"] if answers else None,
        "gender": answers["gender"] if answers else None,
        "created_at": booked,
        "updated_at": max(updated, answered or updated),
    }
    consultation = {
        "id": i,
        "patient_profile_id": i,
        "cal_booking_uid": f"demo-{i:08d}",
        "cal_booking_id": 1_000_000 + i,
        "status": str(status),
        "status_changed_at": updated,
        "start_time": start,
        "end_time": start + timedelta(minutes=30),
        "title": f"Hair transplant consultation between Clinic and {name}",
        "organizer_name": organizer_name,
        "organizer_email": organizer_email,
        "attendee_email": email,
        "attendee_locale": locale,
        "attendee_phone": phone,
        "attendee_timezone": place.timezone,
        "booking_answers": {"name": {"value": name}, "email": {"value": email}},
        "cancellation_reason": "Patient asked to cancel"
        if status == ConsultationStatus.CANCELLED
        else None,
        "created_at": booked,
        "updated_at": updated,
    }
    submission = (
        {
            "id": i,
            "patient_profile_id": i,
            "consultation_id": i,
            "cal_booking_uid": consultation["cal_booking_uid"],
            "answers": answers,
            "submitted_at": answered,
        }
        if answered
        else None
    )
    return user, profile, consultation, submission


def _answers(rng: Random, place: Place) -> dict[str, Any]:
    """A questionnaire as a patient from ``place`` might answer it: mostly nothing medical
    to declare, the hair loss's story in the form's own choices."""
    answers: dict[str, Any] = {
        "country": place.country or "",
        "city": place.city or "",
        "age_range": rng.choice(AGE_RANGES).value,
        "gender": rng.choices(["male", "female", "undisclosed"], weights=[85, 13, 2])[0],
    }
    for question, *_ in MEDICAL_QUESTIONS:
        declared = rng.random() < 0.15
        answers[question] = "yes" if declared else "none"
        answers[f"{question}_details"] = "Told the consultant at the call" if declared else ""
    answers |= {
        "hair_loss_started": rng.choice(STARTED).value,
        "hair_loss_onset": rng.choice(ONSET).value,
        "hair_loss_areas": sorted(c.value for c in rng.sample(AREAS, rng.randint(1, 3))),
        "family_history": [rng.choice(FAMILY).value],
        "previous_treatments": sorted(c.value for c in rng.sample(TREATMENTS, rng.randint(0, 2))),
        "treatment_results": "",
        "goals": rng.choice(GOALS),
    }
    return answers
