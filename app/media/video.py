"""Video validation with PyAV: demux every packet, decode the head and the tail.

Frames are counted by demuxing (no decoding), which is exact on variable frame rate and
cheap (about 20 ms for 1,800 1080p frames). A container that declares more frames than it
holds was cut off. Decoding the first frame and everything from the last keyframe to the
end proves both ends decode without paying for a full decode of a long file.
Width and height are the coded size; `rotation` is the display-matrix angle, which a
player applies on top (phone videos), reported rather than baked in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from app.core.errors import MediaError
from app.media import hashing

FORMATS = {"mp4": ("MP4", "video/mp4"), "mov": ("QuickTime", "video/quicktime"),
           "mkv": ("Matroska", "video/x-matroska"), "webm": ("WebM", "video/webm"),
           "avi": ("AVI", "video/x-msvideo")}
_ISO_FORMATS = frozenset({"mp4", "mov", "m4a"})
_MAX_BOXES = 10_000


class NoVideoStream(MediaError):
    """The container opened but holds no video stream (it may still hold audio)."""


@dataclass
class _Index:
    count: int = 0
    keyframes: int = 0
    last_key: int = 0  # frame number (decode order) of the last keyframe
    last_key_pts: int | None = None
    first_pts: int | None = None
    end_pts: int | None = None
    first_frame: av.VideoFrame | None = None


def probe_video(path: Path, fmt: str, *, compute_phash: bool = True) -> dict[str, Any]:
    """Validate one video file; the fields for MediaInfo, or MediaError."""
    name = FORMATS.get(fmt, (fmt.upper(),))[0]
    container = _open(path, fmt, name)
    with container:
        if not container.streams.video:
            raise NoVideoStream(f"{name} file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        index = _demux(container, stream, name)
        declared = stream.frames or 0
        if declared > index.count:
            raise MediaError(f"truncated video: {index.count:,} of {declared:,} frames present")
        if index.first_frame is None:
            raise MediaError(f"{name} video frames do not decode: no picture from the first frames")
        _decode_tail(container, stream, index, name)
        fields = _stream_fields(container, stream, index, fmt, name)
        if compute_phash:
            fields["phash"] = hashing.phash_array(index.first_frame.to_ndarray(format="gray"))
        if declared and declared < index.count:
            fields["warnings"].append(f"container declares {declared:,} frames, stream holds {index.count:,}")
    return fields


def _open(path: Path, fmt: str, name: str) -> av.container.InputContainer:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        problem = iso_box_problem(path, name) if fmt in _ISO_FORMATS else None
        raise MediaError(problem or f"cannot open {name} video: {exc.strerror or exc}") from exc


def _demux(container, stream, name: str) -> _Index:
    """Count packets, note keyframes and pts span, and decode until the first picture."""
    index = _Index()
    try:
        for packet in container.demux(stream):
            if index.first_frame is None:  # flush packets too: they drain a delayed decoder
                index.first_frame = next(iter(stream.decode(packet)), None)
            if packet.size == 0:
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            if packet.is_keyframe:
                index.keyframes += 1
                index.last_key, index.last_key_pts = index.count, pts
            if pts is not None:
                index.first_pts = pts if index.first_pts is None else min(index.first_pts, pts)
                end = pts + (packet.duration or 0)
                index.end_pts = end if index.end_pts is None else max(index.end_pts, end)
            index.count += 1
    except av.FFmpegError as exc:
        declared = stream.frames or 0
        if declared > index.count:  # the usual cause: the file was cut off mid-packet
            raise MediaError(f"truncated video: {index.count:,} of {declared:,} frames present") from exc
        raise MediaError(f"{name} video data unreadable after {index.count:,} frames: "
                         f"{exc.strerror or exc}") from exc
    if index.count == 0:
        raise MediaError(f"{name} video stream holds no frames")
    return index


def _decode_tail(container, stream, index: _Index, name: str) -> None:
    """Decode from the last keyframe to the end; at least one picture must come out."""
    decoded = 0
    try:
        if index.last_key_pts is not None:
            container.seek(index.last_key_pts, stream=stream, backward=True, any_frame=False)
        else:
            container.seek(0)
        for packet in container.demux(stream):
            decoded += len(stream.decode(packet))
    except av.FFmpegError as exc:
        raise MediaError(f"{name} video frames do not decode after the last keyframe "
                         f"(frame {index.last_key:,}): {exc.strerror or exc}") from exc
    if decoded == 0:
        raise MediaError(f"{name} video frames do not decode after the last keyframe "
                         f"(frame {index.last_key:,})")


def _stream_fields(container, stream, index: _Index, fmt: str, name: str) -> dict[str, Any]:
    ctx, tb = stream.codec_context, stream.time_base
    duration = None
    if index.first_pts is not None and index.end_pts is not None and tb and index.end_pts > index.first_pts:
        duration = float((index.end_pts - index.first_pts) * tb)
    elif stream.duration and tb:
        duration = float(stream.duration * tb)
    elif container.duration:
        duration = container.duration / 1_000_000
    rate = stream.average_rate or stream.guessed_rate
    if not rate and duration:
        rate = Fraction(index.count) / Fraction(duration).limit_denominator(1_000_000)
    fields: dict[str, Any] = {
        "format": fmt, "mime": FORMATS.get(fmt, ("", f"video/{fmt}"))[1], "container": name,
        "codec": ctx.name, "width": ctx.width, "height": ctx.height,
        "frame_count": index.count, "keyframe_count": index.keyframes,
        "fps": float(rate) if rate else None,
        "frame_rate": f"{rate.numerator}/{rate.denominator}" if rate else None,
        "time_base": f"{tb.numerator}/{tb.denominator}" if tb else None,
        "duration": duration, "rotation": int(getattr(index.first_frame, "rotation", 0) or 0),
        "warnings": []}
    if container.streams.audio:
        actx = container.streams.audio[0].codec_context
        fields["sample_rate"] = actx.sample_rate or None
        fields["audio_channels"] = actx.layout.nb_channels if actx.layout else actx.channels
    return fields


def iso_box_problem(path: Path, name: str = "MP4") -> str | None:
    """Why an MP4/MOV's top-level boxes are incomplete, in plain words; None if they are whole."""
    with open(path, "rb") as fh:
        total, pos, seen = os.fstat(fh.fileno()).st_size, 0, set()
        for _ in range(_MAX_BOXES):
            if pos + 8 > total:
                break
            fh.seek(pos)
            head = fh.read(16)
            size, kind = int.from_bytes(head[:4], "big"), head[4:8].decode("latin-1")
            if size == 1:
                size = int.from_bytes(head[8:16], "big")  # 64-bit "largesize"
            elif size == 0:
                size = total - pos  # box runs to the end of the file
            if size < 8:
                return f"corrupt {name}: box at byte {pos:,} has an invalid size"
            if pos + size > total:
                missing = "" if "moov" in seen or kind == "moov" else "; the index (moov box) is missing"
                return (f"truncated {name}: file ends inside its '{kind}' box "
                        f"({total - pos:,} of {size:,} bytes present){missing}")
            seen.add(kind)
            pos += size
    return None if "moov" in seen else f"{name} has no index (moov box)"
