"""Audio segments: labeled stretches of time, per channel or for all channels.

Times are seconds from the start of the file, as floats. A segment covers [start, end): two
segments that only touch do not overlap. `channel` None means every channel, so such a
segment overlaps segments on any channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.annotators.annotation import Attributes
from app.annotators.shapes import check_fields, integer, located, real
from app.core.errors import ValidationError


@dataclass(frozen=True)
class Segment:
    """A stretch of audio with its label, speaker and transcript."""

    start: float
    end: float
    channel: int | None = None
    label: str = ""
    speaker: str | None = None
    transcript: str = ""
    attributes: Attributes = field(default_factory=Attributes)

    def __post_init__(self) -> None:
        start, end = real(self.start, "start"), real(self.end, "end")
        if start < 0:
            raise ValidationError(f"must not be negative, got {start}", where="start")
        if end <= start:
            raise ValidationError(f"must be after start ({start}), got {end}", where="end")
        channel = None if self.channel is None else integer(self.channel, "channel")
        for name in ("label", "transcript"):
            if not isinstance(getattr(self, name), str):
                raise ValidationError("expected a string", where=name)
        if self.speaker is not None and not isinstance(self.speaker, str):
            raise ValidationError("expected a string or null", where="speaker")
        attributes = self.attributes
        if not isinstance(attributes, Attributes):
            attributes = Attributes(attributes)
        for name, value in (("start", start), ("end", end), ("channel", channel),
                            ("attributes", attributes)):
            object.__setattr__(self, name, value)  # normalized values on a frozen dataclass

    @property
    def duration(self) -> float:
        return self.end - self.start

    def overlaps(self, other: Segment) -> bool:
        """Whether the two share some time on a common channel."""
        return _same_channel(self, other) and self.start < other.end and other.start < self.end

    def check_within(self, duration: float) -> None:
        """Raise unless the segment ends within an audio file of `duration` seconds."""
        if self.end > real(duration, "duration"):
            raise ValidationError(f"ends at {self.end} s, after the audio ({duration} s)",
                                  where="end")

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "channel": self.channel,
                "label": self.label, "speaker": self.speaker, "transcript": self.transcript,
                "attributes": self.attributes.to_dict()}


def segment_from_dict(data: Any, *, duration: float | None = None,
                      where: str = "segment") -> Segment:
    """Read a dict written by `to_dict`; with `duration`, also refuse segments past the end."""
    values = check_fields(data, where, required=("start", "end"),
                          optional=("channel", "label", "speaker", "transcript", "attributes"))
    with located(where):
        segment = Segment(**values)
        if duration is not None:
            segment.check_within(duration)
    return segment


def sort_segments(segments: Iterable[Segment]) -> list[Segment]:
    """By start, then end, then channel (all-channel segments first)."""
    return sorted(segments, key=lambda s: (s.start, s.end, -1 if s.channel is None else s.channel))


def segments_at(segments: Iterable[Segment], time: float, channel: int | None = None
                ) -> list[Segment]:
    """The segments sounding at `time` (on `channel`, or any channel when it is None)."""
    t = real(time, "time")
    return [s for s in segments if s.start <= t < s.end
            and (channel is None or s.channel is None or s.channel == channel)]


def overlapping_pairs(segments: Sequence[Segment]) -> list[tuple[int, int]]:
    """Index pairs (i < j) of segments that overlap, by a sweep over start times."""
    order = sorted(range(len(segments)), key=lambda i: segments[i].start)
    active: list[int] = []
    pairs = []
    for i in order:
        current = segments[i]
        active = [j for j in active if segments[j].end > current.start]
        pairs.extend((min(i, j), max(i, j)) for j in active
                     if _same_channel(segments[j], current))
        active.append(i)
    return sorted(pairs)


def _same_channel(a: Segment, b: Segment) -> bool:
    return a.channel is None or b.channel is None or a.channel == b.channel
