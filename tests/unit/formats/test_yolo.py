"""YOLO (Ultralytics layout): round trips per task within 1e-6 of the image size, datumaro as
the independent reader of detection (datumaro 1.13 reads no segment, pose or obb files: those
are checked against Ultralytics' own label rules field by field here, and read by supervision
in test_independent_readers.py), and bad input."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.annotators import masks
from app.annotators.shapes import Box, Points, Polygon, Polyline, RotatedBox, Tag
from app.core.errors import ValidationError
from app.formats import yolo
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies import boxes_in, points_in, polygons_in, rotated_boxes_in
from tests.unit.formats.strategies_images import (
    annotation, box_values, close, datasets, flat, image_items, same_shape, with_images,
)

EXAMPLES = settings(max_examples=40, deadline=None)
KPT = 3


def tolerance(item: Item) -> float:
    """6 decimals of a fraction of the size: 0.5e-6 per number, two numbers per coordinate."""
    return 1.5e-6 * max(item.width, item.height) + 1e-9


def round_trip(dataset: Dataset, task: str | None = None) -> tuple[Dataset, yolo.ExportReport]:
    with tempfile.TemporaryDirectory() as tmp:
        with_images(dataset, Path(tmp) / "src")
        report = yolo.YoloFormat(task).export(dataset, Path(tmp) / "out")
        return yolo.FORMAT.load(Path(tmp) / "out"), report


def by_name(dataset: Dataset) -> dict[str, Item]:
    return {item.name: item for item in dataset.items}


def check_items(ours: Dataset, back: Dataset) -> None:
    found = by_name(back)
    assert sorted(found) == sorted(i.name for i in ours.items)
    for item in ours.items:
        got = found[item.name]
        assert got.subset == ("train" if item.subset == "default" else item.subset)
        assert (got.width, got.height) == (item.width, item.height)
    assert back.labels == ours.used_labels()


# -- round trips --------------------------------------------------------------------------------

def check_shapes(dataset: Dataset, task: str | None = None, factor: float = 1.0) -> None:
    """Export and read back: no note in the report, and every shape within the precision."""
    back, report = round_trip(dataset, task)
    assert report.skipped == ()
    check_items(dataset, back)
    for item in dataset.items:
        got = by_name(back)[item.name].annotations
        assert [a.label for a in got] == [a.label for a in item.annotations]
        assert all(same_shape(a.shape, b.shape, factor * tolerance(item))
                   for a, b in zip(item.annotations, got, strict=True))


@EXAMPLES
@given(datasets(image_items(boxes_in)))
def test_detect_round_trip_keeps_boxes_within_1e6_of_the_size(dataset):
    check_shapes(dataset)


@EXAMPLES
@given(datasets(image_items(lambda w, h: polygons_in(w, h, holes=False, max_parts=1))))
def test_segment_round_trip_keeps_polygon_vertices(dataset):
    check_shapes(dataset)


@EXAMPLES
@given(datasets(image_items(lambda w, h: points_in(w, h, count=KPT, names=None).filter(
    lambda p: any(p.visibility)))))
def test_pose_round_trip_keeps_keypoints_and_visibility(dataset):
    check_shapes(dataset)


@EXAMPLES
@given(datasets(image_items(lambda w, h: rotated_boxes_in(w, h).filter(
    lambda r: all(0 <= x <= w and 0 <= y <= h for x, y in r.corners())))))
def test_obb_round_trip_keeps_corners(dataset):
    check_shapes(dataset, "obb", factor=2.0)  # corners go through the box's centre and angle


def test_pose_box_pairs_with_its_keypoints_and_a_lone_box_gets_unlabeled_ones():
    pts = Points(((10, 10), (20, 15), (0, 0)), (2, 1, 0))
    dataset = Dataset(labels=["person"], items=[Item("p.png", width=64, height=48, annotations=[
        annotation("person", Box(5, 5, 30, 30)), annotation("person", pts),
        annotation("person", Box(40, 30, 60, 45))])])
    back, report = round_trip(dataset)
    got = [a.shape for a in back.items[0].annotations]
    assert [type(s) for s in got] == [Box, Points, Box]
    assert close(box_values(got[0]), (5, 5, 30, 30), 1e-4)
    assert close(flat(got[1].points), flat(pts.points), 1e-4) and got[1].visibility == (2, 1, 0)
    assert close(box_values(got[2]), (40, 30, 60, 45), 1e-4)


def test_mixed_shapes_pick_a_task_and_name_what_is_left_out():
    anns = [annotation("a", Box(1, 1, 10, 10)), annotation("a", RotatedBox(30, 20, 8, 4, 30)),
            annotation("a", Polygon.from_rings([(1, 1), (20, 1), (20, 20)],
                                               [[(10, 3), (18, 3), (18, 10)]])),
            annotation("a", Polyline(((0, 0), (5, 5)))), annotation("a", Tag())]
    dataset = Dataset(labels=["a"], items=[Item("m.png", width=40, height=30, annotations=anns)])
    assert yolo.choose_task(dataset) == "segment"
    back, report = round_trip(dataset)
    assert report.shapes == 3 and len(back.items[0].annotations) == 3
    assert all(isinstance(a.shape, Polygon) for a in back.items[0].annotations)
    reasons = "\n".join(report.skipped)
    for expected in ("box 'a' was written as a 4-corner polygon",
                     "rotated_box 'a' was written as a 4-corner polygon",
                     "polygon 'a' lost its holes", "polyline 'a' cannot be written",
                     "tag 'a' cannot be written"):
        assert expected in reasons


def test_task_option_writes_polygons_and_masks_as_their_boxes():
    bits = masks.rasterize(Box(2, 3, 9, 7), 20, 30)
    dataset = Dataset(labels=["a"], items=[Item("d.png", width=30, height=20, annotations=[
        annotation("a", Polygon.from_rings([(1, 1), (20, 1), (20, 15)])),
        annotation("a", masks.encode(bits))])])
    back, report = round_trip(dataset, task="detect")
    got = [a.shape for a in back.items[0].annotations]
    assert close(box_values(got[0]), (1, 1, 20, 15), 1e-4)
    assert close(box_values(got[1]), (2, 3, 9, 7), 1e-4)
    assert len(report.skipped) == 2 and "bounding box" in report.skipped[0]


def test_shapes_past_the_edge_are_clipped_and_said_so():
    dataset = Dataset(labels=["a"], items=[Item("c.png", width=40, height=30, annotations=[
        annotation("a", Box(-5, 10, 20, 50)), annotation("a", Box(50, 50, 60, 60))])])
    back, report = round_trip(dataset)
    got = [box_values(a.shape) for a in back.items[0].annotations]
    assert len(got) == 1 and close(got[0], (0, 10, 20, 30), 1e-4)
    assert "clipped" in report.skipped[0] and "outside the image" in report.skipped[1]


def test_layout_data_yaml_media_links_and_progress(tmp_path):
    dataset = with_images(Dataset(labels=["a", "b"], items=[
        Item("x/one.png", width=20, height=10, annotations=[annotation("b", Box(0, 0, 10, 5))]),
        Item("two.png", width=20, height=10, subset="test")]), tmp_path / "src")
    dataset.items.append(Item("clip.mp4", media="video"))
    calls = []
    report = yolo.FORMAT.export(dataset, tmp_path / "out", progress=lambda d, t: calls.append((d, t)))
    config = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert config["path"] == str((tmp_path / "out").resolve())
    assert (config["train"], config["val"], config["test"]) == ("images/train", "images/train",
                                                                 "images/test")
    assert config["names"] == {0: "a", 1: "b"} and config["task"] == "detect"
    assert (tmp_path / "out/labels/train/x/one.txt").read_text() == \
        "1 0.250000 0.250000 0.500000 0.500000\n"
    copied = tmp_path / "out/images/train/x/one.png"
    assert copied.stat().st_ino == dataset.items[0].media_path.stat().st_ino  # hard link
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert report.items == 2 and "clip.mp4: video items have no place" in report.skipped[0]


# -- the independent reader: datumaro -----------------------------------------------------------

@settings(max_examples=8, deadline=None)
@given(datasets(image_items(boxes_in, subsets=("train", "val"), folders=False), max_items=3))
def test_datumaro_reads_our_detect_export(dataset):
    from datumaro.components.annotation import AnnotationType
    from datumaro.components.dataset import Dataset as DmDataset

    with tempfile.TemporaryDirectory() as tmp:
        with_images(dataset, Path(tmp) / "src")
        yolo.FORMAT.export(dataset, Path(tmp) / "out")
        theirs = DmDataset.import_from(str(Path(tmp) / "out"), "yolo")
        assert [c.name for c in theirs.categories()[AnnotationType.label]] == dataset.labels
        assert len(theirs) == len(dataset.items)
        for item in dataset.items:
            found = theirs.get(Path(item.name).stem, item.subset)
            assert len(found.annotations) == len(item.annotations)
            for ours, their in zip(item.annotations, found.annotations):
                x, y, w, h = their.get_bbox()
                assert dataset.labels[their.label] == ours.label
                assert close((x, y, x + w, y + h), box_values(ours.shape), 0.5)


def test_we_read_datumaros_ultralytics_export(tmp_path):
    from datumaro.components.annotation import AnnotationType, Bbox, LabelCategories
    from datumaro.components.dataset import Dataset as DmDataset
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image as DmImage

    boxes = {"train": [(1.5, 2, 10, 20, 0), (30, 5, 8, 8, 1)], "val": [(0, 0, 64, 48, 1)]}
    items = []
    for subset, found in boxes.items():
        path = tmp_path / f"{subset}.png"
        Image.new("RGB", (64, 48)).save(path)
        items.append(DatasetItem(id=f"im_{subset}", subset=subset,
                                 media=DmImage.from_file(path=str(path)),
                                 annotations=[Bbox(x, y, w, h, label=c) for x, y, w, h, c in found]))
    cats = {AnnotationType.label: LabelCategories.from_iterable(["cat", "dog"])}
    DmDataset.from_iterable(items, categories=cats).export(
        str(tmp_path / "dm"), "yolo_ultralytics", save_media=True)
    back = yolo.FORMAT.load(tmp_path / "dm")
    assert back.labels == ["cat", "dog"]
    assert sorted((i.name, i.subset) for i in back.items) == [("im_train.png", "train"),
                                                              ("im_val.png", "val")]
    for item in back.items:
        expected = boxes[item.subset]
        assert [a.label for a in item.annotations] == [["cat", "dog"][c] for *_, c in expected]
        for ann, (x, y, w, h, _) in zip(item.annotations, expected, strict=True):
            assert close(box_values(ann.shape), (x, y, x + w, y + h), 0.5)


def ultralytics_rules(out: Path) -> int:
    """The checks Ultralytics applies to each label file (`verify_image_label`), field by
    field: column counts for the task, class ids in `names`, normalized values in [0, 1],
    visibility 0/1/2; and the image beside each label. Returns the number of objects."""
    config = yaml.safe_load((out / "data.yaml").read_text())
    kpt = config.get("kpt_shape")
    objects = 0
    for label in (out / "labels").rglob("*.txt"):
        image = out / "images" / label.relative_to(out / "labels").with_suffix(".png")
        assert image.is_file()
        for line in label.read_text().splitlines():
            fields = line.split()
            assert int(fields[0]) in config["names"]
            values = [float(v) for v in fields[1:]]
            if config["task"] == "pose":
                assert len(values) == 4 + kpt[0] * kpt[1]
                assert all(v in (0, 1, 2) for v in values[6::3])
                coords = values[:4] + [v for i, v in enumerate(values[4:]) if i % 3 != 2]
            else:
                assert len(values) == {"detect": 4, "obb": 8}.get(config["task"], len(values))
                assert len(values) >= 6 and len(values) % 2 == 0 or len(values) == 4
                coords = values
            assert all(0 <= v <= 1 for v in coords)
            objects += 1
    return objects


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(["segment", "pose", "obb"]).flatmap(lambda task: st.tuples(
    st.just(task), datasets(image_items({
        "segment": lambda w, h: polygons_in(w, h, max_parts=2),
        "pose": lambda w, h: points_in(w, h, count=KPT, names=None),
        "obb": rotated_boxes_in}[task], folders=False)))))
def test_segment_pose_and_obb_exports_follow_ultralytics_label_rules(case):
    task, dataset = case
    with tempfile.TemporaryDirectory() as tmp:
        with_images(dataset, Path(tmp) / "src")
        report = yolo.YoloFormat(task).export(dataset, Path(tmp) / "out")
        assert ultralytics_rules(Path(tmp) / "out") == report.shapes


# -- bad input ----------------------------------------------------------------------------------

def dataset_dir(tmp_path: Path, lines: str | bytes, *, names="{0: a, 1: b}", extra="") -> Path:
    (tmp_path / "images/train").mkdir(parents=True)
    (tmp_path / "labels/train").mkdir(parents=True)
    Image.new("RGB", (10, 10)).save(tmp_path / "images/train/one.png")
    label = tmp_path / "labels/train/one.txt"
    label.write_bytes(lines if isinstance(lines, bytes) else lines.encode())
    (tmp_path / "data.yaml").write_text(f"train: images/train\nnames: {names}\n{extra}")
    return tmp_path


@pytest.mark.parametrize(("lines", "message"), [
    ("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n", "labels/train/one.txt:2: unknown class id 7"),
    ("0 0.5 0.5 0.2\n", "labels/train/one.txt:1: expected 5 fields"),
    ("x 0.5 0.5 0.2 0.2\n", "labels/train/one.txt:1: class 'x' is not an integer"),
    ("0 0.5 zz 0.2 0.2\n", "labels/train/one.txt:1: not a number"),
    ("0 0.5 nan 0.2 0.2\n", "labels/train/one.txt:1: numbers must be finite"),
    ("0 0.5 0.5 -0.2 0.2\n", "labels/train/one.txt:1: box width and height must not be negative"),
    (b"0 0.5 0.5 0.2 0.2\n\xff\xfe\n", "labels/train/one.txt: not UTF-8"),
    ("0 0.1 0.1 0.1 0.1 0.1 0.1\n", "labels/train/one.txt:1: exterior: needs at least 3 points"),
])
def test_bad_label_lines_name_the_file_and_line(tmp_path, lines, message):
    with pytest.raises(ValidationError, match=f"^{message}"):
        yolo.FORMAT.load(dataset_dir(tmp_path, lines))


@pytest.mark.parametrize(("names", "extra", "message"), [
    ("[a, b", "", r"data.yaml:\d+: not valid YAML"),
    ("7", "", "data.yaml: names: expected a list"),
    ("{0: a, x: b}", "", "data.yaml: names: entry 'x'"),
    ("[a, b]", "kpt_shape: [3, 4]\n", "data.yaml: kpt_shape: expected"),
    ("[a, b]", "val: images/nowhere\n", "data.yaml: val: images/nowhere does not exist"),
])
def test_bad_data_yaml_names_the_key(tmp_path, names, extra, message):
    with pytest.raises(ValidationError, match=f"^{message}"):
        yolo.FORMAT.load(dataset_dir(tmp_path, "0 0.5 0.5 0.2 0.2\n", names=names, extra=extra))


def test_pose_lines_must_match_kpt_shape(tmp_path):
    folder = dataset_dir(tmp_path, "0 0.5 0.5 0.2 0.2 0.1 0.1 2\n", extra="kpt_shape: [2, 3]\n")
    with pytest.raises(ValidationError, match="one.txt:1: expected 11 fields"):
        yolo.FORMAT.load(folder)


def test_a_label_without_its_image_is_named(tmp_path):
    folder = dataset_dir(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (folder / "labels/train/lost.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(ValidationError, match="^labels/train/lost.txt: no image images/train/lost"):
        yolo.FORMAT.load(folder)


def test_a_listed_image_that_is_missing_is_named(tmp_path):
    folder = dataset_dir(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (folder / "train.txt").write_text("./images/train/one.png\n./images/train/gone.png\n")
    (folder / "data.yaml").write_text("train: train.txt\nnames: [a, b]\n")
    with pytest.raises(ValidationError, match="^labels/train/gone.txt: its image images/train/gone.png is missing"):
        yolo.FORMAT.load(folder)


def test_no_data_yaml_and_unknown_task(tmp_path):
    with pytest.raises(ValidationError, match="no data.yaml"):
        yolo.FORMAT.load(tmp_path)
    with pytest.raises(ValidationError, match="unknown YOLO task 'classify'"):
        yolo.YoloFormat("classify")


def test_a_subset_named_like_a_data_yaml_key_is_refused_before_writing(tmp_path):
    dataset = Dataset(labels=["a"], items=[Item("n.png", width=4, height=4, subset="names")])
    with pytest.raises(ValidationError, match="subset 'names' would clash"):
        yolo.FORMAT.export(dataset, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_without_an_image_size_is_refused(tmp_path):
    dataset = Dataset(labels=["a"], items=[Item("nosize.png", annotations=[
        annotation("a", Box(0, 0, 1, 1))])])
    with pytest.raises(ValidationError, match="YOLO needs the image size of 'nosize.png'"):
        yolo.FORMAT.export(dataset, tmp_path)
