"""Decoding for the canvas: read the header, decode a JPEG preview small, then full size.

Orientation: the picture is always returned as a viewer shows it. OpenCV applies EXIF
orientation itself for JPEG (IMREAD_COLOR / IMREAD_REDUCED_*) and PNG/WebP
(IMREAD_ANYDEPTH | IMREAD_ANYCOLOR, which also keeps 16-bit samples and drops alpha).
OpenCV 5.0 refuses TIFFs whose Orientation is 5-8 (it fails an internal size check), so
such a TIFF is read into memory, the tag is set to 1 there, and the picture is turned here.
(tifffile would read 16-bit TIFFs faster and tile by tile; it is not a dependency yet.)

Memory: OpenCV's Python binding copies a decoded image into a new numpy array, so a plain
`cv2.imread` peaks at twice the image. A JPEG whose preview decoded is decoded again in
place, into a numpy array allocated here (`imread(path, dst, flags)`), which peaks at 1x.
That form reports no failure (it hands back `dst` untouched), so it is only used once the
preview has proved the file decodes; everything else goes through the plain call.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.core.errors import MediaError
from app.media import images

PREVIEW_SCALES = (2, 4, 8)
_REDUCED = {2: (cv2.IMREAD_REDUCED_COLOR_2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
            4: (cv2.IMREAD_REDUCED_COLOR_4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
            8: (cv2.IMREAD_REDUCED_COLOR_8, cv2.IMREAD_REDUCED_GRAYSCALE_8)}
_ANY = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_HEAD_BYTES = 256 * 1024
_MAX_HEAD_BYTES = 16 * 1024 * 1024
_MAX_PIXELS = (1 << 30) - 1  # OpenCV's own limit


@dataclass(frozen=True)
class ImageInfo:
    """What the header says. Sizes are as displayed (after EXIF orientation); None if unknown."""

    path: Path
    format: str  # "jpeg", "png", "tiff", ... or "other"
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    orientation: int = 1

    @property
    def name(self) -> str:
        return self.path.name


def read_info(path: str | os.PathLike[str]) -> ImageInfo:
    """The header of an image file: format, size and orientation where cheap to know."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(_HEAD_BYTES)
            if head[:3] == b"\xff\xd8\xff":
                return _jpeg_info(p, f, head)
    except FileNotFoundError:
        raise MediaError(f"image not found: {p}") from None
    except IsADirectoryError:
        raise MediaError(f"not an image file but a folder: {p}") from None
    except OSError as exc:
        raise MediaError(f"cannot read {p.name}: {exc.strerror or exc}") from exc
    if not head:
        raise MediaError(f"cannot decode {p.name}: the file is empty")
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        return ImageInfo(p, "png", w, h, 1 if head[25] in (0, 4) else 3)
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return ImageInfo(p, "tiff")
    return ImageInfo(p, "other")


def _jpeg_info(p: Path, f, head: bytes) -> ImageInfo:  # noqa: ANN001 - an open binary file
    while True:
        try:
            segments = images.jpeg_segments(head)
            break
        except MediaError as exc:  # the header may run past what was read: read more
            if "ends inside the header" not in str(exc) or len(head) >= _MAX_HEAD_BYTES:
                raise MediaError(f"cannot decode {p.name}: {exc}") from None
            more = f.read(len(head))
            if not more:
                raise MediaError(f"cannot decode {p.name}: {exc}") from None
            head += more
    sof = next((s for s in segments if s.kind in _SOF and s.end - s.start >= 12), None)
    if sof is None:
        raise MediaError(f"cannot decode {p.name}: corrupt JPEG, no frame header")
    q = sof.start + 4
    height, width, comps = int.from_bytes(head[q + 1:q + 3], "big"), int.from_bytes(head[q + 3:q + 5], "big"), head[q + 5]
    orientation = 1
    for s in segments:
        if s.kind == 0xE1 and head[s.start + 4:s.start + 10] == b"Exif\x00\x00":
            exif = images.parse_exif(head[s.start + 10:s.end])
            value = exif.get(0x0112, 1) if exif is not None else 1
            orientation = value if isinstance(value, int) and 1 <= value <= 8 else 1
            break
    if orientation >= 5:
        width, height = height, width
    return ImageInfo(p, "jpeg", width, height, 1 if comps == 1 else 3, orientation)


def preview_scale(info: ImageInfo, fit_within: tuple[int, int] | None) -> int:
    """The DCT reduction (1, 2, 4, 8) whose picture is still sharp when fitted to the window."""
    if info.format != "jpeg" or not info.width or not info.height or not fit_within:
        return 1
    fit = min(fit_within[0] / info.width, fit_within[1] / info.height)
    if fit >= 0.5:
        return 1
    return min(8, 1 << int(math.floor(math.log2(1.0 / fit) + 1e-9)))


def decode_preview(info: ImageInfo, scale: int) -> np.ndarray:
    """A JPEG decoded at 1/scale in the DCT domain (fast: no full-size IDCT or upsampling)."""
    if info.format != "jpeg" or scale not in _REDUCED:
        raise ValueError(f"no reduced decode for a {info.format} at 1/{scale}")
    colour, grey = _REDUCED[scale]
    return _checked(_imread(info.path, grey if info.channels == 1 else colour), info)


def decode_full(info: ImageInfo, *, in_place: bool = False) -> np.ndarray:
    """The whole image, samples at their stored depth, as displayed (orientation applied).

    `in_place` (JPEG only, and only once a preview of the same file decoded): decode into an
    array allocated here, so memory peaks at the image's size instead of twice that.
    """
    _check_size(info)
    if info.format == "jpeg":
        flags = cv2.IMREAD_GRAYSCALE if info.channels == 1 else cv2.IMREAD_COLOR
        if in_place and info.width and info.height:
            h, w = (info.width, info.height) if info.orientation >= 5 else (info.height, info.width)
            shape = (h, w) + (() if info.channels == 1 else (3,))  # as stored; turned after
            try:
                return _checked(cv2.imread(str(info.path), np.empty(shape, np.uint8), flags), info)
            except cv2.error as exc:
                raise _decode_error(info, exc) from exc
        return _checked(_imread(info.path, flags), info)
    try:
        a = _imread(info.path, _ANY)
    except MediaError:
        if info.format != "tiff":
            raise
        a = None
    if a is None:  # OpenCV 5.0 cannot read TIFFs whose Orientation transposes (5-8)
        a = _tiff_turned_by_us(info)
    return _normalise(_checked(a, info))


def _imread(path: Path, flags: int) -> np.ndarray | None:
    try:
        a = cv2.imread(str(path), flags)
        if a is None and not str(path).isascii():  # OpenCV's file API is not Unicode on Windows
            a = cv2.imdecode(np.fromfile(path, np.uint8), flags)
    except cv2.error as exc:
        raise MediaError(f"cannot decode {path.name}: {str(exc).strip().splitlines()[-1]}") from exc
    return a


def _checked(a: np.ndarray | None, info: ImageInfo) -> np.ndarray:
    if a is None or a.size == 0:
        raise _decode_error(info)
    return a


def _decode_error(info: ImageInfo, exc: Exception | None = None) -> MediaError:
    why = f" ({str(exc).strip().splitlines()[-1]})" if exc else ""
    return MediaError(f"cannot decode {info.name}: not an image this program can read, "
                      f"or the file is damaged{why}")


def _check_size(info: ImageInfo) -> None:
    if info.width and info.height and info.width * info.height > _MAX_PIXELS:
        raise MediaError(f"image too large: {info.width} x {info.height} pixels "
                         f"(the decoder stops at {_MAX_PIXELS / 1e6:,.0f} megapixels)")


def _tiff_turned_by_us(info: ImageInfo) -> np.ndarray:
    """Decode a TIFF whose Orientation tag (5-8) OpenCV refuses: clear the tag, turn here."""
    try:
        data = bytearray(info.path.read_bytes())
    except OSError as exc:
        raise MediaError(f"cannot read {info.name}: {exc.strerror or exc}") from exc
    orientation = _clear_tiff_orientation(data)
    if orientation == 1:
        raise _decode_error(info)
    try:
        a = cv2.imdecode(np.frombuffer(data, np.uint8), _ANY)
    except cv2.error as exc:
        raise _decode_error(info, exc) from exc
    return images.apply_orientation(_checked(a, info), orientation)


def _clear_tiff_orientation(data: bytearray) -> int:
    """Set the first directory's Orientation to 1 in place; the value it had (1 if none)."""
    order = "little" if data[:2] == b"II" else "big"
    big = int.from_bytes(data[2:4], order) == 43  # BigTIFF: 8-byte counts and offsets
    count_size, entry_size, value_at = (8, 20, 12) if big else (2, 12, 8)
    ifd = int.from_bytes(data[8:16] if big else data[4:8], order)
    if ifd + count_size > len(data):
        return 1
    for i in range(int.from_bytes(data[ifd:ifd + count_size], order)):
        e = ifd + count_size + i * entry_size
        if e + entry_size > len(data):
            return 1
        if int.from_bytes(data[e:e + 2], order) == 0x0112:
            value = int.from_bytes(data[e + value_at:e + value_at + 2], order)
            data[e + value_at:e + value_at + 2] = (1).to_bytes(2, order)
            return value if 1 <= value <= 8 else 1
    return 1


def _normalise(a: np.ndarray) -> np.ndarray:
    """Grey as 2-D, colour as BGR; sample types the resizer handles."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    elif a.ndim == 3 and a.shape[2] == 2:
        a = np.ascontiguousarray(a[:, :, 0])
    if a.dtype not in (np.uint8, np.uint16, np.int16, np.float32, np.float64):
        a = a.astype(np.float32)
    return a
