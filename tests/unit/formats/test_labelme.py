"""labelme JSON: exact round trips, a field-by-field check of our files against the layout
labelme itself reads (its loader needs PyQt5, and datumaro 1.13 reads LabelMe XML, not labelme
JSON; globox reads our boxes and polygons in test_independent_readers.py), files as labelme
writes them, and bad input."""

from __future__ import annotations

import base64
import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.annotators import masks
from app.annotators.shapes import Box, Mask, Points, Polygon, Polyline, RotatedBox, Tag
from app.core.errors import ValidationError
from app.formats import labelme
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies import (
    attributes, blob_masks_in, boxes_in, points_in, polygons_in, polylines_in, rotated_boxes_in,
    tags,
)
from tests.unit.formats.strategies_images import (
    annotation, datasets, flat, image_items, same_shape, with_images,
)

EXAMPLES = settings(max_examples=40, deadline=None)
OWN_FIELDS = ("group_id", "description")  # labelme fields, tested apart


def exact_kinds(w: int, h: int):
    return st.one_of(boxes_in(w, h), polygons_in(w, h, holes=False), polylines_in(w, h),
                     points_in(w, h), blob_masks_in(w, h), tags())


def export_and_load(dataset: Dataset) -> tuple[Dataset, labelme.ExportReport, list[dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = labelme.FORMAT.export(dataset, Path(tmp))
        documents = [json.loads(p.read_text()) for p in sorted(Path(tmp).rglob("*.json"))]
        for document in documents:
            check_labelme_layout(document)
        return labelme.FORMAT.load(Path(tmp)), report, documents


def check_labelme_layout(document: dict) -> None:
    """Our JSON against what labelme reads (`_label_file.read_label_file`,
    `_load_shape_json_obj`, and the point counts `utils.shape_to_mask` asserts), field by field."""
    assert set(document) == {"version", "flags", "shapes", "imagePath", "imageData",
                             "imageHeight", "imageWidth"}
    assert document["version"].startswith("5.") and document["imageData"] is None
    assert "/" not in document["imagePath"] and "\\" not in document["imagePath"]
    assert all(isinstance(k, str) and isinstance(v, bool) for k, v in document["flags"].items())
    height, width = document["imageHeight"], document["imageWidth"]
    assert type(height) is int and type(width) is int and height > 0 and width > 0
    for shape in document["shapes"]:
        assert isinstance(shape["label"], str) and shape["label"]
        points = shape["points"]
        assert points and all(isinstance(p, list) and len(p) == 2 and
                              all(type(v) in (int, float) for v in p) for p in points)
        kind = shape["shape_type"]
        counts = {"rectangle": 2, "line": 2, "point": 1, "circle": 2, "mask": 2}
        assert kind in ("polygon", "rectangle", "point", "line", "linestrip", "mask")
        assert len(points) == counts[kind] if kind in counts else len(points) >= (
            3 if kind == "polygon" else 2)
        assert shape["group_id"] is None or type(shape["group_id"]) is int
        assert all(isinstance(k, str) and isinstance(v, bool) for k, v in shape["flags"].items())
        assert isinstance(shape["description"], str)
        if kind == "mask":  # labelme pastes the PNG at the inclusive corners
            (x1, y1), (x2, y2) = np.asarray(points).astype(int)
            crop = np.array(Image.open(io.BytesIO(base64.b64decode(shape["mask"]))))
            assert crop.shape == (y2 - y1 + 1, x2 - x1 + 1) and crop.any()
            assert 0 <= x1 <= x2 < width and 0 <= y1 <= y2 < height
        else:
            assert shape["mask"] is None


def comparable(attrs, original) -> dict:
    """Imported attributes without the group_id labelme needed to tie parts together."""
    found = dict(attrs)
    if "group_id" not in original:
        found.pop("group_id", None)
    return found


# -- round trips --------------------------------------------------------------------------------

@EXAMPLES
@given(datasets(image_items(exact_kinds, attrs=attributes(exclude=OWN_FIELDS))))
def test_round_trip_is_exact_for_every_labelme_kind(dataset):
    for item in dataset.items:  # tags carry no attributes in labelme (checked apart)
        item.annotations = [a.replace(attributes={}) if isinstance(a.shape, Tag) else a
                            for a in item.annotations]
    back, report, _ = export_and_load(dataset)
    assert report.skipped == ()
    found = {i.name: i for i in back.items}
    for item in dataset.items:
        got = found[item.name]
        assert (got.width, got.height) == (item.width, item.height)
        ours = [a for a in item.annotations if not isinstance(a.shape, Tag)]
        theirs = [a for a in got.annotations if not isinstance(a.shape, Tag)]
        assert [a.label for a in theirs] == [a.label for a in ours]
        for a, b in zip(ours, theirs, strict=True):
            assert same_shape(a.shape, b.shape, 0.0)
            if isinstance(a.shape, Points):
                assert b.shape.names == a.shape.names
            assert comparable(b.attributes, a.attributes) == dict(a.attributes)
        assert {a.label for a in got.annotations if isinstance(a.shape, Tag)} == \
            {a.label for a in item.annotations if isinstance(a.shape, Tag)}


@EXAMPLES
@given(datasets(image_items(lambda w, h: st.one_of(
    polygons_in(w, h).filter(lambda p: any(part.holes for part in p.parts)),
    rotated_boxes_in(w, h)), sizes=(16, 64))))
def test_holes_become_masks_and_rotated_boxes_polygons_and_both_are_reported(dataset):
    back, report, _ = export_and_load(dataset)
    found = {i.name: i for i in back.items}
    noted = 0
    for item in dataset.items:
        for ours, theirs in zip(item.annotations, found[item.name].annotations, strict=True):
            if isinstance(ours.shape, RotatedBox):
                assert same_shape(Polygon.from_rings(ours.shape.corners()), theirs.shape, 0.0)
            else:
                assert np.array_equal(masks.decode(theirs.shape),
                                      masks.rasterize(ours.shape, item.height, item.width))
            noted += 1
    assert len(report.skipped) == noted


def test_own_fields_group_id_description_flags_and_extra_attributes():
    pts = Points(((1, 2), (3, 4), (5, 6)), (2, 0, 1), ("nose", "eye", "ear"))
    item = Item("a/b.png", width=20, height=10, annotations=[
        annotation("car", Box(1, 2, 3, 4), group_id=7, description="red one", parked=True,
                   speed=3.5, plate="XYZ"),
        annotation("face", pts), annotation("car", Tag(), tone="dark")])
    back, report, (document,) = export_and_load(Dataset(labels=["car", "face"], items=[item]))
    box = document["shapes"][0]
    assert (box["group_id"], box["description"], box["flags"]) == (7, "red one", {"parked": True})
    assert box["attributes"] == {"plate": "XYZ", "speed": 3.5}
    points = document["shapes"][1:]
    assert [p["shape_type"] for p in points] == ["point"] * 3
    assert len({p["group_id"] for p in points}) == 1 and points[0]["group_id"] != 7
    assert [p.get("visibility") for p in points] == [None, 0, 1]
    assert [p["name"] for p in points] == ["nose", "eye", "ear"]
    assert document["flags"] == {"car": True} and document["imagePath"] == "b.png"
    assert report.skipped == ("a/b.png: tag 'car' lost its attributes (labelme flags are true or false)",)
    got = back.items[0].annotations
    assert dict(got[0].attributes) == dict(item.annotations[0].attributes)
    assert got[1].shape == pts and isinstance(got[2].shape, Tag)


def test_layout_media_beside_the_json_and_progress(tmp_path):
    dataset = with_images(Dataset(labels=["a"], items=[
        Item("x/one.png", width=12, height=9, annotations=[annotation("a", Box(0, 0, 4, 4))])]),
        tmp_path / "src")
    dataset.items.append(Item("talk.wav", media="audio"))
    calls = []
    report = labelme.FORMAT.export(dataset, tmp_path / "out", progress=lambda d, t: calls.append(d))
    assert (tmp_path / "out/x/one.png").read_bytes() == dataset.items[0].media_path.read_bytes()
    assert json.loads((tmp_path / "out/x/one.json").read_text())["imagePath"] == "one.png"
    assert calls == [1, 2] and report.items == 1 and report.shapes == 1
    assert report.skipped == ("talk.wav: audio items have no place in labelme",)
    back = labelme.FORMAT.load(tmp_path / "out")
    assert back.items[0].name == "x/one.png"
    assert back.items[0].media_path == tmp_path / "out/x/one.png"


# -- files as labelme writes them ---------------------------------------------------------------

# examples/primitives/primitives.json from the labelme repository (labelme 4.0.0), shortened
PRIMITIVES = {
    "version": "4.0.0", "flags": {}, "shapes": [
        {"label": "rectangle", "points": [[32.0, 35.0], [132.0, 135.0]], "group_id": None,
         "shape_type": "rectangle", "flags": {}},
        {"label": "circle", "points": [[195.0, 84.0], [225.0, 125.0]], "group_id": None,
         "shape_type": "circle", "flags": {}},
        {"label": "polygon", "points": [[69.0, 318.0], [45.0, 403.0], [173.0, 406.0],
                                        [198.0, 321.0]], "group_id": None,
         "shape_type": "polygon", "flags": {}},
        {"label": "line", "points": [[188.0, 178.0], [160.0, 224.0]], "group_id": None,
         "shape_type": "line", "flags": {}},
        {"label": "point", "points": [[345.0, 174.0]], "group_id": None,
         "shape_type": "point", "flags": {}},
        {"label": "line_strip", "points": [[440.53703703703707, 181.46296296296293],
                                           [402.53703703703707, 274.46296296296293],
                                           [544.5370370370371, 275.46296296296293]],
         "group_id": None, "shape_type": "linestrip", "flags": {}}],
    "imagePath": "primitives.jpg", "imageData": None, "imageHeight": 450, "imageWidth": 560,
    "lineColor": [0, 255, 0, 128], "fillColor": [255, 0, 0, 128]}


def test_reads_labelmes_primitives_example(tmp_path):
    (tmp_path / "primitives.json").write_text(json.dumps(PRIMITIVES, indent=2))
    back = labelme.FORMAT.load(tmp_path)
    assert back.labels == ["rectangle", "circle", "polygon", "line", "point", "line_strip"]
    (item,) = back.items
    assert (item.name, item.width, item.height) == ("primitives.jpg", 560, 450)
    box, circle, polygon, line, point, strip = (a.shape for a in item.annotations)
    assert box == Box(32, 35, 132, 135)
    radius = math.hypot(30, 41)  # a circle is its centre and a point on it
    ring = circle.parts[0].exterior
    assert len(ring) == 64 and all(abs(math.hypot(x - 195, y - 84) - radius) < 1e-9 for x, y in ring)
    assert isinstance(polygon, Polygon) and len(polygon.parts[0].exterior) == 4
    assert line == Polyline(((188, 178), (160, 224))) and point == Points(((345, 174),))
    assert flat(strip.points) == [v for p in PRIMITIVES["shapes"][5]["points"] for v in p]


def png_b64(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_reads_labelme5_masks_groups_windows_paths_and_embedded_images(tmp_path):
    crop = np.zeros((3, 4), dtype=np.uint8)
    crop[1:, 1:3] = 1
    document = {
        "version": "5.4.1", "flags": {"blurry": True, "night": False}, "shapes": [
            {"label": "cat", "points": [[2, 1], [5, 3]], "group_id": None, "description": "",
             "shape_type": "mask", "flags": {}, "mask": png_b64(crop)},
            {"label": "dog", "points": [[0, 0], [4, 0], [4, 4]], "group_id": 3,
             "description": "", "shape_type": "polygon", "flags": {}, "mask": None},
            {"label": "dog", "points": [[6, 6], [9, 6], [9, 9]], "group_id": 3,
             "description": "", "shape_type": "polygon", "flags": {}, "mask": None},
            {"label": "sign", "points": [[1, 1], [5, 1], [5, 3], [1, 3]], "group_id": None,
             "shape_type": "oriented_rectangle", "flags": {}}],
        "imagePath": "..\\images\\frame.png", "imageData": png_b64(np.zeros((8, 10), np.uint8))}
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann/frame.json").write_text(json.dumps(document))
    back = labelme.FORMAT.load(tmp_path)
    (item,) = back.items
    assert (item.name, item.width, item.height) == ("images/frame.png", 10, 8)
    mask, dogs, sign, blurry = item.annotations
    expected = np.zeros((8, 10), dtype=bool)
    expected[2:4, 3:5] = True
    assert np.array_equal(masks.decode(mask.shape), expected)
    assert len(dogs.shape.parts) == 2 and dict(dogs.attributes) == {"group_id": 3}
    assert same_shape(sign.shape, RotatedBox(3, 2, 4, 2, 0), 1e-9)
    assert (blurry.label, blurry.shape) == ("blurry", Tag())


# -- bad input ----------------------------------------------------------------------------------

def shape(**fields) -> dict:
    base = {"label": "a", "points": [[1, 1], [3, 3]], "group_id": None, "shape_type": "rectangle",
            "flags": {}}
    base.update(fields)
    return base


def document(*shapes, **fields) -> dict:
    base = {"version": "5.5.0", "flags": {}, "shapes": list(shapes), "imagePath": "a.png",
            "imageData": None, "imageHeight": 10, "imageWidth": 10}
    base.update(fields)
    return base


@pytest.mark.parametrize(("content", "message"), [
    (json.dumps({"images": [], "annotations": []}), "a.json: not a labelme file"),
    ('{"shapes": [\n  {"label": "a",,}\n]}', "a.json:2: not valid JSON"),
    (b'{"shapes": [], "imagePath": "\xff"}', "a.json: not UTF-8"),
    (document(shape(label="")), r"a.json: shapes\[0\].label: expected a non-empty string"),
    (document(shape(points=[[1, "x"]])), r"a.json: shapes\[0\].points\[0\]: expected \[x, y\]"),
    (document(shape(shape_type="hexagon")), r"a.json: shapes\[0\].shape_type: unknown shape_type 'hexagon'"),
    (document(shape(points=[[1, 1], [2, 2], [3, 3]])), r"a.json: shapes\[0\].points: a rectangle takes 2 or 4"),
    (document(shape(shape_type="polygon")), r"a.json: shapes\[0\].points: a polygon needs at least 3"),
    (document(shape(group_id="1")), r"a.json: shapes\[0\].group_id: expected int or null, got str"),
    (document(shape(flags={"x": 1})), r"a.json: shapes\[0\].flags: expected an object of name: true/false"),
    (document(shape(shape_type="mask", mask="%%%")), r"a.json: shapes\[0\].mask: not a base64 PNG"),
    (document(shape(shape_type="mask", mask=png_b64(np.ones((2, 2), np.uint8)))),
     r"a.json: shapes\[0\].mask: the PNG is 2x2, the points span 3x3"),
    (document(shape(shape_type="mask", points=[[8, 8], [10, 10]], mask=png_b64(np.ones((3, 3), np.uint8)))),
     r"a.json: shapes\[0\].points: the mask reaches outside the 10x10 image"),
    (document(shape(attributes={"x": [1]})), r"a.json: shapes\[0\].attributes: attributes.x: must be"),
    (document(imageWidth=-3), "a.json: imageWidth: expected a positive integer"),
    (document(flags={"x": "yes"}), "a.json: flags: expected an object of name: true/false"),
])
def test_bad_files_name_the_file_and_field(tmp_path, content, message):
    path = tmp_path / "a.json"
    if isinstance(content, dict):
        content = json.dumps(content)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValidationError, match=f"^{message}"):
        labelme.FORMAT.load(tmp_path)


def test_an_absolute_image_path_means_the_image_beside_the_json(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/a.json").write_text(json.dumps(document(imagePath="C:\\data\\photo.jpg")))
    assert labelme.FORMAT.load(tmp_path).items[0].name == "sub/photo.jpg"


def test_an_empty_folder_and_a_mask_without_a_size(tmp_path):
    with pytest.raises(ValidationError, match="no labelme .json file found"):
        labelme.FORMAT.load(tmp_path)
    bad = document(shape(shape_type="mask", mask=png_b64(np.ones((3, 3), np.uint8))),
                   imageHeight=None, imageWidth=None)
    (tmp_path / "a.json").write_text(json.dumps(bad))
    with pytest.raises(ValidationError, match=r"a.json: shapes\[0\]: a mask needs imageWidth"):
        labelme.FORMAT.load(tmp_path)


def test_an_empty_mask_is_skipped_and_said_so(tmp_path):
    empty = Mask(4, 4, masks.encode(np.zeros((4, 4), bool)).counts)
    dataset = Dataset(labels=["a"], items=[Item("e.png", width=4, height=4, annotations=[
        annotation("a", empty)])])
    report = labelme.FORMAT.export(dataset, tmp_path)
    assert report.shapes == 0 and report.skipped == ("e.png: mask 'a' covers no pixel",)
