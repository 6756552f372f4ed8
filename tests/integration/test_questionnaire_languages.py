"""The patient's pages in the patient's language, in the clinic's own layout.

The language is the one chosen with the switch, else the booking's attendee locale, else
the browser's Accept-Language, else English; staff pages stay English, and consultants
read every answer in English whatever language the patient used.
"""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import (
    FIXTURE_BOOKING_UID,
    TYPED_IDENTITY,
    booking_document,
    deliver,
    submit,
    valid_answers,
)

UNKNOWN_UID = "qWeRtY123456uIoPaSdFgH"


def booking_in(locale: str, uid: str = FIXTURE_BOOKING_UID, time_zone: str = "Europe/Berlin"):
    """The fixture booking, its booker speaking ``locale`` in ``time_zone``."""
    document = booking_document(uid)
    booker = document["payload"]["attendees"][0]
    booker["language"] = {"locale": locale}
    booker["timeZone"] = time_zone
    return document


def html_tag(page: str) -> str:
    return re.search(r"<html[^>]*>", page).group(0)


def heading(page: str) -> str:
    return html.unescape(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)).strip()


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Where the language comes from ----------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "language", "greeting"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Vor Ihrer Beratung"),
        ("es-ES,es;q=0.9", "es", "Antes de su consulta"),
        ("tr-TR,tr;q=0.9", "tr", "Görüşmenizden önce"),
        ("ar-AE,ar;q=0.9", "ar", "قبل استشارتك"),
        ("fr-FR,fr;q=0.9", "en", "Before your consultation"),
        ("", "en", "Before your consultation"),
    ],
)
def test_without_a_choice_or_a_booking_the_browser_language_decides(
    client, accept, language, greeting
):
    page = text(client.get(f"/questionnaire/{UNKNOWN_UID}", headers={"Accept-Language": accept}))

    assert f'lang="{language}"' in html_tag(page)
    assert heading(page) == greeting


def test_the_bookings_language_comes_before_the_browsers(client):
    deliver(client, booking_in("tr-TR"))

    page = text(
        client.get(f"/questionnaire/{FIXTURE_BOOKING_UID}", headers={"Accept-Language": "de"})
    )

    assert 'lang="tr"' in html_tag(page)
    assert heading(page) == "Merhaba Oliver,"


def test_the_patients_choice_comes_first_and_is_remembered(client):
    deliver(client, booking_in("tr"))
    path = f"/questionnaire/{FIXTURE_BOOKING_UID}"

    chosen = client.get(f"{path}?lang=es", headers={"Accept-Language": "de"})
    later = client.get(path, headers={"Accept-Language": "de"})
    changed = client.get(f"{path}?lang=ar")

    assert heading(text(chosen)) == "Hola, Oliver:"
    cookie = chosen.headers["Set-Cookie"]
    assert "patient_language=es" in cookie and "Path=/questionnaire" in cookie
    assert "HttpOnly" in cookie
    assert heading(text(later)) == "Hola, Oliver:"
    assert html_tag(text(changed)) == '<html lang="ar" dir="rtl">'
    assert 'lang="ar"' in html_tag(text(client.get(path)))


def test_an_unknown_language_is_ignored(client):
    page = text(
        client.get(f"/questionnaire/{UNKNOWN_UID}?lang=xx", headers={"Accept-Language": "de"})
    )

    assert 'lang="de"' in html_tag(page)


def test_the_switch_names_each_language_in_itself_and_keeps_the_step(client):
    answers = valid_answers(**TYPED_IDENTITY, consent=None)
    assert submit(client, UNKNOWN_UID, answers).status_code == 400

    page = text(client.get(f"/questionnaire/{UNKNOWN_UID}?step=medical&lang=tr"))

    switch = re.search(r'<nav aria-label="Dil" class="language-switch">(.*?)</nav>', page, re.S)
    assert switch, "no language switch"
    links = {
        html.unescape(name): html.unescape(href)
        for href, name in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', switch.group(1))
    }
    assert list(links) == ["English", "Deutsch", "Español", "Türkçe", "العربية"]
    for code, href in zip(("en", "de", "es", "tr", "ar"), links.values(), strict=True):
        assert href == f"/questionnaire/{UNKNOWN_UID}?step=medical&lang={code}"
    german = text(client.get(links["Deutsch"]))
    assert "Haben Sie Vorerkrankungen?" in german  # the same step, in German


@pytest.mark.parametrize(
    "path", ["/login", "/", "/healthz-not-a-page"], ids=["login", "dashboard", "not-found"]
)
def test_staff_pages_stay_english(client, path):
    client.get(f"/questionnaire/{UNKNOWN_UID}?lang=de")  # the cookie is only for /questionnaire
    page = text(client.get(path, headers={"Accept-Language": "de"}, follow_redirects=True))

    assert '<html lang="en">' in page


# --- Messages, errors, pages ----------------------------------------------------------------


def test_form_labels_choices_and_errors_speak_the_patients_language(client):
    client.get(f"/questionnaire/{UNKNOWN_UID}?lang=tr")

    response = submit(client, UNKNOWN_UID, valid_answers(country=None, name="Ayşe Yılmaz"))

    assert response.status_code == 400
    page = text(response)
    assert "Bazı yanıtların kontrol edilmesi gerekiyor" in page
    assert "Lütfen nerede yaşadığınızı yazın." in page
    assert "We need your email." not in page
    assert "E-posta adresinize ihtiyacımız var." in page
    assert "Yaşadığınız ülke" in page and "Kadın" in page


def test_length_errors_are_translated_with_their_number(client):
    client.get(f"/questionnaire/{UNKNOWN_UID}?lang=de")

    response = submit(client, UNKNOWN_UID, valid_answers(**TYPED_IDENTITY, goals="g" * 2001))

    assert response.status_code == 400
    assert "Bitte höchstens 2000 Zeichen." in text(response)


@pytest.mark.parametrize(
    ("language", "words"),
    [("de", "Vielen Dank"), ("es", "Gracias"), ("tr", "Teşekkür ederiz"), ("ar", "شكرًا لك")],
)
def test_the_thank_you_page_is_translated(client, language, words):
    assert heading(text(client.get(f"/questionnaire/thanks?lang={language}"))) == words


def test_invalid_and_expired_link_pages_are_the_clinics_and_say_how_to_reach_it(app, client):
    app.config.update(CLINIC_NAME="Klinik Beispiel", CLINIC_CONTACT="WhatsApp +90 555 111 22 33")

    for path, status in (("/questionnaire/a.b", 404), ("/questionnaire?uid=", 404)):
        response = client.get(path, headers={"Accept-Language": "de"})
        page = text(response)
        assert response.status_code == status
        assert heading(page) == "Dieser Link zum Fragebogen ist ungültig."
        assert "Klinik Beispiel" in page and "WhatsApp +90 555 111 22 33" in page
        assert "dashboard" not in page.lower() and "Log out" not in page


def test_other_errors_on_patient_pages_use_the_patient_layout(client):
    client.get(f"/questionnaire/{UNKNOWN_UID}?lang=es")

    response = client.post(f"/questionnaire/{UNKNOWN_UID}", data={"country": "Spain"})  # no CSRF
    missing = client.get("/questionnaire/one/two")

    assert response.status_code == 400
    assert heading(text(response)) == "No se ha podido enviar."
    assert missing.status_code == 404
    for page in (text(response), text(missing)):
        assert "dashboard" not in page.lower()
        assert 'lang="es"' in html_tag(page)


def test_without_clinic_settings_the_pages_still_read_well(app, client):
    app.config.update(CLINIC_NAME="", CLINIC_CONTACT="", PRIVACY_NOTICE_URL="")

    page = text(client.get("/questionnaire/a.b"))

    assert "<title>Link not valid · Your hair consultation</title>" in page
    assert "Reply to the clinic's email or message about your booking." in page
    assert "Privacy notice" not in page


def test_the_consent_step_links_the_privacy_notice(app, client):
    app.config.update(PRIVACY_NOTICE_URL="https://clinic.example/datenschutz")
    assert (
        submit(client, UNKNOWN_UID, valid_answers(**TYPED_IDENTITY, consent=None)).status_code
        == 400
    )

    page = text(client.get(f"/questionnaire/{UNKNOWN_UID}?step=consent&lang=de"))

    consent = page[page.index('name="consent"') :]
    assert '<a href="https://clinic.example/datenschutz"' in consent
    assert "Lesen Sie den Datenschutzhinweis der Klinik" in consent


# --- The booking confirmed ------------------------------------------------------------------


def test_the_booking_is_confirmed_in_the_patients_time_zone_and_language(client):
    deliver(client, booking_in("de", time_zone="Europe/Berlin"))

    page = text(client.get(f"/questionnaire/{FIXTURE_BOOKING_UID}"))

    assert "Ihre Beratung ist gebucht" in page
    # 2026-11-05 10:00 UTC is 11:00 in Berlin.
    assert "Donnerstag, 5. November 2026, 11:00" in html.unescape(page)
    assert "Hair Transplant Consultation" in page
    assert "Bennett" not in page and "Selin" not in page  # the title's names are left out


def test_the_booking_time_follows_the_language(client):
    deliver(client, booking_in("en", time_zone="America/New_York"))

    page = html.unescape(text(client.get(f"/questionnaire/{FIXTURE_BOOKING_UID}?lang=es")))

    assert "Su consulta está reservada" in page
    assert "jueves, 5 de noviembre de 2026, 5:00" in page


@pytest.mark.parametrize("uid", [UNKNOWN_UID, "SeatedBookingUid00001"], ids=["not-yet", "seated"])
def test_a_booking_not_received_or_seated_is_being_confirmed_calmly(client, uid):
    page = text(client.get(f"/questionnaire/{uid}"))

    assert "Your booking is being confirmed" in page
    assert "not received" not in page
    assert 'name="email"' in page  # the page still works: it asks who is answering


# --- Consultants read English ---------------------------------------------------------------


def test_answers_sent_in_turkish_read_in_english_on_the_patient_page(app, consultant_client):
    answer = deliver(consultant_client, booking_in("tr"))
    patient = app.test_client()

    response = submit(patient, FIXTURE_BOOKING_UID, valid_answers(goals="Daha gür bir tepe"))

    assert response.status_code == 302
    page = text(consultant_client.get(f"/patients/{answer['patient_id']}"))
    assert '<html lang="en">' in page
    assert "Do you take any medications or supplements?" in page
    assert "Yes: Aspirin 75 mg daily" in page
    assert "Crown, Top" in page and "Daha gür bir tepe" in page
    assert "Düzenli kullandığınız" not in page and "Evet" not in page


def test_stored_answers_do_not_depend_on_the_language(app, client):
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import QuestionnaireSubmission

    deliver(client, booking_in("ar"))
    assert submit(client, FIXTURE_BOOKING_UID, valid_answers()).status_code == 302
    deliver(
        client,
        booking_in("en", uid="AnotherBookingUid0001") | {"createdAt": "2026-11-02T09:15:00Z"},
    )
    assert submit(client, "AnotherBookingUid0001", valid_answers()).status_code == 302

    with app.app_context():
        arabic, english = db.session.scalars(
            select(QuestionnaireSubmission.answers).order_by(QuestionnaireSubmission.id)
        ).all()
    assert arabic == english
    assert arabic["medications"] == "yes" and arabic["hair_loss_areas"] == ["crown", "top"]
