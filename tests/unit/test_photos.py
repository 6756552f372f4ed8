"""What a photo costs: its header decides before anything is decoded, a JPEG is decoded at
the size it is stored, and a process prepares one photo at a time."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image, ImageFile

from webapp.questionnaire import photos
from webapp.questionnaire.photos import MAX_SIDE, PhotoRefusedError, prepare_photo

TOO_MANY_PIXELS = "This photo has too many pixels for us to read."


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def phone_jpeg(size: tuple[int, int] = (8000, 6000), **options: object) -> bytes:
    """A JPEG of a phone's size (48 MP unless told), one colour so that it is quick to make."""
    return encoded(Image.new("RGB", size, "peru"), "JPEG", quality=85, **options)


def refusal(data: bytes) -> str:
    with pytest.raises(PhotoRefusedError) as refused:
        prepare_photo(data)
    return str(refused.value)


@pytest.fixture
def decoded_sizes(monkeypatch) -> list[tuple[str, tuple[int, int]]]:
    """The format and size of every image decoded from a file while the test runs."""
    sizes: list[tuple[str, tuple[int, int]]] = []
    prepare = ImageFile.ImageFile.load_prepare  # makes the memory the pixels are decoded into

    def recording(image: ImageFile.ImageFile) -> None:
        sizes.append((image.format, image.size))
        prepare(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load_prepare", recording)
    return sizes


def test_a_48_mp_jpeg_is_decoded_at_a_quarter_and_stored_at_the_longest_side(decoded_sizes):
    prepared = prepare_photo(phone_jpeg())

    assert decoded_sizes == [("JPEG", (2000, 1500))]
    assert (prepared.width, prepared.height) == (MAX_SIDE, MAX_SIDE * 3 // 4)


def test_a_12_mp_jpeg_is_decoded_at_half_its_size(decoded_sizes):
    prepare_photo(phone_jpeg((4000, 3000)))

    assert decoded_sizes == [("JPEG", (2000, 1500))]


def test_a_png_of_8900_by_8900_is_refused_from_its_header_without_decoding(decoded_sizes):
    data = encoded(Image.new("L", (8900, 8900), 200), "PNG")

    assert TOO_MANY_PIXELS in refusal(data)
    assert decoded_sizes == []


@pytest.mark.parametrize(
    ("mode", "size"),
    [("L", (5001, 5000)), ("RGBA", (4500, 3000)), ("P", (5000, 4100)), ("RGB", (5100, 5000))],
    ids=["grey-over-25-mp", "rgba-13.5-mp", "palette-20.5-mp", "rgb-25.5-mp"],
)
def test_a_png_that_would_need_more_than_a_phone_photo_is_refused_unread(decoded_sizes, mode, size):
    assert TOO_MANY_PIXELS in refusal(encoded(Image.new(mode, size), "PNG"))
    assert decoded_sizes == []


def test_a_progressive_48_mp_jpeg_is_refused_for_the_coefficients_it_would_hold(decoded_sizes):
    assert TOO_MANY_PIXELS in refusal(phone_jpeg(progressive=True))
    assert decoded_sizes == []


def test_a_progressive_12_mp_jpeg_is_taken():
    assert prepare_photo(phone_jpeg((4000, 3000), progressive=True)).width == MAX_SIDE


def test_a_thumbnail_before_the_image_and_a_video_after_it_are_not_scans(decoded_sizes):
    thumbnail = b"Exif\0\0" + encoded(Image.new("RGB", (160, 120), "red"), "JPEG")
    app1 = b"\xff\xe1" + (len(thumbnail) + 2).to_bytes(2, "big") + thumbnail
    jpeg = phone_jpeg()
    motion_photo = jpeg[:2] + app1 + jpeg[2:] + b"ftypmp42" + b"\xff\xda\x00\x08" * 64

    assert prepare_photo(motion_photo).width == MAX_SIDE
    assert decoded_sizes == [("JPEG", (2000, 1500))]


def test_a_header_beyond_80_megapixels_is_refused_as_too_many_pixels():
    assert TOO_MANY_PIXELS in refusal(phone_jpeg((10_000, 8_100)))


def test_photos_prepared_at_once_in_threads_are_decoded_one_at_a_time(monkeypatch):
    decoding, most = [0], [0]
    decoded = photos._decoded

    def slow(data: bytes) -> Image.Image:
        decoding[0] += 1
        most[0] = max(most[0], decoding[0])
        time.sleep(0.05)
        decoding[0] -= 1
        return decoded(data)

    monkeypatch.setattr(photos, "_decoded", slow)
    data = phone_jpeg((800, 600))
    threads = [threading.Thread(target=prepare_photo, args=(data,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert most[0] == 1


def test_a_phone_jpeg_carrying_a_second_picture_is_taken_as_its_first_picture_decoded_small(
    decoded_sizes,
):
    photo = Image.new("RGB", (4000, 3000), "peru")
    depth_map = Image.new("RGB", (640, 480), "navy")
    data = encoded(photo, "MPO", save_all=True, append_images=[depth_map])

    prepared = prepare_photo(data)

    assert decoded_sizes == [("MPO", (2000, 1500))]
    stored = Image.open(io.BytesIO(prepared.content))
    assert (stored.format, stored.size) == ("JPEG", (MAX_SIDE, 1500))
    assert stored.getpixel((10, 10)) == pytest.approx(photo.getpixel((10, 10)), abs=3)
