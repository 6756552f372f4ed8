"""The patient's photos: checked by content, shrunk, stripped of EXIF, kept with the
answers, and seen only by a logged-in consultant."""

from __future__ import annotations

import io
import re

import pytest
from PIL import ExifTags, Image
from sqlalchemy import select

from tests.conftest import (
    FIXTURE_BOOKING_UID,
    TYPED_IDENTITY,
    booking_document,
    count,
    csrf_token_from,
    deliver,
    log_in,
    valid_answers,
)
from webapp.extensions import db
from webapp.models import PatientPhoto, QuestionnaireDraft
from webapp.questionnaire.photos import MAX_PHOTO_BYTES, MAX_SIDE, THUMBNAIL_SIDE
from webapp.questionnaire.questions import STEPS

UID = FIXTURE_BOOKING_UID


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (60, 40), exif=None) -> bytes:
    """A small picture: the left half red, the right half blue."""
    image = Image.new("RGB", size, "blue")
    image.paste("red", (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def reach_photos(client, token: str = UID, answers: dict | None = None) -> str:
    """Answer the steps before the photos; returns the CSRF token."""
    csrf = csrf_token_from(client.get(f"/questionnaire/{token}").get_data(as_text=True))
    answers = answers or valid_answers(**TYPED_IDENTITY)
    for step in STEPS[: [s.name for s in STEPS].index("photos")]:
        data = {name: answers[name] for name in step.fields if name in answers}
        response = client.post(
            f"/questionnaire/{token}?step={step.name}", data=data | {"csrf_token": csrf}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    return csrf


def post_photos(client, csrf: str, files: dict[str, tuple[bytes, str, str]], token: str = UID):
    """Post the photo step with ``files``: {view: (bytes, file name, content type)}."""
    data = {"csrf_token": csrf, "go": "next"}
    for view, (content, name, content_type) in files.items():
        data[f"photo_{view}"] = (io.BytesIO(content), name, content_type)
    return client.post(
        f"/questionnaire/{token}?step=photos", data=data, content_type="multipart/form-data"
    )


def send_consent(client, csrf: str, token: str = UID):
    return client.post(
        f"/questionnaire/{token}?step=consent", data={"consent": "y", "csrf_token": csrf}
    )


def stored_photos() -> list[PatientPhoto]:
    return list(db.session.scalars(select(PatientPhoto).order_by(PatientPhoto.id)))


@pytest.fixture
def booked(client) -> dict:
    return deliver(client, booking_document())


# --- What is accepted -----------------------------------------------------------------------


def test_photos_are_kept_with_the_answers_and_shown_to_the_consultant(
    app, client, booked, consultant
):
    csrf = reach_photos(client)

    response = post_photos(
        client,
        csrf,
        {
            "front": (image_bytes("JPEG"), "IMG_0001.JPG", "image/jpeg"),
            "crown": (image_bytes("PNG"), "crown.png", "image/png"),
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith("step=consent")
    with app.app_context():
        photos = stored_photos()
        assert [p.view for p in photos] == ["front", "crown"]
        assert all(p.draft_id is not None and p.patient_profile_id is None for p in photos)
    assert send_consent(client, csrf).headers["Location"] == "/questionnaire/thanks"
    with app.app_context():
        photos = stored_photos()
        assert {p.patient_profile_id for p in photos} == {booked["patient_id"]}
        assert all(p.questionnaire_submission_id and p.draft_id is None for p in photos)
        assert count(QuestionnaireDraft) == 0
        front = photos[0]

    consultant = app.test_client()
    assert log_in(consultant).status_code == 302
    page = consultant.get(f"/patients/{booked['patient_id']}").get_data(as_text=True)
    full = f"/patients/{booked['patient_id']}/photos/{front.id}"
    assert f'<a href="{full}"' in page
    assert f'<img src="{full}/thumbnail"' in page
    assert "Front" in page and "Crown (back of the top)" in page
    served = consultant.get(full)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["Cache-Control"] == "no-store"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(served.data)).format == "JPEG"
    thumbnail = consultant.get(f"{full}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.headers["Content-Type"] == "image/jpeg"


def test_a_real_png_named_txt_is_accepted(app, client, booked):
    csrf = reach_photos(client)

    response = post_photos(client, csrf, {"top": (image_bytes("PNG"), "notes.txt", "text/plain")})

    assert response.status_code == 302
    with app.app_context():
        assert [p.view for p in stored_photos()] == ["top"]


def test_a_heic_photo_is_accepted(app, client, booked):
    import pillow_heif

    heic = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), "green")).save(heic, quality=80)
    csrf = reach_photos(client)

    response = post_photos(client, csrf, {"left": (heic.getvalue(), "IMG_0002.HEIC", "image/heic")})

    assert response.status_code == 302
    with app.app_context():
        (photo,) = stored_photos()
        assert (photo.view, photo.width, photo.height) == ("left", 64, 48)


# --- What is refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"Dear clinic, here are my photos", "front.jpg"),
        (b"GIF89a" + image_bytes("GIF")[6:], "front.gif"),
        (image_bytes("JPEG")[:200], "front.jpg"),
        (b"", "front.jpg"),
    ],
    ids=["text-named-jpg", "gif", "truncated-jpeg", "empty"],
)
def test_a_file_that_is_not_a_jpeg_png_or_heic_photo_is_refused(app, client, booked, content, name):
    csrf = reach_photos(client)

    response = post_photos(
        client,
        csrf,
        {
            "front": (content, name, "image/jpeg"),
            "right": (image_bytes("PNG"), "right.png", "image/png"),
        },
    )

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This file is not a photo we can read. Send a JPEG, PNG or HEIC photo." in page
    assert 'href="#photo_front"' in page  # the error summary leads to the field
    with app.app_context():
        assert [p.view for p in stored_photos()] == ["right"]  # the good one is kept
    # Everything entered before is still there.
    about = client.get(f"/questionnaire/{UID}?step=about").get_data(as_text=True)
    assert 'value="United Kingdom"' in about


def test_a_refusal_is_said_in_the_patients_language(client, booked):
    csrf = reach_photos(client)
    client.get(f"/questionnaire/{UID}?step=photos&lang=tr")

    response = post_photos(client, csrf, {"front": (b"not a photo", "a.jpg", "image/jpeg")})

    assert response.status_code == 400
    assert "Bu dosya okuyabildiğimiz bir fotoğraf değil." in response.get_data(as_text=True)


def test_a_photo_with_too_many_pixels_is_refused_in_the_patients_language_keeping_the_rest(
    app, client, booked
):
    csrf = reach_photos(client)
    client.get(f"/questionnaire/{UID}?step=photos&lang=tr")
    one_colour = io.BytesIO()
    Image.new("L", (8900, 8900), 90).save(one_colour, "PNG")  # 79 MP in some 100 KB

    response = post_photos(
        client,
        csrf,
        {
            "front": (one_colour.getvalue(), "front.png", "image/png"),
            "top": (image_bytes("JPEG"), "top.jpg", "image/jpeg"),
        },
    )

    assert response.status_code == 400
    assert "Bu fotoğrafta okuyabileceğimizden fazla piksel var." in response.get_data(as_text=True)
    with app.app_context():
        assert [p.view for p in stored_photos()] == ["top"]
    about = client.get(f"/questionnaire/{UID}?step=about").get_data(as_text=True)
    assert 'value="United Kingdom"' in about


def test_a_photo_over_15_mb_is_refused_and_a_large_one_under_it_is_accepted(app, client, booked):
    csrf = reach_photos(client)
    under = image_bytes("PNG") + b"\0" * (3 * 1024 * 1024)  # 3 MB: above the app's 1 MiB
    over = image_bytes("PNG") + b"\0" * MAX_PHOTO_BYTES

    response = post_photos(
        client,
        csrf,
        {"front": (under, "front.png", "image/png"), "top": (over, "top.png", "image/png")},
    )

    assert response.status_code == 400
    assert "This photo is larger than 15 MB." in response.get_data(as_text=True)
    with app.app_context():
        assert [p.view for p in stored_photos()] == ["front"]


def test_only_the_photo_step_may_carry_more_than_1_mib(client, booked):
    csrf = reach_photos(client)

    response = client.post(
        f"/questionnaire/{UID}?step=hair",
        data={"csrf_token": csrf, "goals": "x" * (2 * 1024 * 1024)},
    )

    assert response.status_code == 413


def test_the_app_wide_input_check_still_runs_on_the_photo_step(app, client, booked):
    csrf = reach_photos(client)

    response = client.post(
        f"/questionnaire/{UID}?step=photos",
        data={
            "csrf_token": csrf,
            "note": "a\x00b",
            "photo_front": (io.BytesIO(image_bytes()), "f.png", "image/png"),
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    with app.app_context():
        assert count(PatientPhoto) == 0


# --- What is stored -------------------------------------------------------------------------


def test_exif_and_the_gps_location_are_removed_and_the_photo_stays_upright(app, client, booked):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # taken sideways: turn 90° clockwise to view
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 0.0, 54.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (28.0, 58.0, 0.0)
    sent = image_bytes("JPEG", (80, 40), exif=exif)
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    csrf = reach_photos(client)

    assert post_photos(client, csrf, {"front": (sent, "f.jpg", "image/jpeg")}).status_code == 302

    with app.app_context():
        (photo,) = stored_photos()
        content, thumbnail = photo.content, photo.thumbnail
        assert (photo.width, photo.height) == (40, 80)  # upright
    for stored in (content, thumbnail):
        assert b"Exif" not in stored and b"PhoneMaker" not in stored
        image = Image.open(io.BytesIO(stored))
        assert image.format == "JPEG"
        assert not image.getexif()
        assert "exif" not in image.info
    upright = Image.open(io.BytesIO(content)).convert("RGB")
    assert upright.size == (40, 80)
    top, bottom = upright.getpixel((20, 5)), upright.getpixel((20, 75))
    assert top[0] > 200 and top[2] < 80  # the red half is now on top
    assert bottom[2] > 200 and bottom[0] < 80


def test_a_large_photo_is_shrunk_with_a_thumbnail(app, client, booked):
    csrf = reach_photos(client)

    response = post_photos(
        client, csrf, {"front": (image_bytes("PNG", (4000, 3000)), "big.png", "image/png")}
    )

    assert response.status_code == 302
    with app.app_context():
        (photo,) = stored_photos()
        assert (photo.width, photo.height) == (MAX_SIDE, MAX_SIDE * 3 // 4)
        assert Image.open(io.BytesIO(photo.content)).size == (MAX_SIDE, MAX_SIDE * 3 // 4)
        assert max(Image.open(io.BytesIO(photo.thumbnail)).size) == THUMBNAIL_SIDE


def test_a_new_photo_of_a_view_replaces_the_earlier_one(app, client, booked):
    csrf = reach_photos(client)
    assert (
        post_photos(client, csrf, {"front": (image_bytes(), "a.png", "image/png")}).status_code
        == 302
    )

    page = client.get(f"/questionnaire/{UID}?step=photos").get_data(as_text=True)
    assert "Photo received. Choose another to replace it." in page
    again = post_photos(
        client, csrf, {"front": (image_bytes("PNG", (30, 30)), "b.png", "image/png")}
    )

    assert again.status_code == 302
    with app.app_context():
        (photo,) = stored_photos()
        assert (photo.width, photo.height) == (30, 30)


def test_photos_sent_before_the_booking_wait_with_the_answers_and_attach(app, client):
    csrf = reach_photos(client)
    assert (
        post_photos(client, csrf, {"front": (image_bytes(), "f.png", "image/png")}).status_code
        == 302
    )
    assert send_consent(client, csrf).status_code == 302
    with app.app_context():
        (photo,) = stored_photos()
        assert photo.patient_profile_id is None and photo.cal_booking_uid == UID

    answer = deliver(client, booking_document())

    with app.app_context():
        (photo,) = stored_photos()
        assert photo.patient_profile_id == answer["patient_id"]


# --- Who may see them -----------------------------------------------------------------------


def test_a_photo_is_never_served_without_a_consultants_login(app, client, booked, consultant):
    csrf = reach_photos(client)
    post_photos(client, csrf, {"front": (image_bytes(), "f.png", "image/png")})
    send_consent(client, csrf)
    with app.app_context():
        (photo,) = stored_photos()
    path = f"/patients/{booked['patient_id']}/photos/{photo.id}"

    for url in (path, f"{path}/thumbnail"):
        response = app.test_client().get(url)
        assert response.status_code == 302
        assert re.match(r"^/login", response.headers["Location"])
        assert not response.data.startswith(b"\xff\xd8")  # no JPEG in the answer

    consultant = app.test_client()
    log_in(consultant)
    assert (
        consultant.get(f"/patients/{booked['patient_id'] + 1}/photos/{photo.id}").status_code == 404
    )
    assert (
        consultant.get(f"/patients/{booked['patient_id']}/photos/{photo.id + 1}").status_code == 404
    )


def test_a_photo_in_a_draft_belongs_to_no_patient_page(app, client, booked, consultant):
    csrf = reach_photos(client)
    post_photos(client, csrf, {"front": (image_bytes(), "f.png", "image/png")})
    consultant = app.test_client()
    log_in(consultant)

    page = consultant.get(f"/patients/{booked['patient_id']}").get_data(as_text=True)

    assert "/photos/" not in page


def test_back_from_the_photo_step_keeps_the_photos_chosen(app, client, booked):
    csrf = reach_photos(client)

    response = client.post(
        f"/questionnaire/{UID}?step=photos",
        data={
            "csrf_token": csrf,
            "go": "back",
            "photo_top": (io.BytesIO(image_bytes()), "top.png", "image/png"),
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith("step=hair")
    with app.app_context():
        assert [p.view for p in stored_photos()] == ["top"]
