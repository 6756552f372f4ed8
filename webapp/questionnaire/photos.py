"""The patient's photos: the five standard views, checked by content, shrunk, stripped.

An upload is accepted when its bytes open as a JPEG, PNG or HEIC image of at most
``MAX_PHOTO_BYTES`` (the file's name and declared type are never trusted) whose header
promises pixels that fit in ``MAX_DECODED_BYTES``: what a photo costs is known before it
is decoded, and one that would cost more is refused unread. A JPEG is decoded at the size
it is stored (``Image.draft``: libjpeg scales by halves while it decodes), anything else in
full. It is turned upright by its EXIF orientation, shrunk to ``MAX_SIDE`` pixels on its
longest side and re-encoded as JPEG without any metadata (EXIF, GPS location included),
with a ``THUMBNAIL_SIDE`` thumbnail. Photos live in the database, so every app host reads
them; only a logged-in consultant can see one. Functions here flush; the caller commits.
"""

from __future__ import annotations

import io
import re
import threading
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
# The stored photo's longest side: half a 12 MP phone photo's (4,000 x 3,000), so that
# such a JPEG decodes at half its size, and a 48 MP one at a quarter.
MAX_SIDE = 2000
THUMBNAIL_SIDE = 400
JPEG_QUALITY = 85
MAX_PIXELS = 80_000_000  # a phone's largest camera; anything larger is not a photo of hair
# What decoding one photo may hold: a 25 MP image as Pillow holds colour (4 bytes a pixel),
# which a recent iPhone's 24 MP HEIC needs. A phone's JPEG, decoded small, needs far less.
MAX_DECODED_PIXELS = 25_000_000
MAX_DECODED_BYTES = 4 * MAX_DECODED_PIXELS
# Modes Pillow holds in fewer than 4 bytes a pixel.
MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# Modes shrunk as they are; any other is made RGB first, a second copy at full size.
SHRINKABLE_MODES = ("RGB", "L")
# JPEG formats: a phone's JPEG with a second picture in it (a depth map, a preview) opens as
# a Multi-Picture Object; its first picture is the photo, and it decodes as any JPEG.
JPEG_FORMATS = {"JPEG", "MPO"}
ACCEPTED_FORMATS = JPEG_FORMATS | {"PNG", "HEIF"}

# The standard views a consultant needs to estimate grafts, in the order they are asked.
PHOTO_VIEWS = [
    ("front", _l("Front")),
    ("top", _l("Top of the head")),
    ("crown", _l("Crown (back of the top)")),
    ("left", _l("Left side")),
    ("right", _l("Right side")),
]
VIEW_NAMES = [name for name, _label in PHOTO_VIEWS]

# A worker's threads prepare one photo at a time, so a worker's memory grows by one photo's
# at most, however many patients send photos at once (each worker process has its own).
_one_photo_at_a_time = threading.Lock()


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

    Raises ``PhotoRefusedError`` for anything else (text, a broken image), and, from its
    header alone, for an image whose pixels would need more than ``MAX_DECODED_BYTES``.
    Waits while another thread of this process prepares a photo.
    """
    with _one_photo_at_a_time:
        photo = ImageOps.exif_transpose(_shrunk(_decoded(data)))
    small = photo.copy()
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return PreparedPhoto(_jpeg(photo), _jpeg(small), photo.width, photo.height)


def _decoded(data: bytes) -> Image.Image:
    """``data`` decoded, a JPEG at its stored size, once its header has passed
    ``_check_header``; raises ``PhotoRefusedError`` otherwise."""
    not_a_photo = PhotoRefusedError(
        _l("This file is not a photo we can read. Send a JPEG, PNG or HEIC photo.")
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise not_a_photo
                _check_header(probe, data)
                probe.verify()
            image = Image.open(io.BytesIO(data))
            image.draft(None, _stored_size(image.size))
            image.load()
    except PhotoRefusedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except UnidentifiedImageError:
        raise not_a_photo from None
    except (OSError, ValueError, SyntaxError):  # Pillow's words for a broken file
        raise not_a_photo from None
    return image


def _check_header(image: Image.Image, data: bytes) -> None:
    """Refuse, before any pixel is decoded, an image with more than ``MAX_PIXELS``, or
    whose decoding would hold more than ``MAX_DECODED_PIXELS`` or ``MAX_DECODED_BYTES``:
    the pixels as decoded (a JPEG at its drafted size), a full-size RGB copy for a mode
    that cannot be shrunk as it is, and a JPEG's whole-image coefficients when it comes in
    several scans (progressive), which libjpeg holds at full size before any row is out.
    """
    full = image.width * image.height
    if full > MAX_PIXELS:
        raise _too_many_pixels()
    image.draft(None, _stored_size(image.size))  # a JPEG's decoded size; no-op otherwise
    pixels = image.width * image.height
    cost = pixels * MODE_BYTES.get(image.mode, 4)
    if image.mode not in SHRINKABLE_MODES:
        cost += pixels * 4
    if image.format in JPEG_FORMATS and _has_several_scans(image, data):
        cost += full * 2 * _coefficients_per_pixel(image)
    if pixels > MAX_DECODED_PIXELS or cost > MAX_DECODED_BYTES:
        raise _too_many_pixels()


def _has_several_scans(image: Image.Image, data: bytes) -> bool:
    """Whether the JPEG's image goes on after its first scan with another (progressive, or
    sequential in several scans), walking its markers from where Pillow's reader stopped:
    right after the first scan's header. What follows the end of the image (a phone's
    motion-photo video, say) is not read."""
    position = image.fp.tell()
    while (found := _JPEG_MARKER.search(data, position)) is not None:
        marker = data[found.start() + 1]
        if marker in (_START_OF_SCAN, _END_OF_IMAGE):
            return marker == _START_OF_SCAN
        length = int.from_bytes(data[found.start() + 2 : found.start() + 4], "big")
        position = found.start() + 2 + length
    return False


# A marker between a JPEG's scans: 0xFF then neither 0x00 (an escaped byte of the scan's
# data), a restart marker 0xD0-0xD7 (which has no length), nor 0xFF (padding).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_START_OF_SCAN, _END_OF_IMAGE = 0xDA, 0xD9


def _coefficients_per_pixel(image: Image.Image) -> float:
    """How many DCT coefficients a JPEG has per pixel: one for each component sampled at
    full resolution, a quarter for each at half in both directions (4:2:0 chroma)."""
    layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * len(image.getbands())
    widest = max(h for _id, h, _v, _table in layers)
    tallest = max(v for _id, _h, v, _table in layers)
    return sum(h * v for _id, h, v, _table in layers) / (widest * tallest)


def _too_many_pixels() -> PhotoRefusedError:
    return PhotoRefusedError(
        _l(
            "This photo has too many pixels for us to read. Send a smaller one, for example "
            "taken at 12 or 24 megapixels."
        )
    )


def _stored_size(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled down to fit ``MAX_SIDE`` on its longest side (rounded down)."""
    scale = MAX_SIDE / max(size)
    if scale >= 1:
        return size
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _shrunk(image: Image.Image) -> Image.Image:
    """The decoded ``image`` in RGB with at most ``MAX_SIDE`` on its longest side: made RGB
    first if its mode cannot be shrunk as it is, then reduced by a whole factor (a box
    filter), then resized with Lanczos. Each copy, ``image`` included, is closed once the
    next exists, so at most two are held at a time (each keeps ``image``'s EXIF)."""
    current = image

    def step(following: Image.Image) -> Image.Image:
        current.close()
        return following

    if current.mode not in SHRINKABLE_MODES:
        current = step(current.convert("RGB"))
    factor = max(current.size) // MAX_SIDE
    if factor > 1:
        current = step(current.reduce(factor))
    if max(current.size) > MAX_SIDE:
        current = step(current.resize(_stored_size(current.size), Image.Resampling.LANCZOS))
    if current.mode != "RGB":
        current = step(current.convert("RGB"))
    return current


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
