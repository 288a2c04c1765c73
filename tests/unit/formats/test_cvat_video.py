"""CVAT for video 1.1: track round trips, the interpolated frames CVAT writes, datumaro as
independent reader and writer, and clear errors for bad files."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given

from app.annotators import masks
from app.annotators.annotation import Annotation
from app.annotators.shapes import Box, Mask, Polygon, RotatedBox, Shape, Tag
from app.annotators.video.tracks import Keyframe, Track
from app.core.errors import ValidationError
from app.formats import registry
from app.formats.base import Dataset, Item
from app.formats.cvat_video import CvatVideoFormat
from tests.unit.formats.strategies_video import (
    HYPO, HYPO_READER, assert_load_fails, cvat_video_datasets, fresh,
)

pytest.importorskip("datumaro")
from datumaro.components.annotation import AnnotationType, Bbox  # noqa: E402
from datumaro.components.dataset import Dataset as DmDataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image  # noqa: E402

CVAT = registry.get("cvat-video")


def _same_shape(ours: Shape, theirs: Shape) -> bool:
    if isinstance(ours, RotatedBox) and isinstance(theirs, RotatedBox):
        return (all(math.isclose(getattr(ours, n), getattr(theirs, n), abs_tol=1e-9)
                    for n in ("cx", "cy", "w", "h"))
                and abs((ours.angle - theirs.angle + 180) % 360 - 180) < 1e-9)
    return ours == theirs


def _assert_same_track(ours: Track, theirs: Track) -> None:
    assert theirs.label == ours.label
    assert [(k.frame, k.outside, k.occluded, dict(k.attributes)) for k in theirs.keyframes] == [
        (k.frame, k.outside, k.occluded, dict(k.attributes)) for k in ours.keyframes]
    for a, b in zip(ours.keyframes, theirs.keyframes):
        assert _same_shape(a.shape, b.shape), (a.shape, b.shape)


def _ann(label: str, shape: Shape, frame: int, **kw: Any) -> Annotation:
    return Annotation.new(asset_id=0, author="", label=label, shape=shape, frame=frame, **kw)


# -- round trips ---------------------------------------------------------------------------

@HYPO
@given(cvat_video_datasets())
def test_round_trip(tmp_path: Path, dataset: Dataset) -> None:
    out = fresh(tmp_path)
    report = CVAT.export(dataset, out)
    assert report.skipped == ()
    back = CVAT.load(out)
    assert back.labels == dataset.labels
    got = {(i.subset, i.name): i for i in back.items}
    assert len(got) == len(dataset.items)
    for item in dataset.items:
        theirs = got[(item.subset, item.name)]
        assert (theirs.media, theirs.width, theirs.height, theirs.frame_count) == (
            "video", item.width, item.height, item.frame_count)
        assert len(theirs.tracks) == len(item.tracks)
        for a, b in zip(item.tracks, theirs.tracks):
            _assert_same_track(a, b)
        assert len(theirs.annotations) == len(item.annotations)
        for a, b in zip(item.annotations, theirs.annotations):
            assert (b.label, b.source, b.z_order, b.frame, b.shape) == (
                a.label, a.source, a.z_order, a.frame, a.shape)
            assert dict(b.attributes) == {k: v for k, v in a.attributes.items()
                                          if not (k == "occluded" and v is False)}


def test_written_as_cvat_writes_tracks(tmp_path: Path) -> None:
    """Keyframes, the interpolated frames between (keyframe 0), outside where the object
    leaves, and a frame shape as a one-frame track; keyframes-only on request."""
    track = Track("t", "car", (Keyframe(1, Box(0, 0, 10, 10), attributes={"speed": 2}),
                               Keyframe(3, Box(4, 0, 14, 10), occluded=True),
                               Keyframe(4, Box(4, 0, 14, 10), outside=True)))
    item = Item("v.mp4", media="video", width=20, height=20, frame_count=6, tracks=[track],
                annotations=[_ann("car", Box(1, 1, 2, 2), 2, source="model"),
                             _ann("car", Box(1, 1, 2, 2), 5)])
    dataset = Dataset(labels=["car"], items=[item])
    CVAT.export(dataset, tmp_path / "all")
    text = (tmp_path / "all" / "v.xml").read_text()
    assert '<box frame="2" keyframe="0" outside="0" occluded="0" xtl="2.0" ytl="0.0" ' \
           'xbr="12.0" ybr="10.0"' in text
    assert '<attribute name="speed">2</attribute>' in text.split('frame="2"')[1]
    assert '<box frame="4" keyframe="1" outside="1"' in text and 'frame="5" keyframe="0"' \
        not in text.split("</track>")[0]
    assert '<track id="1" label="car" source="auto">' in text
    single = text.split('<track id="1"')[1].split("</track>")[0]
    assert 'frame="2" keyframe="1" outside="0"' in single
    assert 'frame="3" keyframe="1" outside="1"' in single
    last = text.split('<track id="2"')[1].split("</track>")[0]
    assert last.count("<box") == 1  # frame 5 is the last: there is nothing to leave
    assert "<source>v.mp4</source>" in text and "<stop_frame>5</stop_frame>" in text
    CvatVideoFormat(interpolated=False).export(dataset, tmp_path / "keys")
    assert 'keyframe="0"' not in (tmp_path / "keys" / "v.xml").read_text()
    for folder in ("all", "keys"):
        back = CVAT.load(tmp_path / folder).items[0]
        _assert_same_track(track, back.tracks[0])
        assert [(a.frame, a.source) for a in back.annotations] == [(2, "model"), (5, "human")]


# A file as CVAT writes it: 2-decimal numbers and every frame of the track, interpolated
# ones with keyframe="0" (linear for boxes; shortest-arc rotation)
CVAT_TRACKS = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><id>7</id><name>street</name><size>8</size><mode>interpolation</mode>
    <start_frame>0</start_frame><stop_frame>7</stop_frame>
    <labels><label><name>car</name><attributes/></label></labels>
    <original_size><width>640</width><height>480</height></original_size></task>
    <source>street.mp4</source></meta>
  <track id="0" label="car" source="manual">
    <box frame="0" outside="0" occluded="0" keyframe="1" xtl="10.00" ytl="20.00" xbr="50.00" ybr="80.00" z_order="0"/>
    <box frame="1" outside="0" occluded="0" keyframe="0" xtl="13.33" ytl="20.00" xbr="53.33" ybr="81.00" z_order="0"/>
    <box frame="2" outside="0" occluded="0" keyframe="0" xtl="16.67" ytl="20.00" xbr="56.67" ybr="82.00" z_order="0"/>
    <box frame="3" outside="0" occluded="1" keyframe="1" xtl="20.00" ytl="20.00" xbr="60.00" ybr="83.00" z_order="0"/>
    <box frame="4" outside="0" occluded="1" keyframe="0" xtl="20.00" ytl="20.00" xbr="60.00" ybr="83.00" z_order="0"/>
    <box frame="5" outside="1" occluded="1" keyframe="1" xtl="20.00" ytl="20.00" xbr="60.00" ybr="83.00" z_order="0"/>
  </track>
  <track id="1" label="car" source="auto">
    <box frame="2" outside="0" occluded="0" keyframe="1" xtl="100.00" ytl="100.00" xbr="140.00" ybr="120.00" rotation="350.00" z_order="0"/>
    <box frame="3" outside="0" occluded="0" keyframe="0" xtl="102.50" ytl="100.00" xbr="142.50" ybr="120.00" rotation="355.00" z_order="0"/>
    <box frame="4" outside="0" occluded="0" keyframe="0" xtl="105.00" ytl="100.00" xbr="145.00" ybr="120.00" z_order="0"/>
    <box frame="5" outside="0" occluded="0" keyframe="0" xtl="107.50" ytl="100.00" xbr="147.50" ybr="120.00" rotation="5.00" z_order="0"/>
    <box frame="6" outside="0" occluded="0" keyframe="1" xtl="110.00" ytl="100.00" xbr="150.00" ybr="120.00" rotation="10.00" z_order="0"/>
    <box frame="7" outside="0" occluded="0" keyframe="0" xtl="110.00" ytl="100.00" xbr="150.00" ybr="120.00" rotation="10.00" z_order="0"/>
  </track>
</annotations>
"""


def test_our_interpolation_matches_the_frames_cvat_wrote(tmp_path: Path) -> None:
    (tmp_path / "street.xml").write_text(CVAT_TRACKS, encoding="utf-8")
    item = CVAT.load(tmp_path / "street.xml").items[0]
    assert (item.name, item.width, item.height, item.frame_count) == ("street.mp4", 640, 480, 8)
    plain, turned = item.tracks
    assert plain.frames == [0, 3, 5] and turned.frames == [2, 6]  # keyframe="1" only
    assert [k.outside for k in plain.keyframes] == [False, False, True]
    written = [line for line in CVAT_TRACKS.splitlines() if "<box " in line]
    for line in written:
        values = dict(part.split("=") for part in line.strip("<box/> ").split())
        values = {k: v.strip('"') for k, v in values.items()}
        track = turned if float(values["xtl"]) >= 100 else plain
        state = track.shape_at(int(values["frame"]))
        assert state is not None and state.outside == (values["outside"] == "1")
        assert state.occluded == (values["occluded"] == "1")
        corners = _corners(state.shape)
        for name, ours in zip(("xtl", "ytl", "xbr", "ybr"), corners):
            assert abs(float(values[name]) - ours) <= 0.005 + 1e-9, (line, name, ours)
        if isinstance(state.shape, RotatedBox):
            rotation = float(values.get("rotation", "0"))
            assert abs((state.shape.angle - rotation + 180) % 360 - 180) <= 0.005


def _corners(shape: Shape) -> tuple[float, float, float, float]:
    if isinstance(shape, RotatedBox):
        return (shape.cx - shape.w / 2, shape.cy - shape.h / 2, shape.cx + shape.w / 2,
                shape.cy + shape.h / 2)
    assert isinstance(shape, Box)
    return shape.x1, shape.y1, shape.x2, shape.y2


def test_omitted_rotation_and_tracks_without_keyframe_flags(tmp_path: Path) -> None:
    """CVAT leaves out a rotation of 0, and datumaro writes keyframe="0" on every shape it has
    no flag for: such a track is read with each element as a keyframe."""
    body = (f'<box frame="0" keyframe="1" rotation="10" {BOX}/>\n<box frame="2" keyframe="1" '
            f'{BOX}/>\n</track>\n<track id="1" label="car">\n<box frame="1" keyframe="0" '
            f'{BOX}/>\n<box frame="3" keyframe="0" {BOX}/>')
    (tmp_path / "v.xml").write_text(_track(body), encoding="utf-8")
    turned, plain = CVAT.load(tmp_path).items[0].tracks
    assert [k.shape for k in turned.keyframes] == [RotatedBox(1.5, 1.5, 1, 1, 10),
                                                   RotatedBox(1.5, 1.5, 1, 1, 0)]
    assert plain.frames == [1, 3]


def test_polygon_tracks_with_holes_become_mask_keyframes(tmp_path: Path) -> None:
    ring = [(2, 2), (18, 2), (18, 18), (2, 18)]
    hole = [(6, 6), (12, 6), (12, 12), (6, 12)]
    track = Track("p", "car", (
        Keyframe(0, Polygon.from_rings(ring, [hole])),
        Keyframe(4, Polygon.from_rings([(x + 4, y) for x, y in ring], [hole])),
        Keyframe(6, Polygon.from_rings(ring, [hole]), outside=True)))
    item = Item("v.mp4", media="video", width=30, height=20, frame_count=9, tracks=[track])
    CvatVideoFormat(interpolated=False).export(Dataset(labels=["car"], items=[item]), tmp_path)
    back = CVAT.load(tmp_path).items[0].tracks[0]
    assert back.frames == [0, 1, 2, 3, 4, 5, 6]  # every visible frame, then leaving
    for kf in back.keyframes:
        state = track.shape_at(kf.frame)
        assert isinstance(kf.shape, Mask) and kf.outside == state.outside  # type: ignore[union-attr]
        assert kf.shape == masks.polygon_to_mask(state.shape, 20, 30)  # type: ignore[union-attr, arg-type]


def test_what_cvat_video_cannot_hold_is_reported(tmp_path: Path) -> None:
    tags = Track("t", "car", (Keyframe(0, Tag()),))
    holed = Track("h", "car", (Keyframe(0, Polygon.from_rings(
        [(0, 0), (9, 0), (9, 9)], [[(5, 1), (8, 1), (8, 4)]])),))
    item = Item("v.mp4", media="video", frame_count=3, tracks=[tags, holed],
                annotations=[_ann("car", Tag(), 1),
                             _ann("car", Box(0, 0, 1, 1), 1).replace(frame=None)])
    report = CVAT.export(Dataset(items=[item, Item("a.jpg")]), tmp_path)
    assert report.shapes == 0
    assert report.skipped == (
        "a.jpg: a image item (CVAT for video holds videos)",
        "v.mp4: track t: a track of tags (CVAT for video has no tags)",
        "v.mp4: track h: a polygon track with holes becomes masks, which need the video size",
        "v.mp4: a tag on frame 1 (CVAT for video has no tags)",
        "v.mp4: a box on no frame of a video")


# -- datumaro -----------------------------------------------------------------------------

@HYPO_READER
@given(cvat_video_datasets())
def test_datumaro_reads_our_export(tmp_path: Path, dataset: Dataset) -> None:
    """datumaro 1.13 reads each track as per-frame shapes with track_id, keyframe and
    outside attributes (its reader fails on masks in tracks, so masks are left out here)."""
    for item in dataset.items:
        item.tracks = [t for t in item.tracks if not isinstance(t.keyframes[0].shape, Mask)]
        item.annotations = [a for a in item.annotations if not isinstance(a.shape, Mask)]
    out = fresh(tmp_path)
    CVAT.export(dataset, out)
    theirs = DmDataset.import_from(str(out), "cvat")
    names = [c.name for c in theirs.categories()[AnnotationType.label]]
    assert names == dataset.labels
    for item in dataset.items:
        expected = _written(item)
        got: dict[int, list[tuple[int, Any]]] = defaultdict(list)
        for dm_item in theirs.get_subset(item.stem):
            for ann in dm_item.annotations:
                got[ann.attributes["track_id"]].append((dm_item.attributes["frame"], ann))
        assert set(got) == set(expected)
        for number, (label, states) in expected.items():
            found = sorted(got[number], key=lambda pair: pair[0])
            assert [f for f, _ in found] == [s.frame for s in states]
            for (_, ann), state in zip(found, states):
                assert names[ann.label] == label
                assert (ann.attributes["keyframe"], ann.attributes["outside"],
                        ann.attributes["occluded"]) == (state.is_keyframe, state.outside,
                                                        state.occluded)
                if isinstance(state.shape, Box):
                    box = state.shape
                    assert np.allclose(ann.get_bbox(), [box.x1, box.y1, box.x2 - box.x1,
                                                        box.y2 - box.y1], atol=0.5)


def _written(item: Item) -> dict[int, tuple[str, list[Any]]]:
    """Track number -> (label, the states written per frame), from our own model."""
    found: dict[int, tuple[str, list[Any]]] = {}
    for number, track in enumerate(item.tracks):
        frames = sorted(set(track.frames) | {
            f for f in range(track.frames[0], item.frame_count or 0)
            if not track.shape_at(f).outside})  # type: ignore[union-attr]
        found[number] = (track.label, [track.shape_at(f) for f in frames])
    for number, ann in enumerate(item.annotations, len(item.tracks)):
        one = Track("x", ann.label, (Keyframe(ann.frame, ann.shape,  # type: ignore[arg-type]
                                              occluded=ann.attributes.get("occluded") is True),))
        if ann.frame + 1 < (item.frame_count or 0):  # type: ignore[operator]
            one = one.with_keyframe(Keyframe(ann.frame + 1, ann.shape, outside=True,  # type: ignore[operator]
                                             occluded=ann.attributes.get("occluded") is True))
        found[number] = (ann.label, [one.shape_at(k.frame) for k in one.keyframes])
    return found


def test_we_read_datumaro_track_export(tmp_path: Path) -> None:
    def frame(index: int, annotations: list[Any]) -> DatasetItem:
        return DatasetItem(id=f"frame_{index:06d}", attributes={"frame": index},
                           media=Image.from_numpy(np.zeros((48, 64, 3), np.uint8)),
                           annotations=annotations)

    def box(x: float, track: int, **flags: bool) -> Bbox:
        return Bbox(x, 5, 10, 20, label=track, attributes={
            "track_id": track, "keyframe": flags.get("keyframe", True),
            "outside": flags.get("outside", False), "occluded": flags.get("occluded", False)})

    source = DmDataset.from_iterable([
        frame(0, [box(1, 0)]), frame(1, [box(2, 0, keyframe=False), box(30, 1)]),
        frame(2, [box(3, 0, occluded=True)]), frame(3, [box(3, 0, outside=True)]),
        frame(4, [box(31, 1, keyframe=False)]),
    ], categories=["car", "person"])
    source.export(str(tmp_path), "cvat", use_track=True, save_media=False)
    ours = CVAT.load(tmp_path)
    assert ours.labels == ["car", "person"]
    item = ours.items[0]
    assert (item.width, item.height, item.frame_count) == (64, 48, 5)
    car, person = item.tracks
    assert [(k.frame, k.outside, k.occluded) for k in car.keyframes] == [
        (0, False, False), (2, False, True), (3, True, False)]
    assert car.keyframes[0].shape == Box(1, 5, 11, 25) and car.label == "car"
    assert person.frames == [1] and person.label == "person"


# -- bad input ----------------------------------------------------------------------------

HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
        "<meta><task><size>10</size><labels><label><name>car</name></label></labels>"
        "</task></meta>\n")
BOX = 'xtl="1" ytl="1" xbr="2" ybr="2"'


def _track(body: str, attrs: str = 'id="0" label="car"') -> str:
    return f"{HEAD}<track {attrs}>\n{body}\n</track>\n</annotations>\n"


BAD_FILES = [
    (_track(f'<box frame="0" {BOX}/>', 'id="0" label="bus"'), "v.xml:5: track.label",
     "'bus' is not declared"),
    (_track(f'<box frame="0" {BOX}/>', 'id="0" label="car" source="?"'),
     "v.xml:5: track.source", "unknown source"),
    (_track(f'<box frame="-1" {BOX}/>'), "v.xml:6: box.frame", "an integer from 0"),
    (_track(f'<box {BOX}/>'), "v.xml:6: box.frame", "missing"),
    (_track(f'<box frame="1" {BOX}/>\n<box frame="1" {BOX}/>'), "v.xml:5",
     "two keyframes at frame 1"),
    (_track(f'<box frame="1" {BOX}/>\n<polygon frame="2" points="1,1;2,2;3,1"/>'), "v.xml:5",
     "a polygon in a track of boxs"),
    (_track('<cuboid frame="1"/>'), "v.xml:6", "<cuboid> is not supported"),
    (_track('<mask frame="1" rle="1" left="0" top="0" width="1" height="1"/>'), "v.xml:6",
     "needs the image size"),
    (_track(f'<box frame="1" keyframe="yes" {BOX}/>'), "v.xml:6: box.keyframe",
     "expected 0 or 1"),
    (HEAD + '<image id="0" name="a.jpg"/></annotations>', "v.xml:5", "cvat-images"),
    (HEAD.replace("<size>10</size>", "<size>ten</size>") + "</annotations>", "v.xml:4: size",
     "expected a whole number"),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD_FILES)
def test_bad_files_name_file_line_and_field(tmp_path: Path, text: str, where: str,
                                            message: str) -> None:
    assert_load_fails(CVAT.load, tmp_path / "v.xml", text, where, message)


def test_truncated_and_non_utf8_files(tmp_path: Path) -> None:
    (tmp_path / "v.xml").write_text(_track(f'<box frame="0" {BOX}/>')[:-30], encoding="utf-8")
    with pytest.raises(ValidationError, match=r"v\.xml:\d+: not well-formed"):
        CVAT.load(tmp_path)
    latin = _track(f'<box frame="0" {BOX}/>').replace("car", "c\xe4r").encode("latin-1")
    (tmp_path / "v.xml").write_bytes(latin)
    with pytest.raises(ValidationError, match=r"v\.xml:4: not well-formed UTF-8 XML"):
        CVAT.load(tmp_path)
