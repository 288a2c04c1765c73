"""Hypothesis strategies for the format tests: shapes that lie inside an image of a given
size, annotations with every field set, attributes of each type, and image, video and audio
items with their tracks and segments, up to whole datasets.

Shape strategies take the image size, `(width, height) -> strategy`, so that callers can
pick the kinds their format carries: `image_items(shapes=lambda w, h: boxes_in(w, h))`.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.annotators import masks
from app.annotators.annotation import Annotation
from app.annotators.audio.segments import Segment
from app.annotators.shapes import Box, Points, Polygon, Polyline, RotatedBox, Shape, Tag
from app.annotators.video.tracks import Keyframe, Track
from app.formats.base import Dataset, Item
from tests.unit.annotators.strategies import polygons

ShapesIn = Callable[[int, int], st.SearchStrategy[Shape]]
LABELS = ("car", "person", "road sign", "tree")
SUBSETS = ("default", "train", "val")
finite = st.floats(allow_nan=False, allow_infinity=False)


# -- shapes inside a width x height image ------------------------------------------------------

def _within(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def boxes_in(draw: st.DrawFn, width: int, height: int, *, min_size: float = 1.0) -> Box:
    x1 = draw(_within(0, width - min_size))
    y1 = draw(_within(0, height - min_size))
    return Box(x1, y1, draw(_within(x1 + min_size, width)), draw(_within(y1 + min_size, height)))


@st.composite
def rotated_boxes_in(draw: st.DrawFn, width: int, height: int) -> RotatedBox:
    """Centre inside the image, sides up to half the shorter image side, any angle."""
    side = min(width, height) / 2
    return RotatedBox(draw(_within(side / 2, width - side / 2)),
                      draw(_within(side / 2, height - side / 2)),
                      draw(_within(1, side)), draw(_within(1, side)),
                      draw(_within(-180, 179.999)))


@st.composite
def polygons_in(draw: st.DrawFn, width: int, height: int, *, holes: bool = True,
                max_parts: int = 3) -> Polygon:
    """One to `max_parts` disjoint star-shaped parts in a row, each maybe with a hole."""
    r_max = min(height / 2, width / (2.2 * (max_parts - 1) + 2)) * 0.95
    x0 = draw(_within(r_max, width - r_max - (max_parts - 1) * 2.2 * r_max))
    y0 = draw(_within(r_max, height - r_max))
    return draw(polygons(r_max=r_max, holes=holes, max_parts=max_parts, at=(x0, y0)))


@st.composite
def polygons_with_holes_in(draw: st.DrawFn, width: int, height: int, *, max_parts: int = 2
                           ) -> Polygon:
    """Polygons where at least one part has a hole."""
    return draw(polygons_in(width, height, holes=True, max_parts=max_parts)
                .filter(lambda p: any(part.holes for part in p.parts)))


@st.composite
def polylines_in(draw: st.DrawFn, width: int, height: int) -> Polyline:
    xy = st.tuples(_within(0, width), _within(0, height))
    return Polyline(tuple(draw(st.lists(xy, min_size=2, max_size=8))))


@st.composite
def points_in(draw: st.DrawFn, width: int, height: int, *, count: int | None = None,
              names: Sequence[str] | None | bool = False) -> Points:
    """Points with COCO visibility 0/1/2. `names`: a fixed list, None (unnamed), or False to
    draw either (then `count` must be left to match the drawn names)."""
    if names is False:
        names = draw(st.none() | st.lists(st.text(string.ascii_lowercase, min_size=1,
                                                  max_size=6), min_size=1, max_size=6))
    n = len(names) if names is not None else (count or draw(st.integers(1, 8)))
    xy = st.tuples(_within(0, width), _within(0, height))
    pts = draw(st.lists(xy, min_size=n, max_size=n))
    vis = draw(st.lists(st.sampled_from((0, 1, 2)), min_size=n, max_size=n))
    return Points(tuple(pts), tuple(vis), None if names is None else tuple(names))


def masks_in(width: int, height: int) -> st.SearchStrategy[Shape]:
    """Whole-image masks (keep images small: every pixel is drawn)."""
    return arrays(np.bool_, (height, width)).map(masks.encode)


@st.composite
def blob_masks_in(draw: st.DrawFn, width: int, height: int) -> Shape:
    """A non-empty mask made of a few filled rectangles, cheap for any image size."""
    bits = np.zeros((height, width), dtype=bool)
    for _ in range(draw(st.integers(1, 3))):
        x, y = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
        bits[y:y + draw(st.integers(1, height)), x:x + draw(st.integers(1, width))] = True
    return masks.encode(bits)


def tags(width: int = 0, height: int = 0) -> st.SearchStrategy[Shape]:
    return st.just(Tag())


def any_shape_in(width: int, height: int) -> st.SearchStrategy[Shape]:
    return st.one_of(boxes_in(width, height), rotated_boxes_in(width, height),
                     polygons_in(width, height), polylines_in(width, height),
                     points_in(width, height), blob_masks_in(width, height), tags())


# -- attributes and annotations ----------------------------------------------------------------

def attribute_values() -> st.SearchStrategy[bool | int | float | str]:
    return st.one_of(st.booleans(), st.integers(-10**6, 10**6), finite, st.text(max_size=8))


def attributes(*, exclude: Sequence[str] = (), max_size: int = 3
               ) -> st.SearchStrategy[dict[str, bool | int | float | str]]:
    """Attribute dicts with names not in `exclude` (names a format reserves)."""
    names = st.text(string.ascii_letters + "_", min_size=1, max_size=8).filter(
        lambda n: n not in exclude)
    return st.dictionaries(names, attribute_values(), max_size=max_size)


def label_names() -> st.SearchStrategy[str]:
    """Free-text labels (any non-blank text), for formats that promise to keep any name."""
    return st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")


def timestamps() -> st.SearchStrategy[datetime]:
    return st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(timezone.utc))


@st.composite
def annotations(draw: st.DrawFn, shapes: st.SearchStrategy[Shape], *,
                labels: Sequence[str] = LABELS, exclude_attributes: Sequence[str] = (),
                frame: int | None = None) -> Annotation:
    """An annotation with every field drawn: ids, authorship, timestamps, version, source,
    confidence, z-order, flags and track id."""
    created = draw(timestamps())
    return Annotation(
        id=draw(st.uuids()).hex, asset_id=draw(st.integers(0, 10**6)),
        label=draw(st.sampled_from(labels)), shape=draw(shapes),
        author=draw(st.text(max_size=10)), created_at=created,
        updated_at=draw(st.sampled_from([created, draw(timestamps())])),
        attributes=draw(attributes(exclude=exclude_attributes)),
        source=draw(st.sampled_from(("human", "model", "consensus"))),
        confidence=draw(st.none() | st.floats(0, 1)), version=draw(st.integers(1, 50)),
        z_order=draw(st.integers(-5, 5)), hidden=draw(st.booleans()),
        locked=draw(st.booleans()), track_id=draw(st.none() | st.uuids().map(lambda u: u.hex)),
        frame=frame)


# -- items ---------------------------------------------------------------------------------

def _names(prefix: str, ext: str) -> st.SearchStrategy[str]:
    stem = st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=8)
    folder = st.sampled_from(["", "a/", "b/c/"])
    return st.builds(lambda f, s: f"{f}{prefix}{s}{ext}", folder, stem)


@st.composite
def image_items(draw: st.DrawFn, *, shapes: ShapesIn = any_shape_in,
                labels: Sequence[str] = LABELS, max_annotations: int = 4,
                sizes: st.SearchStrategy[tuple[int, int]] | None = None,
                subsets: Sequence[str] = SUBSETS, exclude_attributes: Sequence[str] = ()
                ) -> Item:
    """An image with a known size and annotations whose shapes lie inside it."""
    width, height = draw(st.tuples(st.integers(16, 640), st.integers(16, 480))
                         if sizes is None else sizes)
    anns = draw(st.lists(annotations(shapes(width, height), labels=labels,
                                     exclude_attributes=exclude_attributes),
                         max_size=max_annotations))
    return Item(name=draw(_names("img_", ".jpg")), media="image", width=width, height=height,
                sha256=draw(st.none() | st.binary(min_size=32, max_size=32).map(bytes.hex)),
                subset=draw(st.sampled_from(subsets)), annotations=anns)


@st.composite
def keyframes(draw: st.DrawFn, shapes: st.SearchStrategy[Shape], frame: int) -> Keyframe:
    return Keyframe(frame, draw(shapes), outside=draw(st.booleans()),
                    occluded=draw(st.booleans()), attributes=draw(attributes()))


@st.composite
def tracks(draw: st.DrawFn, width: int, height: int, frame_count: int, *,
           labels: Sequence[str] = LABELS, kinds: Sequence[ShapesIn] | None = None) -> Track:
    """A track of one shape kind with 1..5 keyframes inside the video's frames."""
    kind = draw(st.sampled_from(kinds or (boxes_in, rotated_boxes_in, polylines_in,
                                          lambda w, h: points_in(w, h, count=3, names=None),
                                          lambda w, h: polygons_in(w, h, max_parts=1))))
    frames = draw(st.lists(st.integers(0, frame_count - 1), min_size=1, max_size=5, unique=True))
    shapes = kind(width, height)
    return Track(draw(st.uuids()).hex, draw(st.sampled_from(labels)),
                 tuple(draw(keyframes(shapes, f)) for f in frames))


@st.composite
def video_items(draw: st.DrawFn, *, labels: Sequence[str] = LABELS, max_tracks: int = 3,
                max_annotations: int = 3, shapes: ShapesIn = any_shape_in) -> Item:
    """A video with tracks and single-frame annotations (each with its frame index)."""
    width, height = draw(st.integers(32, 320)), draw(st.integers(32, 240))
    count = draw(st.integers(1, 500))
    found = draw(st.lists(tracks(width, height, count, labels=labels), max_size=max_tracks))
    frames = st.integers(0, count - 1)
    anns = [draw(annotations(shapes(width, height), labels=labels, frame=draw(frames)))
            for _ in range(draw(st.integers(0, max_annotations)))]
    return Item(name=draw(_names("clip_", ".mp4")), media="video", width=width, height=height,
                frame_count=count, fps=draw(st.sampled_from([25.0, 29.97, 30000 / 1001, 60.0])),
                duration=count / 25.0, subset=draw(st.sampled_from(SUBSETS)),
                annotations=anns, tracks=found)


@st.composite
def segments(draw: st.DrawFn, duration: float, *, channels: int = 1,
             labels: Sequence[str] = LABELS) -> Segment:
    """A segment inside [0, duration] with arbitrary float times (no rounding)."""
    start = draw(_within(0, duration * 0.99))
    end = draw(_within(start, duration).filter(lambda e: e > start))
    return Segment(start, end, draw(st.none() | st.integers(0, channels - 1)),
                   label=draw(st.sampled_from(("", *labels))),
                   speaker=draw(st.none() | st.text(string.ascii_letters, max_size=6)),
                   transcript=draw(st.text(max_size=12)), attributes=draw(attributes()))


@st.composite
def audio_items(draw: st.DrawFn, *, labels: Sequence[str] = LABELS, max_segments: int = 5
                ) -> Item:
    duration = draw(_within(0.5, 600))
    channels = draw(st.integers(1, 2))
    found = draw(st.lists(segments(duration, channels=channels, labels=labels),
                          max_size=max_segments))
    return Item(name=draw(_names("talk_", ".wav")), media="audio", duration=duration,
                sample_rate=draw(st.sampled_from([8000, 16000, 44100, 48000])),
                channels=channels, subset=draw(st.sampled_from(SUBSETS)), segments=found)


@st.composite
def datasets(draw: st.DrawFn, items: st.SearchStrategy[Item] | None = None, *,
             max_items: int = 4, labels: Sequence[str] = LABELS) -> Dataset:
    """Items with unique names; `labels` lists every label in order (used or not)."""
    drawn = image_items(labels=labels) if items is None else items
    found = draw(st.lists(drawn, max_size=max_items, unique_by=lambda i: i.name))
    return Dataset(labels=list(labels), items=found)
