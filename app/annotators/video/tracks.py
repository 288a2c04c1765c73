"""Tracks: one object through a video, as keyframes with interpolation between them.

Rules (as in CVAT): before its first keyframe a track does not exist; between two keyframes
the shape is interpolated (see `interpolation`), and after the last one it holds. A keyframe
marked `outside` means the object has left: it is absent from that frame until the next
keyframe that is not outside, and nothing is interpolated across an outside keyframe.
`occluded` and the attributes come from the keyframe at or before the frame.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Any

from app.annotators.annotation import Attributes
from app.annotators.shapes import (
    SHAPE_TYPES, Shape, check_fields, integer, items, located, shape_from_dict,
)
from app.annotators.video.interpolation import interpolate
from app.core.errors import NotFoundError, ValidationError


@dataclass(frozen=True)
class Keyframe:
    """The state a person set at one frame (frames count from 0 in decode order)."""

    frame: int
    shape: Shape
    outside: bool = False
    occluded: bool = False
    attributes: Attributes = field(default_factory=Attributes)

    def __post_init__(self) -> None:
        integer(self.frame, "frame")
        if not isinstance(self.shape, tuple(SHAPE_TYPES.values())):
            raise ValidationError(f"expected a shape, got {type(self.shape).__name__}",
                                  where="shape")
        for name in ("outside", "occluded"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError("expected true or false", where=name)
        if not isinstance(self.attributes, Attributes):
            object.__setattr__(self, "attributes", Attributes(self.attributes))

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "shape": self.shape.to_dict(), "outside": self.outside,
                "occluded": self.occluded, "attributes": self.attributes.to_dict()}


@dataclass(frozen=True)
class TrackState:
    """What a track shows at one frame; `outside` means the object is not in the frame."""

    frame: int
    shape: Shape
    outside: bool
    occluded: bool
    is_keyframe: bool
    attributes: Attributes


@dataclass(frozen=True)
class Track:
    """An object's keyframes, kept sorted by frame, one keyframe per frame, one shape kind.

    Immutable: the `with_`/`without_` methods return a new track.
    """

    id: str
    label: str
    keyframes: tuple[Keyframe, ...] = ()

    def __post_init__(self) -> None:
        for name in ("id", "label"):
            if not isinstance(getattr(self, name), str):
                raise ValidationError("expected a string", where=name)
        frames = sorted(items(self.keyframes, "keyframes"), key=_frame_of)
        for i, kf in enumerate(frames):
            if not isinstance(kf, Keyframe):
                raise ValidationError("expected a Keyframe", where=f"keyframes[{i}]")
            if i and kf.frame == frames[i - 1].frame:
                raise ValidationError(f"two keyframes at frame {kf.frame}",
                                      where=f"keyframes[{i}].frame")
            if kf.shape.kind != frames[0].shape.kind:
                raise ValidationError(
                    f"a {kf.shape.kind} in a track of {frames[0].shape.kind}s",
                    where=f"keyframes[{i}].shape")
        object.__setattr__(self, "keyframes", tuple(frames))

    @property
    def frames(self) -> list[int]:
        return [kf.frame for kf in self.keyframes]

    def keyframe_at(self, frame: int) -> Keyframe | None:
        i = bisect.bisect_left(self.frames, frame)
        found = i < len(self.keyframes) and self.keyframes[i].frame == frame
        return self.keyframes[i] if found else None

    def with_keyframe(self, keyframe: Keyframe) -> Track:
        """A copy with `keyframe` added, or replacing the keyframe at its frame."""
        kept = tuple(kf for kf in self.keyframes if kf.frame != keyframe.frame)
        return replace(self, keyframes=(*kept, keyframe))

    def without_keyframe(self, frame: int) -> Track:
        if self.keyframe_at(frame) is None:
            raise NotFoundError(f"track {self.id} has no keyframe at frame {frame}")
        return replace(self, keyframes=tuple(kf for kf in self.keyframes if kf.frame != frame))

    def shape_at(self, frame: int) -> TrackState | None:
        """The track's state at `frame`; None before the first keyframe."""
        frame = integer(frame, "frame")
        frames = self.frames
        i = bisect.bisect_right(frames, frame) - 1
        if i < 0:
            return None
        left = self.keyframes[i]
        if left.frame == frame:
            return _state(frame, left, left.shape, is_keyframe=True)
        right = self.keyframes[i + 1] if i + 1 < len(frames) else None
        if left.outside or right is None or right.outside:
            return _state(frame, left, left.shape, is_keyframe=False)  # held, or still absent
        t = (frame - left.frame) / (right.frame - left.frame)
        return _state(frame, left, interpolate(left.shape, right.shape, t), is_keyframe=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label,
                "keyframes": [kf.to_dict() for kf in self.keyframes]}


def _frame_of(keyframe: Any) -> int:
    return keyframe.frame if isinstance(keyframe, Keyframe) else -1  # sorted first, then refused


def _state(frame: int, keyframe: Keyframe, shape: Shape, *, is_keyframe: bool) -> TrackState:
    return TrackState(frame, shape, keyframe.outside, keyframe.occluded, is_keyframe,
                      keyframe.attributes)


def keyframe_from_dict(data: Any, *, where: str = "keyframe") -> Keyframe:
    values = check_fields(data, where, required=("frame", "shape"),
                          optional=("outside", "occluded", "attributes"))
    shape = shape_from_dict(values.pop("shape"), where=f"{where}.shape")
    with located(where):
        return Keyframe(shape=shape, **values)


def track_from_dict(data: Any, *, where: str = "track") -> Track:
    values = check_fields(data, where, required=("id", "label", "keyframes"))
    keyframes = tuple(keyframe_from_dict(kf, where=f"{where}.keyframes[{i}]")
                      for i, kf in enumerate(items(values.pop("keyframes"), f"{where}.keyframes")))
    with located(where):
        return Track(keyframes=keyframes, **values)
