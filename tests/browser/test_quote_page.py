"""The patient opens their quote's link on a phone in Turkish and in Arabic and accepts it;
the consultant's open dashboard marks the row New without a reload. The quote page, its
print view, the 410 and 404 pages and the consultant's send page are checked with axe-core
and photographed at 1440×900 and 390×844 into test-artifacts/ (git-ignored)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.browser.test_live_dashboard import LIVE_DEADLINE_MS, deliver, log_in, upcoming_booking
from tests.browser.test_questionnaire import ARTIFACTS
from tests.integration.test_quote_services import assessed_and_quoted
from webapp.extensions import db
from webapp.models import Quote
from webapp.questionnaire.language import LANGUAGES
from webapp.treatment.links import quote_token
from webapp.treatment.quotes import send_quote
from webapp.treatment.stage import clinic_today

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}
# What the clinic's settings would hold in the patient's language.
NOTES = {"tr": "Lütfen eski fotoğraflarınızı getirin.", "ar": "يرجى إحضار صورك السابقة."}
TERMS = {
    "tr": "Ameliyattan 14 gün öncesine kadar ücretsiz iptal veya tarih değişikliği.",
    "ar": "الإلغاء أو تغيير الموعد مجانًا حتى 14 يومًا قبل العملية.",
}
INCLUDED = {
    "tr": "Operasyon, 3 gece otel, havalimanı ve klinik transferleri, ilaçlar, PRP.",
    "ar": "العملية، 3 ليالٍ في الفندق، التنقل من المطار وإلى العيادة، الأدوية، البلازما (PRP).",
}
BALANCE = {
    "tr": "Kalan tutar ameliyat günü nakit veya kartla ödenir.",
    "ar": "يُدفع المبلغ المتبقي يوم العملية نقدًا أو بالبطاقة.",
}


def patient_page(browser: Browser, viewport: dict[str, int]) -> Page:
    """The patient's own browser (no consultant cookies); axe needs the CSP bypassed."""
    return browser.new_context(viewport=viewport, bypass_csp=True).new_page()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def check(page: Page) -> None:
    """No sideways scrolling, no accessibility violation."""
    assert (
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        <= 0
        or horizontal_overflow(page) <= 0
    )
    assert accessibility_violations(page) == []


def sent_quote(app, live_server: str, consultant: int, language: str) -> tuple[dict, str]:
    """A booking, its patient assessed and sent a quote in ``language``; the booking's
    answer and the link's token."""
    booking = deliver(live_server, upcoming_booking())
    with app.app_context():
        _, who, quote = assessed_and_quoted(app, booking["patient_id"], consultant)
        quote.language = language
        quote.note = NOTES[language]
        quote.terms = TERMS[language]
        quote.inclusions = INCLUDED[language]
        quote.balance_terms = BALANCE[language]
        send_quote(quote, who)
        db.session.commit()
        return booking, quote_token(quote)


@pytest.mark.parametrize(
    ("language", "accept_label", "name_label", "terms_label", "accepted", "direction"),
    [
        (
            "tr",
            "Teklifi kabul et",
            "Adınız ve soyadınız",
            "Teklifi ve koşullarını okudum, kabul ediyorum.",
            "Bu teklifi",
            "ltr",
        ),
        (
            "ar",
            "اقبل العرض",
            "اسمك الكامل",
            "قرأت العرض وشروطه وأوافق عليها.",
            "لقد قبلت هذا العرض",
            "rtl",
        ),
    ],
)
def test_the_patient_accepts_on_a_phone_and_the_open_dashboard_shows_it_live(
    page: Page,
    browser: Browser,
    app,
    live_server: str,
    consultant: int,
    language: str,
    accept_label: str,
    name_label: str,
    terms_label: str,
    accepted: str,
    direction: str,
) -> None:
    booking, token = sent_quote(app, live_server, consultant, language)
    page.set_viewport_size(LAPTOP)
    log_in(page, live_server)
    page.evaluate("window.__notReloaded = true")
    row = page.locator(f"#consultation-{booking['consultation_id']}")
    expect(row).to_be_visible()
    expect(row.locator(".badge-new")).to_have_count(0)

    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        patient = patient_page(browser, viewport)
        patient.goto(f"{live_server}/quote/{token}")
        expect(patient.locator("html")).to_have_attribute("lang", language)
        expect(patient.locator("html")).to_have_attribute("dir", direction)
        check(patient)
        shot(patient, f"quote-{language}-{name}")
        if name == "laptop":
            patient.emulate_media(media="print")
            shot(patient, f"quote-{language}-print")
            patient.pdf(path=str(SHOTS / f"quote-{language}-print.pdf"), format="A4")
            expect(patient.get_by_role("button", name=accept_label)).to_be_hidden()
            patient.context.close()

    if direction == "rtl":  # mirrored: the heading starts at the right
        heading = patient.get_by_role("heading", level=1).bounding_box()
        assert heading["x"] + heading["width"] > PHONE["width"] - 40
    patient.get_by_role("button", name=accept_label).click()  # nothing typed
    expect(patient.locator("#error-summary")).to_be_visible()
    check(patient)
    shot(patient, f"quote-{language}-phone-refused")
    patient.get_by_label(name_label).fill("Ayşe Yılmaz" if language == "tr" else "ليلى حداد")
    patient.get_by_label(terms_label).check()
    patient.get_by_role("button", name=accept_label).click()

    expect(patient.locator(".answer-done.accepted")).to_contain_text(accepted)
    expect(patient.get_by_role("button", name=accept_label)).to_have_count(0)
    check(patient)
    shot(patient, f"quote-{language}-phone-accepted")

    expect(row.locator(".badge-new")).to_be_visible(timeout=LIVE_DEADLINE_MS)
    expect(row).to_have_attribute("data-news", f"answer-{_newest_answer(app)}")
    expect(page.locator("#announcer")).to_have_text("Quote answered: " + _described(row) + ".")
    assert page.evaluate("window.__notReloaded") is True
    shot(page, f"dashboard-after-{language}-answer")


def _described(row) -> str:
    """The row as static/app.js names it: the patient, the booking's time."""
    return f"{row.locator('[id^=patient-link-]').inner_text().strip()}, " + (
        row.locator("time").inner_text().strip()
    )


def _newest_answer(app) -> int:
    from sqlalchemy import func, select

    from webapp.models import QuoteResponse

    with app.app_context():
        return db.session.scalar(select(func.max(QuoteResponse.id)))


def test_the_expired_and_unknown_links_say_so_in_the_clinics_layout(
    browser: Browser, app, live_server: str, consultant: int
) -> None:
    _, token = sent_quote(app, live_server, consultant, "tr")
    with app.app_context():
        quote = db.session.scalar(db.select(Quote))
        quote.valid_until = clinic_today() - timedelta(days=1)
        db.session.commit()

    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        patient = patient_page(browser, viewport)
        response = patient.goto(f"{live_server}/quote/{token}")
        assert response.status == 410
        expect(patient.get_by_role("heading", name="Bu teklifin süresi doldu")).to_be_visible()
        expect(patient.locator("main")).to_contain_text("WhatsApp +90 555 000 00 00")
        check(patient)
        shot(patient, f"quote-410-{name}")

        response = patient.goto(f"{live_server}/quote/{token[:-3]}abc?lang=ar")
        assert response.status == 404
        expect(patient.locator("html")).to_have_attribute("dir", "rtl")
        expect(patient.get_by_role("heading", name="رابط العرض هذا غير صالح.")).to_be_visible()
        check(patient)
        shot(patient, f"quote-404-{name}")
        patient.context.close()


def test_the_consultant_sends_the_link(
    browser: Browser, app, live_server: str, consultant: int
) -> None:
    booking = deliver(live_server, upcoming_booking())
    with app.app_context():
        _, _, quote = assessed_and_quoted(app, booking["patient_id"], consultant)
        quote_id = quote.id
    consultant_page = patient_page(browser, LAPTOP)
    log_in(consultant_page, live_server)
    consultant_page.goto(f"{live_server}/quotes/{quote_id}/send")
    check(consultant_page)
    consultant_page.get_by_role("button", name="Mark sent and share the link").click()
    expect(consultant_page.get_by_role("link", name="WhatsApp")).to_have_attribute(
        "href", re.compile(r"^https://wa\.me/\d+\?text=Merhaba")
    )
    expect(consultant_page.get_by_role("link", name="Copy link")).to_be_visible()
    check(consultant_page)
    shot(consultant_page, "send-laptop")
    consultant_page.set_viewport_size(PHONE)
    check(consultant_page)
    shot(consultant_page, "send-phone")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_price_table_fits_a_phone_in_every_language_without_breaking_a_word(
    browser: Browser, app, live_server: str, consultant: int, language: str
) -> None:
    booking = deliver(live_server, upcoming_booking())
    with app.app_context():
        _, who, quote = assessed_and_quoted(app, booking["patient_id"], consultant)
        quote.language = language
        send_quote(quote, who)
        db.session.commit()
        token = quote_token(quote)
    patient = patient_page(browser, PHONE)
    patient.goto(f"{live_server}/quote/{token}")

    table = patient.locator(".quote-lines")
    assert table.evaluate("t => t.parentElement.scrollWidth - t.parentElement.clientWidth") <= 0
    # Each heading on one line: "Tratamiento" once broke as "Tratamie" / "nto".
    for heading in table.locator("thead th").all():
        assert (
            heading.evaluate(
                "th => { const r = document.createRange(); r.selectNodeContents(th);"
                " return r.getClientRects().length; }"
            )
            == 1
        ), heading.inner_text()
    check(patient)
    shot(patient, f"quote-{language}-phone")
    patient.context.close()
