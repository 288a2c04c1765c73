"""Annotation shapes: immutable geometry in continuous image-pixel coordinates.

The top-left corner of pixel (0, 0) is the point (0, 0) and its centre is (0.5, 0.5), so the box
covering exactly that pixel is `Box(0, 0, 1, 1)`. A shape is geometry only: the label and the
attributes live on the annotation that owns it.

`to_dict()` gives a JSON-safe dict carrying `kind`; `shape_from_dict` reads one back strictly
and `shape_from_dict(s.to_dict()) == s` for every shape. Constructors validate and normalize
too, so no invalid shape exists in memory: errors are `ValidationError`s naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields
from numbers import Integral, Real
from typing import Any, ClassVar, TypeAlias

import numpy as np

from app.core.errors import ValidationError

Point: TypeAlias = tuple[float, float]
Ring: TypeAlias = tuple[Point, ...]
VISIBILITY = (0, 1, 2)  # COCO: 0 not labeled, 1 labeled but not visible, 2 visible


# -- field validators ---------------------------------------------------------------------------

def real(value: Any, where: str) -> float:
    """A finite float from an int or a float; bools and strings are refused, not coerced."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValidationError(f"expected a number, got {type(value).__name__}", where=where)
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(f"must be finite, got {number}", where=where)
    return number


def integer(value: Any, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValidationError(f"expected an integer, got {type(value).__name__}", where=where)
    if value < minimum:
        raise ValidationError(f"must be at least {minimum}, got {value}", where=where)
    return int(value)


def items(value: Any, where: str) -> list[Any]:
    """The elements of a list-like value (list, tuple, numpy array); mappings and text refused."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError(f"expected a list, got {type(value).__name__}", where=where)
    return list(value)


def point(value: Any, where: str) -> Point:
    pair = items(value, where)
    if len(pair) != 2:
        raise ValidationError(f"expected an [x, y] pair, got {len(pair)} values", where=where)
    return (real(pair[0], f"{where}[0]"), real(pair[1], f"{where}[1]"))


def point_list(value: Any, where: str, *, minimum: int, closed: bool = False) -> Ring:
    """Points of a ring (closed: a repeated first point at the end is dropped) or a line."""
    if _is_clean_array(value):  # fast path for traced and resampled contours
        pts: Ring = tuple(map(tuple, value.astype(np.float64).tolist()))
    else:
        pts = tuple(point(p, f"{where}[{i}]") for i, p in enumerate(items(value, where)))
    if closed and len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]  # our rings close implicitly; keeping the copy would break shapely
    if len(pts) < minimum:
        raise ValidationError(f"needs at least {minimum} points, got {len(pts)}", where=where)
    return pts


def _is_clean_array(value: Any) -> bool:
    return (isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == 2
            and value.dtype.kind in "fiu" and bool(np.isfinite(value).all()))


def _set(obj: object, **values: Any) -> None:
    for name, value in values.items():
        object.__setattr__(obj, name, value)  # frozen dataclasses normalize in __post_init__


# -- shapes -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """Axis-aligned box, normalized so that x1 <= x2 and y1 <= y2."""

    kind: ClassVar[str] = "box"
    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = (real(getattr(self, n), n) for n in ("x1", "y1", "x2", "y2"))
        _set(self, x1=min(x1, x2), y1=min(y1, y2), x2=max(x1, x2), y2=max(y1, y2))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "x1": self.x1, "y1": self.y1, "x2": self.x2, "y2": self.y2}

    def translated(self, dx: float, dy: float) -> Box:
        dx, dy = real(dx, "dx"), real(dy, "dy")
        return Box(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)


@dataclass(frozen=True)
class RotatedBox:
    """Box of size w x h centred on (cx, cy), turned by `angle` degrees, kept in [-180, 180).

    The y axis points down, so a positive angle turns the box clockwise on screen.
    """

    kind: ClassVar[str] = "rotated_box"
    cx: float
    cy: float
    w: float
    h: float
    angle: float = 0.0

    def __post_init__(self) -> None:
        values = {n: real(getattr(self, n), n) for n in ("cx", "cy", "w", "h", "angle")}
        for name in ("w", "h"):
            if values[name] < 0:
                raise ValidationError(f"must not be negative, got {values[name]}", where=name)
        values["angle"] = normalize_angle(values["angle"])
        _set(self, **values)

    def corners(self) -> Ring:
        """The four corners, clockwise on screen from the box's own top-left."""
        rad = math.radians(self.angle)
        cos, sin = math.cos(rad), math.sin(rad)
        half = ((-1, -1), (1, -1), (1, 1), (-1, 1))
        return tuple(
            (self.cx + sx * self.w / 2 * cos - sy * self.h / 2 * sin,
             self.cy + sx * self.w / 2 * sin + sy * self.h / 2 * cos)
            for sx, sy in half
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "cx": self.cx, "cy": self.cy, "w": self.w, "h": self.h,
                "angle": self.angle}

    def translated(self, dx: float, dy: float) -> RotatedBox:
        dx, dy = real(dx, "dx"), real(dy, "dy")
        return RotatedBox(self.cx + dx, self.cy + dy, self.w, self.h, self.angle)


def normalize_angle(degrees: float) -> float:
    """Degrees in [-180, 180); values already inside are returned untouched (bit for bit)."""
    if -180.0 <= degrees < 180.0:
        return degrees  # re-wrapping could round, and round trips must be exact
    wrapped = (degrees + 180.0) % 360.0 - 180.0
    return wrapped - 360.0 if wrapped >= 180.0 else wrapped


@dataclass(frozen=True)
class PolygonPart:
    """One connected piece of a polygon: an exterior ring and the holes cut out of it."""

    exterior: Ring
    holes: tuple[Ring, ...] = ()

    def __post_init__(self) -> None:
        holes = tuple(point_list(h, f"holes[{i}]", minimum=3, closed=True)
                      for i, h in enumerate(items(self.holes, "holes")))
        _set(self, exterior=point_list(self.exterior, "exterior", minimum=3, closed=True),
             holes=holes)

    def to_dict(self) -> dict[str, Any]:
        return {"exterior": [list(p) for p in self.exterior],
                "holes": [[list(p) for p in hole] for hole in self.holes]}

    def translated(self, dx: float, dy: float) -> PolygonPart:
        return PolygonPart(_moved(self.exterior, dx, dy),
                           tuple(_moved(h, dx, dy) for h in self.holes))


@dataclass(frozen=True)
class Polygon:
    """A region of one or more parts, each with holes; an island in a hole is its own part.

    Rings are stored as given (not repaired); `geometry.make_valid` repairs self-intersections.
    """

    kind: ClassVar[str] = "polygon"
    parts: tuple[PolygonPart, ...]

    def __post_init__(self) -> None:
        parts = items(self.parts, "parts")
        if not parts:
            raise ValidationError("needs at least one part", where="parts")
        for i, part in enumerate(parts):
            if not isinstance(part, PolygonPart):
                raise ValidationError("expected a PolygonPart", where=f"parts[{i}]")
        _set(self, parts=tuple(parts))

    @classmethod
    def from_rings(cls, exterior: Iterable[Any], holes: Iterable[Any] = ()) -> Polygon:
        """A one-part polygon."""
        return cls((PolygonPart(tuple(exterior), tuple(holes)),))

    @classmethod
    def _from_fields(cls, values: dict[str, Any]) -> Polygon:
        parts = [_construct(PolygonPart, p, f"parts[{i}]")
                 for i, p in enumerate(items(values["parts"], "parts"))]
        return cls(tuple(parts))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "parts": [p.to_dict() for p in self.parts]}

    def translated(self, dx: float, dy: float) -> Polygon:
        return Polygon(tuple(p.translated(dx, dy) for p in self.parts))


@dataclass(frozen=True)
class Polyline:
    """An open line through at least two points."""

    kind: ClassVar[str] = "polyline"
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        _set(self, points=point_list(self.points, "points", minimum=2))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "points": [list(p) for p in self.points]}

    def translated(self, dx: float, dy: float) -> Polyline:
        return Polyline(_moved(self.points, dx, dy))


@dataclass(frozen=True)
class Points:
    """Points or keypoints; `visibility` follows COCO (default 2 = visible), `names` optional."""

    kind: ClassVar[str] = "points"
    points: tuple[Point, ...]
    visibility: tuple[int, ...] | None = None
    names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        pts = point_list(self.points, "points", minimum=1)
        vis = (2,) * len(pts) if self.visibility is None else tuple(
            _visibility(v, f"visibility[{i}]")
            for i, v in enumerate(items(self.visibility, "visibility")))
        names = None if self.names is None else tuple(
            _text(n, f"names[{i}]") for i, n in enumerate(items(self.names, "names")))
        for name, seq in (("visibility", vis), ("names", names)):
            if seq is not None and len(seq) != len(pts):
                raise ValidationError(f"has {len(seq)} entries for {len(pts)} points", where=name)
        _set(self, points=pts, visibility=vis, names=names)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "points": [list(p) for p in self.points],
                "visibility": list(self.visibility or ()),
                "names": None if self.names is None else list(self.names)}

    def translated(self, dx: float, dy: float) -> Points:
        return Points(_moved(self.points, dx, dy), self.visibility, self.names)


@dataclass(frozen=True)
class Mask:
    """A binary mask over the whole image, as COCO RLE (the compressed pycocotools string).

    Build one from a numpy array with `masks.encode`; the run lengths must cover exactly
    height x width pixels.
    """

    kind: ClassVar[str] = "mask"
    height: int
    width: int
    counts: str

    def __post_init__(self) -> None:
        height = integer(self.height, "height", minimum=1)
        width = integer(self.width, "width", minimum=1)
        counts = self.counts.decode("ascii") if isinstance(self.counts, bytes) else self.counts
        if not isinstance(counts, str):
            raise ValidationError("expected the compressed RLE string", where="counts")
        total = sum(rle_run_lengths(counts, "counts"))
        if total != height * width:
            raise ValidationError(
                f"run lengths cover {total} pixels, not {height}x{width}", where="counts")
        _set(self, height=height, width=width, counts=counts)

    def rle(self) -> dict[str, Any]:
        """The pycocotools form: {"size": [h, w], "counts": bytes}."""
        return {"size": [self.height, self.width], "counts": self.counts.encode("ascii")}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "height": self.height, "width": self.width,
                "counts": self.counts}

    def translated(self, dx: float, dy: float) -> Mask:
        """Shift by whole pixels (anything else raises); pixels pushed off the image are lost."""
        from app.annotators.masks import shift_mask  # masks builds on this module

        return shift_mask(self, dx, dy)


@dataclass(frozen=True)
class Tag:
    """A classification of the whole item: no geometry."""

    kind: ClassVar[str] = "tag"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    def translated(self, dx: float, dy: float) -> Tag:
        return self


Shape: TypeAlias = Box | RotatedBox | Polygon | Polyline | Points | Mask | Tag
SHAPE_TYPES: dict[str, type[Any]] = {
    cls.kind: cls for cls in (Box, RotatedBox, Polygon, Polyline, Points, Mask, Tag)}
# Whole tracks and audio segments, stored as annotations (`timeline`); not in SHAPE_TYPES,
# which is what keyframes, the image tools and the canvas accept.
TIMELINE_KINDS = ("track", "segment")


def rle_run_lengths(counts: str, where: str = "counts") -> list[int]:
    """Run lengths of a COCO compressed RLE string (pycocotools' rleFrString), validated."""
    return rle_runs_array(counts, where).tolist()


def rle_runs_array(counts: str, where: str = "counts") -> np.ndarray:
    """The same, as an int64 array, vectorized: ragged masks have hundreds of thousands of runs.

    Checked here rather than by pycocotools, whose decoder trusts the runs to fit the image.
    Each number is 5-bit groups, least significant first; 0x20 marks "more groups follow",
    0x10 in the last group is the sign; runs after the third are deltas from two before.
    """
    try:
        raw = counts.encode("ascii")
    except UnicodeEncodeError:
        bad = next(i for i, ch in enumerate(counts) if ord(ch) > 127)
        raise ValidationError(f"invalid character {counts[bad]!r} at {bad}", where=where) from None
    codes = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    invalid = np.flatnonzero((codes < 0) | (codes >= 64))
    if invalid.size:
        raise ValidationError(f"invalid character {counts[invalid[0]]!r} at {invalid[0]}", where=where)
    last = (codes & 0x20) == 0  # the final group of each number
    if not last[-1]:
        raise ValidationError("truncated RLE string", where=where)
    number = np.concatenate(([0], np.cumsum(last)[:-1]))
    starts = np.flatnonzero(np.concatenate(([True], last[:-1])))
    shift = 5 * (np.arange(codes.size) - starts[number])
    if shift.max() > 55:
        raise ValidationError("run length out of range", where=where)
    values = np.add.reduceat((codes & 0x1F) << shift, starts)
    ends = np.flatnonzero(last)
    negative = (codes[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, shift[ends][negative] + 5)
    for first in (3, 4):  # undo the deltas: even and odd runs after the third separately
        if values.size > first:
            values[first::2] = values[first - 2] + np.cumsum(values[first::2])
    bad = np.flatnonzero(values < 0)
    if bad.size:
        raise ValidationError(f"negative run length at {ends[bad[0]]}", where=where)
    return values


# -- dicts ---------------------------------------------------------------------------

def shape_from_dict(data: Any, *, where: str = "shape") -> Shape:
    """Read a dict written by `to_dict`; unknown kinds and fields, and bad values, raise."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected an object, got {type(data).__name__}", where=where)
    if "kind" not in data:
        raise ValidationError("missing field", where=f"{where}.kind")
    kind = data["kind"]
    cls = SHAPE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None and kind in TIMELINE_KINDS:
        from app.annotators.timeline import TIMELINE_SHAPE_TYPES  # it builds on this module

        cls = TIMELINE_SHAPE_TYPES[kind]
    if cls is None:
        raise ValidationError(f"unknown shape kind {kind!r}", where=f"{where}.kind")
    return _construct(cls, {k: v for k, v in data.items() if k != "kind"}, where)


def _construct(cls: type[Any], data: Any, where: str) -> Any:
    """Build `cls` from a dict of its fields, with errors prefixed by `where`."""
    known = [f for f in fields(cls)]
    required = [f.name for f in known if f.default is MISSING and f.default_factory is MISSING]
    values = check_fields(data, where, required=required,
                          optional=[f.name for f in known if f.name not in required])
    with located(where):
        builder = getattr(cls, "_from_fields", None)
        return builder(values) if builder else cls(**values)


def check_fields(data: Any, where: str, *, required: Iterable[str], optional: Iterable[str] = ()
                 ) -> dict[str, Any]:
    """A copy of an object read from JSON, refusing unknown fields and missing ones."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected an object, got {type(data).__name__}", where=where)
    required, allowed = list(required), {*required, *optional}
    for key in data:
        if key not in allowed:
            raise ValidationError("unknown field", where=f"{where}.{key}")
    for key in required:
        if key not in data:
            raise ValidationError("missing field", where=f"{where}.{key}")
    return dict(data)


@contextmanager
def located(where: str) -> Iterator[None]:
    """Re-raise a ValidationError with `where` put in front of the field it names."""
    try:
        yield
    except ValidationError as err:
        if not err.where:
            raise ValidationError(str(err), where=where) from None
        message = str(err).removeprefix(f"{err.where}: ")
        raise ValidationError(message, where=f"{where}.{err.where}") from None


def _moved(pts: Ring, dx: float, dy: float) -> Ring:
    dx, dy = real(dx, "dx"), real(dy, "dy")
    return tuple((x + dx, y + dy) for x, y in pts)


def _visibility(value: Any, where: str) -> int:
    flag = integer(value, where)
    if flag not in VISIBILITY:
        raise ValidationError(f"must be 0, 1 or 2, got {flag}", where=where)
    return flag


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"expected a string, got {type(value).__name__}", where=where)
    return value
