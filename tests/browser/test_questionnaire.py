"""A patient fills the questionnaire on a phone (390×844), step by step, in their own
language; the consultant sees it live. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.screen import accessibility_violations, horizontal_overflow
from tests.browser.test_live_dashboard import LIVE_DEADLINE_MS, deliver, log_in, upcoming_booking

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def phone_page(browser: Browser) -> Page:
    """A fresh browser (its own cookies) at a phone's size."""
    return browser.new_context(viewport=PHONE).new_page()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_fits_the_phone(page: Page) -> None:
    """Nothing is wider than the screen: no sideways scrolling."""
    overflow = horizontal_overflow(page)
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"


def a_photo(tmp_path: Path) -> Path:
    path = tmp_path / "front.png"
    image = Image.new("RGB", (120, 90), "saddlebrown")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def booking_speaking(locale: str) -> dict:
    booking = upcoming_booking()
    booker = booking["payload"]["attendees"][0]
    booker["language"] = {"locale": locale}
    booker["timeZone"] = "Europe/Istanbul"
    return booking


def test_a_patient_fills_the_questionnaire_and_the_dashboard_shows_it_completed(
    page: Page, browser: Browser, live_server: str, consultant: int
) -> None:
    booking = upcoming_booking()
    answer = deliver(live_server, booking)
    log_in(page, live_server)
    row = page.locator(f"#consultation-{answer['consultation_id']}")
    expect(row).to_contain_text("Not yet")
    page.evaluate("window.__notReloaded = true")

    patient = phone_page(browser)
    patient.goto(f"{live_server}/questionnaire?uid={booking['payload']['uid']}")
    expect(patient.get_by_role("heading", name="Hello Oliver,")).to_be_visible()
    expect(patient.get_by_role("heading", name="Your consultation is booked")).to_be_visible()
    expect(patient.get_by_label("Country of residence")).to_have_value("United Kingdom")
    patient.get_by_label("36-45").check()
    patient.get_by_label("Male", exact=True).check()
    patient.get_by_role("button", name="Continue").click()

    expect(patient.get_by_text("Step 2 of 5")).to_be_visible()
    for question in ("conditions", "allergies", "surgeries", "recent_events"):
        patient.locator(f"input[name={question}][value=none]").check()
    patient.locator("input[name=medications][value=yes]").check()
    patient.locator("textarea[name=medications_details]").fill("Aspirin 75 mg daily")
    patient.get_by_role("button", name="Continue").click()

    patient.get_by_label("2–5 years ago").check()
    patient.get_by_label("Gradually").check()
    patient.get_by_label("Crown", exact=True).check()
    patient.get_by_label("Father's side").check()
    patient.get_by_role("button", name="Continue").click()
    expect(patient.get_by_text("Step 4 of 5")).to_be_visible()
    patient.get_by_role("button", name="Continue").click()  # no photos today
    patient.get_by_label("I agree that the clinic processes my health data").check()
    patient.get_by_role("button", name="Send my answers").click()
    expect(patient.get_by_role("heading", name="Thank you")).to_be_visible()
    assert patient.url == f"{live_server}/questionnaire/thanks"

    expect(row).to_contain_text("Completed", timeout=LIVE_DEADLINE_MS)
    assert page.evaluate("window.__notReloaded") is True

    row.get_by_role("link", name="Oliver Bennett", exact=True).click()
    main = page.locator("main")
    expect(main).to_contain_text("Yes: Aspirin 75 mg daily")
    expect(main).to_contain_text("2–5 years ago")
    expect(page.get_by_role("heading", name="Hair loss")).to_be_visible()


def test_a_turkish_patient_on_a_phone_steps_through_is_refused_resumes_and_sends_a_photo(
    browser: Browser, live_server: str, consultant: int, tmp_path: Path
) -> None:
    booking = booking_speaking("tr")
    deliver(live_server, booking)
    uid = booking["payload"]["uid"]
    patient = phone_page(browser)
    problems: list[str] = []
    patient.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    patient.goto(f"{live_server}/questionnaire?uid={uid}")
    expect(patient.locator("html")).to_have_attribute("lang", "tr")
    expect(patient.get_by_role("heading", name="Merhaba Oliver,")).to_be_visible()
    expect(patient.get_by_role("heading", name="Görüşmeniz ayarlandı")).to_be_visible()
    expect(patient.get_by_text("Adım 1 / 5")).to_be_visible()
    expect(patient.get_by_role("link", name="العربية")).to_be_visible()
    assert_fits_the_phone(patient)
    shot(patient, "tr-1-basic-details")
    patient.get_by_label("36-45").check()
    patient.get_by_label("Erkek", exact=True).check()
    patient.get_by_role("button", name="Devam").click()

    # Details appear only with "Evet" (yes).
    details = patient.locator("textarea[name=medications_details]")
    expect(details).to_be_hidden()
    patient.locator("input[name=medications][value=yes]").check()
    expect(details).to_be_visible()
    patient.locator("input[name=medications][value=none]").check()
    expect(details).to_be_hidden()
    for question in ("conditions", "allergies", "surgeries", "recent_events"):
        patient.locator(f"input[name={question}][value=none]").check()
    patient.locator("input[name=medications][value=yes]").check()
    patient.get_by_role("button", name="Devam").click()  # yes, without the details

    summary = patient.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Bazı yanıtların kontrol edilmesi gerekiyor")
    expect(summary).to_contain_text("“Evet” dediniz: lütfen ayrıntıları yazın.")
    assert_fits_the_phone(patient)
    shot(patient, "tr-2-refused-step")
    summary.get_by_role("link").click()
    expect(details).to_be_focused()
    details.fill("Aspirin, günde 75 mg")
    patient.get_by_role("button", name="Devam").click()
    expect(patient.get_by_text("Adım 3 / 5")).to_be_visible()
    patient.get_by_label("2–5 yıl önce").check()
    patient.get_by_label("Yavaş yavaş").check()
    patient.get_by_label("Tepe (arka kısım)").check()
    patient.get_by_label("Baba tarafı").check()
    patient.get_by_label("Hedefleriniz ve danışmana sormak istedikleriniz").fill(
        "Daha gür bir tepe"
    )

    # The tab is closed before Continue: what was sent so far is kept; the same link in the
    # same browser resumes at the step where the patient stopped.
    patient.get_by_role("button", name="Devam").click()
    expect(patient.get_by_text("Adım 4 / 5")).to_be_visible()
    context = patient.context
    patient.close()
    patient = context.new_page()
    patient.goto(f"{live_server}/questionnaire/{uid}")
    expect(patient.get_by_text("Adım 4 / 5")).to_be_visible()
    patient.get_by_role("button", name="Geri").click()
    expect(patient.get_by_label("Hedefleriniz ve danışmana sormak istedikleriniz")).to_have_value(
        "Daha gür bir tepe"
    )
    patient.get_by_role("button", name="Devam").click()

    file_input = patient.locator("#photo_front")
    expect(file_input).to_have_attribute("accept", "image/*")
    expect(file_input).to_have_attribute("capture", "environment")
    file_input.set_input_files(str(a_photo(tmp_path)))
    assert_fits_the_phone(patient)
    shot(patient, "tr-3-photos")
    patient.get_by_role("button", name="Devam").click()
    expect(patient.get_by_text("Adım 5 / 5")).to_be_visible()
    patient.get_by_role("button", name="Geri").click()
    expect(patient.get_by_text("Fotoğraf alındı.")).to_have_count(1)
    patient.get_by_role("button", name="Devam").click()
    patient.get_by_label("Kliniğin görüşmemi hazırlamak için sağlık verilerimi").check()
    expect(patient.get_by_role("link", name="Kliniğin gizlilik bildirimini okuyun")).to_be_visible()
    patient.get_by_role("button", name="Yanıtlarımı gönder").click()

    expect(patient.get_by_role("heading", name="Teşekkür ederiz")).to_be_visible()
    assert_fits_the_phone(patient)
    shot(patient, "tr-4-thanks")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems

    # The consultant reads the answers in English, with the photo as a thumbnail.
    staff = browser.new_page()
    log_in(staff, live_server)
    staff.get_by_role("link", name="Oliver Bennett").first.click()
    main = staff.locator("main")
    expect(main).to_contain_text("Yes: Aspirin, günde 75 mg")
    expect(main).to_contain_text("Daha gür bir tepe")
    thumbnail = staff.get_by_role("img", name="Front (120×90)")
    thumbnail.scroll_into_view_if_needed()  # lazy: it loads once the consultant scrolls to it
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("image => image.decode().then(() => image.naturalWidth)") == 120
    shot(staff, "staff-patient-photos")


def test_an_arabic_patient_gets_a_right_to_left_page_that_fits_the_phone(
    browser: Browser, live_server: str
) -> None:
    patient = phone_page(browser)

    patient.goto(f"{live_server}/questionnaire/ArabicBookingUid0001?lang=ar")

    expect(patient.locator("html")).to_have_attribute("dir", "rtl")
    expect(patient.get_by_role("heading", name="قبل استشارتك")).to_be_visible()
    expect(patient.get_by_role("heading", name="جارٍ تأكيد حجزك")).to_be_visible()
    assert_fits_the_phone(patient)
    # Mirrored: headings start at the right, a choice's button sits right of its words.
    width = PHONE["width"]
    heading = patient.get_by_role("heading", name="قبل استشارتك").bounding_box()
    assert heading["x"] + heading["width"] > width - 40
    radio = patient.locator("#age_range-0").bounding_box()
    assert radio["x"] > width / 2
    shot(patient, "ar-1-basic-details")

    patient.get_by_role("button", name="متابعة").click()  # nothing filled in
    summary = patient.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("بعض الإجابات تحتاج إلى مراجعة")
    expect(patient.locator("#country-error")).to_have_text("أخبرنا أين تقيم.")
    assert_fits_the_phone(patient)
    shot(patient, "ar-2-refused-step")

    patient.get_by_label("اسمك").fill("ليلى حداد")
    patient.get_by_label("البريد الإلكتروني (الذي حجزت به)").fill("layla@example.ae")
    patient.get_by_label("بلد الإقامة").fill("الإمارات العربية المتحدة")
    patient.get_by_label("26-35").check()
    patient.get_by_label("أنثى").check()
    patient.get_by_role("button", name="متابعة").click()
    expect(patient.get_by_text("الخطوة 2 من 5")).to_be_visible()
    for question in ("conditions", "medications", "allergies", "surgeries", "recent_events"):
        patient.locator(f"input[name={question}][value=none]").check()
    patient.reload()  # a reload keeps the step and what was sent
    expect(patient.get_by_text("الخطوة 2 من 5")).to_be_visible()
    for question in ("conditions", "medications", "allergies", "surgeries", "recent_events"):
        patient.locator(f"input[name={question}][value=none]").check()
    patient.get_by_role("button", name="متابعة").click()
    patient.get_by_label("منذ أقل من سنة").check()
    patient.get_by_label("فجأة").check()
    patient.get_by_label("خط الشعر الأمامي").check()
    patient.get_by_label("لا يوجد").check()
    patient.get_by_role("button", name="متابعة").click()
    expect(patient.get_by_text("الخطوة 4 من 5")).to_be_visible()
    assert_fits_the_phone(patient)
    shot(patient, "ar-3-photos")
    patient.get_by_role("button", name="متابعة").click()
    patient.get_by_label("أوافق على أن تعالج العيادة بياناتي الصحية").check()
    patient.get_by_role("button", name="أرسل إجاباتي").click()

    expect(patient.get_by_role("heading", name="شكرًا لك")).to_be_visible()
    expect(patient.locator("html")).to_have_attribute("dir", "rtl")
    assert_fits_the_phone(patient)
    shot(patient, "ar-4-thanks")


def test_a_photo_with_too_many_pixels_is_refused_on_a_phone_in_the_patients_language(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    booking = booking_speaking("es")
    deliver(live_server, booking)
    # Its own context, so that axe-core's injected script passes the app's CSP.
    patient = browser.new_context(viewport=PHONE, bypass_csp=True).new_page()
    patient.goto(f"{live_server}/questionnaire/{booking['payload']['uid']}")
    patient.locator("input[name=age_range][value='36-45']").check()
    patient.locator("input[name=gender][value=male]").check()
    patient.locator("button[name=go][value=next]").click()
    for question in ("conditions", "medications", "allergies", "surgeries", "recent_events"):
        patient.locator(f"input[name={question}][value=none]").check()
    patient.locator("button[name=go][value=next]").click()
    for name, value in (
        ("hair_loss_started", "2_5"),
        ("hair_loss_onset", "gradual"),
        ("hair_loss_areas", "crown"),
        ("family_history", "father"),
    ):
        patient.locator(f"input[name={name}][value='{value}']").check()
    patient.locator("button[name=go][value=next]").click()
    huge = tmp_path / "front.png"
    Image.new("L", (8900, 8900), 90).save(huge, "PNG")  # 79 MP in some 100 KB

    patient.locator("#photo_front").set_input_files(str(huge))
    patient.locator("button[name=go][value=next]").click()

    summary = patient.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Esta foto tiene demasiados píxeles para que podamos leerla.")
    expect(patient.locator("#photo_front-error")).to_contain_text("12 o 24 megapíxeles")
    assert_fits_the_phone(patient)
    shot(patient, "es-photo-too-many-pixels")
    assert accessibility_violations(patient) == []
