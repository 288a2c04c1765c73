"""COCO instances and keypoints: round trips, pycocotools and datumaro as independent readers
and writers, and clear errors for bad files."""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO

from app.annotators import masks
from app.annotators.annotation import Annotation
from app.annotators.geometry import bounds
from app.annotators.shapes import Box, Mask, Points, Polygon, RotatedBox, Shape
from app.core.errors import ValidationError
from app.formats import registry
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies import (
    blob_masks_in, boxes_in, datasets, image_items, points_in, polygons_in,
    polygons_with_holes_in, polylines_in, rotated_boxes_in, tags,
)

pytest.importorskip("datumaro")
from datumaro.components.annotation import (  # noqa: E402
    AnnotationType, Bbox, LabelCategories, PointsCategories,
)
from datumaro.components.annotation import Mask as DmMask  # noqa: E402
from datumaro.components.annotation import Points as DmPoints  # noqa: E402
from datumaro.components.annotation import Polygon as DmPolygon  # noqa: E402
from datumaro.components.dataset import Dataset as DmDataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image  # noqa: E402

# pycocotools' decode (inside annToMask) warns under numpy 2; the pixels are right
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
COCO_FMT, KEYPOINTS = registry.get("coco"), registry.get("coco-keypoints")
RESERVED = ("iscrowd", "rotation")
SIZES = st.tuples(st.integers(32, 160), st.integers(24, 120))
UNSUPPORTED = ("polyline", "points", "tag")
HYPO = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def instance_shapes(width: int, height: int) -> st.SearchStrategy[Shape]:
    return st.one_of(boxes_in(width, height), rotated_boxes_in(width, height),
                     polygons_in(width, height), polygons_with_holes_in(width, height),
                     blob_masks_in(width, height), polylines_in(width, height),
                     points_in(width, height), tags())


def coco_datasets(shapes: Any = instance_shapes) -> st.SearchStrategy[Dataset]:
    return datasets(image_items(shapes=shapes, sizes=SIZES, exclude_attributes=RESERVED))


def _fresh(tmp_path: Path) -> Path:
    """A new folder per hypothesis example (tmp_path is shared by all of them)."""
    return Path(tempfile.mkdtemp(dir=tmp_path))


def _by_key(dataset: Dataset) -> dict[tuple[str, str], Item]:
    return {(item.subset, item.name): item for item in dataset.items}


def _assert_same_shape(ours: Shape, back: Shape, item: Item) -> None:
    if isinstance(ours, Box):
        assert isinstance(back, Box)
        assert np.allclose([back.x1, back.y1, back.x2, back.y2],
                           [ours.x1, ours.y1, ours.x2, ours.y2], rtol=0, atol=1e-9)
    elif isinstance(ours, RotatedBox):
        assert isinstance(back, RotatedBox)
        assert np.allclose([back.cx, back.cy, back.w, back.h], [ours.cx, ours.cy, ours.w, ours.h],
                           rtol=0, atol=1e-6)
        assert abs((back.angle - ours.angle + 180) % 360 - 180) < 1e-6
    elif isinstance(ours, Polygon) and any(p.holes for p in ours.parts):
        assert back == masks.polygon_to_mask(ours, item.height, item.width)
    else:
        assert back == ours  # polygons without holes, and masks: exact


# -- round trips ---------------------------------------------------------------------------

@HYPO
@given(coco_datasets())
def test_instances_round_trip(tmp_path: Path, dataset: Dataset) -> None:
    out = _fresh(tmp_path)
    report = COCO_FMT.export(dataset, out)
    back = COCO_FMT.load(out)
    assert back.labels == dataset.labels  # every label a category, in order
    kept = _by_key(back)
    assert set(kept) == set(_by_key(dataset))
    skipped = 0
    for key, item in _by_key(dataset).items():
        got = kept[key]
        assert (got.width, got.height, got.sha256) == (item.width, item.height, item.sha256)
        expected = [a for a in item.annotations if a.shape.kind not in UNSUPPORTED]
        skipped += len(item.annotations) - len(expected)
        assert len(got.annotations) == len(expected)
        for ours, theirs in zip(expected, got.annotations):
            assert (theirs.label, theirs.attributes, theirs.confidence) == (
                ours.label, ours.attributes, ours.confidence)
            _assert_same_shape(ours.shape, theirs.shape, item)
    assert len(report.skipped) == skipped and report.shapes == sum(
        len(i.annotations) for i in back.items)


@st.composite
def keypoint_items(draw: st.DrawFn) -> Item:
    """person: named keypoints; car: three unnamed ones."""
    def shapes(width: int, height: int) -> st.SearchStrategy[Shape]:
        return st.one_of(points_in(width, height, names=("nose", "l_eye", "r_eye", "chin")),
                         points_in(width, height, count=3, names=None))
    item = draw(image_items(shapes=shapes, sizes=SIZES, exclude_attributes=RESERVED))
    item.annotations = [a.replace(label="person" if a.shape.names else "car")
                        for a in item.annotations]
    return item


@HYPO
@given(datasets(keypoint_items()))
def test_keypoints_round_trip(tmp_path: Path, dataset: Dataset) -> None:
    dataset.meta["skeletons"] = {"person": [[1, 2], [1, 3], [1, 4]]}
    out = _fresh(tmp_path)
    report = KEYPOINTS.export(dataset, out)
    assert report.skipped == ()
    back = KEYPOINTS.load(out)
    assert back.labels == dataset.labels
    kept = _by_key(back)
    for key, item in _by_key(dataset).items():
        got = kept[key].annotations
        assert [(a.label, a.shape, a.attributes, a.confidence) for a in got] == [
            (a.label, a.shape, a.attributes, a.confidence) for a in item.annotations]
    persons = any(a.label == "person" for i in dataset.items for a in i.annotations)
    assert back.meta.get("skeletons") == (dataset.meta["skeletons"] if persons else None)


def _ann(label: str, shape: Shape, **kw: Any) -> Annotation:
    return Annotation.new(asset_id=0, author="", label=label, shape=shape, **kw)


def test_layout_ids_crowd_score_and_what_is_skipped(tmp_path: Path) -> None:
    anns = [_ann("car", Box(1, 2, 11, 12), attributes={"iscrowd": True, "colour": "red"},
                 confidence=0.75),
            _ann("tree", RotatedBox(20, 15, 10, 4, -30.0)),
            _ann("car", Points(((1, 1),))), _ann("car", Polygon.from_rings([(0, 0), (1, 0), (0, 1)]))]
    video = Item("clip.mp4", media="video", subset="train")
    dataset = Dataset(labels=["tree", "car"], items=[
        Item("a/1.jpg", width=40, height=30, annotations=anns), video,
        Item("2.jpg", width=40, height=30, subset="val")])
    calls: list[tuple[int, int]] = []
    report = COCO_FMT.export(dataset, tmp_path, progress=lambda d, t: calls.append((d, t)))
    assert [p.name for p in report.files] == ["instances_default.json", "instances_val.json"]
    assert (tmp_path / "images").is_dir() and calls[-1] == (3, 3) and len(calls) == 3
    assert report.skipped == ("clip.mp4: COCO holds images only, not video",
                              "a/1.jpg: points shape (car) has no COCO instances form "
                              "(coco-keypoints carries points)")
    doc = json.loads(report.files[0].read_text(encoding="utf-8"))
    assert [(c["id"], c["name"]) for c in doc["categories"]] == [(1, "tree"), (2, "car")]
    box, rotated, triangle = doc["annotations"]
    assert [a["id"] for a in doc["annotations"]] == [1, 2, 3]
    assert box["bbox"] == [1, 2, 10, 10] and box["iscrowd"] == 1 and box["score"] == 0.75
    assert box["attributes"] == {"colour": "red"} and box["segmentation"] == []
    assert rotated["attributes"] == {"rotation": 330.0} and len(rotated["segmentation"][0]) == 8
    assert triangle["area"] == 0.5 and triangle["category_id"] == 2
    back = COCO_FMT.load(report.files[0])  # a single file reads as its subset
    assert back.items[0].annotations[0].attributes == {"colour": "red", "iscrowd": True}


def test_unexpressible_geometry_is_reported(tmp_path: Path) -> None:
    holed = Polygon.from_rings([(0, 0), (9, 0), (9, 9), (0, 9)], [[(2, 2), (5, 2), (5, 5)]])
    item = Item("a.jpg", annotations=[_ann("car", holed), _ann("car", masks.encode(np.ones((2, 3), dtype=bool)))])
    sized = Item("b.jpg", width=4, height=4, annotations=[_ann("car", masks.encode(np.ones((2, 3), dtype=bool)))])
    report = COCO_FMT.export(Dataset(["car"], [item, sized]), tmp_path)
    assert report.shapes == 1 and len(report.skipped) == 2
    assert "needs the image size" in report.skipped[0] and "2x3 mask" in report.skipped[1]


def test_bad_subset_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot name a file"):
        COCO_FMT.export(Dataset(["car"], [Item("a.jpg", subset="../x")]), tmp_path)


# -- pycocotools ---------------------------------------------------------------------------

def _pycoco(path: Path) -> COCO:
    return COCO(str(next((path / "annotations").glob("instances_*.json"))))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_ann_to_mask_equals_our_rasterization(tmp_path: Path, data: st.DataObject) -> None:
    """Exactly our pixels for every segmented shape: holes and masks travel as our own RLE,
    plain polygons and rotated boxes as polygons that pycocotools draws by its own rule,
    which is ours (`app.annotators.masks`)."""
    width, height = data.draw(SIZES)
    x1, y1 = data.draw(st.integers(0, width - 2)), data.draw(st.integers(0, height - 2))
    x2, y2 = data.draw(st.integers(x1 + 1, width)), data.draw(st.integers(y1 + 1, height))
    xm, ym = data.draw(st.integers(x1, x2)), data.draw(st.integers(y1, y2))
    ell = Polygon.from_rings([(x1, y1), (x2, y1), (x2, ym), (xm, ym), (xm, y2), (x1, y2)])
    shapes = [ell, data.draw(polygons_with_holes_in(width, height)),
              data.draw(blob_masks_in(width, height)),
              data.draw(polygons_in(width, height, holes=False)),  # one to three parts
              data.draw(rotated_boxes_in(width, height))]
    item = Item("a.jpg", width=width, height=height,
                annotations=[_ann("car", s) for s in shapes])
    out = _fresh(tmp_path)
    COCO_FMT.export(Dataset(["car"], [item]), out)
    coco = _pycoco(out)
    got = [coco.annToMask(a).astype(bool) for a in coco.loadAnns(coco.getAnnIds())]
    assert len(got) == len(shapes)
    for theirs, shape in zip(got, shapes):
        assert np.array_equal(theirs, masks.rasterize(shape, height, width))


def test_pycocotools_reads_keypoints(tmp_path: Path) -> None:
    pts = Points(((1.5, 2.5), (3.0, 4.0), (9.0, 9.0)), (2, 1, 0), ("a", "b", "c"))
    dataset = Dataset(["person"], [Item("a.jpg", width=20, height=20,
                                        annotations=[_ann("person", pts)])])
    dataset.meta["skeletons"] = {"person": [[1, 2]]}
    report = KEYPOINTS.export(dataset, tmp_path)
    coco = COCO(str(report.files[0]))
    ann = coco.loadAnns(coco.getAnnIds())[0]
    assert ann["keypoints"] == [1.5, 2.5, 2, 3.0, 4.0, 1, 9.0, 9.0, 0]
    assert ann["num_keypoints"] == 2 and ann["bbox"] == [1.5, 2.5, 1.5, 1.5]
    assert coco.loadCats(1)[0]["keypoints"] == ["a", "b", "c"]
    assert coco.loadCats(1)[0]["skeleton"] == [[1, 2]]


# -- datumaro ------------------------------------------------------------------------------

def _expected_box(shape: Shape) -> tuple[float, ...]:
    return masks.mask_bbox(shape) if isinstance(shape, Mask) else bounds(shape)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(coco_datasets())
def test_datumaro_reads_our_instances(tmp_path: Path, dataset: Dataset) -> None:
    out = _fresh(tmp_path)
    COCO_FMT.export(dataset, out)
    theirs = DmDataset.import_from(str(out), "coco_instances")
    names = [c.name for c in theirs.categories()[AnnotationType.label]]
    assert names == dataset.labels and len(theirs) == len(dataset.items)
    for item in dataset.items:
        got = theirs.get(item.name.rsplit(".", 1)[0], item.subset)
        assert got.media.size == (item.height, item.width)
        expected = [a for a in item.annotations if a.shape.kind not in UNSUPPORTED]
        groups = sorted({a.group for a in got.annotations})
        assert len(groups) == len(expected)
        for group, ours in zip(groups, expected):
            parts = [a for a in got.annotations if a.group == group]
            kinds = Counter(a.type.name for a in parts)
            assert names[parts[0].label] == ours.label
            holed = isinstance(ours.shape, Polygon) and any(p.holes for p in ours.shape.parts)
            if isinstance(ours.shape, Mask) or holed:
                assert kinds == {"bbox": 1, "mask": 1}
            elif isinstance(ours.shape, Polygon):
                assert kinds == {"bbox": 1, "polygon": len(ours.shape.parts)}
            elif isinstance(ours.shape, RotatedBox):
                assert kinds == {"bbox": 1, "polygon": 1}
            else:
                assert kinds == {"bbox": 1}
            x, y, w, h = next(a for a in parts if a.type.name == "bbox").get_bbox()
            assert np.allclose([x, y, x + w, y + h], _expected_box(ours.shape), atol=0.5)


def test_datumaro_reads_our_keypoints(tmp_path: Path) -> None:
    pts = Points(((1.5, 2.5), (3.0, 4.0), (9.0, 9.0)), (2, 1, 0), ("a", "b", "c"))
    item = Item("x/a.jpg", width=20, height=20, annotations=[_ann("person", pts)] * 2)
    KEYPOINTS.export(Dataset(["car", "person"], [item]), tmp_path)
    theirs = DmDataset.import_from(str(tmp_path), "coco_person_keypoints")
    got = theirs.get("x/a", "default")
    points = [a for a in got.annotations if a.type == AnnotationType.points]
    assert len(points) == 2 and points[0].points == [1.5, 2.5, 3.0, 4.0, 9.0, 9.0]
    assert [v.value for v in points[0].visibility] == [2, 1, 0]
    assert theirs.categories()[AnnotationType.points][1].labels == ["a", "b", "c"]


def _datumaro_item(item_id: str, subset: str, annotations: list[Any]) -> DatasetItem:
    return DatasetItem(id=item_id, subset=subset, media=Image.from_numpy(np.zeros((30, 40, 3))),
                       annotations=annotations)


def test_we_read_datumaro_instances(tmp_path: Path) -> None:
    bits = np.zeros((30, 40), dtype=bool)
    bits[5:12, 3:20] = True
    bits[7:9, 6:9] = False
    source = DmDataset.from_iterable([
        _datumaro_item("a", "train", [
            Bbox(1, 2, 9, 10, label=0, attributes={"occluded": True}),
            DmPolygon([1, 1, 10.5, 1, 5, 8.25], label=1),
            DmMask(bits, label=1)]),
        _datumaro_item("b/c", "val", [Bbox(0, 0, 4, 4, label=1)]),
    ], categories=["car", "person"])
    source.export(str(tmp_path), "coco_instances", save_media=False)
    ours = COCO_FMT.load(tmp_path)
    assert ours.labels == ["car", "person"]
    items = _by_key(ours)
    assert set(items) == {("train", "a.jpg"), ("val", "b/c.jpg")}
    a = items[("train", "a.jpg")]
    assert (a.width, a.height) == (40, 30)
    shapes = {type(x.shape): x for x in a.annotations}
    assert len(a.annotations) == 3
    assert shapes[Box].shape == Box(1, 2, 10, 12) and shapes[Box].label == "car"
    assert shapes[Box].attributes["occluded"] is True
    assert shapes[Polygon].shape == Polygon.from_rings([(1, 1), (10.5, 1), (5, 8.25)])
    assert masks.rasterize(shapes[Mask].shape, 30, 40).tolist() == bits.tolist()
    assert items[("val", "b/c.jpg")].annotations[0].shape == Box(0, 0, 4, 4)


def test_we_read_datumaro_keypoints(tmp_path: Path) -> None:
    source = DmDataset.from_iterable(
        [_datumaro_item("a", "default", [DmPoints([1, 2, 3.5, 4, 0, 0], [2, 1, 0], label=0)])],
        categories={AnnotationType.label: LabelCategories.from_iterable(["person"]),
                    AnnotationType.points: PointsCategories.from_iterable(
                        [(0, ["head", "hand", "foot"], {(1, 2)})])})
    source.export(str(tmp_path), "coco_person_keypoints", save_media=False)
    ours = KEYPOINTS.load(tmp_path)
    (ann,) = ours.items[0].annotations
    assert ann.shape == Points(((1, 2), (3.5, 4), (0, 0)), (2, 1, 0), ("head", "hand", "foot"))
    assert ours.meta["skeletons"] == {"person": [[1, 2]]}


# -- bad input -----------------------------------------------------------------------------

def _valid_file(tmp_path: Path) -> tuple[Path, dict]:
    bits = np.zeros((30, 40), dtype=bool)
    bits[2:5, 2:5] = True
    item = Item("a.jpg", width=40, height=30, annotations=[
        _ann("car", Box(1, 2, 3, 4)), _ann("car", Polygon.from_rings([(0, 0), (5, 0), (0, 5)])),
        _ann("car", masks.encode(bits))])
    path = COCO_FMT.export(Dataset(["car"], [item]), tmp_path).files[0]
    return path, json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("change, where", [
    (lambda d: d.pop("images"), "images: missing field"),
    (lambda d: d.update(categories={}), "categories: expected a list"),
    (lambda d: d["categories"][0].update(id="1"), "categories[0].id: expected an integer"),
    (lambda d: d["categories"].append({"id": 1, "name": "x"}), "categories[1].id: category id 1"),
    (lambda d: d["images"][0].pop("file_name"), "images[0].file_name: missing field"),
    (lambda d: d["images"][0].update(width=-3), "images[0].width: must be at least 0"),
    (lambda d: d["images"].append(d["images"][0]), "images[1].id: image id 1 is used twice"),
    (lambda d: d["annotations"][0].update(category_id=9),
     "annotations[0].category_id: unknown category id 9"),
    (lambda d: d["annotations"][0].update(image_id=5), "annotations[0].image_id: unknown image"),
    (lambda d: d["annotations"][0].update(bbox="1,2,3,4"), "annotations[0].bbox: expected a list"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, 3]), "annotations[0].bbox: expected [x, y"),
    (lambda d: d["annotations"][0].update(bbox=[1, 2, "3", 4]),
     "annotations[0].bbox[2]: expected a number"),
    (lambda d: d["annotations"][0].update(score=3), "annotations[0].confidence: must be a number"),
    (lambda d: d["annotations"][0].update(attributes={"a": [1]}),
     "annotations[0].attributes.a: must be a bool"),
    (lambda d: d["annotations"][1]["segmentation"][0].pop(),
     "annotations[1].segmentation[0]: expected x, y pairs"),
    (lambda d: d["annotations"][1]["segmentation"][0].__setitem__(2, None),
     "annotations[1].segmentation[0][2]: expected a number"),
    (lambda d: d["annotations"][2]["segmentation"].update(counts="!!"),
     "annotations[2].segmentation.counts: invalid character"),
    (lambda d: d["annotations"][2]["segmentation"].update(size=[3, 4]),
     "annotations[2].segmentation.size: the mask is 3x4 but the image is 30x40"),
    (lambda d: d["annotations"][2]["segmentation"].update(counts=[5, 5]),
     "annotations[2].segmentation.counts: run lengths cover 10 pixels"),
])
def test_bad_fields_are_named(tmp_path: Path, change, where: str) -> None:
    _assert_error_names(COCO_FMT, *_valid_file(tmp_path), change, where)


def _assert_error_names(fmt: Any, path: Path, data: dict, change: Any, where: str) -> None:
    """Break `data` with `change`, write it to `path`, and expect an error naming the field."""
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        fmt.load(path.parent.parent)  # the export folder, as a user would give it
    assert str(err.value).startswith(f"{path}: ") and where in str(err.value)


def test_uncompressed_rle_reads_as_a_mask(tmp_path: Path) -> None:
    path, data = _valid_file(tmp_path)
    data["annotations"][2]["segmentation"]["counts"] = [62, 3, 27, 3, 27, 3, 1075]
    path.write_text(json.dumps(data), encoding="utf-8")
    got = COCO_FMT.load(path).items[0].annotations[2].shape
    assert got == masks.encode(masks.rasterize(got, 30, 40)) and masks.mask_area(got) == 9


def test_broken_files_name_file_and_line(tmp_path: Path) -> None:
    path, data = _valid_file(tmp_path)
    text = json.dumps(data, indent=1)
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ValidationError, match=r"instances_default\.json:\d+: invalid JSON"):
        COCO_FMT.load(tmp_path)
    path.write_bytes(b'{"images": [],\n "categories": [{"id": 1, "name": "\xff"}]}')
    with pytest.raises(ValidationError, match=r"instances_default\.json:2: not UTF-8"):
        COCO_FMT.load(path)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ValidationError, match="expected an object"):
        COCO_FMT.load(path)
    with pytest.raises(ValidationError, match="no annotations/instances_<subset>.json"):
        COCO_FMT.load(tmp_path / "images")
    with pytest.raises(ValidationError, match="no such file"):
        COCO_FMT.load(tmp_path / "nothing")


@pytest.mark.parametrize("change, where", [
    (lambda d: d["annotations"][0].pop("keypoints"), "annotations[0].keypoints: missing field"),
    (lambda d: d["annotations"][0].update(keypoints=[1, 2, 2, 3]),
     "annotations[0].keypoints: expected x, y, v triplets"),
    (lambda d: d["annotations"][0].update(keypoints=[1, 2, 2]),
     "annotations[0].keypoints: 1 keypoints for a category of 2"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(2, 3),
     "annotations[0].keypoints[2]: must be 0, 1 or 2"),
    (lambda d: d["categories"][0].update(skeleton=[[1, 5]]),
     "categories[0].skeleton[0]: keypoint 5 of 2"),
    (lambda d: d["categories"][0].update(keypoints=[1, 2]),
     "categories[0].keypoints[0]: expected a string"),
])
def test_bad_keypoints_are_named(tmp_path: Path, change, where: str) -> None:
    item = Item("a.jpg", width=9, height=9, annotations=[_ann("p", Points(((1, 1), (2, 2))))])
    path = KEYPOINTS.export(Dataset(["p"], [item]), tmp_path).files[0]
    _assert_error_names(KEYPOINTS, path, json.loads(path.read_text(encoding="utf-8")), change,
                        where)


def test_rotated_boxes_written_by_cvat_read_back(tmp_path: Path) -> None:
    """CVAT writes a rotated box as its unrotated bbox plus `rotation` (degrees clockwise)."""
    path, data = _valid_file(tmp_path)
    data["annotations"][0].update(bbox=[10, 20, 30, 40], attributes={"rotation": 350.0})
    path.write_text(json.dumps(data), encoding="utf-8")
    got = COCO_FMT.load(path).items[0].annotations[0]
    assert got.shape == RotatedBox(25, 40, 30, 40, -10.0) and "rotation" not in got.attributes
    assert math.isclose(masks.mask_area(masks.polygon_to_mask(got.shape, 100, 100)), 1200, rel_tol=0.05)


def test_registry_serves_both_names() -> None:
    assert COCO_FMT.name == "coco" and KEYPOINTS.name == "coco-keypoints"
    assert "holes" in COCO_FMT.precision and "skeletons" in KEYPOINTS.precision
