"""MOT challenge ground truth: per-frame round trips, keyframes recovered on import, datumaro's
mot_seq as independent reader and writer, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given

from app.annotators.annotation import Annotation
from app.annotators.shapes import Box, RotatedBox
from app.annotators.video.tracks import Keyframe, Track, TrackState
from app.core.errors import ValidationError
from app.formats import registry
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies_video import HYPO, HYPO_READER, fresh, mot_datasets

pytest.importorskip("datumaro")
from datumaro.components.annotation import AnnotationType, Bbox  # noqa: E402
from datumaro.components.dataset import Dataset as DmDataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402

MOT = registry.get("mot")


def _visible(track: Track, frame: int) -> TrackState | None:
    state = track.shape_at(frame)
    return None if state is None or state.outside else state


def _close(a: Box, b: Box, tolerance: float) -> bool:
    return bool(np.allclose([a.x1, a.y1, a.x2, a.y2], [b.x1, b.y1, b.x2, b.y2],
                            atol=tolerance, rtol=0))


# -- round trips ---------------------------------------------------------------------------

@HYPO
@given(mot_datasets())
def test_round_trip_frame_by_frame(tmp_path: Path, dataset: Dataset) -> None:
    out = fresh(tmp_path)
    report = MOT.export(dataset, out)
    assert report.skipped == ()
    back = MOT.load(out)
    assert back.labels == dataset.labels
    got = {(i.subset, i.name): i for i in back.items}
    for item in dataset.items:
        theirs = got[(item.subset, item.name)]
        assert (theirs.width, theirs.height, theirs.frame_count, theirs.fps) == (
            item.width, item.height, item.frame_count, item.fps)
        tracks = {t.id: t for t in theirs.tracks}
        for number, track in enumerate(item.tracks, 1):
            frames = range(item.frame_count)  # type: ignore[arg-type]
            if not any(_visible(track, f) for f in frames):
                assert str(number) not in tracks  # never on screen: no rows
                continue
            back_track = tracks[str(number)]
            assert back_track.label == track.label
            for frame in frames:
                ours, read = _visible(track, frame), _visible(back_track, frame)
                assert (ours is None) == (read is None), frame
                if ours is not None and read is not None:
                    assert ours.occluded == read.occluded
                    assert _close(ours.shape, read.shape, 2e-6)  # type: ignore[arg-type]
        assert len(theirs.annotations) == len(item.annotations)
        for a, b in zip(sorted(item.annotations, key=_frame_box_key),
                        sorted(theirs.annotations, key=_frame_box_key)):
            assert (b.label, b.frame, dict(b.attributes)) == (a.label, a.frame, dict(a.attributes))
            assert _close(a.shape, b.shape, 1e-9)  # type: ignore[arg-type]


def _frame_box_key(ann: Annotation) -> tuple[Any, ...]:
    """Rows are written by frame: frame boxes on one frame come back in another order."""
    box = ann.shape
    assert isinstance(box, Box)
    return (ann.frame, ann.label, round(box.x1, 6), round(box.y1, 6), round(box.x2, 6),
            round(box.y2, 6), sorted(ann.attributes))


def test_layout_and_rows(tmp_path: Path) -> None:
    track = Track("t", "person", (Keyframe(0, Box(10, 20, 30, 60)),
                                  Keyframe(2, Box(14, 20, 34, 60), occluded=True),
                                  Keyframe(3, Box(14, 20, 34, 60), outside=True)))
    item = Item("cams/left.mp4", media="video", width=640, height=480, frame_count=5,
                fps=29.97, subset="train", tracks=[track],
                annotations=[Annotation.new(asset_id=0, author="", label="car",
                                            shape=Box(0, 0, 5, 5), frame=4)])
    calls: list[tuple[int, int]] = []
    report = MOT.export(Dataset(labels=["car", "person"], items=[item]), tmp_path,
                        progress=lambda *call: calls.append(call))
    folder = tmp_path / "train" / "left"
    assert set(report.files) == {folder / "gt" / "gt.txt", folder / "gt" / "labels.txt",
                                 folder / "seqinfo.ini"}
    assert (folder / "gt" / "gt.txt").read_text() == (
        "1,1,10,20,20,40,1,2,1\n2,1,12,20,20,40,1,2,1\n3,1,14,20,20,40,1,2,0\n"
        "5,-1,0,0,5,5,1,1,1\n")
    assert (folder / "gt" / "labels.txt").read_text() == "car\nperson\n"
    assert (folder / "seqinfo.ini").read_text() == (
        "[Sequence]\nname=cams/left.mp4\nimDir=img1\nframeRate=30\nseqLength=5\n"
        "imWidth=640\nimHeight=480\nimExt=.jpg\n")
    assert calls == [(1, 1)] and report.shapes == 2


def test_import_keeps_keyframes_only_where_the_motion_changes(tmp_path: Path) -> None:
    track = Track("t", "car", (Keyframe(0, Box(0, 0, 10, 10)),
                               Keyframe(40, Box(40.5, 20, 50.5, 30)),
                               Keyframe(90, Box(40.5, 20, 50.5, 30), occluded=True),
                               Keyframe(95, Box(0, 0, 1, 1), outside=True),
                               Keyframe(97, Box(3, 3, 4, 4))))
    item = Item("v.mp4", media="video", width=100, height=100, frame_count=100, fps=25.0,
                tracks=[track])
    MOT.export(Dataset(labels=["car"], items=[item]), tmp_path)
    back = MOT.load(tmp_path).items[0].tracks[0]
    # 40 -> 90 holds still (no keyframe between); 90 is occluded; 94 ends the run, 95 leaves
    assert back.frames == [0, 40, 90, 94, 95, 97, 99]
    for frame in range(100):
        ours, read = _visible(track, frame), _visible(back, frame)
        assert (ours is None) == (read is None)
        if ours and read:
            assert _close(ours.shape, read.shape, 1e-9)  # type: ignore[arg-type]


def test_mot17_files_read_with_default_classes(tmp_path: Path) -> None:
    """A MOT17-style sequence: no labels.txt (classes 1..12), fractional visibility, conf 0."""
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "gt.txt").write_text(
        "1,1,912,484,97,109,0,7,1\n2,1,912,484,97,109,1,7,0.25\n1,2,1338,418,167,379,1,1,1\n")
    (tmp_path / "seqinfo.ini").write_text(
        "[Sequence]\nname=MOT17-02\nimDir=img1\nframeRate=30\nseqLength=600\nimWidth=1920\n"
        "imHeight=1080\nimExt=.jpg\n")
    loaded = MOT.load(tmp_path)
    assert loaded.labels[0] == "pedestrian" and len(loaded.labels) == 12
    item = loaded.items[0]
    assert (item.name, item.frame_count, item.fps, item.width) == ("MOT17-02", 600, 30.0, 1920)
    static, walker = item.tracks
    assert (static.label, walker.label) == ("static person", "pedestrian")
    assert [(k.frame, k.outside, k.occluded, dict(k.attributes)) for k in static.keyframes] == [
        (0, False, False, {"ignored": True}), (1, False, True, {"visibility": 0.25}),
        (2, True, False, {})]
    assert static.keyframes[0].shape == Box(912, 484, 1009, 593)


def test_what_mot_cannot_hold_is_reported(tmp_path: Path) -> None:
    item = Item("v.mp4", media="video", frame_count=3, tracks=[
        Track("r", "car", (Keyframe(0, RotatedBox(5, 5, 2, 2, 30)),))],
        annotations=[Annotation.new(asset_id=0, author="", label="car",
                                    shape=RotatedBox(5, 5, 2, 2), frame=1)])
    report = MOT.export(Dataset(labels=["car"], items=[item, Item("a.jpg")]), tmp_path)
    assert report.skipped == ("a.jpg: a image item (MOT holds video sequences)",
                              "v.mp4: track r: a rotated_box track (MOT holds boxes)",
                              "v.mp4: a rotated_box on frame 1 (MOT holds boxes on frames)")
    assert not (tmp_path / "default" / "v" / "seqinfo.ini").exists()  # size and fps unknown


# -- datumaro -----------------------------------------------------------------------------

@HYPO_READER
@given(mot_datasets())
def test_datumaro_reads_our_export(tmp_path: Path, dataset: Dataset) -> None:
    for item in dataset.items[1:]:
        dataset.items.remove(item)  # one sequence: datumaro keys frames by number alone
    item = dataset.items[0]
    out = fresh(tmp_path)
    MOT.export(dataset, out)
    theirs = DmDataset.import_from(str(out), "mot_seq")
    names = [c.name for c in theirs.categories()[AnnotationType.label]]
    assert names == dataset.labels
    assert len(theirs) == item.frame_count
    rows = 0
    for dm_item in theirs:
        frame = int(dm_item.id) - 1
        expected = _boxes_on(item, frame)
        got = sorted((a.attributes.get("track_id", -1), names[a.label], a) for a in
                     dm_item.annotations)
        assert [(n, label) for n, label, _ in got] == [(n, label) for n, label, _ in expected]
        for (_, _, ann), (_, _, (box, occluded)) in zip(got, expected):
            assert np.allclose(ann.get_bbox(), [box.x1, box.y1, box.x2 - box.x1,
                                                box.y2 - box.y1], atol=0.5)
            assert ann.attributes["occluded"] == occluded
        rows += len(got)
    assert rows == len((out / item.subset).rglob("gt.txt").__next__().read_text().splitlines())


def _boxes_on(item: Item, frame: int) -> list[tuple[int, str, Any]]:
    found = []
    for number, track in enumerate(item.tracks, 1):
        state = _visible(track, frame)
        if state is not None:
            found.append((number, track.label, (state.shape, state.occluded)))
    found += [(-1, a.label, (a.shape, a.attributes.get("occluded") is True))
              for a in item.annotations if a.frame == frame]
    return sorted(found, key=lambda entry: (entry[0], entry[1]))


def test_we_read_datumaro_export(tmp_path: Path) -> None:
    def frame(number: int, annotations: list[Any]) -> DatasetItem:
        return DatasetItem(id=str(number), annotations=annotations)

    def box(x: float, track: int, label: int = 0, **attributes: Any) -> Bbox:
        return Bbox(x, 5, 10, 20, label=label, attributes={"track_id": track, **attributes})

    source = DmDataset.from_iterable([
        frame(1, [box(1, 7), box(50, 9, label=1)]), frame(2, [box(2, 7)]),
        frame(3, [box(3, 7, occluded=True)]), frame(5, [box(3, 7)]),
    ], categories=["car", "person"])
    source.export(str(tmp_path), "mot_seq_gt", save_media=False)
    ours = MOT.load(tmp_path)
    assert ours.labels == ["car", "person"]
    item = ours.items[0]
    assert (item.name, item.frame_count) == (tmp_path.name, 5)
    car, person = item.tracks
    assert [(k.frame, k.outside, k.occluded) for k in car.keyframes] == [
        (0, False, False), (2, False, True), (3, True, False), (4, False, False)]
    assert car.keyframes[0].shape == Box(1, 5, 11, 25)
    assert (person.label, person.frames) == ("person", [0, 1])


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "message"), [
    ("1,1,2,3,4", "expected 8 to 10 comma-separated values"),
    ("1,1,x,3,4,5,1,1,1", "bb_left: expected a number, got 'x'"),
    ("0,1,2,3,4,5,1,1,1", "frame must be a whole number from 1"),
    ("1.5,1,2,3,4,5,1,1,1", "frame must be a whole number from 1"),
    ("1,1,2,3,-4,5,1,1,1", "must not be negative"),
    ("1,1,2,3,4,5,1,3,1", "class 3 is not a known class id (1..2)"),
    ("1,1,2,3,4,5,1,nan,1", "class: expected a number"),
])
def test_bad_rows_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "labels.txt").write_text("car\nperson\n")
    (tmp_path / "gt" / "gt.txt").write_text(f"1,1,2,3,4,5,1,1,1\n\n{line}\n")
    with pytest.raises(ValidationError) as caught:
        MOT.load(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'gt' / 'gt.txt'}:3: ")
    assert message in str(caught.value)


def test_bad_tracks_and_files(tmp_path: Path) -> None:
    gt = tmp_path / "gt" / "gt.txt"
    gt.parent.mkdir()
    gt.write_text("1,1,2,3,4,5,1,1,1\n1,1,2,3,4,5,1,1,1\n")
    with pytest.raises(ValidationError, match=r"gt\.txt:2: id 1 twice on frame 1"):
        MOT.load(tmp_path)
    gt.write_text("1,1,2,3,4,5,1,1,1\n2,1,2,3,4,5,1,2,1\n")
    with pytest.raises(ValidationError, match=r"gt\.txt:2: id 1 changes class"):
        MOT.load(tmp_path)
    gt.write_bytes(b"1,1,2,3,4,5,1,1,1\n\xff\n")
    with pytest.raises(ValidationError, match=r"gt\.txt:2: not UTF-8"):
        MOT.load(tmp_path)
    gt.write_text("1,1,2,3,4,5,1,1,1\n")
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nseqLength=many\n")
    with pytest.raises(ValidationError, match=r"seqinfo\.ini: seqlength: expected a whole"):
        MOT.load(tmp_path)
    (tmp_path / "seqinfo.ini").write_text("no section\n")
    with pytest.raises(ValidationError, match=r"seqinfo\.ini: not a readable ini file"):
        MOT.load(tmp_path)
    with pytest.raises(ValidationError, match="no gt/gt.txt"):
        MOT.load(tmp_path / "gt")
    with pytest.raises(ValidationError, match="no such file or folder"):
        MOT.load(tmp_path / "nothing")
