"""Metadata scrubbing: private tags go, Orientation stays, pixels do not change."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import ExifTags, Image, PngImagePlugin

from app.core.errors import MediaError
from app.media import images
from app.media.metadata import scrub_bytes, scrub_metadata
from app.media.probe import probe_file
from tests.media_factory import GPS, PERSONAL_EXIF, PERSONAL_IFD0, picture, write_exif_jpeg, write_image


def _pixels(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def _exif_of(data: bytes) -> Image.Exif:
    return Image.open(io.BytesIO(data)).getexif()


def _private_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 8
    exif.update(PERSONAL_IFD0)
    exif.get_ifd(ExifTags.IFD.Exif).update(PERSONAL_EXIF)
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    return exif


def _assert_private_tags_gone(exif: Image.Exif, orientation: int) -> None:
    assert exif[0x0112] == orientation
    assert not set(exif) & (set(PERSONAL_IFD0) | {0x8825})
    assert not set(exif.get_ifd(ExifTags.IFD.Exif)) & set(PERSONAL_EXIF)
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)


def test_jpeg_scrub_keeps_pixels_and_orientation(tmp_path):
    src = write_exif_jpeg(tmp_path / "a.jpg")
    before = src.read_bytes()
    report = scrub_metadata(src, tmp_path / "clean.jpg")
    after = (tmp_path / "clean.jpg").read_bytes()
    assert src.read_bytes() == before  # the source is never touched
    assert report.method == "rewritten" and report.orientation == 6
    assert {"GPSInfo", "Artist", "Copyright", "XPAuthor", "MakerNote", "BodySerialNumber",
            "LensSerialNumber", "CameraOwnerName", "ImageUniqueID", "UserComment"} <= set(report.removed)
    exif = _exif_of(after)
    _assert_private_tags_gone(exif, 6)
    assert exif[0x010F] == "TestCam" and exif.get_ifd(ExifTags.IFD.Exif)[0x9003] == "2024:01:02 03:04:05"
    assert np.array_equal(_pixels(before), _pixels(after))
    # The compressed image data is byte-for-byte the same: nothing was re-encoded.
    sos = images.jpeg_segments(before)[-1]
    assert after.endswith(before[sos.start:])
    clean = probe_file(tmp_path / "clean.jpg")
    assert (clean.has_gps, clean.exif_orientation, clean.width, clean.height) == (False, 6, 240, 320)


def test_jpeg_xmp_comment_and_trailer_are_dropped(tmp_path):
    data = write_image(tmp_path / "a.jpg").read_bytes()

    def segment(marker: int, body: bytes) -> bytes:
        return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body

    xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPS here</x:xmpmeta>")
    dirty = data[:2] + xmp + segment(0xFE, b"taken at home") + data[2:] + b"MPF trailer"
    clean, report = scrub_bytes(dirty)
    assert set(report.removed) == {"XMP", "JPEG comment", "data after the end-of-image marker"}
    assert clean == data
    assert scrub_bytes(data)[0] == data  # nothing private: same bytes


def test_png_chunks_are_rewritten_losslessly(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>")
    info.add_text("Software", "painter 1.0")
    rgb = picture(64, 48, 2)[:, :, ::-1]
    Image.fromarray(rgb).save(tmp_path / "a.png", pnginfo=info, exif=_private_exif())
    clean, report = scrub_bytes((tmp_path / "a.png").read_bytes())
    assert {"GPSInfo", "text 'Author'", "text 'XML:com.adobe.xmp'"} <= set(report.removed)
    reopened = Image.open(io.BytesIO(clean))
    assert reopened.text == {"Software": "painter 1.0"}
    _assert_private_tags_gone(reopened.getexif(), 8)
    assert np.array_equal(_pixels(clean), _pixels((tmp_path / "a.png").read_bytes()))


def test_webp_exif_and_xmp(tmp_path):
    Image.fromarray(picture(64, 48, 2)).save(tmp_path / "a.webp", lossless=True,
                                              exif=_private_exif(), xmp=b"<x:xmpmeta/>")
    clean, report = scrub_bytes((tmp_path / "a.webp").read_bytes())
    assert {"GPSInfo", "XMP"} <= set(report.removed)
    reopened = Image.open(io.BytesIO(clean))
    assert "xmp" not in reopened.info
    _assert_private_tags_gone(reopened.getexif(), 8)
    assert np.array_equal(np.asarray(reopened), np.asarray(Image.open(tmp_path / "a.webp")))


def test_tiff_is_reencoded_losslessly_with_orientation_applied(tmp_path):
    rgb = picture(64, 48, 2)[:, :, ::-1]
    Image.fromarray(rgb).save(tmp_path / "a.tif", tiffinfo={0x0112: 6, 0x013B: "Jane Doe"})
    clean, report = scrub_bytes((tmp_path / "a.tif").read_bytes())
    assert (report.method, report.orientation) == ("reencoded", 1)
    expected = images.apply_orientation(_pixels((tmp_path / "a.tif").read_bytes()), 6)
    assert np.array_equal(_pixels(clean), expected)
    assert 0x013B not in _exif_of(clean)
    deep = write_image(tmp_path / "deep.tif", 40, 30, depth=16).read_bytes()
    clean16, _ = scrub_bytes(deep)
    assert np.array_equal(_pixels(clean16), _pixels(deep)) and _pixels(clean16).dtype == np.uint16


def test_unsupported_or_damaged_input_raises(tmp_path):
    with pytest.raises(MediaError):
        scrub_bytes(b"not an image at all")
    pages = [Image.fromarray(picture(32, 24, s)) for s in range(2)]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])
    with pytest.raises(MediaError, match="multi-page TIFF"):
        scrub_bytes((tmp_path / "pages.tif").read_bytes())
    data = write_exif_jpeg(tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    with pytest.raises(MediaError, match="truncated JPEG"):
        scrub_metadata(tmp_path / "cut.jpg", tmp_path / "out.jpg")
    assert not (tmp_path / "out.jpg").exists()
    assert not list(tmp_path.glob(".out.jpg*"))  # nothing half-written
