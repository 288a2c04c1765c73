"""The shapes, annotations, tracks and segments as they travel between workstation and coordinator.

They mirror the `to_dict` forms of `app.annotators` (the coordinator must not import the
domain, rule 12), and validate strictly: a hostile client meets bounds on every list and
every number (finite, sizes capped) before anything reaches the database.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_VERTICES = 10_000  # per ring or point list
MAX_PARTS = 256
MAX_RLE_CHARS = 4_000_000
MAX_SIDE = 1 << 16  # pixels per side of a mask
MAX_LABEL = 200
MAX_TEXT = 20_000  # a transcript
MAX_ATTRIBUTES = 64
MAX_SECONDS = 24 * 3600  # the longest audio item a segment may point into


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Coord = Annotated[float, AfterValidator(_finite)]
Point = Annotated[list[Coord], Field(min_length=2, max_length=2)]
Ring = Annotated[list[Point], Field(min_length=3, max_length=MAX_VERTICES)]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]
AttrValue = Union[bool, int, Coord, Annotated[str, Field(max_length=1000)]]
Attributes = Annotated[dict[Annotated[str, Field(min_length=1, max_length=100)], AttrValue],
                       Field(max_length=MAX_ATTRIBUTES)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoxShape(_Strict):
    kind: Literal["box"] = "box"
    x1: Coord
    y1: Coord
    x2: Coord
    y2: Coord


class RotatedBoxShape(_Strict):
    kind: Literal["rotated_box"] = "rotated_box"
    cx: Coord
    cy: Coord
    w: Annotated[Coord, Field(ge=0)]
    h: Annotated[Coord, Field(ge=0)]
    angle: Coord


class PolygonPart(_Strict):
    exterior: Ring
    holes: Annotated[list[Ring], Field(max_length=MAX_PARTS)] = []


class PolygonShape(_Strict):
    kind: Literal["polygon"] = "polygon"
    parts: Annotated[list[PolygonPart], Field(min_length=1, max_length=MAX_PARTS)]


class PolylineShape(_Strict):
    kind: Literal["polyline"] = "polyline"
    points: Annotated[list[Point], Field(min_length=2, max_length=MAX_VERTICES)]


class PointsShape(_Strict):
    kind: Literal["points"] = "points"
    points: Annotated[list[Point], Field(min_length=1, max_length=MAX_VERTICES)]
    visibility: Annotated[list[Annotated[int, Field(ge=0, le=2)]], Field(max_length=MAX_VERTICES)] = []
    names: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=MAX_VERTICES)] | None = None


class MaskShape(_Strict):
    """COCO compressed RLE (column-major), as pycocotools writes it."""

    kind: Literal["mask"] = "mask"
    height: Annotated[int, Field(ge=1, le=MAX_SIDE)]
    width: Annotated[int, Field(ge=1, le=MAX_SIDE)]
    counts: Annotated[str, Field(min_length=1, max_length=MAX_RLE_CHARS)]


class TagShape(_Strict):
    """A label on the whole item (classification)."""

    kind: Literal["tag"] = "tag"


Shape = Annotated[
    Union[BoxShape, RotatedBoxShape, PolygonShape, PolylineShape, PointsShape, MaskShape, TagShape],
    Field(discriminator="kind"),
]


class WireAnnotation(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    label: Label
    shape: Shape
    attributes: Attributes = {}
    frame: Annotated[int, Field(ge=0)] | None = None
    source: Literal["human", "model"] = "human"
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None


class WireKeyframe(_Strict):
    frame: Annotated[int, Field(ge=0)]
    shape: Shape
    outside: bool = False
    occluded: bool = False
    attributes: Attributes = {}


class WireTrack(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    label: Label
    keyframes: Annotated[list[WireKeyframe], Field(min_length=1, max_length=100_000)]


class WireSegment(_Strict):
    """A time span of an audio item, in seconds."""

    start: Annotated[Coord, Field(ge=0, le=MAX_SECONDS)]
    end: Annotated[Coord, Field(ge=0, le=MAX_SECONDS)]
    channel: Annotated[int, Field(ge=0)] | None = None
    label: Annotated[str, Field(max_length=MAX_LABEL)] | None = None
    speaker: Annotated[str, Field(max_length=MAX_LABEL)] | None = None
    transcript: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    attributes: Attributes = {}
