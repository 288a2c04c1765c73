"""One file in, one verdict out: `probe_file` identifies the content and validates it.

The format comes from the leading bytes (magic numbers), not the name; the extension only
adds a warning when it disagrees, and decides which decoder explains a file whose content
matches nothing. Every failure becomes a `Rejection` with a reason in plain words, so an
import of thousands of files goes on past any one of them.
"""

from __future__ import annotations

import stat
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Union

from app.core.errors import MediaError
from app.media import audio, hashing, images, text, video

_HEAD_BYTES = 4096
_NAMES: dict[str, str] = {**{k: v[0] for k, v in images.FORMATS.items()},
                          **{k: v[0] for k, v in video.FORMATS.items()},
                          **{k: v[0] for k, v in audio.FORMATS.items()}, "text": "text"}
MODALITY_OF_FORMAT: dict[str, str] = {**dict.fromkeys(images.FORMATS, "image"),
                                      **dict.fromkeys(video.FORMATS, "video"),
                                      **dict.fromkeys(audio.FORMATS, "audio"), "text": "text"}
EXTENSIONS: dict[str, str] = {
    ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff",
    ".webp": "webp", ".bmp": "bmp", ".gif": "gif",
    ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "mkv", ".webm": "webm", ".avi": "avi",
    ".wav": "wav", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg", ".opus": "ogg", ".mp3": "mp3",
    ".aif": "aiff", ".aiff": "aiff", ".caf": "caf", ".m4a": "m4a", ".aac": "aac",
    ".txt": "text", ".md": "text", ".csv": "text", ".tsv": "text", ".json": "text",
    ".jsonl": "text", ".xml": "text", ".srt": "text", ".vtt": "text"}
# Names that legitimately cover each other's content (an .m4a is an MP4 file).
_SAME_FAMILY = [frozenset({"mp4", "mov", "m4a"}), frozenset({"mkv", "webm"})]
_RIFF_FORMS = {b"WEBP": "webp", b"WAVE": "wav", b"AVI ": "avi"}
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """An accepted file. Fields that do not apply to its modality are None."""

    path: Path
    sha256: str
    size_bytes: int
    modality: str  # "image" | "video" | "audio" | "text"
    format: str  # jpeg, png, tiff, webp, bmp, gif, mp4, mov, mkv, webm, avi, wav, flac, ..., text
    mime: str
    width: int | None = None  # images: as displayed, after EXIF orientation; video: as coded
    height: int | None = None
    channels: int | None = None  # image colour channels; for audio files, audio channels
    bit_depth: int | None = None  # bits per sample: 8, 16 (images), 16/24/32 (PCM audio)
    frame_count: int | None = None  # video pictures (demuxed), or audio sample frames
    keyframe_count: int | None = None
    fps: float | None = None
    frame_rate: str | None = None  # exact average rate, "30000/1001"
    time_base: str | None = None  # "1/15360"
    duration: float | None = None  # seconds
    sample_rate: int | None = None
    audio_channels: int | None = None  # audio files and video soundtracks
    codec: str | None = None  # h264, PCM_16, FLAC, aac ...
    container: str | None = None
    rotation: int | None = None  # video display-matrix rotation in degrees
    exif_orientation: int | None = None  # 1-8 as stored; width/height already account for it
    has_gps: bool | None = None
    phash: str | None = None  # 16 hex digits; images, and the first frame of a video
    encoding: str | None = None  # text: "utf-8" or "utf-8-sig"
    char_count: int | None = None
    line_count: int | None = None
    warnings: tuple[str, ...] = ()

    accepted: ClassVar[bool] = True

    def metadata(self) -> dict[str, Any]:
        """Descriptive fields that are set, for storage (identity fields left out)."""
        skip = {"path", "sha256", "size_bytes", "modality"}
        out = {k: v for k, v in asdict(self).items() if k not in skip and v not in (None, ())}
        if "warnings" in out:
            out["warnings"] = list(out["warnings"])
        return out


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file that failed validation, and why, in words meant for the user."""

    path: Path
    reason: str
    modality: str | None = None  # what the file seemed to be, when that was known

    accepted: ClassVar[bool] = False


ProbeResult = Union[MediaInfo, Rejection]
_INFO_FIELDS = frozenset(f.name for f in fields(MediaInfo))


def probe_file(path: Path | str, *, compute_phash: bool = True,
               max_pixels: int = images.DEFAULT_MAX_PIXELS, jpeg_scale: int = 1) -> ProbeResult:
    """Identify and validate one file. Never raises for bad media or unreadable files.

    `jpeg_scale` > 1 validates JPEGs with a DCT-domain reduced decode (see app.media.images).
    """
    if jpeg_scale not in (1, 2, 4, 8):
        raise ValueError(f"jpeg_scale must be 1, 2, 4 or 8, not {jpeg_scale!r}")
    path = Path(path)
    options = {"compute_phash": compute_phash, "max_pixels": max_pixels, "jpeg_scale": jpeg_scale}
    try:
        return _probe(path, options)
    except OSError as exc:
        return Rejection(path, f"cannot read file: {exc.strerror or exc}")
    except MemoryError:
        return Rejection(path, "not enough memory to validate this file")
    except Exception as exc:  # a decoder bug must not end an import of thousands of files
        return Rejection(path, f"unexpected error while validating: {type(exc).__name__}: {exc}")


def _probe(path: Path, options: dict[str, Any]) -> ProbeResult:
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        return Rejection(path, "not a regular file")
    if st.st_size == 0:
        return Rejection(path, "empty file")
    modality = MODALITY_OF_FORMAT.get(EXTENSIONS.get(path.suffix.lower(), ""))  # a guess, for rejections
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            fmt, warns = identify(path.suffix, head)
            modality = MODALITY_OF_FORMAT[fmt]
            if modality == "text":
                text.check_size(st.st_size)
            # Images and text are read once: hashed and decoded from the same bytes.
            data = head + fh.read() if modality in ("image", "text") else None
        modality, found = _validate(path, fmt, modality, data, options)
    except MediaError as exc:
        return Rejection(path, str(exc), modality)
    digest = hashing.sha256_bytes(data) if data is not None else hashing.sha256_file(path)
    found["warnings"] = tuple(warns + found.get("warnings", []))
    extra = set(found) - _INFO_FIELDS
    if extra:
        raise RuntimeError(f"probe returned unknown fields {sorted(extra)}")
    size = len(data) if data is not None else st.st_size
    return MediaInfo(path=path, sha256=digest, size_bytes=size, modality=modality, **found)


def _validate(path: Path, fmt: str, modality: str, data: bytes | None,
              options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if modality == "image":
        return modality, images.probe_image(data, fmt, **options)
    if modality == "text":
        return modality, text.probe_text(data)
    if modality == "audio":
        return modality, audio.probe_audio(path, fmt)
    try:
        return modality, video.probe_video(path, fmt, compute_phash=options["compute_phash"])
    except video.NoVideoStream as exc:
        try:  # an MP4 or Matroska file with sound only is audio
            return "audio", audio.probe_audio_av(path, fmt)
        except MediaError:
            raise exc from None


def identify(suffix: str, head: bytes) -> tuple[str, list[str]]:
    """The format of a file from its leading bytes, falling back on its extension."""
    ext = suffix.lower()
    claimed = EXTENSIONS.get(ext)
    found = sniff(head)
    if found is not None:
        warns = []
        if claimed and claimed != found and not any({claimed, found} <= f for f in _SAME_FAMILY):
            warns.append(f"extension {ext} but content is {_NAMES[found]}")
        return found, warns
    claimed_modality = MODALITY_OF_FORMAT.get(claimed) if claimed else None
    if text.looks_like_text(head):
        if claimed_modality not in (None, "text"):
            raise MediaError(f"not {_article(claimed_modality)}: content is plain text")
        return "text", []
    if claimed_modality in ("text", "audio", "video"):
        return claimed, []  # let that decoder say what is wrong ("WAV header broken: ...")
    if claimed_modality == "image":
        raise MediaError(f"not a {_NAMES[claimed]} image: content matches no supported image format")
    raise MediaError("unsupported file: content matches no supported format")


def sniff(head: bytes) -> str | None:
    """Format from magic numbers; None when nothing matches."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] == b"RIFF":
        return _RIFF_FORMS.get(head[8:12])
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "m4a" if brand in (b"M4A ", b"M4B ", b"M4P ", b"F4A ") else "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "mov"  # QuickTime files older than the ftyp box
    if head[:4] == b"\x1aE\xdf\xa3":
        return "webm" if b"webm" in head[:64] else "mkv"
    return _sniff_audio(head)


def _sniff_audio(head: bytes) -> str | None:
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"RF64":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"caff":
        return "caf"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) > 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # Frame sync. Layer bits 00 mean ADTS AAC; 01/10 are MPEG layers III/II. Layer I is
        # left out: its header is FF FE, the same bytes as a UTF-16 byte-order mark.
        layer = (head[1] >> 1) & 3
        if layer == 0:
            return "aac"
        if layer in (1, 2) and head[2] >> 4 != 15 and (head[2] >> 2) & 3 != 3:
            return "mp3"
    return None


def _article(modality: str) -> str:
    return {"image": "an image", "video": "a video", "audio": "an audio file"}.get(modality, modality)
