"""Image validation details: container completeness, limits, orientation, formats."""

from __future__ import annotations

import io
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from app.media import images
from app.media.hashing import hamming
from app.media.probe import probe_file
from tests.media_factory import picture, truncate, write_exif_jpeg, write_image


def _encode(ext: str, array: np.ndarray, params=()) -> bytes:
    ok, buf = cv2.imencode(ext, array, list(params))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_matches_pillow(orientation):
    stored = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    im = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(images.apply_orientation(stored, orientation), expected)


def test_truncated_png_is_rejected(tmp_path):
    src = write_image(tmp_path / "a.png", 120, 90)
    cut = truncate(src, tmp_path / "cut.png", 0.6)
    assert probe_file(cut).reason.startswith("truncated PNG: file ends inside a IDAT chunk")
    data = src.read_bytes()
    (tmp_path / "no_end.png").write_bytes(data[:data.rindex(b"IEND") - 4])
    assert probe_file(tmp_path / "no_end.png").reason == "truncated PNG: IEND chunk missing"


def test_jpeg_cut_inside_header(tmp_path):
    src = write_image(tmp_path / "a.jpg")
    cut = tmp_path / "head.jpg"
    cut.write_bytes(src.read_bytes()[:100])
    assert probe_file(cut).reason == "truncated JPEG: file ends inside the header"


def test_jpeg_with_trailing_padding_is_accepted(tmp_path):
    padded = tmp_path / "pad.jpg"
    padded.write_bytes(write_image(tmp_path / "a.jpg").read_bytes() + b"\x00" * 64)
    assert probe_file(padded).accepted


def test_progressive_jpeg_whole_and_cut(tmp_path):
    data = _encode(".jpg", picture(256, 192, 5), (cv2.IMWRITE_JPEG_PROGRESSIVE, 1))
    (tmp_path / "p.jpg").write_bytes(data)
    (tmp_path / "cut.jpg").write_bytes(data[:int(len(data) * 0.7)])
    assert probe_file(tmp_path / "p.jpg").width == 256
    assert probe_file(tmp_path / "cut.jpg").reason == "truncated JPEG: end-of-image marker missing"


def test_image_over_the_pixel_limit_is_rejected_before_decoding(tmp_path):
    result = probe_file(write_image(tmp_path / "a.jpg", 320, 240), max_pixels=10_000)
    assert result.reason.startswith("image too large: 320 x 240 = 0 megapixels")


def test_large_jpeg_path_decodes_at_reduced_scale(tmp_path, monkeypatch):
    full = probe_file(write_exif_jpeg(tmp_path / "a.jpg"))
    monkeypatch.setattr(images, "FULL_DECODE_PIXELS", 1_000)
    whole = probe_file(tmp_path / "a.jpg")
    assert (whole.width, whole.height, whole.channels, whole.bit_depth) == (240, 320, 3, 8)
    assert hamming(full.phash, whole.phash) <= 4  # orientation applied once, not twice
    assert not probe_file(truncate(tmp_path / "a.jpg", tmp_path / "cut.jpg", 0.7)).accepted


def test_reduced_jpeg_validation_gives_the_same_verdicts(tmp_path):
    src = write_exif_jpeg(tmp_path / "a.jpg")
    full, half = probe_file(src), probe_file(src, jpeg_scale=2)
    assert half.metadata() | {"phash": None} == full.metadata() | {"phash": None}
    assert hamming(full.phash, half.phash) <= 2
    cut = truncate(src, tmp_path / "cut.jpg", 0.8)
    assert probe_file(cut, jpeg_scale=2).reason == "truncated JPEG: end-of-image marker missing"
    with pytest.raises(ValueError):
        probe_file(src, jpeg_scale=3)


def test_zero_width_png_is_rejected(tmp_path):
    data = bytearray(write_image(tmp_path / "a.png", 16, 16).read_bytes())
    data[16:20] = (0).to_bytes(4, "big")  # IHDR width
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    (tmp_path / "zero.png").write_bytes(bytes(data))
    assert probe_file(tmp_path / "zero.png").reason == "PNG image has zero width or height"


def test_channel_counts(tmp_path):
    grey = picture(40, 30)[:, :, 0]
    (tmp_path / "g.png").write_bytes(_encode(".png", grey))
    (tmp_path / "rgba.png").write_bytes(_encode(".png", cv2.cvtColor(picture(40, 30), cv2.COLOR_BGR2BGRA)))
    assert probe_file(tmp_path / "g.png").channels == 1
    assert probe_file(tmp_path / "rgba.png").channels == 4


def test_webp_bmp_gif_are_accepted_and_cut_webp_is_not(tmp_path):
    (tmp_path / "a.webp").write_bytes(_encode(".webp", picture(64, 48)))
    (tmp_path / "a.bmp").write_bytes(_encode(".bmp", picture(64, 48)))
    Image.fromarray(picture(64, 48)).save(tmp_path / "a.gif")
    for name in ("a.webp", "a.bmp", "a.gif"):
        result = probe_file(tmp_path / name)
        assert result.accepted and (result.width, result.height) == (64, 48), name
    cut = truncate(tmp_path / "a.webp", tmp_path / "cut.webp", 0.5)
    assert probe_file(cut).reason.startswith("truncated WebP: file holds")


def test_damaged_exif_does_not_reject_good_pixels(tmp_path):
    data = write_image(tmp_path / "a.jpg").read_bytes()
    junk = b"Exif\x00\x00" + b"MM\x00\x2a\xff\xff\xff\xff" + b"garbage" * 4
    segment = b"\xff\xe1" + (len(junk) + 2).to_bytes(2, "big") + junk
    (tmp_path / "bad_exif.jpg").write_bytes(data[:2] + segment + data[2:])
    result = probe_file(tmp_path / "bad_exif.jpg")
    assert result.accepted and result.exif_orientation == 1 and result.has_gps is False


def test_phash_is_taken_as_displayed(tmp_path):
    rotated = probe_file(write_exif_jpeg(tmp_path / "r.jpg", seed=3))
    upright = np.rot90(picture(320, 240, 3), k=-1)  # what orientation 6 shows
    (tmp_path / "upright.jpg").write_bytes(_encode(".jpg", np.ascontiguousarray(upright)))
    assert hamming(rotated.phash, probe_file(tmp_path / "upright.jpg").phash) <= 4


def test_header_reader_never_decodes(tmp_path):
    data = write_exif_jpeg(tmp_path / "r.jpg").read_bytes()
    header = images.read_header(data, "jpeg")
    assert (header.width, header.height, header.channels, header.bit_depth) == (320, 240, 3, 8)
    assert header.exif is not None and header.exif[0x0112] == 6
    pil = Image.open(io.BytesIO(data))
    assert pil.size == (320, 240)
