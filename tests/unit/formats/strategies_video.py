"""Hypothesis strategies for the CVAT (images and video) and MOT tests: what those formats
keep, with attribute types fixed by name so that a label's declared input type is stable."""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from app.annotators.annotation import Annotation
from app.annotators.shapes import Points, Shape, Tag
from app.annotators.video.tracks import Keyframe, Track
from app.core.errors import ValidationError
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies import (
    blob_masks_in, boxes_in, points_in, polygons_in, polylines_in, rotated_boxes_in,
)

LABELS = ("car", "person", "road sign")
HYPO = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# the independent readers are slower: fewer examples
HYPO_READER = settings(HYPO, max_examples=15)
_runs = itertools.count()
SUBSETS = ("default", "train", "val")
# text XML carries unchanged: no control characters, no surrogates (and so no "\r")
xml_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
finite = st.floats(-1e6, 1e6, allow_nan=False)


def fresh(tmp_path: Path) -> Path:
    """A new empty folder per hypothesis example (tmp_path is shared by all of them)."""
    folder = tmp_path / f"run{next(_runs)}"
    folder.mkdir()
    return folder


def assert_load_fails(load: Callable[[Path], object], path: Path, text: str, where: str,
                      message: str) -> None:
    """Loading `text` written at `path` fails with an error that starts with the folder's
    `where` (file, line and field) and holds `message`."""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load(path)
    assert str(caught.value).startswith(str(path.parent / where)), caught.value
    assert message in str(caught.value)


def cvat_attributes() -> st.SearchStrategy[dict]:  # type: ignore[type-arg]
    """Attribute dicts whose names fix the type (b: bool, n: int, f: float, s: text), plus a
    bool `occluded`, which CVAT keeps as its own flag."""
    return st.fixed_dictionaries({}, optional={
        "b": st.booleans(), "n": st.integers(-10**6, 10**6), "f": finite, "s": xml_text,
        "occluded": st.booleans()})


def visible_points_in(width: int, height: int) -> st.SearchStrategy[Shape]:
    return points_in(width, height, names=None).map(lambda p: Points(p.points))


def cvat_shapes_in(width: int, height: int) -> st.SearchStrategy[Shape]:
    """Every kind CVAT for images carries; polygons may have holes (written as masks)."""
    return st.one_of(boxes_in(width, height), rotated_boxes_in(width, height),
                     polygons_in(width, height, max_parts=2), polylines_in(width, height),
                     visible_points_in(width, height), blob_masks_in(width, height),
                     st.just(Tag()))


@st.composite
def cvat_annotations(draw: st.DrawFn, shapes: st.SearchStrategy[Shape], *,
                     frame: int | None = None) -> Annotation:
    return Annotation.new(asset_id=0, author="", label=draw(st.sampled_from(LABELS)),
                          shape=draw(shapes), attributes=draw(cvat_attributes()),
                          source=draw(st.sampled_from(("human", "model", "consensus"))),
                          z_order=draw(st.integers(-5, 5)), frame=frame)


_stems = st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=8)


@st.composite
def cvat_image_datasets(draw: st.DrawFn) -> Dataset:
    items = []
    for index in range(draw(st.integers(1, 3))):
        width, height = draw(st.integers(8, 48)), draw(st.integers(8, 48))
        anns = draw(st.lists(cvat_annotations(cvat_shapes_in(width, height)), max_size=4))
        folder = draw(st.sampled_from(["", "a/", "b/c/"]))
        items.append(Item(f"{folder}{index}_{draw(_stems)}.jpg", width=width, height=height,
                          subset=draw(st.sampled_from(SUBSETS)), annotations=anns))
    return Dataset(labels=list(LABELS), items=items)


def track_shapes_in(width: int, height: int) -> st.SearchStrategy[st.SearchStrategy[Shape]]:
    """A kind for a whole track (a track holds one kind)."""
    return st.sampled_from([
        boxes_in(width, height), rotated_boxes_in(width, height), polylines_in(width, height),
        polygons_in(width, height, holes=False, max_parts=1), visible_points_in(width, height),
        blob_masks_in(width, height)])


def is_single_frame(track: Track, frame_count: int) -> bool:
    """The form CVAT gives a shape on one frame (read back as a frame annotation)."""
    kfs = track.keyframes
    if not kfs or kfs[0].outside:
        return False
    one_then_out = len(kfs) == 2 and kfs[1].outside and kfs[1].frame == kfs[0].frame + 1
    return one_then_out or (len(kfs) == 1 and kfs[0].frame == frame_count - 1)


@st.composite
def video_tracks(draw: st.DrawFn, width: int, height: int, frame_count: int, *,
                 shapes: st.SearchStrategy[Shape] | None = None, attributes: bool = True
                 ) -> Track:
    kind = shapes if shapes is not None else draw(track_shapes_in(width, height))
    frames = draw(st.lists(st.integers(0, frame_count - 1), min_size=1, max_size=5,
                           unique=True))
    extra = st.fixed_dictionaries({}, optional={"speed": st.integers(0, 9), "note": xml_text})
    keyframes = tuple(
        Keyframe(f, draw(kind), outside=draw(st.booleans()), occluded=draw(st.booleans()),
                 attributes=draw(extra) if attributes else {})
        for f in frames)
    track = Track(draw(st.uuids()).hex, draw(st.sampled_from(LABELS)), keyframes)
    assume(not is_single_frame(track, frame_count))
    return track


@st.composite
def cvat_video_datasets(draw: st.DrawFn) -> Dataset:
    items = []
    for index in range(draw(st.integers(1, 2))):
        width, height = draw(st.integers(8, 32)), draw(st.integers(8, 32))
        count = draw(st.integers(1, 40))
        tracks = draw(st.lists(video_tracks(width, height, count), max_size=3))
        shapes = st.one_of(boxes_in(width, height), polylines_in(width, height),
                           blob_masks_in(width, height))
        anns = [draw(cvat_annotations(shapes, frame=draw(st.integers(0, count - 1))))
                for _ in range(draw(st.integers(0, 2)))]
        items.append(_video(draw, f"clips/{index}_", (width, height, count), tracks, anns))
    return Dataset(labels=list(LABELS), items=items)


@st.composite
def mot_datasets(draw: st.DrawFn) -> Dataset:
    """Videos of box tracks (no attributes: MOT has no columns for them) and frame boxes."""
    items = []
    for index in range(draw(st.integers(1, 2))):
        width, height = draw(st.integers(16, 640)), draw(st.integers(16, 480))
        count = draw(st.integers(1, 60))
        boxes = boxes_in(width, height)
        tracks = draw(st.lists(video_tracks(width, height, count, shapes=boxes,
                                            attributes=False), max_size=3))
        anns = [Annotation.new(asset_id=0, author="", label=draw(st.sampled_from(LABELS)),
                               shape=draw(boxes), frame=draw(st.integers(0, count - 1)),
                               attributes=draw(st.sampled_from([{}, {"occluded": True}])))
                for _ in range(draw(st.integers(0, 2)))]
        items.append(_video(draw, f"{index}_", (width, height, count), tracks, anns))
    return Dataset(labels=list(LABELS), items=items)


def _video(draw: st.DrawFn, prefix: str, size: tuple[int, int, int], tracks: list[Track],
           annotations: list[Annotation]) -> Item:
    """A video item of (width, height, frame count); whole frame rates (MOT writes them so)."""
    width, height, count = size
    return Item(f"{prefix}{draw(_stems)}.mp4", media="video", width=width, height=height,
                frame_count=count, fps=draw(st.sampled_from([25.0, 30.0])),
                subset=draw(st.sampled_from(SUBSETS)), tracks=tracks, annotations=annotations)
