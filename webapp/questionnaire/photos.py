"""The patient's photos: the five standard views, checked by content, shrunk, stripped.

An upload is accepted when its bytes open as a JPEG, PNG or HEIC image of at most
``MAX_PHOTO_BYTES`` (the file's name and declared type are never trusted). It is turned
upright by its EXIF orientation, shrunk to ``MAX_SIDE`` pixels on its longest side and
re-encoded as JPEG without any metadata (EXIF, GPS location included), with a
``THUMBNAIL_SIDE`` thumbnail. Photos live in the database, so every app host reads them;
only a logged-in consultant can see one. Functions here flush; the caller commits.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

import pillow_heif
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import PatientPhoto, PatientProfile, QuestionnaireDraft, QuestionnaireSubmission

pillow_heif.register_heif_opener()

MAX_PHOTO_BYTES = 15 * 1024 * 1024
# The photo step's request may carry every view at its largest, plus the form's fields.
PHOTO_REQUEST_MAX_BYTES = 5 * MAX_PHOTO_BYTES + 1024 * 1024
MAX_SIDE = 2048
THUMBNAIL_SIDE = 400
JPEG_QUALITY = 85
MAX_PIXELS = 80_000_000  # a phone's largest camera; anything larger is not a photo of hair
ACCEPTED_FORMATS = {"JPEG", "PNG", "HEIF"}

# The standard views a consultant needs to estimate grafts, in the order they are asked.
PHOTO_VIEWS = [
    ("front", _l("Front")),
    ("top", _l("Top of the head")),
    ("crown", _l("Crown (back of the top)")),
    ("left", _l("Left side")),
    ("right", _l("Right side")),
]
VIEW_NAMES = [name for name, _label in PHOTO_VIEWS]


class PhotoRefusedError(ValueError):
    """The upload is not a photo we accept; ``message`` says why, in the patient's language."""

    def __init__(self, message: str) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready to store: JPEG bytes without metadata, and its thumbnail."""

    content: bytes
    thumbnail: bytes
    width: int
    height: int


def read_upload(stream: IO[bytes]) -> bytes:
    """The uploaded bytes; raises ``PhotoRefusedError`` beyond ``MAX_PHOTO_BYTES``."""
    data = stream.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefusedError(_l("This photo is larger than 15 MB. Choose a smaller one."))
    return data


def prepare_photo(data: bytes) -> PreparedPhoto:
    """Check that ``data`` is a JPEG, PNG or HEIC photo and make the stored version.

    Raises ``PhotoRefusedError`` for anything else (text, a broken or huge image).
    """
    not_a_photo = PhotoRefusedError(
        _l("This file is not a photo we can read. Send a JPEG, PNG or HEIC photo.")
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise not_a_photo
                if probe.width * probe.height > MAX_PIXELS:
                    raise not_a_photo
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except PhotoRefusedError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise not_a_photo from None
    except (OSError, ValueError, SyntaxError):  # Pillow's words for a broken file
        raise not_a_photo from None
    photo = upright.convert("RGB")
    photo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    small = photo.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return PreparedPhoto(_jpeg(photo), _jpeg(small), photo.width, photo.height)


def _jpeg(image: Image.Image) -> bytes:
    """``image`` as JPEG with no metadata at all: no EXIF, no GPS, no comment."""
    image.info.clear()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"")
    return out.getvalue()


def keep_draft_photo(draft: QuestionnaireDraft, view: str, prepared: PreparedPhoto) -> None:
    """Keep ``prepared`` as the draft's photo of ``view``, replacing an earlier one."""
    for earlier in draft_photos(draft).get(view, []):
        db.session.delete(earlier)
    db.session.add(
        PatientPhoto(
            draft_id=draft.id,
            view=view,
            content=prepared.content,
            thumbnail=prepared.thumbnail,
            width=prepared.width,
            height=prepared.height,
        )
    )
    db.session.flush()


def draft_photos(draft: QuestionnaireDraft | None) -> dict[str, list[PatientPhoto]]:
    """The photos uploaded into a draft so far, by view."""
    if draft is None:
        return {}
    photos: dict[str, list[PatientPhoto]] = {}
    for photo in db.session.scalars(
        select(PatientPhoto).where(PatientPhoto.draft_id == draft.id).order_by(PatientPhoto.id)
    ):
        photos.setdefault(photo.view, []).append(photo)
    return photos


def send_draft_photos(draft: QuestionnaireDraft, submission: QuestionnaireSubmission) -> None:
    """Move a draft's photos to the submission just sent, and to its patient if known."""
    db.session.execute(
        update(PatientPhoto)
        .where(PatientPhoto.draft_id == draft.id)
        .values(
            draft_id=None,
            questionnaire_submission_id=submission.id,
            patient_profile_id=submission.patient_profile_id,
            cal_booking_uid=submission.cal_booking_uid,
        )
    )
    db.session.flush()


def attach_submission_photos(submission: QuestionnaireSubmission) -> None:
    """Give a pending submission's photos to the patient it now belongs to."""
    db.session.execute(
        update(PatientPhoto)
        .where(PatientPhoto.questionnaire_submission_id == submission.id)
        .values(patient_profile_id=submission.patient_profile_id)
    )


def patient_photos(patient: PatientProfile) -> list[PatientPhoto]:
    """The patient's photos, newest first (their bytes are loaded only when served)."""
    return list(
        db.session.scalars(
            select(PatientPhoto)
            .where(PatientPhoto.patient_profile_id == patient.id)
            .order_by(PatientPhoto.created_at.desc(), PatientPhoto.id.desc())
        )
    )


def view_label(view: str) -> str:
    """The words for a view, in the page's language."""
    return str(dict(PHOTO_VIEWS).get(view, view))
