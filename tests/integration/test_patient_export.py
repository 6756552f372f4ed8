"""A patient's whole record out: the ZIP from the patient page, the FHIR R4 Bundle (validated
with fhir.resources' R4B models), the shell command, the audit trail and the consent."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from tests.conftest import booking_document, deliver, submit, valid_answers
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Consultant,
    Consultation,
    PatientNote,
    PatientPhoto,
    PatientProfile,
    QuestionnaireSubmission,
)
from webapp.privacy.fhir import fhir_bundle
from webapp.questionnaire.forms import CONSENT_WORDING_VERSION
from webapp.treatment.assessment import AssessmentDraft, record_assessment
from webapp.treatment.quotes import make_quote, send_quote
from webapp.treatment.responses import accept_quote

UID = "r8KqT2mWv5XbN7pLc3YdZa"
JPEG = b"\xff\xd8\xff\xe0 a stored photo \xff\xd9"


@pytest.fixture
def patient(app, consultant_client, consultant) -> int:
    """A patient with a booking, a rescheduled one, questionnaire answers, a photo and a note."""
    first = deliver(
        consultant_client,
        booking_document(
            UID, email="ozge@example.com", name="Özge Çelik", phone="+90 532 123 45 67"
        ),
    )
    assert submit(consultant_client, UID, valid_answers()).status_code == 302
    with app.app_context():
        db.session.add(
            PatientPhoto(patient_profile_id=first["patient_id"], view="front", content=JPEG,
                         thumbnail=JPEG, width=2, height=2)
        )  # fmt: skip
        db.session.add(
            PatientNote(patient_profile_id=first["patient_id"], consultant_id=consultant,
                        body="Wants a denser crown")
        )  # fmt: skip
        consultation = db.session.get(Consultation, first["consultation_id"])
        consultation.attendee_locale = "tr"
        db.session.commit()
    return first["patient_id"]


def read_zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_export_downloads_the_whole_record_and_is_audited(app, consultant_client, patient):
    response = consultant_client.get(f"/patients/{patient}/export")

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert f"patient-{patient}-" in response.headers["Content-Disposition"]
    archive = read_zip(response)
    names = archive.namelist()
    assert {"patient.json", "fhir.json"} <= set(names)
    photo = next(name for name in names if name.startswith("photos/"))
    assert archive.read(photo) == JPEG
    record = json.loads(archive.read("patient.json"))
    assert record["profile"]["name"] == "Özge Çelik"
    assert record["profile"]["phone"] == "+905321234567"
    assert record["consultations"][0]["cal_booking_uid"] == UID
    assert record["consultations"][0]["status_history"][0]["trigger"] == "BOOKING_CREATED"
    assert record["booking_answers"][0]["consultation"] == record["consultations"][0]["id"]
    submission = record["questionnaire_submissions"][0]
    assert submission["answers"]["medications_details"] == "Aspirin 75 mg daily"
    assert submission["consent"]["wording_version"] == CONSENT_WORDING_VERSION
    assert submission["consent"]["given_at"] is not None
    assert record["notes"][0]["text"] == "Wants a denser crown"
    assert record["photos"][0]["file"] == photo
    assert "patient.viewed" not in {e["action"] for e in record["audit_events"]}
    with app.app_context():
        exported = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "patient.exported")
        )
        assert exported.patient_profile_id == patient
        assert exported.details == {"format": "zip"}
    again = read_zip(consultant_client.get(f"/patients/{patient}/export"))
    actions = [e["action"] for e in json.loads(again.read("patient.json"))["audit_events"]]
    assert actions == ["patient.exported"]


def test_the_export_holds_the_assessments_quotes_answers_and_stages(
    app, consultant_client, consultant, patient
):
    with app.test_request_context():
        person = db.session.get(PatientProfile, patient)
        who = db.session.get(Consultant, consultant)
        draft = AssessmentDraft(
            "norwood_4", "good", 80, 1600, 2200, "dhi", "suitable", None, "Finasteride first"
        )
        record_assessment(person, draft, who)
        quote = make_quote(person, who, "tr")
        quote.note = "Hotel near the clinic"
        send_quote(quote, who)
        accept_quote(quote, "Özge Çelik", True)
        db.session.commit()
        number, total = quote.quote_number, quote.total_minor

    record = json.loads(
        read_zip(consultant_client.get(f"/patients/{patient}/export")).read("patient.json")
    )

    (assessment,) = record["assessments"]
    assert assessment["technique"] == "dhi"
    assert assessment["grafts"] == {"min": 1600, "max": 2200}
    assert assessment["recommendations"] == "Finasteride first"
    (exported,) = record["quotes"]
    assert exported["number"] == number and exported["language"] == "tr"
    assert exported["note"] == "Hotel near the clinic"
    assert exported["total"] == f"{total / 100:.2f}"  # an exact decimal string, in euros
    assert [a["typed_name"] for a in exported["answers"]] == ["Özge Çelik"]
    assert [s["stage"] for s in record["stages"]][-1] == "accepted"


def test_the_fhir_bundle_validates_as_r4_with_standard_codes(app, consultant_client, patient):
    bundle_json = json.loads(
        read_zip(consultant_client.get(f"/patients/{patient}/export")).read("fhir.json")
    )

    bundle = Bundle.model_validate(bundle_json)

    assert bundle.type == "collection"
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds == ["Patient", "Appointment", "Questionnaire", "QuestionnaireResponse", "Media"]
    resources = {entry.resource.get_resource_type(): entry.resource for entry in bundle.entry}
    person = resources["Patient"]
    assert {t.system: t.value for t in person.telecom} == {
        "phone": "+905321234567",
        "email": "ozge@example.com",
    }
    assert person.communication[0].language.coding[0].system == "urn:ietf:bcp:47"
    assert person.communication[0].language.coding[0].code == "tr"
    assert person.gender == "male"
    appointment = resources["Appointment"]
    assert appointment.status in {"booked", "fulfilled", "noshow", "cancelled", "pending"}
    assert appointment.participant[0].actor.reference == bundle.entry[0].fullUrl
    response = resources["QuestionnaireResponse"]
    assert response.questionnaire.startswith(resources["Questionnaire"].url)
    linked = {item.linkId for item in response.item}
    assert {item.linkId for item in resources["Questionnaire"].item} >= linked
    assert resources["Media"].content.url.startswith("photos/")


def test_the_shell_exports_a_zip_to_a_file_and_fhir_to_standard_output(
    app, runner, patient, tmp_path
):
    target = tmp_path / "record.zip"

    written = runner.invoke(args=["patients", "export", str(patient), "--output", str(target)])
    fhir = runner.invoke(args=["patients", "export", str(patient), "--format", "fhir"])

    assert written.exit_code == 0, written.output
    assert "patient.json" in zipfile.ZipFile(target).namelist()
    assert fhir.exit_code == 0, fhir.output
    bundle = Bundle.model_validate(json.loads(fhir.stdout_bytes))
    media = next(e.resource for e in bundle.entry if e.resource.get_resource_type() == "Media")
    assert media.content.data == JPEG
    missing = runner.invoke(args=["patients", "export", "999999"])
    assert missing.exit_code != 0 and "no patient #999999" in missing.output
    with app.app_context():
        audits = db.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "patient.exported")
        ).all()
        assert sorted(d["format"] for d in audits) == ["fhir", "zip"]


def test_an_erased_patient_exports_what_stays(app, runner, consultant_client, patient):
    assert runner.invoke(args=["patients", "erase", str(patient), "--yes"]).exit_code == 0
    with app.app_context():
        bundle = fhir_bundle(db.session.get(Consultation, 1).patient, datetime.now(UTC),
                             embed_photos=False)  # fmt: skip
    Bundle.model_validate(bundle)
    record = json.loads(
        read_zip(consultant_client.get(f"/patients/{patient}/export")).read("patient.json")
    )
    assert record["profile"]["name"] is None and record["profile"]["erased_at"]
    assert record["photos"] == [] and record["consultations"][0]["status"] == "scheduled"


def test_export_of_a_patient_that_does_not_exist_is_404(consultant_client, patient):
    assert consultant_client.get("/patients/999999/export").status_code == 404


def test_a_signed_out_visitor_gets_the_login_page_not_the_record(app, client):
    response = client.get("/patients/1/export")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_consent_is_recorded_with_time_and_wording_and_shown(app, consultant_client, patient):
    with app.app_context():
        submission = db.session.scalar(select(QuestionnaireSubmission))
        assert submission.consent_wording_version == CONSENT_WORDING_VERSION
        assert submission.consent_given_at == submission.submitted_at
    page = consultant_client.get(f"/patients/{patient}").get_data(as_text=True)
    assert f"wording version {CONSENT_WORDING_VERSION}" in page
