"""Audio validation: open with soundfile, read every sample frame, compare with the header.

libsndfile quietly shortens a WAV whose data chunk runs past the end of the file, so the
WAV header is also read here: a data chunk that promises more frames than were read means
the recording was cut off. Formats libsndfile cannot read (AAC/M4A) go through PyAV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import soundfile as sf

from app.core.errors import MediaError

FORMATS = {"wav": ("WAV", "audio/wav"), "flac": ("FLAC", "audio/flac"), "ogg": ("Ogg", "audio/ogg"),
           "mp3": ("MP3", "audio/mpeg"), "aiff": ("AIFF", "audio/aiff"), "caf": ("CAF", "audio/x-caf"),
           "m4a": ("M4A", "audio/mp4"), "aac": ("AAC", "audio/aac")}
AV_ONLY = frozenset({"m4a", "aac"})  # libsndfile: "Format not recognised"
_BLOCK_FRAMES = 1 << 16
_SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
                 "FLOAT": 32, "DOUBLE": 64}
_MAX_RIFF_CHUNKS = 1000  # walking a hostile header must end


def probe_audio(path: Path, fmt: str) -> dict[str, Any]:
    """Validate one audio file; the fields for MediaInfo, or MediaError."""
    name = FORMATS.get(fmt, (fmt.upper(),))[0]
    if fmt in AV_ONLY:
        return probe_audio_av(path, fmt)
    try:
        f = sf.SoundFile(path)
    except (RuntimeError, TypeError, ValueError) as exc:
        detail = _sf_detail(exc)
        if fmt == "wav":
            raise MediaError(f"WAV header broken: {detail}") from exc
        try:  # libsndfile lacks some codecs; FFmpeg may have them
            return probe_audio_av(path, fmt)
        except MediaError:
            raise MediaError(f"cannot read {name} audio: {detail}") from exc
    with f:
        declared, rate, channels = f.frames, f.samplerate, f.channels
        present = _read_all(f, name)
        subtype, container = f.subtype, f.format
    if fmt == "wav":
        declared = max(declared, _wav_declared_frames(path) or 0)
    if present < declared:
        raise MediaError(f"truncated {name}: {present:,} of {declared:,} frames present")
    if present == 0:
        raise MediaError(f"{name} file holds no audio frames")
    codec = "FLAC" if container == "FLAC" else subtype  # FLAC's subtype is only its depth
    return _fields(fmt, rate, channels, present, codec=codec, container=container,
                   bit_depth=_SUBTYPE_BITS.get(subtype))


def probe_audio_av(path: Path, fmt: str) -> dict[str, Any]:
    """Decode every audio frame with FFmpeg (PyAV), counting sample frames."""
    name = FORMATS.get(fmt, (fmt.upper(),))[0]
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError(f"cannot open {name} audio: {exc.strerror or exc}") from exc
    with container:
        if not container.streams.audio:
            raise MediaError(f"{name} file has no audio stream")
        stream = container.streams.audio[0]
        samples = 0
        try:
            for frame in container.decode(stream):
                samples += frame.samples
        except av.FFmpegError as exc:
            raise MediaError(f"{name} audio data unreadable after {samples:,} frames: "
                             f"{exc.strerror or exc}") from exc
        ctx = stream.codec_context
        rate = ctx.sample_rate or int(stream.rate or 0)
        channels = ctx.layout.nb_channels if ctx.layout else ctx.channels
        codec = ctx.name
    if samples == 0 or not rate:
        raise MediaError(f"{name} file holds no decodable audio")
    return _fields(fmt, rate, channels, samples, codec=codec, container=name, bit_depth=None)


def _fields(fmt: str, rate: int, channels: int, frames: int, *, codec: str, container: str,
            bit_depth: int | None) -> dict[str, Any]:
    return {"format": fmt, "mime": FORMATS.get(fmt, ("", f"audio/{fmt}"))[1],
            "sample_rate": rate, "channels": channels, "audio_channels": channels,
            "frame_count": frames, "duration": frames / rate, "codec": codec,
            "container": container, "bit_depth": bit_depth, "warnings": []}


def _read_all(f: sf.SoundFile, name: str) -> int:
    """Decode every frame through one reused buffer; the number of frames read."""
    block = np.empty((_BLOCK_FRAMES, f.channels), dtype=np.int16)
    count = 0
    while True:
        try:
            got = len(f.read(out=block))
        except (RuntimeError, ValueError) as exc:
            raise MediaError(f"{name} audio data unreadable at frame {count:,} of {f.frames:,}: "
                             f"{_sf_detail(exc)}") from exc
        count += got
        if got < _BLOCK_FRAMES:
            return count


def _wav_declared_frames(path: Path) -> int | None:
    """Frames the RIFF data chunk promises; None where the header leaves it open."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None  # RF64/W64 carry 64-bit sizes; libsndfile checks those itself
        block_align = 0
        for _ in range(_MAX_RIFF_CHUNKS):
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            size = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                # 0 and 0xFFFFFFFF are what streaming writers leave when they never seek back
                unknown = size in (0, 0xFFFFFFFF) or block_align == 0
                return None if unknown else size // block_align
            skip = size + (size & 1)  # chunks are padded to even length
            if chunk[:4] == b"fmt ":
                fmt_body = fh.read(min(size, 16))
                block_align = int.from_bytes(fmt_body[12:14], "little")
                skip -= len(fmt_body)
            fh.seek(skip, 1)
    return None


def _sf_detail(exc: BaseException) -> str:
    """libsndfile's reason without the "Error opening '<path>': " preamble."""
    text = getattr(exc, "error_string", None) or str(exc)
    return text.split("': ", 1)[-1].strip()
