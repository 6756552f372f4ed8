"""The consultant's treatment pages: assessing from the patient page, making, editing,
versioning and sending a quote, deposit and surgery date, the settings (admins only), and
what a lying or foreign request gets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import booking_document, csrf_token_from, deliver, fixture_body
from webapp.extensions import db
from webapp.models import (
    Assessment,
    AuditEvent,
    ClinicSettings,
    Consultant,
    ConsultantRole,
    PatientProfile,
    Quote,
)
from webapp.treatment.responses import accept_quote
from webapp.treatment.stage import clinic_today

ASSESSMENT = {
    "pattern": "norwood_4",
    "donor_quality": "good",
    "donor_density": "80",
    "grafts_min": "1600",
    "grafts_max": "2200",
    "technique": "dhi",
    "suitability": "suitable",
    "unsuitable_reason": "",
    "recommendations": "Minoxidil after surgery.",
}


@pytest.fixture
def patient_id(consultant_client) -> int:
    return deliver(consultant_client, fixture_body("booking_created.json"))["patient_id"]


def post_form(client, page_url: str, action: str | None = None, **data):
    page = client.get(page_url)
    assert page.status_code == 200
    data["csrf_token"] = csrf_token_from(page.get_data(as_text=True))
    return client.post(action or page_url, data=data)


def assess(client, patient_id: int, **changes):
    url = f"/patients/{patient_id}/assessment"
    return post_form(client, url, **(ASSESSMENT | changes))


@pytest.fixture
def today(app):
    with app.app_context():
        return clinic_today()


def make_admin(app, consultant: int) -> None:
    with app.app_context():
        db.session.get(Consultant, consultant).role = ConsultantRole.ADMIN
        db.session.commit()


def test_an_assessment_is_saved_versioned_and_shown(app, consultant_client, patient_id):
    assert assess(consultant_client, patient_id).status_code == 302
    assert assess(consultant_client, patient_id, grafts_max="2400").status_code == 302

    page = consultant_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "Norwood IV" in page and "1,600–2,400" in page and "Earlier versions (1)" in page
    assert 'class="stage stage-assessed"' in page
    with app.app_context():
        versions = db.session.scalars(select(Assessment).order_by(Assessment.id)).all()
        assert versions[1].replaces_id == versions[0].id
        audits = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assessment.recorded")
        ).all()
        assert len(audits) == 2
        assert "Minoxidil" not in str([a.details for a in audits])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grafts_min": "2500", "grafts_max": "1000"}, "must not be below"),
        ({"grafts_min": "1000", "grafts_max": ""}, "both ends"),
        ({"grafts_max": "99999"}, "Number must be between"),
        ({"suitability": "not_suitable", "unsuitable_reason": " "}, "Say why"),
        ({"pattern": "norwood_99"}, "Not a valid choice"),
        ({"donor_density": "-3"}, "Number must be between"),
    ],
)
def test_a_lying_assessment_is_refused_with_a_clear_400(
    app, consultant_client, patient_id, changes, message
):
    response = assess(consultant_client, patient_id, **changes)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Assessment.id)) is None


def test_a_quote_is_made_edited_sent_versioned_and_accepted(
    app, consultant_client, patient_id, today
):
    assess(consultant_client, patient_id)
    made = post_form(
        consultant_client,
        f"/patients/{patient_id}",
        action=f"/patients/{patient_id}/quotes",
    )
    assert made.status_code == 302
    edit_url = made.headers["Location"]
    editor = consultant_client.get(edit_url).get_data(as_text=True)
    assert "Hair transplant (DHI)" in editor
    valid = (today + timedelta(days=20)).isoformat()
    form = {
        "lines-0-description": "DHI hair transplant",
        "lines-0-grafts": "2200",
        "lines-0-price": "2500.50",
        "lines-1-description": "PRP, three sessions",
        "lines-1-grafts": "",
        "lines-1-price": "300",
        "currency": "EUR",
        "deposit": "500",
        "valid_until": valid,
        "language": "tr",
        "inclusions": "Otel",
        "exclusions": "",
        "balance_terms": "",
        "terms": "",
        "note": "",
        "then": "send",
    }
    sent = post_form(consultant_client, edit_url, **form)
    assert sent.status_code == 302
    with app.app_context():
        quote = db.session.scalars(select(Quote)).one()
        assert (quote.total_minor, quote.deposit_minor, quote.language) == (280_050, 50_000, "tr")
        assert quote.sent_at is not None
        quote_id = quote.id
    page = consultant_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "€2,800.50" in page and "/quote/" in page
    assert 'class="stage stage-quote_sent"' in page

    # A sent quote is never edited: 409; a new version replaces it.
    assert consultant_client.get(edit_url).status_code == 409
    versioned = post_form(
        consultant_client, f"/patients/{patient_id}", action=f"/quotes/{quote_id}/versions"
    )
    assert versioned.status_code == 302
    second_url = versioned.headers["Location"]
    assert second_url != edit_url
    assert post_form(consultant_client, second_url, **form).status_code == 302

    with app.app_context():
        second = db.session.scalars(select(Quote).where(Quote.version == 2)).one()
        accept_quote(second, "Ayşe Yılmaz", True)
        db.session.commit()
        second_id = second.id
    deposit = post_form(
        consultant_client,
        f"/patients/{patient_id}",
        action=f"/quotes/{second_id}/deposit",
        amount="500",
        received_on=today.isoformat(),
    )
    assert deposit.status_code == 302
    surgery = post_form(
        consultant_client,
        f"/patients/{patient_id}",
        action=f"/quotes/{second_id}/surgery",
        surgery_on=(today + timedelta(days=60)).isoformat(),
    )
    assert surgery.status_code == 302
    page = consultant_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert 'class="stage stage-surgery_scheduled"' in page
    assert "Replaced by a newer version" in page
    assert "signed “Ayşe Yılmaz” (version 2)" in page
    # A deposit on the replaced, never accepted version is refused.
    refused = post_form(
        consultant_client,
        f"/patients/{patient_id}",
        action=f"/quotes/{quote_id}/deposit",
        amount="500",
        received_on=today.isoformat(),
    )
    assert refused.status_code == 409


def test_amounts_finer_than_the_currency_are_refused(app, consultant_client, patient_id, today):
    assess(consultant_client, patient_id)
    made = post_form(
        consultant_client, f"/patients/{patient_id}", action=f"/patients/{patient_id}/quotes"
    )
    edit_url = made.headers["Location"]
    page = consultant_client.get(edit_url).get_data(as_text=True)
    response = consultant_client.post(
        edit_url,
        data={
            "csrf_token": csrf_token_from(page),
            "lines-0-description": "FUE",
            "lines-0-price": "10.005",
            "currency": "EUR",
            "deposit": "1e400",
            "valid_until": today.isoformat(),
            "language": "en",
        },
    )
    assert response.status_code == 400
    assert response.get_data(as_text=True).count("Not an amount in EUR") == 2


def test_pages_need_a_login_and_forms_csrf(app, client, consultant_client, patient_id):
    consultant_client.post(
        "/logout",
        data={"csrf_token": csrf_token_from(consultant_client.get("/").get_data(as_text=True))},
    )
    for url in (f"/patients/{patient_id}/assessment", "/settings"):
        assert client.get(url).status_code == 302
    response = client.post(f"/patients/{patient_id}/quotes")
    assert response.status_code in (302, 400)
    with app.app_context():
        assert db.session.scalar(select(Quote.id)) is None


def test_settings_are_for_admins_and_fill_new_quotes(
    app, consultant_client, consultant, patient_id, today
):
    assert consultant_client.get("/settings").status_code == 403
    make_admin(app, consultant)
    data = {
        "currency": "GBP",
        "procedure_price": "1000",
        "price_per_graft": "0.50",
        "deposit_kind": "percent",
        "deposit_amount": "0",
        "deposit_percent": "10",
        "validity_days": "14",
        "texts_en-inclusions": "Hotel, transfers",
        "texts_de-inclusions": "Hotel, Transfers",
        "texts_en-terms": "Free date change up to 14 days before.",
    }
    assert post_form(consultant_client, "/settings", **data).status_code == 302
    with app.app_context():
        settings = db.session.scalars(select(ClinicSettings)).one()
        assert settings.inclusions == {"en": "Hotel, transfers", "de": "Hotel, Transfers"}
        assert (settings.price_per_graft_minor, settings.deposit_percent) == (50, 10)
        db.session.get(PatientProfile, patient_id).consultations[0].attendee_locale = "de"
        db.session.commit()
    assess(consultant_client, patient_id)
    made = post_form(
        consultant_client, f"/patients/{patient_id}", action=f"/patients/{patient_id}/quotes"
    )
    with app.app_context():
        quote = db.session.scalars(select(Quote)).one()
        # German inclusions, English terms (no German ones), 1000 + 2200 x 0.50, 10 %.
        assert (quote.currency, quote.language) == ("GBP", "de")
        assert quote.inclusions == "Hotel, Transfers"
        assert quote.terms == "Free date change up to 14 days before."
        assert (quote.total_minor, quote.deposit_minor) == (210_000, 21_000)
        assert quote.valid_until == today + timedelta(days=14)
    assert made.status_code == 302
    bad = post_form(consultant_client, "/settings", **(data | {"validity_days": "0"}))
    assert bad.status_code == 400


def test_someone_elses_consultation_is_no_way_in(app, consultant_client, patient_id):
    with app.app_context():
        theirs = db.session.get(PatientProfile, patient_id).consultations[0].id
    other = deliver(
        consultant_client,
        booking_document("otherBookingUid42", email="emma@example.org", name="Emma", phone=None),
    )["patient_id"]
    assert other != patient_id
    for consultation in (theirs, 999_999):
        url = f"/patients/{other}/assessment?consultation={consultation}"
        assert consultant_client.get(url).status_code == 404


def test_lying_requests_get_clear_answers(app, consultant_client, patient_id, today):
    assess(consultant_client, patient_id)
    # No CSRF token: refused, nothing made.
    assert consultant_client.post(f"/patients/{patient_id}/quotes").status_code == 400
    not_admin = post_form(
        consultant_client, f"/patients/{patient_id}", action="/settings", currency="EUR"
    )
    assert not_admin.status_code == 403
    for url in ("/quotes/999999/edit", "/patients/999999/assessment"):
        assert consultant_client.get(url).status_code == 404
    made = post_form(
        consultant_client, f"/patients/{patient_id}", action=f"/patients/{patient_id}/quotes"
    )
    quote_id = int(made.headers["Location"].split("/")[2])
    # A draft takes no deposit and no new version; a lying day is a warning, not a 500.
    deposit = post_form(
        consultant_client,
        f"/patients/{patient_id}",
        action=f"/quotes/{quote_id}/deposit",
        amount="500",
        received_on=today.isoformat(),
    )
    assert deposit.status_code == 409
    versioned = post_form(
        consultant_client, f"/patients/{patient_id}", action=f"/quotes/{quote_id}/versions"
    )
    assert versioned.status_code == 409
    surgery = post_form(
        consultant_client,
        f"/patients/{patient_id}",
        action=f"/quotes/{quote_id}/surgery",
        surgery_on="31/02/2027",
    )
    assert surgery.status_code == 302
    with app.app_context():
        assert db.session.get(PatientProfile, patient_id).stage == "assessed"
