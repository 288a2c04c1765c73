"""Pascal VOC: XML boxes plus segmentation PNGs, in the VOC 2012 layout.

Written:
    Annotations/<id>.xml                 filename, size, segmented, one <object> per shape
    ImageSets/Main/<subset>.txt          every image id of the subset
    ImageSets/Segmentation/<subset>.txt  the ids that have segmentation PNGs
    SegmentationClass/<id>.png           palette PNG: class index per pixel (0 background)
    SegmentationObject/<id>.png          palette PNG: object index per pixel (0 background)
    JPEGImages/<item name>               the media, hard-linked or copied when known
    labelmap.txt                         datumaro's `name:r,g,b:parts:actions`, background first
`<id>` is the item name without its extension (folders kept).

Boxes, VOC's 1-based convention: VOC numbers pixels from 1 and its boxes are inclusive, so the
box over our pixels [x1, x2) x [y1, y2) is written xmin = x1 + 1, ymin = y1 + 1, xmax = x2,
ymax = y2, and read back the same way (datumaro's `voc-one-based` mode; detectron2 too).
Numbers are written in full (integers without ".0"), so boxes survive to float rounding.

Polygons and masks: painted into both PNGs in z-order (later shapes on top), rasterized by
pycocotools' rule (`app.annotators.masks`); holes and parts survive, vertices do not: they come
back as masks of their visible pixels. As in VOC 2012, object index k in SegmentationObject
is the k-th <object> in the XML, whose box is then the extent of its pixels. Reading pairs
them back when the labels agree and the boxes overlap (IoU >= 0.5); other instances become
masks of their own, other objects boxes. 255 is void and read as nothing.

Attributes: pose (text), truncated, difficult and occluded (true/false) in VOC's own elements,
any other in datumaro's <attributes><attribute><name/><value/></attribute></attributes>, read
back as true/false, integers and floats when they look like one. VOC's defaults (Unspecified,
0) are not kept as attributes. Rotated boxes, lines, points and tags have no place in VOC.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # building only: reading goes through defusedxml
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from app.annotators import masks
from app.annotators.annotation import Annotation, AttrValue
from app.annotators.geometry import bounds
from app.annotators.shapes import Box, Mask, Polygon
from app.core.errors import ValidationError
from app.formats import _voc_masks as vm
from app.formats._media_files import (
    ImageExport, find_image, item_size, place_media, read_text, relative, safe_name,
    write_atomic,
)
from app.formats.base import Dataset, ExportReport, Item, Progress, located_in

FLAGS = ("truncated", "difficult", "occluded")
MAX_INDEX = 254  # 255 is void in both PNGs
_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")
_XML_BAD = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class VocFormat:
    name = "voc"
    title = "Pascal VOC 2012 (detection and segmentation)"
    media = frozenset({"image"})
    can_import = True
    can_export = True
    precision = ("boxes exact (1-based numbers written in full); polygons and masks as pixel "
                 "masks of their visible pixels (pycocotools' rule); attributes kept")

    def export(self, dataset: Dataset, out: Path, *, progress: Progress | None = None
               ) -> ExportReport:
        out = Path(out)
        classes = vm.class_names(dataset.used_labels())
        index = {name: i for i, name in enumerate(classes)}
        lists: dict[tuple[str, str], list[str]] = {}
        done = ImageExport("Pascal VOC")

        def write_item(item: Item) -> tuple[list[Path], int]:
            files, count, segmented = _export_item(item, index, out, done.skipped)
            item_id = safe_name(item).with_suffix("").as_posix()
            for task in ("Main", "Segmentation") if segmented else ("Main",):
                lists.setdefault((task, item.subset), []).append(item_id)
            return files, count

        done.run(dataset, write_item, progress)
        for (task, subset), ids in lists.items():
            text = "".join(f"{i}\n" for i in ids)
            done.files.append(write_atomic(out / "ImageSets" / task / f"{subset}.txt", text))
        done.files.append(write_atomic(out / "labelmap.txt", vm.labelmap_text(classes)))
        return done.report()

    def load(self, path: Path) -> Dataset:
        root = Path(path)
        if not any((root / d).is_dir() for d in ("Annotations", "ImageSets", vm.CLASS_DIR)):
            raise ValidationError("not a Pascal VOC folder (no Annotations, ImageSets or "
                                  f"{vm.CLASS_DIR})", where=str(root))
        classes, colours = vm.read_labelmap(root)
        dataset = Dataset(labels=[c for c in classes if c != "background"]
                          if (root / "labelmap.txt").is_file() else [])
        for item_id, subset, listed_in in _item_ids(root):
            item = _read_item(root, item_id, listed_in, classes, colours)
            item.subset = subset
            for ann in item.annotations:
                dataset.add_label(ann.label)
            dataset.items.append(item)
        return dataset


FORMAT = VocFormat()


# -- export -------------------------------------------------------------------------------------

@dataclass
class _Object:
    ann: Annotation
    box: tuple[float, float, float, float] | None = None  # our coordinates, x1 y1 x2 y2
    bits: np.ndarray | None = None  # pixels, for polygons and masks
    pixel_box: bool = False  # the box is a pixel extent (from the PNG), not the shape's


def _export_item(item: Item, index: dict[str, int], out: Path, skipped: list[str]
                 ) -> tuple[list[Path], int, bool]:
    width, height = item_size(item, "Pascal VOC")
    name = safe_name(item)
    item_id = name.with_suffix("").as_posix()

    def note(ann: Annotation, why: str) -> None:
        skipped.append(f"{item.name}: {ann.shape.kind} {ann.label!r} {why}")

    objects = [o for ann in sorted(item.annotations, key=lambda a: a.z_order)
               if (o := _object(ann, width, height, note)) is not None]
    classes, instances = _paint(objects, index, height, width, note)
    root = _xml(item, name.name, width, height, objects, note)
    files = [write_atomic(out / "Annotations" / f"{item_id}.xml",
                          ET.tostring(root, encoding="unicode") + "\n")]
    segmented = root.findtext("segmented") == "1"
    if segmented:
        files.append(write_atomic(out / vm.CLASS_DIR / f"{item_id}.png", vm.png_bytes(classes)))
        files.append(write_atomic(out / vm.OBJECT_DIR / f"{item_id}.png", vm.png_bytes(instances)))
    copied = place_media(item, out / "JPEGImages" / name)
    return files + ([copied] if copied else []), len(objects), segmented


def _object(ann: Annotation, width: int, height: int, note) -> _Object | None:
    shape = ann.shape
    if isinstance(shape, Box):
        return _Object(ann, box=(shape.x1, shape.y1, shape.x2, shape.y2))
    if isinstance(shape, Mask) and (shape.width, shape.height) != (width, height):
        note(ann, f"is {shape.width}x{shape.height}, not the image's {width}x{height}")
        return None
    if isinstance(shape, (Polygon, Mask)):
        if isinstance(shape, Mask) and masks.mask_bbox(shape) is None:
            note(ann, "is empty")
            return None
        return _Object(ann, box=bounds(shape), bits=masks.rasterize(shape, height, width))
    note(ann, "has no place in Pascal VOC (boxes, polygons and masks only)")
    return None


def _paint(objects: list[_Object], index: dict[str, int], height: int, width: int, note
           ) -> tuple[np.ndarray, np.ndarray]:
    """Both PNGs, later objects on top; a segmented object's box becomes its pixel extent."""
    classes = np.zeros((height, width), dtype=np.uint8)
    instances = np.zeros((height, width), dtype=np.uint8)
    for k, obj in enumerate(objects, 1):
        if obj.bits is None:
            continue
        if k > MAX_INDEX or index[obj.ann.label] > MAX_INDEX:
            note(obj.ann, f"is past index {MAX_INDEX} of the 8-bit PNGs: written as its box only")
            obj.bits = None
            continue
        classes[obj.bits] = index[obj.ann.label]
        instances[obj.bits] = k
    for k, obj in enumerate(objects, 1):
        if obj.bits is not None:
            rows, cols = np.nonzero(instances == k)
            if rows.size:
                obj.box = (float(cols.min()), float(rows.min()),
                           float(cols.max() + 1), float(rows.max() + 1))
                obj.pixel_box = True
            else:
                note(obj.ann, "has no visible pixel (covered, or too thin to cover a pixel): "
                              "written as its box only")
    return classes, instances


def _xml(item: Item, filename: str, width: int, height: int, objects: list[_Object], note
         ) -> ET.Element:
    if not _xml_safe(filename):
        raise ValidationError("the file name holds characters XML cannot keep", where=item.name)
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for tag, value in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = str(int(any(o.pixel_box for o in objects)))
    for obj in objects:
        attrs = dict(obj.ann.attributes)
        elem = ET.SubElement(root, "object")
        ET.SubElement(elem, "name").text = obj.ann.label
        pose = attrs.get("pose")
        plain = isinstance(pose, str) and pose != "" and pose.strip() == pose and _xml_safe(pose)
        ET.SubElement(elem, "pose").text = attrs.pop("pose") if plain else "Unspecified"
        for flag in FLAGS:
            ET.SubElement(elem, flag).text = "1" if attrs.get(flag) is True else "0"
            if isinstance(attrs.get(flag), bool):
                del attrs[flag]
        x1, y1, x2, y2 = obj.box or (0.0, 0.0, 0.0, 0.0)
        box = ET.SubElement(elem, "bndbox")
        for tag, value in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            ET.SubElement(box, tag).text = _coord(value)
        _write_attributes(elem, attrs, lambda why, a=obj.ann: note(a, why))
    ET.indent(root)
    return root


def _xml_safe(text: str) -> bool:
    """Whether XML 1.0 keeps `text` as is (a carriage return would come back as a newline)."""
    return not _XML_BAD.search(text) and "\r" not in text


def _coord(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _write_attributes(elem: ET.Element, attrs: dict[str, AttrValue], note) -> None:
    if not attrs:
        return
    block = ET.SubElement(elem, "attributes")
    for key, value in attrs.items():
        text = ("true" if value else "false") if isinstance(value, bool) else (
            repr(value) if isinstance(value, float) else str(value))
        if not _xml_safe(key + text):
            note(f"attribute {key!r} holds characters XML cannot keep: not written")
            continue
        attr = ET.SubElement(block, "attribute")
        ET.SubElement(attr, "name").text = key
        ET.SubElement(attr, "value").text = text


# -- import -------------------------------------------------------------------------------------

def _item_ids(root: Path) -> Iterator[tuple[str, str, str]]:
    """(id, subset, where it is listed) from ImageSets, or every XML and PNG when there are
    none. trainval comes last, so that its ids keep their train or val subset."""
    seen: set[str] = set()
    lists = [p for task in ("Main", "Segmentation")
             for p in sorted((root / "ImageSets" / task).glob("*.txt"))]
    lists.sort(key=lambda p: p.stem == "trainval")
    for listing in lists:
        where = relative(listing, root)
        rows = [line.split() for line in read_text(listing, where).splitlines()]
        if any(len(r) > 1 for r in rows):
            continue  # a per-class list ("cat_train.txt": id and 1/-1), not a subset
        for number, row in enumerate(rows, 1):
            if row and row[0] not in seen:
                seen.add(row[0])
                yield row[0], listing.stem, located_in(where, number)
    if not lists:
        found = [p.relative_to(root / d).with_suffix("").as_posix()
                 for d, ext in (("Annotations", "xml"), (vm.CLASS_DIR, "png"), (vm.OBJECT_DIR, "png"))
                 for p in sorted((root / d).rglob(f"*.{ext}"))]
        for item_id in dict.fromkeys(found):
            yield item_id, "default", item_id


def _read_item(root: Path, item_id: str, listed_in: str, classes: list[str],
               colours: dict[tuple[int, int, int], int]) -> Item:
    xml_path = root / "Annotations" / f"{item_id}.xml"
    found = _parse_xml(xml_path, relative(xml_path, root)) if xml_path.is_file() else None
    pngs = [vm.read_index_png(root / d / f"{item_id}.png", table, root)
            for d, table in ((vm.OBJECT_DIR, vm.INSTANCE_COLOURS), (vm.CLASS_DIR, colours))]
    if found is None and pngs == [None, None]:
        raise ValidationError(f"no Annotations/{item_id}.xml and no segmentation PNG",
                              where=listed_in)
    filename, size, objects = found or (None, None, [])
    for png, folder in zip(pngs, (vm.OBJECT_DIR, vm.CLASS_DIR)):
        if png is None:
            continue
        if size is not None and png.shape != (size[1], size[0]):
            raise ValidationError(f"is {png.shape[1]}x{png.shape[0]}, the XML says "
                                  f"{size[0]}x{size[1]}", where=f"{folder}/{item_id}.png")
        size = (png.shape[1], png.shape[0])
    folder = item_id.rpartition("/")[0]
    if filename is None:
        image = find_image(root / "JPEGImages", item_id)
        filename = image.name if image else f"{item_id.rpartition('/')[2]}.jpg"
    name = f"{folder}/{filename}" if folder else filename
    media = root / "JPEGImages" / name
    item = Item(name=name, width=size[0] if size else None, height=size[1] if size else None,
                media_path=media if media.is_file() else None)
    item.annotations = vm.annotations(objects, pngs[0], pngs[1], classes, item_id)
    return item


def _parse_xml(path: Path, where: str) -> tuple[str | None, tuple[int, int] | None, list[vm.XmlObject]]:
    try:
        root = SafeET.fromstring(read_text(path, where))
    except SafeET.ParseError as exc:
        raise ValidationError(f"not well-formed XML: {exc}", where=located_in(where, exc.position[0])) from None
    except DefusedXmlException as exc:
        raise ValidationError(f"refused: {exc}", where=where) from None
    if root.tag != "annotation":
        raise ValidationError(f"the root element is <{root.tag}>, not <annotation>", where=where)
    size = None
    if root.find("size") is not None:
        size = (_integer(root, "size/width", where), _integer(root, "size/height", where))
    objects = [_read_object(elem, f"{where}: object[{i}]")
               for i, elem in enumerate(root.iterfind("object"))]
    return root.findtext("filename"), size, objects


def _integer(root: ET.Element, path: str, where: str) -> int:
    text = (root.findtext(path) or "").strip()
    if not _INT.fullmatch(text) or int(text) < 1:
        raise ValidationError(f"expected a positive integer, got {text!r}", where=f"{where}: {path}")
    return int(text)


def _read_object(elem: ET.Element, where: str) -> vm.XmlObject:
    label = elem.findtext("name")
    if not label or not label.strip():
        raise ValidationError("missing or empty", where=f"{where}.name")
    numbers = []
    for tag in ("xmin", "ymin", "xmax", "ymax"):
        text = (elem.findtext(f"bndbox/{tag}") or "").strip()
        if not _FLOAT.fullmatch(text):
            raise ValidationError(f"expected a number, got {text!r}", where=f"{where}.bndbox.{tag}")
        if not np.isfinite(float(text)):
            raise ValidationError(f"must be finite, got {text}", where=f"{where}.bndbox.{tag}")
        numbers.append(float(text))
    xmin, ymin, xmax, ymax = numbers
    attrs: dict[str, AttrValue] = {}
    pose = elem.findtext("pose") or ""
    if pose.strip() not in ("", "Unspecified"):
        attrs["pose"] = pose
    for flag in FLAGS:
        text = (elem.findtext(flag) or "0").strip()
        if text not in ("0", "1"):
            raise ValidationError(f"expected 0 or 1, got {text!r}", where=f"{where}.{flag}")
        if text == "1":
            attrs[flag] = True
    for i, attr in enumerate(elem.iterfind("attributes/attribute")):
        key = attr.findtext("name")
        if not key:
            raise ValidationError("missing or empty", where=f"{where}.attributes[{i}].name")
        attrs[key] = _attr_value(attr.findtext("value") or "")
    return vm.XmlObject(label, Box(xmin - 1, ymin - 1, xmax, ymax), attrs)


def _attr_value(text: str) -> AttrValue:
    if text in ("true", "false", "True", "False"):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text) and np.isfinite(float(text)):
        return float(text)
    return text
