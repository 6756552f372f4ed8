"""The patient's quote page at ``/quote/<token>``: what it shows, its link states (404,
410, the newest version), the patient's answers and what an attacker cannot do with one
link; and the consultant's sending of the link and the answers reaching the dashboard."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import time_machine
from sqlalchemy import func, select

from tests.conftest import booking_document, deliver, fixture_body
from tests.integration.test_dashboard import poll, poller_url, row
from tests.integration.test_quote_services import assessed_and_quoted
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Consultant,
    PatientProfile,
    PatientStage,
    Quote,
    QuoteLine,
    QuoteResponse,
)
from webapp.treatment.links import quote_token
from webapp.treatment.money import format_money
from webapp.treatment.quotes import new_version, send_quote
from webapp.treatment.stage import clinic_today


@pytest.fixture
def patient_id(consultant_client) -> int:
    return deliver(consultant_client, fixture_body("booking_created.json"))["patient_id"]


def sent_quote(app, patient_id: int, consultant: int, language: str = "tr") -> tuple[int, str]:
    """A quote sent to the patient in ``language``; its id and the patient's token."""
    with app.app_context():
        _, who, quote = assessed_and_quoted(app, patient_id, consultant)
        quote.language = language
        quote.note = "Bring your earlier scalp photos."
        send_quote(quote, who)
        db.session.commit()
        return quote.id, quote_token(quote)


@pytest.fixture
def patient(app):
    """The patient's own browser: not signed in."""
    return app.test_client()


def csrf(page: str, kind: str = "question") -> str:
    """The CSRF token of one of the page's forms (the question's is always there)."""
    match = re.search(rf'name="{kind}-csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token for " + kind
    return match.group(1)


def answer(client, token: str, kind: str, version: int = 1, **fields: str):
    """Open the page, then send one answer from it."""
    page = client.get(f"/quote/{token}").get_data(as_text=True)
    return send_answer(client, token, page, kind, version, **fields)


def send_answer(client, token: str, page: str, kind: str, version: int = 1, **fields: str):
    """Send one answer from a page opened before (its CSRF token), as its form would."""
    data = {"answer": kind, f"{kind}-csrf_token": csrf(page), f"{kind}-version": version}
    data |= {f"{kind}-{name}": value for name, value in fields.items()}
    return client.post(f"/quote/{token}", data=data)


def responses(app) -> list[tuple[str, int, str | None, str | None]]:
    with app.app_context():
        return [
            (r.kind, r.quote_version, r.typed_name, r.text)
            for r in db.session.scalars(select(QuoteResponse).order_by(QuoteResponse.id))
        ]


def test_the_page_shows_the_plan_price_and_terms_in_the_patients_language(
    app, patient_id, consultant, patient
):
    quote_id, token = sent_quote(app, patient_id, consultant, "tr")

    response = patient.get(f"/quote/{token}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="tr" dir="ltr">' in page
    assert "Demo Hair Clinic" in page
    assert html.escape(format_money(260_000, "EUR", "tr")) in page
    assert html.escape(format_money(26_000, "EUR", "tr")) in page  # the deposit
    assert html.escape(format_money(234_000, "EUR", "tr")) in page  # the balance
    assert "Otel, transferler" in page
    assert "Sapphire FUE" in page and "1.600" in page and "2.200" in page
    assert "Finasteride for six months before." in page
    assert "Bring your earlier scalp photos." in page
    assert "Teklifiniz" in page or "teklif" in page.lower()
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        quote = db.session.get(Quote, quote_id)
        assert quote.viewed_at is not None
        assert quote.patient.stage == PatientStage.QUOTE_VIEWED


def test_arabic_reads_right_to_left_and_the_patient_may_switch_language(
    app, patient_id, consultant, patient
):
    _, token = sent_quote(app, patient_id, consultant, "ar")

    page = patient.get(f"/quote/{token}").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert html.escape(format_money(260_000, "EUR", "ar")) in page

    german = patient.get(f"/quote/{token}?lang=de")
    assert '<html lang="de" dir="ltr">' in german.get_data(as_text=True)
    assert "patient_language=de" in german.headers["Set-Cookie"]
    assert "Path=/quote" in german.headers["Set-Cookie"]


def test_a_consultant_opening_the_link_is_not_the_patients_view(
    app, patient_id, consultant, consultant_client
):
    quote_id, token = sent_quote(app, patient_id, consultant)

    assert consultant_client.get(f"/quote/{token}").status_code == 200
    with app.app_context():
        assert db.session.get(Quote, quote_id).viewed_at is None


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "WhatsApp/2.23.20.0 A"},
        {"User-Agent": "facebookexternalhit/1.1"},
        {"User-Agent": "TelegramBot (like TwitterBot)"},
        {"Sec-Purpose": "prefetch;prerender"},
    ],
)
def test_a_link_preview_or_prefetch_is_not_the_patients_view(
    app, patient_id, consultant, patient, headers
):
    quote_id, token = sent_quote(app, patient_id, consultant)

    assert patient.get(f"/quote/{token}", headers=headers).status_code == 200
    with app.app_context():
        assert db.session.get(Quote, quote_id).viewed_at is None


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: t + "a", lambda t: "x"])
def test_a_tampered_or_unknown_token_is_404_in_the_clinics_layout(
    app, patient_id, consultant, patient, mangle
):
    _, token = sent_quote(app, patient_id, consultant)

    for method in (patient.get, patient.post):
        response = method(f"/quote/{mangle(token)}")
        assert response.status_code in (404, 400)
    response = patient.get(f"/quote/{mangle(token)}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Demo Hair Clinic" in page and "WhatsApp +90 555 000 00 00" in page
    assert "Traceback" not in page


def test_a_path_under_quote_that_names_nothing_is_a_quote_404(patient):
    response = patient.get("/quote/")

    assert response.status_code == 404
    assert "Open the link to your quote from the clinic" in response.get_data(as_text=True)


def test_a_draft_has_no_page_yet(app, patient_id, consultant, patient):
    with app.app_context():
        _, _, quote = assessed_and_quoted(app, patient_id, consultant)
        token = quote_token(quote)
    assert patient.get(f"/quote/{token}").status_code == 404


def test_an_expired_quote_answers_410_with_how_to_reach_the_clinic(
    app, patient_id, consultant, patient
):
    quote_id, token = sent_quote(app, patient_id, consultant, "de")
    with app.app_context():
        valid_until = db.session.get(Quote, quote_id).valid_until

    # The clock a month on: the day after the last valid one.
    later = datetime.combine(valid_until + timedelta(days=2), time(12), tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        response = patient.get(f"/quote/{token}")
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert '<html lang="de"' in page
    assert "Dieses Angebot ist abgelaufen" in page
    assert "WhatsApp +90 555 000 00 00" in page
    assert "Q-" in page


def test_an_expired_quote_takes_no_acceptance(app, patient_id, consultant, patient):
    quote_id, token = sent_quote(app, patient_id, consultant, "en")
    page = patient.get(f"/quote/{token}").get_data(as_text=True)
    with app.app_context():  # the page was open while its last valid day passed
        db.session.get(Quote, quote_id).valid_until = clinic_today() - timedelta(days=1)
        db.session.commit()

    refused = send_answer(
        patient, token, page, "accept", typed_name="Oliver Smith", terms_accepted="y"
    )

    assert refused.status_code == 410
    assert responses(app) == []


def test_a_replaced_quote_shows_the_newest_version_and_refuses_the_old_ones_answer(
    app, patient_id, consultant, patient
):
    quote_id, token = sent_quote(app, patient_id, consultant, "en")
    old_page = patient.get(f"/quote/{token}").get_data(as_text=True)
    with app.app_context():
        who = db.session.get(Consultant, consultant)
        second = new_version(db.session.get(Quote, quote_id), who)
        second.lines[0].price_minor = 240_000
        send_quote(second, who)
        db.session.commit()

    page = patient.get(f"/quote/{token}").get_data(as_text=True)
    assert "version 2" in page
    assert html.escape(format_money(240_000, "EUR", "en")) in page
    assert "replaces the one sent before" in page

    # The form of the page read before the new version was sent names version 1.
    stale = send_answer(
        patient, token, old_page, "accept", typed_name="Oliver Smith", terms_accepted="y"
    )
    assert stale.status_code == 409
    assert "changed while you were reading it" in stale.get_data(as_text=True)
    assert responses(app) == []


def test_accepting_records_the_typed_name_version_and_time_once(
    app, patient_id, consultant, patient
):
    quote_id, token = sent_quote(app, patient_id, consultant, "en")
    before = datetime.now(UTC)

    response = answer(patient, token, "accept", typed_name="  Oliver   Smith ", terms_accepted="y")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/quote/{token}#answer")
    assert responses(app) == [("accepted", 1, "Oliver Smith", None)]
    with app.app_context():
        accepted = db.session.scalar(select(QuoteResponse))
        assert accepted.terms_accepted is True
        assert before <= accepted.created_at <= datetime.now(UTC)
        assert db.session.get(PatientProfile, patient_id).stage == PatientStage.ACCEPTED
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "quote.accepted"))
        assert "Oliver" not in str(audit.details)
    page = patient.get(f"/quote/{token}").get_data(as_text=True)
    assert "You accepted this quote" in page and "Oliver Smith" in page
    assert "What happens next" in page
    assert 'name="accept-typed_name"' not in page  # no second acceptance offered

    again = send_answer(
        patient,
        token,
        patient.get(f"/quote/{token}").get_data(as_text=True),
        "accept",
        typed_name="Someone Else",
        terms_accepted="y",
    )
    assert again.status_code == 409
    assert len(responses(app)) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"typed_name": "", "terms_accepted": "y"}, "Type your full name to accept."),
        ({"typed_name": "Oliver Smith"}, "Tick the box to accept the terms."),
        ({"typed_name": "x" * 201, "terms_accepted": "y"}, "200 characters or fewer"),
    ],
)
def test_an_acceptance_without_a_name_or_the_tick_is_refused(
    app, patient_id, consultant, patient, fields, message
):
    _, token = sent_quote(app, patient_id, consultant, "en")

    response = answer(patient, token, "accept", **fields)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert 'id="error-summary"' in response.get_data(as_text=True)
    assert responses(app) == []


def test_declining_and_asking_are_kept_and_shown_to_the_consultant(
    app, patient_id, consultant, patient, consultant_client
):
    quote_id, token = sent_quote(app, patient_id, consultant, "en")

    assert answer(patient, token, "question", question="Is PRP included?").status_code == 303
    assert answer(patient, token, "decline", reason="<b>Too far</b> away").status_code == 303
    page = patient.get(f"/quote/{token}").get_data(as_text=True)
    assert "You declined this quote" in page and "Is PRP included?" in page
    assert "Your question reached the clinic" in page
    assert 'name="accept-typed_name"' in page  # they may still change their mind

    assert responses(app) == [
        ("question", 1, None, "Is PRP included?"),
        ("declined", 1, None, "<b>Too far</b> away"),
    ]
    shown = consultant_client.get(f"/quotes/{quote_id}/send").get_data(as_text=True)
    with app.app_context():
        seen = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.viewed")
        ).all()
        assert [(e.patient_profile_id, e.details) for e in seen] == [
            (patient_id, {"quote_id": quote_id})
        ]
    assert "Is PRP included?" in shown
    assert "&lt;b&gt;Too far&lt;/b&gt; away" in shown and "<b>Too far" not in shown
    assert answer(patient, token, "question", question="").status_code == 400
    assert answer(patient, token, "decline", reason="x" * 2001).status_code == 400
    assert len(responses(app)) == 2


def test_one_quotes_link_reaches_no_other_quote_and_changes_no_amount(
    app, patient_id, consultant, patient, consultant_client
):
    own_id, token = sent_quote(app, patient_id, consultant, "en")
    other_patient = deliver(
        consultant_client, booking_document("OtherPatient01", email="other@example.com")
    )["patient_id"]
    other_id, _ = sent_quote(app, other_patient, consultant, "en")
    with app.app_context():
        prices = dict(db.session.execute(select(QuoteLine.id, QuoteLine.price_minor)).all())

    response = answer(
        patient,
        token,
        "accept",
        typed_name="Oliver Smith",
        terms_accepted="y",
        quote_id=str(other_id),
        price_minor="1",
        deposit_minor="0",
    )
    assert response.status_code == 303
    with app.app_context():
        assert dict(db.session.execute(select(QuoteLine.id, QuoteLine.price_minor)).all()) == (
            prices
        )
        assert db.session.get(Quote, own_id).deposit_minor == 26_000
        answered = db.session.scalars(select(QuoteResponse.quote_id)).all()
        assert answered == [own_id]
        assert db.session.get(Quote, other_id).viewed_at is None
    # The consultant's pages stay closed to the patient's browser.
    assert patient.get(f"/quotes/{own_id}/send").status_code == 302
    assert patient.post(f"/quotes/{other_id}/send").status_code in (302, 400)


def test_an_answer_without_its_csrf_token_is_refused(app, patient_id, consultant, patient):
    _, token = sent_quote(app, patient_id, consultant, "en")
    patient.get(f"/quote/{token}")

    response = patient.post(
        f"/quote/{token}",
        data={
            "answer": "accept",
            "accept-version": "1",
            "accept-typed_name": "Oliver Smith",
            "accept-terms_accepted": "y",
        },
    )

    assert response.status_code == 400
    assert "Demo Hair Clinic" in response.get_data(as_text=True)
    assert responses(app) == []


def test_an_unknown_answer_is_a_clear_400(app, patient_id, consultant, patient):
    _, token = sent_quote(app, patient_id, consultant, "en")
    page = patient.get(f"/quote/{token}").get_data(as_text=True)

    for kind in ("", "delete", "accept-typed_name"):
        response = patient.post(
            f"/quote/{token}", data={"answer": kind, "accept-csrf_token": csrf(page)}
        )
        assert response.status_code == 400
    response = patient.post(
        f"/quote/{token}",
        data={"answer": "accept", "accept-csrf_token": csrf(page), "accept-version": "two"},
    )
    assert response.status_code == 400
    assert responses(app) == []


def test_answers_are_rate_limited(app, patient_id, consultant, patient):
    _, token = sent_quote(app, patient_id, consultant, "en")
    page = patient.get(f"/quote/{token}").get_data(as_text=True)
    data = {"answer": "question", "question-csrf_token": csrf(page, "question")}

    statuses = [
        patient.post(f"/quote/{token}", data=data | {"question-version": "1"}).status_code
        for _ in range(31)
    ]

    assert statuses[:30] == [400] * 30  # no question written
    assert statuses[30] == 429
    refused = patient.post(f"/quote/{token}", data=data).get_data(as_text=True)
    assert "open your quote again and send your answer once more" in refused
    assert patient.get(f"/quote/{token}").status_code == 200  # reading stays open


def test_the_consultant_sends_the_quote_by_copy_whatsapp_or_email(
    app, patient_id, consultant, consultant_client
):
    with app.app_context():
        _, _, quote = assessed_and_quoted(app, patient_id, consultant)
        quote_id, token = quote.id, quote_token(quote)

    draft = consultant_client.get(f"/quotes/{quote_id}/send").get_data(as_text=True)
    assert "Mark sent and share the link" in draft and token not in draft
    page = consultant_client.get(f"/quotes/{quote_id}/send").get_data(as_text=True)
    sent = consultant_client.post(
        f"/quotes/{quote_id}/send",
        data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)},
    )
    assert sent.status_code == 302

    page = consultant_client.get(f"/quotes/{quote_id}/send").get_data(as_text=True)
    assert f"http://localhost/quote/{token}" in page
    whatsapp = html.unescape(re.search(r'href="(https://wa\.me/[^"]+)"', page).group(1))
    parts = urlsplit(whatsapp)
    assert re.fullmatch(r"/\d{8,15}", parts.path)
    text = parse_qs(parts.query)["text"][0]
    assert "Q-" in text and f"/quote/{token}" in text
    assert "teklif" in text.lower()  # the quote is in Turkish, so is the message
    mailto = html.unescape(re.search(r'href="(mailto:[^"]+)"', page).group(1))
    assert mailto.startswith("mailto:oliver")
    assert "teklif" in unquote(parse_qs(urlsplit(mailto).query)["subject"][0]).lower()
    assert "data-copy" in page
    with app.app_context():
        quote = db.session.get(Quote, quote_id)
        assert quote.sent_at is not None
        assert quote.patient.stage == PatientStage.QUOTE_SENT
        sends = db.session.scalar(select(func.count()).where(AuditEvent.action == "quote.sent"))
        assert sends == 1

    # Sending twice changes nothing.
    consultant_client.post(
        f"/quotes/{quote_id}/send",
        data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)},
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "quote.sent")) == 1
    assert consultant_client.get("/quotes/999999/send").status_code == 404


def test_an_answer_reaches_the_open_dashboard_as_new(
    app, patient_id, consultant, patient, consultant_client
):
    _, token = sent_quote(app, patient_id, consultant, "en")
    dashboard = consultant_client.get("/?tab=all").get_data(as_text=True)
    url = poller_url(dashboard)
    assert poll(consultant_client, url).status_code in (200, 204)
    url = poller_url(poll(consultant_client, url).get_data(as_text=True) or dashboard)

    answer(patient, token, "accept", typed_name="Oliver Smith", terms_accepted="y")
    update = poll(consultant_client, url)

    assert update.status_code == 200
    with app.app_context():
        consultation_id = db.session.get(PatientProfile, patient_id).consultations[0].id
        response_id = db.session.scalar(select(QuoteResponse.id))
    changed = row(update.get_data(as_text=True), consultation_id)
    assert re.search(r'class="[^"]*\bis-new\b', changed)
    assert f'data-news="answer-{response_id}"' in changed
    assert '<mark class="badge-new">New</mark>' in changed


def test_no_quote_page_sends_a_statement_while_its_template_renders(
    app, patient_id, consultant, patient, consultant_client
):
    from tests.integration.test_templates_query_nothing import statements_while_rendering

    quote_id, token = sent_quote(app, patient_id, consultant, "tr")
    with statements_while_rendering(app) as sent:
        assert patient.get(f"/quote/{token}").status_code == 200  # records the view
        answer(patient, token, "question", question="Is PRP included?")
        answer(patient, token, "accept", typed_name="Oliver Smith", terms_accepted="y")
        assert patient.get(f"/quote/{token}").status_code == 200
        assert (
            answer(patient, token, "accept", typed_name="x", terms_accepted="y").status_code == 409
        )
        assert consultant_client.get(f"/quotes/{quote_id}/send").status_code == 200
        assert patient.get(f"/quote/{token}x").status_code == 404
    assert sent == []


def test_an_accepted_quote_stays_readable_after_its_last_valid_day(
    app, patient_id, consultant, patient
):
    quote_id, token = sent_quote(app, patient_id, consultant, "en")
    answer(patient, token, "accept", typed_name="Oliver Smith", terms_accepted="y")
    with app.app_context():
        db.session.get(Quote, quote_id).valid_until = clinic_today() - timedelta(days=1)
        db.session.commit()

    response = patient.get(f"/quote/{token}")

    assert response.status_code == 200
    assert "You accepted this quote" in response.get_data(as_text=True)
    assert answer(patient, token, "question", question="When do I fly?").status_code == 303
