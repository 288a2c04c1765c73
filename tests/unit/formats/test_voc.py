"""Pascal VOC: boxes exact under VOC's 1-based convention, polygons and masks back as the
pixels they paint, datumaro as the independent reader both ways, and bad input."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.annotators import masks
from app.annotators.geometry import bounds
from app.annotators.shapes import Box, Mask, Points, Polygon, RotatedBox, Tag
from app.core.errors import ValidationError
from app.formats import voc
from app.formats._voc_masks import COLOURS
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies import blob_masks_in, boxes_in, polygons_in
from tests.unit.formats.strategies_images import (
    PLAIN_TEXT, annotation, box_values, close, datasets, image_items, plain_attributes,
    with_images,
)

EXAMPLES = settings(max_examples=40, deadline=None)
FLAGS = ("truncated", "difficult", "occluded")


@st.composite
def voc_attributes(draw: st.DrawFn) -> dict:
    attrs = draw(plain_attributes(exclude=(*FLAGS, "pose")))
    attrs.update(draw(st.dictionaries(st.sampled_from(FLAGS), st.booleans())))
    if draw(st.booleans()):
        attrs["pose"] = draw(st.sampled_from(["Left", "Frontal", "Unspecified"]) | PLAIN_TEXT)
    return attrs


def kept(attrs) -> dict:
    """What VOC keeps: its defaults (flag 0, pose Unspecified) are not attributes."""
    return {k: v for k, v in attrs.items()
            if not (k in FLAGS and v is False) and not (k == "pose" and v == "Unspecified")}


def segmentable(w: int, h: int):
    return st.one_of(boxes_in(w, h), polygons_in(w, h), blob_masks_in(w, h))


def export_and_load(dataset: Dataset) -> tuple[Dataset, voc.ExportReport]:
    with tempfile.TemporaryDirectory() as tmp:
        report = voc.FORMAT.export(dataset, Path(tmp))
        return voc.FORMAT.load(Path(tmp)), report


def expected(item: Item) -> list[tuple[str, object]]:
    """(label, shape) as VOC gives them back: a reference painter, written apart from the
    exporter: z-order, later on top; a shape with no visible pixel falls back to its box."""
    ordered = sorted(item.annotations, key=lambda a: a.z_order)
    owner = np.zeros((item.height, item.width), dtype=np.int32)
    for k, ann in enumerate(ordered, 1):
        if not isinstance(ann.shape, Box):
            owner[masks.rasterize(ann.shape, item.height, item.width)] = k
    found = []
    for k, ann in enumerate(ordered, 1):
        visible = owner == k
        if isinstance(ann.shape, Box) or not visible.any():
            found.append((ann.label, Box(*bounds(ann.shape))))
        else:
            found.append((ann.label, masks.encode(visible)))
    return found


# -- round trips --------------------------------------------------------------------------------

@EXAMPLES
@given(datasets(image_items(boxes_in, attrs=voc_attributes())))
def test_boxes_and_attributes_round_trip_exactly(dataset):
    back, report = export_and_load(dataset)
    assert report.skipped == () and back.labels == dataset.used_labels()
    found = {i.name: i for i in back.items}
    for item in dataset.items:
        got = found[item.name]
        assert (got.subset, got.width, got.height) == (item.subset, item.width, item.height)
        ordered = sorted(item.annotations, key=lambda a: a.z_order)
        assert [a.label for a in got.annotations] == [a.label for a in ordered]
        for ours, back_ann in zip(ordered, got.annotations):
            assert close(box_values(back_ann.shape), box_values(ours.shape), 1e-9)
            assert dict(back_ann.attributes) == kept(ours.attributes)


@EXAMPLES
@given(datasets(image_items(segmentable, sizes=(12, 48))))
def test_polygons_and_masks_come_back_as_their_visible_pixels(dataset):
    back, report = export_and_load(dataset)
    found = {i.name: i for i in back.items}
    for item in dataset.items:
        got = [(a.label, a.shape) for a in found[item.name].annotations]
        want = expected(item)
        assert [label for label, _ in got] == [label for label, _ in want]
        for (_, shape), (_, target) in zip(got, want, strict=True):
            assert type(shape) is type(target)
            if isinstance(target, Mask):
                assert np.array_equal(masks.decode(shape), masks.decode(target))
            else:
                assert close(box_values(shape), box_values(target), 1e-9)


def test_the_1_based_convention_on_disk(tmp_path):
    dataset = Dataset(labels=["a"], items=[Item("p.png", width=8, height=8, annotations=[
        annotation("a", Box(0, 0, 1, 1)), annotation("a", Box(2.25, 3, 5.5, 8))])])
    voc.FORMAT.export(dataset, tmp_path)
    xml = (tmp_path / "Annotations/p.xml").read_text()
    # the single pixel (0, 0) is VOC pixel 1..1; fractions are written in full
    assert "<xmin>1</xmin>\n      <ymin>1</ymin>\n      <xmax>1</xmax>\n      <ymax>1</ymax>" in xml
    assert "<xmin>3.25</xmin>\n      <ymin>4</ymin>\n      <xmax>5.5</xmax>\n      <ymax>8</ymax>" in xml


def test_layout_palette_pngs_labelmap_media_and_what_is_skipped(tmp_path):
    square = Polygon.from_rings([(1, 1), (5, 1), (5, 4), (1, 4)])
    dataset = with_images(Dataset(labels=["cat", "dog"], items=[
        Item("x/one.png", width=8, height=6, subset="train", annotations=[
            annotation("dog", square), annotation("cat", Points(((1, 1),))),
            annotation("cat", RotatedBox(3, 3, 2, 2, 10)), annotation("cat", Tag())]),
        Item("two.png", width=8, height=6, subset="val", annotations=[
            annotation("cat", Box(0, 0, 2, 2))])]), tmp_path / "src")
    dataset.items.append(Item("song.wav", media="audio"))
    calls = []
    report = voc.FORMAT.export(dataset, tmp_path / "out", progress=lambda d, t: calls.append(d))
    out = tmp_path / "out"
    assert (out / "labelmap.txt").read_text() == (
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:128,0,0::\ndog:0,128,0::\n")
    assert (out / "ImageSets/Main/train.txt").read_text() == "x/one\n"
    assert (out / "ImageSets/Main/val.txt").read_text() == "two\n"
    assert (out / "ImageSets/Segmentation/train.txt").read_text() == "x/one\n"
    assert not (out / "ImageSets/Segmentation/val.txt").exists()
    for folder, value in (("SegmentationClass", 2), ("SegmentationObject", 1)):
        with Image.open(out / folder / "x/one.png") as png:
            assert png.mode == "P" and png.getpalette()[:9] == [*COLOURS[0], *COLOURS[1], *COLOURS[2]]
            pixels = np.array(png)
        assert np.array_equal(pixels == value, masks.rasterize(square, 6, 8))
        assert set(np.unique(pixels)) == {0, value}
    assert (out / "JPEGImages/x/one.png").read_bytes() == dataset.items[0].media_path.read_bytes()
    assert calls == [1, 2, 3] and report.items == 2 and report.shapes == 2
    assert [s.split(":")[1].split("'")[0].strip() for s in report.skipped] == [
        "points", "rotated_box", "tag", "audio items have no place in Pascal VOC"]


def test_text_xml_cannot_hold_is_left_out_and_said_so(tmp_path):
    dataset = Dataset(labels=["a"], items=[Item("p.png", width=4, height=4, annotations=[
        annotation("a", Box(0, 0, 2, 2), pose="\x1b", note="line\r\nbreak", ok="fine")])])
    back, report = export_and_load(dataset)
    assert dict(back.items[0].annotations[0].attributes) == {"ok": "fine"}
    assert [s.split("attribute ")[1] for s in report.skipped] == [
        "'note' holds characters XML cannot keep: not written",
        "'pose' holds characters XML cannot keep: not written"]


def test_labels_voc_cannot_write_are_refused(tmp_path):
    dataset = Dataset(labels=["a:b"], items=[Item("p.png", width=4, height=4)])
    with pytest.raises(ValidationError, match="label 'a:b' cannot be written"):
        voc.FORMAT.export(dataset, tmp_path)


# -- the independent reader: datumaro -----------------------------------------------------------

@settings(max_examples=10, deadline=None)
@given(datasets(image_items(segmentable, folders=False, sizes=(12, 40))))
def test_datumaro_reads_our_export(dataset):
    from datumaro.components.annotation import AnnotationType
    from datumaro.components.dataset import Dataset as DmDataset

    with tempfile.TemporaryDirectory() as tmp:
        voc.FORMAT.export(dataset, Path(tmp))
        theirs = DmDataset.import_from(tmp, "voc", coordinate_mode="voc-one-based")
        names = [c.name for c in theirs.categories()[AnnotationType.label]]
        assert names == ["background", *dataset.used_labels()]
        assert len(theirs) == len(dataset.items)
        for item in dataset.items:
            found = theirs.get(Path(item.name).stem, item.subset)
            assert found.media.size == (item.height, item.width)
            want = expected(item)
            # every object is a box in the XML; the painted ones are masks in the PNGs too
            boxes = [a for a in found.annotations if a.type == AnnotationType.bbox]
            assert len(boxes) == len(want)
            for their, (label, shape) in zip(boxes, want):
                x, y, w, h = their.get_bbox()
                target = shape if isinstance(shape, Box) else Box(*masks.mask_bbox(shape))
                assert names[their.label] == label
                assert close((x, y, x + w, y + h), box_values(target), 0.5)
            theirs_masks = sorted((names[a.label], a.image.astype(bool).tobytes())
                                  for a in found.annotations if a.type == AnnotationType.mask)
            ours_masks = sorted((label, masks.decode(shape).tobytes())
                                for label, shape in want if isinstance(shape, Mask))
            assert theirs_masks == ours_masks


def datumaro_export(tmp_path: Path, coordinate_mode: str) -> Path:
    from datumaro.components.annotation import AnnotationType, Bbox, LabelCategories
    from datumaro.components.annotation import Mask as DmMask
    from datumaro.components.dataset import Dataset as DmDataset
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image as DmImage

    blob = np.zeros((20, 30), dtype=np.uint8)
    blob[12:18, 20:28] = 1
    items = [DatasetItem(id="im1", subset="train", media=DmImage.from_numpy(np.zeros((20, 30, 3))),
                         annotations=[Bbox(2, 3, 5, 6, label=0, attributes={"pose": "Left"}),
                                      Bbox(1, 1, 4, 4, label=1),
                                      DmMask(blob, label=1)])]
    cats = {AnnotationType.label: LabelCategories.from_iterable(["cat", "dog"])}
    DmDataset.from_iterable(items, categories=cats).export(
        str(tmp_path), "voc", coordinate_mode=coordinate_mode, label_map="source")
    return tmp_path


def test_we_read_datumaros_export(tmp_path):
    back = voc.FORMAT.load(datumaro_export(tmp_path, "voc-one-based"))
    assert back.labels == ["cat", "dog"]
    (item,) = back.items
    assert (item.name, item.subset, item.width, item.height) == ("im1.jpg", "train", 30, 20)
    got = [(a.label, a.shape) for a in item.annotations]
    assert [(label, box_values(shape)) for label, shape in got[:2]] == [
        ("cat", (2, 3, 7, 9)), ("dog", (1, 1, 5, 5))]
    assert dict(item.annotations[0].attributes) == {"pose": "Left"}
    label, mask = got[2]
    assert label == "dog" and masks.decode(mask)[12:18, 20:28].all() and masks.mask_area(mask) == 48


def test_datumaros_default_mode_writes_coordinates_not_voc_pixels(tmp_path):
    """datumaro's default `dm-zero-based` writes its own coordinates, so a VOC reader (and we)
    see the box one pixel further left and up: the quirk its `voc-one-based` mode fixes."""
    back = voc.FORMAT.load(datumaro_export(tmp_path, "dm-zero-based"))
    assert box_values(back.items[0].annotations[0].shape) == (1, 2, 7, 9)


# -- VOC 2012 as published ----------------------------------------------------------------------

VOC2012_XML = """<annotation>
\t<folder>VOC2012</folder>
\t<filename>2007_000032.jpg</filename>
\t<size><width>6</width><height>4</height><depth>3</depth></size>
\t<segmented>1</segmented>
\t<object><name>aeroplane</name><pose>Frontal</pose><truncated>0</truncated>
\t\t<difficult>0</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>2</ymax></bndbox>
\t</object>
\t<object><name>person</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
\t\t<bndbox><xmin>5</xmin><ymin>3</ymin><xmax>6</xmax><ymax>4</ymax></bndbox>
\t</object>
</annotation>
"""


def test_voc2012_pairs_objects_with_instances_and_ignores_void(tmp_path):
    """No labelmap (VOC's 20 classes), trainval after train/val, per-class lists skipped,
    255 borders around instances, objects k paired with instance k."""
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations/2007_000032.xml").write_text(VOC2012_XML)
    sets = tmp_path / "ImageSets/Main"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("2007_000032\n")
    (sets / "trainval.txt").write_text("2007_000032\n")
    (sets / "aeroplane_train.txt").write_text("2007_000032  1\n")
    inst = np.array([[1, 1, 1, 255, 0, 0], [1, 1, 255, 0, 0, 0],
                     [255, 255, 0, 0, 2, 2], [0, 0, 0, 0, 2, 255]], dtype=np.uint8)
    cls = np.where(inst == 1, 1, np.where(inst == 2, 15, inst)).astype(np.uint8)
    for folder, pixels in (("SegmentationObject", inst), ("SegmentationClass", cls)):
        (tmp_path / folder).mkdir()
        image = Image.fromarray(pixels)
        image.putpalette([v for c in COLOURS for v in c])
        image.save(tmp_path / folder / "2007_000032.png")
    back = voc.FORMAT.load(tmp_path)
    assert back.labels == ["aeroplane", "person"]
    (item,) = back.items
    assert (item.name, item.subset, item.width, item.height) == ("2007_000032.jpg", "train", 6, 4)
    plane, person = item.annotations
    assert isinstance(plane.shape, Mask) and masks.mask_area(plane.shape) == 5
    assert dict(plane.attributes) == {"pose": "Frontal"}
    assert np.array_equal(masks.decode(person.shape), inst == 2)
    assert dict(person.attributes) == {"pose": "Left", "truncated": True}


# -- bad input ----------------------------------------------------------------------------------

def voc_dir(tmp_path: Path, xml: str | bytes) -> Path:
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations/a.xml").write_bytes(xml.encode() if isinstance(xml, str) else xml)
    return tmp_path


def obj(inner: str) -> str:
    return f"<annotation><size><width>4</width><height>4</height></size><object>{inner}</object></annotation>"


BOX = "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>"


@pytest.mark.parametrize(("xml", "message"), [
    ("<annotation>\n<object>\n<name>a</nme>\n", r"Annotations/a.xml:3: not well-formed XML"),
    ("<doc/>", "Annotations/a.xml: the root element is <doc>"),
    (obj(BOX), r"Annotations/a.xml: object\[0\].name: missing or empty"),
    (obj("<name>a</name><bndbox><xmin>x</xmin></bndbox>"),
     r"Annotations/a.xml: object\[0\].bndbox.xmin: expected a number, got 'x'"),
    (obj("<name>a</name><bndbox><xmin>1e400</xmin></bndbox>"),
     r"Annotations/a.xml: object\[0\].bndbox.xmin: must be finite"),
    (obj(f"<name>a</name>{BOX}<truncated>yes</truncated>"),
     r"Annotations/a.xml: object\[0\].truncated: expected 0 or 1"),
    ("<annotation><size><width>-4</width><height>4</height></size></annotation>",
     "Annotations/a.xml: size/width: expected a positive integer"),
    (obj(f"<name>a</name>{BOX}<attributes><attribute><value>1</value></attribute></attributes>"),
     r"Annotations/a.xml: object\[0\].attributes\[0\].name: missing or empty"),
    (b"<annotation><filename>\xff</filename></annotation>", "Annotations/a.xml: not UTF-8"),
    ('<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><annotation>&b;</annotation>',
     "Annotations/a.xml: refused"),
])
def test_bad_xml_names_the_file_and_field(tmp_path, xml, message):
    with pytest.raises(ValidationError, match=f"^{message}"):
        voc.FORMAT.load(voc_dir(tmp_path, xml))


def write_png(path: Path, pixels: np.ndarray, mode: str = "P") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels)
    if mode == "P":
        image.putpalette([v for c in COLOURS for v in c])
    image.save(path)


def test_bad_segmentation_pngs_and_labelmaps(tmp_path):
    folder = voc_dir(tmp_path, obj(f"<name>a</name>{BOX}"))
    write_png(folder / "SegmentationClass/a.png", np.zeros((5, 4), dtype=np.uint8))
    with pytest.raises(ValidationError, match="^SegmentationClass/a.png: is 4x5, the XML says 4x4"):
        voc.FORMAT.load(folder)
    write_png(folder / "SegmentationClass/a.png", np.full((4, 4, 3), 7, dtype=np.uint8), "RGB")
    with pytest.raises(ValidationError, match=r"^SegmentationClass/a.png: colour \(7, 7, 7\) is not"):
        voc.FORMAT.load(folder)
    write_png(folder / "SegmentationClass/a.png", np.full((4, 4), 40, dtype=np.uint8))
    with pytest.raises(ValidationError, match="^SegmentationClass/a.png: class index 40 is not"):
        voc.FORMAT.load(folder)
    (folder / "labelmap.txt").write_text("background:0,0,0::\na:300,0,0::\n")
    with pytest.raises(ValidationError, match="^labelmap.txt:2: colour '300,0,0'"):
        voc.FORMAT.load(folder)
    (folder / "SegmentationClass/a.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    (folder / "labelmap.txt").unlink()
    with pytest.raises(ValidationError, match="^SegmentationClass/a.png: not a readable PNG"):
        voc.FORMAT.load(folder)


def test_instance_without_class_and_listed_id_without_files(tmp_path):
    folder = voc_dir(tmp_path, "<annotation><size><width>4</width><height>4</height></size></annotation>")
    write_png(folder / "SegmentationObject/a.png", np.ones((4, 4), dtype=np.uint8))
    with pytest.raises(ValidationError, match="^SegmentationObject/a.png: instance 1 has no class"):
        voc.FORMAT.load(folder)
    (folder / "ImageSets/Main").mkdir(parents=True)
    (folder / "ImageSets/Main/train.txt").write_text("gone\n")
    with pytest.raises(ValidationError, match="^ImageSets/Main/train.txt:1: no Annotations/gone.xml"):
        voc.FORMAT.load(folder)


def test_not_a_voc_folder(tmp_path):
    with pytest.raises(ValidationError, match="not a Pascal VOC folder"):
        voc.FORMAT.load(tmp_path)
