"""Strip location and personal metadata from a copy of an image, leaving pixels untouched.

JPEG, PNG and WebP are rewritten at the container level: only metadata blocks change, the
compressed image data is copied byte for byte, so decoded pixels are identical. EXIF is
parsed and rebuilt with Pillow without the private tags; Orientation and the technical
tags (camera model, exposure, date) stay. The EXIF thumbnail (IFD1) is not carried over:
it is a second copy of the picture and may show what a crop removed. Blocks that exist
only to describe people or places (XMP, IPTC, comments, free text) are dropped whole.

TIFF keeps its metadata in the same directory as its pixel layout, so it is re-encoded
with OpenCV instead: lossless, sample depth kept, no tags carried over; a non-default
Orientation is applied to the pixels so the image still shows the same way.
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin

from app.core.errors import MediaError
from app.media import images
from app.media.probe import sniff

IFD0_PRIVATE = {0x8825: "GPSInfo", 0x013B: "Artist", 0x8298: "Copyright", 0x013C: "HostComputer",
                0x010E: "ImageDescription", 0x9C9B: "XPTitle", 0x9C9C: "XPComment",
                0x9C9D: "XPAuthor", 0x9C9E: "XPKeywords", 0x9C9F: "XPSubject",
                0xC62F: "CameraSerialNumber", 0x02BC: "XMLPacket", 0x83BB: "IPTC-NAA"}
EXIF_PRIVATE = {0xA430: "CameraOwnerName", 0xA431: "BodySerialNumber", 0xA435: "LensSerialNumber",
                0xA420: "ImageUniqueID", 0x9286: "UserComment", 0x927C: "MakerNote"}
_EXIF_IFD, _INTEROP_IFD, _SUB_IFDS, _ORIENTATION = 0x8769, 0xA005, 0x014A, 0x0112
_EXIF_HEADER = b"Exif\x00\x00"
_PNG_TEXT_KEPT = frozenset({"Title", "Software", "Creation Time"})
_MAX_SEGMENT = 0xFFFF - 2


@dataclass(frozen=True)
class ScrubReport:
    method: str  # "rewritten" (metadata blocks only), "reencoded" (TIFF), "copied" (nothing to do)
    removed: tuple[str, ...]  # names of the tags and blocks taken out
    orientation: int  # EXIF orientation of the result (1 when it was applied to the pixels)


def scrub_metadata(src: Path | str, dst: Path | str) -> ScrubReport:
    """Write a scrubbed copy of `src` to `dst` (atomically); `src` is never modified."""
    data = Path(src).read_bytes()
    out, report = scrub_bytes(data)
    _write_atomic(Path(dst), out)
    return report


def scrub_bytes(data: bytes) -> tuple[bytes, ScrubReport]:
    """The scrubbed file and what was removed; MediaError for damaged or unsupported input."""
    fmt = sniff(data[:64])
    if fmt == "jpeg":
        return _scrub_jpeg(data)
    if fmt == "png":
        return _scrub_png(data)
    if fmt == "webp":
        return _scrub_webp(data)
    if fmt == "tiff":
        return _reencode_tiff(data)
    if fmt in ("bmp", "gif"):
        return data, ScrubReport("copied", (), 1)  # these formats carry no EXIF
    raise MediaError("cannot scrub metadata: not a JPEG, PNG, WebP, TIFF, BMP or GIF image")


def scrub_exif(payload: bytes) -> tuple[bytes | None, list[str], int]:
    """EXIF (TIFF structure, no "Exif" header) without private tags; (payload, removed, orientation)."""
    payload = payload.removeprefix(_EXIF_HEADER)
    src = Image.Exif()
    try:
        src.load(payload)
        out, removed = _public_tags(src)
        orientation = int(out.get(_ORIENTATION, 1))
        rebuilt = out.tobytes().removeprefix(_EXIF_HEADER) if len(out) else None
    except Exception:  # EXIF Pillow cannot read or rewrite: keep only what we can vouch for
        orientation = _orientation_or_1(src)
        removed = ["all EXIF tags (unreadable)"]
        rebuilt = _orientation_only(orientation)
    return rebuilt, removed, orientation


def _public_tags(src: Image.Exif) -> tuple[Image.Exif, list[str]]:
    out, removed = Image.Exif(), []
    for tag in sorted(src):
        if tag in IFD0_PRIVATE:
            removed.append(IFD0_PRIVATE[tag])
        elif tag not in (_EXIF_IFD, _SUB_IFDS):  # offsets into the old layout
            out[tag] = src[tag]
    sub = {}
    for tag, value in (src.get_ifd(_EXIF_IFD) if _EXIF_IFD in src else {}).items():
        if tag in EXIF_PRIVATE:
            removed.append(EXIF_PRIVATE[tag])
        elif tag != _INTEROP_IFD:
            sub[tag] = value
    if sub:
        out[_EXIF_IFD] = sub  # Pillow writes a dict as a nested IFD
    if src.get_ifd(0x1):  # IFD1: the embedded thumbnail
        removed.append("Thumbnail")
    return out, removed


def _orientation_or_1(exif: Image.Exif) -> int:
    try:
        value = int(exif.get(_ORIENTATION, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _orientation_only(orientation: int) -> bytes | None:
    if orientation == 1:
        return None
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    return exif.tobytes().removeprefix(_EXIF_HEADER)


def _scrub_jpeg(data: bytes) -> tuple[bytes, ScrubReport]:
    segments = images.jpeg_segments(data)
    end = images.jpeg_image_end(data, segments[-1].end)
    parts, removed, orientation = [b"\xff\xd8"], [], 1
    for seg in segments:
        body = data[seg.start + 4:seg.end]
        if seg.kind == 0xE1 and body.startswith(_EXIF_HEADER):
            payload, gone, orientation = scrub_exif(body)
            removed += gone
            if payload is not None and len(payload) + 6 > _MAX_SEGMENT:
                payload = _orientation_only(orientation)
                removed.append("EXIF too large for one segment (kept Orientation only)")
            if payload is not None:
                parts.append(_jpeg_segment(0xE1, _EXIF_HEADER + payload))
        elif _keep_jpeg_segment(seg.kind, body):
            parts.append(data[seg.start:seg.end])
        else:
            removed.append(_jpeg_segment_name(seg.kind, body))
    # Everything after the last header segment up to EOI is image data: copied unchanged.
    parts.append(data[segments[-1].end:end])
    if end < len(data):
        removed.append("data after the end-of-image marker")
    return b"".join(parts), ScrubReport("rewritten", tuple(removed), orientation)


def _keep_jpeg_segment(marker: int, body: bytes) -> bool:
    if marker == 0xE2:
        return body.startswith(b"ICC_PROFILE\x00")  # colour, not people; MPF offsets would break
    if 0xE0 <= marker <= 0xEF:
        return marker in (0xE0, 0xEE)  # JFIF, Adobe (colour transform): needed to decode right
    return marker != 0xFE  # comments go; tables and frame headers stay


def _jpeg_segment_name(marker: int, body: bytes) -> str:
    if marker == 0xFE:
        return "JPEG comment"
    if marker == 0xE1 and body.startswith(b"http://ns.adobe.com/"):
        return "XMP"
    if marker == 0xED:
        return "IPTC (APP13)"
    if marker == 0xE2 and body.startswith(b"MPF\x00"):
        return "MPF (APP2)"
    return f"APP{marker - 0xE0}"


def _jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def _scrub_png(data: bytes) -> tuple[bytes, ScrubReport]:
    parts, removed, orientation = [data[:8]], [], 1
    for chunk in images.png_chunks(data):
        kind, body = chunk.kind, data[chunk.start + 8:chunk.end - 4]
        if kind == b"eXIf":
            payload, gone, orientation = scrub_exif(body)
            removed += gone
            if payload is not None:
                parts.append(_png_chunk(b"eXIf", payload))
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            key = body.split(b"\x00", 1)[0].decode("latin-1")
            if key in _PNG_TEXT_KEPT:
                parts.append(data[chunk.start:chunk.end])
            else:
                removed.append(f"text '{key}'")
        else:
            parts.append(data[chunk.start:chunk.end])
    return b"".join(parts), ScrubReport("rewritten", tuple(removed), orientation)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def _scrub_webp(data: bytes) -> tuple[bytes, ScrubReport]:
    if int.from_bytes(data[4:8], "little") + 8 > len(data):
        raise MediaError("truncated WebP: file is shorter than its RIFF header says")
    chunks, removed, orientation, pos = [], [], 1, 12
    end = int.from_bytes(data[4:8], "little") + 8
    while pos + 8 <= end:
        kind, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + size > end:
            raise MediaError(f"corrupt WebP: chunk '{kind.decode('latin-1')}' runs past the end of the file")
        body = data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
        if kind == b"EXIF":
            payload, gone, orientation = scrub_exif(body)
            removed += gone
            if payload is not None:
                chunks.append([kind, payload])
        elif kind == b"XMP ":
            removed.append("XMP")
        else:
            chunks.append([kind, body])
    for chunk in chunks:
        if chunk[0] == b"VP8X":  # feature flags: 0x08 EXIF present, 0x04 XMP present
            has_exif = any(c[0] == b"EXIF" for c in chunks)
            flags = (chunk[1][0] & ~0x0C) | (0x08 if has_exif else 0)
            chunk[1] = bytes((flags,)) + chunk[1][1:]
    body = b"WEBP" + b"".join(k + len(b).to_bytes(4, "little") + b + b"\x00" * (len(b) & 1) for k, b in chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body, ScrubReport("rewritten", tuple(removed), orientation)


def _reencode_tiff(data: bytes) -> tuple[bytes, ScrubReport]:
    header = images.read_header(data, "tiff")
    if TiffImagePlugin.TiffImageFile(io.BytesIO(data)).n_frames > 1:
        raise MediaError("cannot scrub metadata: multi-page TIFF (re-encoding would drop pages)")
    orientation = _orientation_or_1(header.exif) if header.exif is not None else 1
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise MediaError("cannot scrub metadata: TIFF does not decode")
    ok, encoded = cv2.imencode(".tiff", images.apply_orientation(array, orientation))
    if not ok:
        raise MediaError("cannot scrub metadata: OpenCV could not re-encode this TIFF")
    return encoded.tobytes(), ScrubReport("reencoded", ("all TIFF tags",), 1)


def _write_atomic(dst: Path, data: bytes) -> None:
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
