"""CVAT for images 1.1: round trips, datumaro as independent reader and writer, CVAT's own
documented mask example, and clear errors for bad files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import given

from app.annotators import masks
from app.annotators.annotation import Annotation
from app.annotators.shapes import Box, Mask, Points, Polygon, Polyline, RotatedBox, Shape, Tag
from app.core.errors import ValidationError
from app.formats import registry
from app.formats.base import Dataset, Item
from app.formats.cvat_common import mask_rle
from tests.unit.formats.strategies_video import (
    HYPO, HYPO_READER, assert_load_fails, cvat_image_datasets, fresh,
)

pytest.importorskip("datumaro")
from datumaro.components.annotation import AnnotationType, Bbox, Label, LabelCategories  # noqa: E402
from datumaro.components.annotation import Mask as DmMask  # noqa: E402
from datumaro.components.annotation import Points as DmPoints  # noqa: E402
from datumaro.components.annotation import Polygon as DmPolygon  # noqa: E402
from datumaro.components.annotation import PolyLine as DmPolyLine  # noqa: E402
from datumaro.components.dataset import Dataset as DmDataset  # noqa: E402
from datumaro.components.dataset_base import DatasetItem  # noqa: E402
from datumaro.components.media import Image  # noqa: E402

CVAT = registry.get("cvat-images")


def _by_key(dataset: Dataset) -> dict[tuple[str, str], Item]:
    return {(i.subset, i.name): i for i in dataset.items}


def _as_written(shape: Shape, item: Item) -> Shape:
    """What CVAT keeps of a shape: polygons with holes or several parts become masks."""
    if isinstance(shape, Polygon) and (len(shape.parts) > 1 or shape.parts[0].holes):
        return masks.polygon_to_mask(shape, item.height, item.width)  # type: ignore[arg-type]
    return shape


def _assert_same_shape(ours: Shape, theirs: Shape) -> None:
    if isinstance(ours, RotatedBox):
        assert isinstance(theirs, RotatedBox)
        for name in ("cx", "cy", "w", "h"):
            assert math.isclose(getattr(ours, name), getattr(theirs, name), abs_tol=1e-9)
        assert abs((ours.angle - theirs.angle + 180) % 360 - 180) < 1e-9
    else:
        assert theirs == ours


def _expected_attributes(ann: Annotation) -> dict[str, Any]:
    """A shape's "occluded" is CVAT's flag, so false is its absence (tags have no flag)."""
    flag = ann.shape.kind != "tag"
    return {k: v for k, v in ann.attributes.items()
            if not (flag and k == "occluded" and v is False)}


# -- round trips ---------------------------------------------------------------------------

@HYPO
@given(cvat_image_datasets())
def test_round_trip(tmp_path: Path, dataset: Dataset) -> None:
    out = fresh(tmp_path)
    report = CVAT.export(dataset, out)
    assert report.skipped == ()
    back = CVAT.load(out)
    assert back.labels == dataset.labels
    got = _by_key(back)
    assert set(got) == set(_by_key(dataset))
    for key, item in _by_key(dataset).items():
        theirs = got[key]
        assert (theirs.width, theirs.height, theirs.media) == (item.width, item.height, "image")
        assert len(theirs.annotations) == len(item.annotations)
        for a, b in zip(item.annotations, theirs.annotations):
            assert (b.label, b.source, b.z_order) == (a.label, a.source,
                                                      0 if a.shape.kind == "tag" else a.z_order)
            assert dict(b.attributes) == _expected_attributes(a)
            _assert_same_shape(_as_written(a.shape, item), b.shape)
    assert report.shapes == sum(len(i.annotations) for i in dataset.items)


def test_layout_subsets_media_and_progress(tmp_path: Path) -> None:
    media = tmp_path / "src.png"
    cv2.imwrite(str(media), np.zeros((10, 12, 3), np.uint8))
    items = [Item("a/x.png", width=12, height=10, subset="train", media_path=media),
             Item("y.png", width=12, height=10, subset="val"),
             Item("v.mp4", media="video")]
    calls: list[tuple[int, int]] = []
    report = CVAT.export(Dataset(labels=["car"], items=items), tmp_path / "out",
                         progress=lambda done, total: calls.append((done, total)))
    out = tmp_path / "out"
    assert sorted(p.name for p in report.files) == ["train.xml", "val.xml"]
    assert (out / "images" / "train" / "a" / "x.png").read_bytes() == media.read_bytes()
    assert calls == [(1, 2), (2, 2)]
    assert report.skipped == ("v.mp4: a video item (CVAT for images holds images)",)
    assert not list(out.glob(".*.tmp"))
    text = (out / "train.xml").read_text()
    assert '<image id="0" name="a/x.png" subset="train" width="12" height="10"' in text
    assert "<version>1.1</version>" in text


def test_what_cvat_cannot_hold_is_reported(tmp_path: Path) -> None:
    def ann(shape: Shape, **attributes: Any) -> Annotation:
        return Annotation.new(asset_id=0, author="", label="car", shape=shape,
                              attributes=attributes)
    holed = Polygon.from_rings([(0, 0), (8, 0), (8, 8), (0, 8)], [[(2, 2), (6, 2), (6, 6)]])
    items = [Item("a.jpg", width=10, height=10, annotations=[
                 ann(Points([(1, 1), (2, 2)], (2, 1))), ann(Box(0, 0, 1, 1), s="bad\x01"),
                 ann(masks.encode(np.ones((4, 4), bool)))]),
             Item("b.jpg", annotations=[ann(holed), ann(Box(0, 0, 1, 1))])]
    report = CVAT.export(Dataset(items=items), tmp_path)
    assert report.shapes == 1
    assert [s.split(":")[0] for s in report.skipped] == ["a.jpg"] * 3 + ["b.jpg"]
    assert "visibility" in report.skipped[0] and "U+0001" in report.skipped[1]
    assert "4x4 mask on a 10x10 image" in report.skipped[2]
    assert "image size" in report.skipped[3]


def test_schema_declares_attribute_types_and_colours(tmp_path: Path) -> None:
    from app.annotators.ontology import parse_schema

    schema = parse_schema({"name": "s", "version": 1, "classes": [
        {"name": "car", "colour": "#ff0000", "attributes": [
            {"name": "kind", "type": "enum", "values": ["suv", "van"]},
            {"name": "doors", "type": "number", "min": 2, "max": 5},
            {"name": "parked", "type": "bool"}]}]})
    ann = Annotation.new(asset_id=0, author="", label="car", shape=Box(0, 0, 2, 2),
                         attributes={"kind": "van", "doors": 4, "parked": True})
    CVAT.export(Dataset(labels=["car"], schema=schema,
                        items=[Item("a.jpg", width=4, height=4, annotations=[ann])]), tmp_path)
    text = (tmp_path / "default.xml").read_text()
    assert "<color>#ff0000</color>" in text
    assert "<input_type>select</input_type>" in text and "<values>suv\nvan</values>" in text
    assert "<input_type>number</input_type>" in text and "<values>2\n5\n1</values>" in text
    back = CVAT.load(tmp_path).items[0].annotations[0]
    assert dict(back.attributes) == {"kind": "van", "doors": 4, "parked": True}


def test_cvat_documented_mask_example() -> None:
    """The mask from CVAT's XML format page (a 13x15 blob at 707, 888) reads back and is
    written again with the same run lengths: the RLE is row-major from background."""
    rle = ("3, 5, 7, 7, 5, 9, 3, 11, 2, 11, 2, 12, 1, 12, 1, 26, 1, 12, 1, 12, 2, 11, 3, 9, 5, "
           "7, 7, 5, 3")
    from app.formats.cvat_common import XmlDoc, read_shape
    import xml.etree.ElementTree as ET

    element = ET.Element("mask", {"rle": rle, "left": "707", "top": "888", "width": "13",
                                  "height": "15"})
    mask = read_shape(XmlDoc(Path("doc.xml"), element, {}), element, (1600, 1200))
    assert isinstance(mask, Mask)
    bits = masks.decode(mask)[888:903, 707:720]
    assert bits[0].tolist() == [False] * 3 + [True] * 5 + [False] * 5  # the top row of the disc
    assert bits[7].all() and bits[8].all()  # the widest rows
    assert bits[14].tolist() == [False] * 5 + [True] * 5 + [False] * 3  # the bottom row
    assert all(np.diff(row.astype(int)).clip(0).sum() <= 1 for row in bits)  # one run a row
    assert mask_rle(mask) == {"rle": rle, "left": "707", "top": "888", "width": "13",
                              "height": "15"}


# -- datumaro -----------------------------------------------------------------------------

_DM_KIND = {"box": "bbox", "rotated_box": "rotated_bbox", "polygon": "polygon",
            "polyline": "polyline", "points": "points", "mask": "mask", "tag": "label"}


@HYPO_READER
@given(cvat_image_datasets())
def test_datumaro_reads_our_export(tmp_path: Path, dataset: Dataset) -> None:
    out = fresh(tmp_path)
    for item in dataset.items:  # datumaro's CVAT reader insists on the image files
        item.media_path = out / "src" / f"{abs(hash(item.name))}.png"
        item.media_path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(item.media_path), np.zeros((item.height, item.width, 3), np.uint8))
    CVAT.export(dataset, out / "cvat")
    theirs = DmDataset.import_from(str(out / "cvat"), "cvat")
    names = theirs.categories()[AnnotationType.label]
    assert [c.name for c in names] == dataset.labels
    assert len(theirs) == len(dataset.items)
    for item in dataset.items:
        got = theirs.get(item.name.rsplit(".", 1)[0], item.subset)
        assert got.media.size == (item.height, item.width)
        assert len(got.annotations) == len(item.annotations)
        for a, b in zip(item.annotations, got.annotations):
            shape = _as_written(a.shape, item)
            assert b.type.name == _DM_KIND[shape.kind] and names[b.label].name == a.label
            _assert_datumaro_shape(shape, b)


def _assert_datumaro_shape(shape: Shape, theirs: Any) -> None:
    if isinstance(shape, Box):
        assert np.allclose(theirs.get_bbox(), [shape.x1, shape.y1, shape.x2 - shape.x1,
                                               shape.y2 - shape.y1], atol=0.5)
    elif isinstance(shape, RotatedBox):
        assert np.allclose(theirs.points[:4], [shape.cx, shape.cy, shape.w, shape.h], atol=0.5)
    elif isinstance(shape, Mask):
        assert (theirs.image.astype(bool) == masks.decode(shape)).all()
    elif isinstance(shape, Polygon):
        assert np.allclose(theirs.points, np.ravel(shape.parts[0].exterior), atol=0.5)
    elif isinstance(shape, (Polyline, Points)):
        assert np.allclose(theirs.points, np.ravel(shape.points), atol=0.5)


def test_we_read_datumaro_export(tmp_path: Path) -> None:
    bits = np.zeros((30, 40), dtype=bool)
    bits[5:12, 3:20] = True
    bits[7:9, 6:9] = False
    categories = LabelCategories(attributes={"occluded"})
    categories.add("car", attributes={"colour", "parked"})
    categories.add("person")

    def item(item_id: str, subset: str, annotations: list[Any]) -> DatasetItem:
        return DatasetItem(id=item_id, subset=subset, annotations=annotations,
                           media=Image.from_numpy(np.zeros((30, 40, 3), np.uint8)))

    source = DmDataset.from_iterable([
        item("a", "train", [
            Bbox(1, 2, 9, 10, label=0, z_order=2,
                 attributes={"occluded": True, "colour": "red", "parked": True}),
            DmPolygon([1, 1, 10.5, 1, 5, 8.25], label=1),
            DmPolyLine([0, 0, 3, 4], label=1), DmPoints([1, 2, 3, 4], label=0),
            DmMask(bits, label=1), Label(0, attributes={"colour": "blue"})]),
        item("b", "val", [Bbox(0, 0, 4, 4, label=1)]),
    ], categories={AnnotationType.label: categories})
    source.export(str(tmp_path), "cvat", save_media=True)
    ours = CVAT.load(tmp_path)
    assert ours.labels == ["car", "person"]
    items = _by_key(ours)
    assert set(items) == {("train", "a.jpg"), ("val", "b.jpg")}
    a = items[("train", "a.jpg")]
    assert (a.width, a.height) == (40, 30)
    shapes = [x.shape for x in a.annotations]
    assert shapes[:4] == [Box(1, 2, 10, 12), Polygon.from_rings([(1, 1), (10.5, 1), (5, 8.25)]),
                          Polyline([(0, 0), (3, 4)]), Points([(1, 2), (3, 4)])]
    assert masks.decode(shapes[4]).tolist() == bits.tolist()  # type: ignore[arg-type]
    assert isinstance(shapes[5], Tag) and a.annotations[5].attributes == {"colour": "blue"}
    box = a.annotations[0]
    assert (box.label, box.z_order) == ("car", 2)
    # datumaro declares every attribute as text, so its "true" stays text
    assert dict(box.attributes) == {"occluded": True, "colour": "red", "parked": "true"}
    assert items[("val", "b.jpg")].annotations[0].shape == Box(0, 0, 4, 4)


# -- bad input ----------------------------------------------------------------------------

HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
        "<meta><task><labels><label><name>car</name><attributes><attribute><name>n</name>"
        "<input_type>number</input_type></attribute><attribute><name>b</name>"
        "<input_type>checkbox</input_type></attribute></attributes></label></labels>"
        "</task></meta>\n")


def _image(body: str, size: str = 'width="20" height="10"') -> str:
    return f'{HEAD}<image id="0" name="a.jpg" {size}>\n{body}\n</image>\n</annotations>\n'


BOX = 'label="car" xtl="1" ytl="1" xbr="2" ybr="2"'
BAD_FILES = [
    (_image(f'<box {BOX}/>').replace("</annotations>\n", ""), "a.xml:8", "no element found"),
    (_image('<box label="bus" xtl="1" ytl="1" xbr="2" ybr="2"/>'), "a.xml:6: box.label",
     "'bus' is not declared"),
    (_image('<box label="car" xtl="x" ytl="1" xbr="2" ybr="2"/>'), "a.xml:6: box.xtl",
     "expected a number"),
    (_image('<box label="car" ytl="1" xbr="2" ybr="2"/>'), "a.xml:6: box.xtl", "missing"),
    (_image('<box label="car" xtl="1" ytl="1" xbr="2" ybr="2" rotation="nan"/>'),
     "a.xml:6: box.rotation", "expected a number"),
    (_image('<polygon label="car" points="1,1;2,2"/>'), "a.xml:6: polygon.exterior",
     "at least 3 points"),
    (_image('<polyline label="car" points="1,1;2"/>'), "a.xml:6: polyline.points",
     "'x,y' pairs"),
    (_image('<mask label="car" rle="1, 2" left="0" top="0" width="2" height="2"/>'),
     "a.xml:6: mask.rle", "cover 3 pixels, not 2x2"),
    (_image('<mask label="car" rle="1, x" left="0" top="0" width="2" height="2"/>'),
     "a.xml:6: mask.rle", "run lengths"),
    (_image('<mask label="car" rle="4" left="19" top="0" width="2" height="2"/>'),
     "a.xml:6: mask.width", "leaves the 20x10 image"),
    (_image('<mask label="car" rle="4" left="0" top="0" width="2" height="2"/>', size=""),
     "a.xml:6", "needs the image size"),
    (_image(f'<box {BOX} source="robot"/>'), "a.xml:6: box.source", "unknown source"),
    (_image(f'<box {BOX} occluded="maybe"/>'), "a.xml:6: box.occluded", "expected 0 or 1"),
    (_image(f'<box {BOX}><attribute name="n">many</attribute></box>'), "a.xml:6: n",
     "expected a number"),
    (_image(f'<box {BOX}><attribute name="b">yes</attribute></box>'), "a.xml:6: b",
     "expected true or false"),
    (_image('<ellipse label="car" cx="1" cy="1" rx="1" ry="1"/>'), "a.xml:6",
     "<ellipse> is not supported"),
    (_image(f'<box {BOX}/>', size='width="-3" height="10"'), "a.xml:5: image.width",
     "expected an integer from 1, got '-3'"),
    (HEAD + '<track id="0" label="car"></track></annotations>', "a.xml:5", "cvat-video"),
    ('<?xml version="1.0"?>\n<root/>', "a.xml:2", "not <annotations>"),
    ('<?xml version="1.0"?>\n<annotations><image name="a"/></annotations>', "a.xml:2",
     "missing <meta>"),
    ('<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x "y">]>\n<annotations/>', "a.xml",
     "refused XML"),
]


@pytest.mark.parametrize(("text", "where", "message"), BAD_FILES)
def test_bad_files_name_file_line_and_field(tmp_path: Path, text: str, where: str,
                                            message: str) -> None:
    assert_load_fails(CVAT.load, tmp_path / "a.xml", text, where, message)


def test_non_utf8_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(_image(f'<box {BOX}/>').replace("a.jpg", "\xe9").encode(
        "latin-1"))
    with pytest.raises(ValidationError, match=r"a\.xml:5: not well-formed UTF-8 XML"):
        CVAT.load(tmp_path)
    with pytest.raises(ValidationError, match="no such file or folder"):
        CVAT.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="no .xml annotation file"):
        CVAT.load(tmp_path / "empty")


def test_subset_from_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "annotations.xml").write_text(_image(f'<box {BOX}/>'), encoding="utf-8")
    (tmp_path / "train.xml").write_text(_image("").replace("a.jpg", "b.jpg"), encoding="utf-8")
    loaded = CVAT.load(tmp_path)
    assert [(i.subset, i.name) for i in loaded.items] == [("default", "a.jpg"), ("train", "b.jpg")]
