"""Tracks and audio segments as annotation shapes, so they persist like any annotation.

A video track is stored as one `Annotation` whose shape is a `TrackShape` (the keyframes) and
whose `track_id` is the track's id; an audio segment as one whose shape is a `SegmentShape`
(time span, channel, speaker, transcript), with the segment's label and attributes on the
annotation. So both are versioned, head-flagged and queued for sync in the outbox by the very
code that saves image annotations, with no second storage path to keep in step.

These kinds are deliberately not in `shapes.SHAPE_TYPES`: that table is what keyframes, the
image tools and the canvas accept, and none of them can draw or edit a span of time.
`shapes.shape_from_dict` still reads them (it defers to this module), so a stored row loads
anywhere an annotation is read; the store keeps them out of the canvas's `for_asset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from app.annotators.annotation import Annotation, Source
from app.annotators.audio.segments import Segment
from app.annotators.shapes import TIMELINE_KINDS, items
from app.annotators.video.tracks import Keyframe, Track, keyframe_from_dict
from app.core.errors import ValidationError

TRACK, SEGMENT = TIMELINE_KINDS
# An annotation needs a label and a segment may have none; this stands in for "" in the store.
UNLABELED = "(unlabeled)"


@dataclass(frozen=True)
class TrackShape:
    """The keyframes of one track (sorted, one per frame, one shape kind: as `Track` checks)."""

    kind: ClassVar[str] = TRACK
    keyframes: tuple[Keyframe, ...]

    def __post_init__(self) -> None:
        checked = Track("", "", self.keyframes)  # the track's own rules, one place
        object.__setattr__(self, "keyframes", checked.keyframes)

    @classmethod
    def _from_fields(cls, values: dict[str, Any]) -> TrackShape:
        frames = items(values["keyframes"], "keyframes")
        return cls(tuple(keyframe_from_dict(kf, where=f"keyframes[{i}]") for i, kf in enumerate(frames)))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "keyframes": [kf.to_dict() for kf in self.keyframes]}


@dataclass(frozen=True)
class SegmentShape:
    """A segment's span and speech: [start, end) seconds, channel (None: all), speaker, text."""

    kind: ClassVar[str] = SEGMENT
    start: float
    end: float
    channel: int | None = None
    speaker: str | None = None
    transcript: str = ""

    def __post_init__(self) -> None:
        checked = Segment(self.start, self.end, self.channel, speaker=self.speaker,
                          transcript=self.transcript)  # the segment's own rules, one place
        for name in ("start", "end", "channel"):
            object.__setattr__(self, name, getattr(checked, name))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end, "channel": self.channel,
                "speaker": self.speaker, "transcript": self.transcript}


TIMELINE_SHAPE_TYPES: dict[str, type[Any]] = {TRACK: TrackShape, SEGMENT: SegmentShape}


# -- conversions --------------------------------------------------------------------------------

def track_to_annotation(track: Track, *, asset_id: int, author: str, source: Source = "human",
                        now: datetime | None = None) -> Annotation:
    """A new annotation holding `track`; an edit is `annotation.replace(shape=TrackShape(...))`."""
    if not track.label:
        raise ValidationError("a track needs a label", where="label")
    return Annotation.new(asset_id=asset_id, label=track.label, shape=TrackShape(track.keyframes),
                          author=author, source=source, track_id=track.id or None, now=now)


def track_from_annotation(annotation: Annotation) -> Track:
    shape = _shape(annotation, TrackShape)
    return Track(annotation.track_id or "", annotation.label, shape.keyframes)


def segment_to_annotation(segment: Segment, *, asset_id: int, author: str, source: Source = "human",
                          now: datetime | None = None) -> Annotation:
    """A new annotation holding `segment`; an unlabeled segment is stored as `UNLABELED`."""
    shape = SegmentShape(segment.start, segment.end, segment.channel, segment.speaker, segment.transcript)
    return Annotation.new(asset_id=asset_id, label=segment.label or UNLABELED, shape=shape, author=author,
                          attributes=segment.attributes, source=source, now=now)


def segment_from_annotation(annotation: Annotation) -> Segment:
    shape = _shape(annotation, SegmentShape)
    label = "" if annotation.label == UNLABELED else annotation.label
    return Segment(shape.start, shape.end, shape.channel, label=label, speaker=shape.speaker,
                   transcript=shape.transcript, attributes=annotation.attributes)


def _shape(annotation: Annotation, cls: type[Any]) -> Any:
    if not isinstance(annotation.shape, cls):
        raise ValidationError(f"annotation {annotation.id} holds a {annotation.shape.kind}, not a {cls.kind}",
                              where="shape")
    return annotation.shape
