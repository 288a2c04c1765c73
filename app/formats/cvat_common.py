"""What CVAT for images 1.1 and CVAT for video 1.1 share: reading the XML safely (defusedxml,
with the line of every element for error messages), `<attribute>` children, shape geometry, CVAT's mask RLE and the `source` flag.

CVAT mask RLE (as CVAT writes it and datumaro reads it): `rle="3, 5, 7"` are run lengths over
the mask's bounding box `left, top, width, height`, row by row, alternating background and
foreground and starting with background (a leading 0 when the first pixel is set).

Numbers are written with `repr`, the shortest text that reads back bit for bit (CVAT itself
writes two decimals; CVAT and datumaro both read any float).
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from app.annotators import masks
from app.annotators.annotation import AttrValue
from app.annotators.shapes import (
    Box, Mask, Points, Polygon, Polyline, RotatedBox, Shape, normalize_angle,
)
from app.core.errors import ValidationError
from app.formats.base import Dataset, ExportReport, Item, located_in
from app.core.files import atomic_file

VERSION = "1.1"
SHAPE_TAGS = ("box", "polygon", "polyline", "points", "mask")
SOURCE_OUT = {"human": "manual", "model": "auto", "consensus": "consensus"}
SOURCE_IN = {"manual": "human", "file": "human", "auto": "model", "semi-auto": "model",
             "consensus": "consensus"}
# our attribute types -> CVAT input types; CVAT select and radio read back as text
INPUT_TYPES = {"bool": "checkbox", "enum": "select", "number": "number", "text": "text"}
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r\ud800-\udfff\ufffe\uffff]")
_RLE = re.compile(r"\s*\d+(\s*,\s*\d+)*\s*")


class Unwritable(Exception):
    """A shape or value CVAT cannot hold; the message says why (it goes to the export report)."""


# -- reading ------------------------------------------------------------------------------------

class _LineBuilder(ET.TreeBuilder):
    """Remembers the line each element starts on (ElementTree itself forgets it)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[ET.Element, int] = {}
        self.expat: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element = super().start(tag, attrs)
        self.lines[element] = self.expat.CurrentLineNumber
        return element


@dataclass
class XmlDoc:
    path: Path
    root: ET.Element
    lines: dict[ET.Element, int] = field(repr=False)

    def fail(self, element: ET.Element, message: str, field_path: str | None = None
             ) -> ValidationError:
        return ValidationError(message, where=located_in(self.path, self.lines.get(element),
                                                         field_path))

    def text(self, element: ET.Element, name: str, default: str | None = None) -> str:
        value = element.get(name, default)
        if value is None:
            raise self.fail(element, "missing attribute", f"{element.tag}.{name}")
        return value

    def integer(self, element: ET.Element, name: str, default: int | None = None,
                minimum: int | None = 0) -> int:
        if name not in element.attrib and default is not None:
            return default
        text = self.text(element, name)
        value = int(text) if re.fullmatch(r"\s*[-+]?\d+\s*", text) else None
        if value is None or (minimum is not None and value < minimum):
            low = "" if minimum is None else f" from {minimum}"
            raise self.fail(element, f"expected an integer{low}, got {text!r}",
                            f"{element.tag}.{name}")
        return value

    def number(self, element: ET.Element, name: str) -> float:
        value = parse_float(self.text(element, name))
        if value is None:
            raise self.fail(element, f"expected a number, got {element.get(name)!r}",
                            f"{element.tag}.{name}")
        return value

    def flag(self, element: ET.Element, name: str, default: bool = False) -> bool:
        raw = element.get(name, "1" if default else "0").strip().lower()
        if raw not in ("0", "1", "false", "true"):
            raise self.fail(element, f"expected 0 or 1, got {raw!r}", f"{element.tag}.{name}")
        return raw in ("1", "true")

    def child_text(self, parent: ET.Element | None, path: str) -> str | None:
        found = None if parent is None else parent.find(path)
        return None if found is None else (found.text or "").strip()


def parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def read_xml(path: Path) -> XmlDoc:
    """The parsed document, or a ValidationError with the file and line (DTDs are refused)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read: {exc.strerror or exc}", where=str(path)) from None
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.expat = parser.parser
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        reason = str(exc).split(": line")[0]
        raise ValidationError(f"not well-formed UTF-8 XML: {reason}",
                              where=located_in(path, exc.position[0])) from None
    except DefusedXmlException as exc:
        raise ValidationError(f"refused XML with DTDs or entities ({type(exc).__name__})",
                              where=str(path)) from None
    doc = XmlDoc(path, root, builder.lines)
    if root.tag != "annotations":
        raise doc.fail(root, f"the root element is <{root.tag}>, not <annotations>")
    return doc


def xml_files(path: Path) -> list[Path]:
    """A file itself, or the .xml files directly inside a folder, sorted by name."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ValidationError("no such file or folder", where=str(path))
    found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".xml" and p.is_file())
    if not found:
        raise ValidationError("no .xml annotation file in this folder", where=str(path))
    return found


def read_labels(doc: XmlDoc) -> dict[str, dict[str, str]]:
    """Label name -> {attribute name -> input type}, in the order `<meta>` declares them."""
    meta = doc.root.find("meta")
    if meta is None:
        raise doc.fail(doc.root, "missing <meta> (a CVAT 1.1 file declares its labels there)")
    labels: dict[str, dict[str, str]] = {}
    for label in meta.iter("label"):
        name = doc.child_text(label, "name")
        if not name:
            raise doc.fail(label, "a label without a name", "label.name")
        attrs: dict[str, str] = {}
        for attr in label.iterfind("attributes/attribute"):
            attr_name = doc.child_text(attr, "name")
            if not attr_name:
                raise doc.fail(attr, "an attribute without a name", "attribute.name")
            attrs[attr_name] = doc.child_text(attr, "input_type") or "text"
        labels[name] = attrs
    return labels


def read_attributes(doc: XmlDoc, element: ET.Element, types: Mapping[str, str]
                    ) -> dict[str, AttrValue]:
    """The `<attribute>` children, typed by the label's declared input types."""
    values: dict[str, AttrValue] = {}
    for attr in element.iterfind("attribute"):
        name = attr.get("name")
        if not name:
            raise doc.fail(attr, "an attribute without a name", "attribute.name")
        values[name] = _typed(doc, attr, attr.text or "", types.get(name))
    return values


def _typed(doc: XmlDoc, attr: ET.Element, text: str, input_type: str | None) -> AttrValue:
    lowered = text.strip().lower()
    if input_type == "checkbox" or (input_type is None and lowered in ("true", "false")):
        if lowered not in ("true", "false"):
            raise doc.fail(attr, f"expected true or false, got {text!r}", attr.get("name"))
        return lowered == "true"
    if input_type == "number":
        try:
            return int(text.strip())
        except ValueError:
            pass
        number = parse_float(text)
        if number is None:
            raise doc.fail(attr, f"expected a number, got {text!r}", attr.get("name"))
        return number
    return text


def read_source(doc: XmlDoc, element: ET.Element) -> str:
    raw = element.get("source", "manual")
    if raw.lower() not in SOURCE_IN:
        raise doc.fail(element, f"unknown source {raw!r} (known: {', '.join(SOURCE_IN)})",
                       f"{element.tag}.source")
    return SOURCE_IN[raw.lower()]


def read_shape(doc: XmlDoc, element: ET.Element, size: tuple[int, int] | None) -> Shape:
    """The shape an element draws; `size` is (width, height) of the frame, needed by masks."""
    tag = element.tag
    try:
        if tag == "box":
            x1, y1, x2, y2 = (doc.number(element, n) for n in ("xtl", "ytl", "xbr", "ybr"))
            if element.get("rotation") is None:
                return Box(x1, y1, x2, y2)
            if x2 < x1 or y2 < y1:
                raise ValidationError("a rotated box needs xtl <= xbr and ytl <= ybr", where="xbr")
            angle = normalize_angle(doc.number(element, "rotation"))
            return RotatedBox((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, angle)
        if tag == "mask":
            return _read_mask(doc, element, size)
        points = _points(doc, element)
        if tag == "polygon":
            return Polygon.from_rings(points)
        return Polyline(points) if tag == "polyline" else Points(points)
    except ValidationError as err:
        if err.where and str(err.where).startswith(str(doc.path)):
            raise
        message = str(err).removeprefix(f"{err.where}: ") if err.where else str(err)
        raise doc.fail(element, message, f"{tag}.{err.where}" if err.where else tag) from None


def _points(doc: XmlDoc, element: ET.Element) -> list[tuple[float, float]]:
    text = doc.text(element, "points")
    points = []
    for pair in text.split(";"):
        xy = pair.split(",")
        values = [parse_float(v) for v in xy] if len(xy) == 2 else [None]
        if None in values:
            raise doc.fail(element, f"expected 'x,y' pairs separated by ';', got {pair!r}",
                           f"{element.tag}.points")
        points.append((values[0], values[1]))
    return points  # type: ignore[return-value]


# -- masks --------------------------------------------------------------------------------------

def mask_rle(mask: Mask) -> dict[str, str]:
    """CVAT's rle/left/top/width/height of a mask; an empty mask is one background pixel."""
    bits = masks.decode(mask)
    ys, xs = np.nonzero(bits)
    if ys.size == 0:
        return {"rle": "1", "left": "0", "top": "0", "width": "1", "height": "1"}
    top, left = int(ys.min()), int(xs.min())
    crop = bits[top:int(ys.max()) + 1, left:int(xs.max()) + 1]
    flat = crop.ravel()
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], edges, [flat.size])))
    if flat[0]:
        runs = np.concatenate(([0], runs))  # CVAT runs start with background
    return {"rle": ", ".join(map(str, runs.tolist())), "left": str(left), "top": str(top),
            "width": str(crop.shape[1]), "height": str(crop.shape[0])}


def _read_mask(doc: XmlDoc, element: ET.Element, size: tuple[int, int] | None) -> Mask:
    if size is None:
        raise doc.fail(element, "a mask needs the image size, which this file does not give")
    width, height = size
    left, top = doc.integer(element, "left"), doc.integer(element, "top")
    w, h = doc.integer(element, "width", minimum=1), doc.integer(element, "height", minimum=1)
    if left + w > width or top + h > height:
        raise doc.fail(element, f"mask {w}x{h} at ({left}, {top}) leaves the {width}x{height} "
                                "image", "mask.width")
    text = doc.text(element, "rle")
    if not _RLE.fullmatch(text):
        raise doc.fail(element, "expected comma-separated run lengths", "mask.rle")
    runs = np.array(text.split(","), dtype=np.int64)
    if int(runs.sum()) != w * h:
        raise doc.fail(element, f"run lengths cover {int(runs.sum())} pixels, not {w}x{h}",
                       "mask.rle")
    crop = np.repeat(np.arange(runs.size) % 2 == 1, runs).reshape(h, w)
    canvas = np.zeros((height, width), dtype=bool)
    canvas[top:top + h, left:left + w] = crop
    return masks.encode(canvas)


# -- writing ------------------------------------------------------------------------------------

def fmt(value: float) -> str:
    return repr(float(value))


def check_text(value: str, what: str, error: type[Exception] = Unwritable) -> str:
    """`value` if XML 1.0 can carry it unchanged, else `error` naming the character."""
    bad = _UNWRITABLE.search(value)
    if bad:
        why = f"{what} {value!r} holds U+{ord(bad.group()):04X}, which XML cannot carry"
        raise Unwritable(why) if error is Unwritable else ValidationError(why, where=what)
    return value


def require_text(value: str, what: str) -> str:
    """`value`, or a ValidationError: for names the file cannot do without."""
    return check_text(value, what, ValidationError)


def geometry(shape: Shape, size: tuple[int, int] | None) -> tuple[str, dict[str, str]]:
    """(element tag, geometry attributes) of a shape; Unwritable when CVAT cannot draw it.

    Polygons with holes or several parts become masks (CVAT polygons are one ring each).
    """
    if isinstance(shape, Polygon) and (len(shape.parts) > 1 or shape.parts[0].holes):
        if size is None:
            raise Unwritable("a polygon with holes or several parts becomes a CVAT mask, "
                             "which needs the image size")
        shape = masks.polygon_to_mask(shape, size[1], size[0])
    if isinstance(shape, Box):
        return "box", {"xtl": fmt(shape.x1), "ytl": fmt(shape.y1), "xbr": fmt(shape.x2),
                       "ybr": fmt(shape.y2)}
    if isinstance(shape, RotatedBox):
        return "box", {"xtl": fmt(shape.cx - shape.w / 2), "ytl": fmt(shape.cy - shape.h / 2),
                       "xbr": fmt(shape.cx + shape.w / 2), "ybr": fmt(shape.cy + shape.h / 2),
                       "rotation": fmt(shape.angle % 360.0)}
    if isinstance(shape, Mask):
        if size is not None and (shape.width, shape.height) != size:
            raise Unwritable(f"a {shape.width}x{shape.height} mask on a {size[0]}x{size[1]} image")
        return "mask", mask_rle(shape)
    if isinstance(shape, Points) and any(v != 2 for v in shape.visibility or ()):
        raise Unwritable("points with per-point visibility (CVAT points have none; "
                         "COCO keypoints keep it)")
    if isinstance(shape, Polygon):
        return "polygon", {"points": _pairs(shape.parts[0].exterior)}
    if isinstance(shape, (Polyline, Points)):
        return shape.kind, {"points": _pairs(shape.points)}
    raise Unwritable(f"a {shape.kind} has no CVAT shape")


def _pairs(points: Iterable[tuple[float, float]]) -> str:
    return ";".join(f"{fmt(x)},{fmt(y)}" for x, y in points)


def attr_text(value: AttrValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return fmt(value) if isinstance(value, float) else str(value)


def add_attributes(element: ET.Element, values: Mapping[str, AttrValue], *,
                   occluded_is_flag: bool) -> None:
    """`<attribute>` children; a bool `occluded` goes to the element's own flag instead."""
    for name, value in values.items():
        if occluded_is_flag and name == "occluded" and isinstance(value, bool):
            continue
        child = ET.SubElement(element, "attribute", {"name": check_text(name, "attribute name")})
        child.text = check_text(attr_text(value), f"attribute {name}")


def write_document(path: Path, meta: ET.Element, body: Iterable[ET.Element]) -> None:
    """An annotations file, streamed element by element, renamed into place when complete."""
    with atomic_file(path) as out:
        out.write(f'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n'
                  f"  <version>{VERSION}</version>\n")
        for element in itertools.chain([meta], body):
            ET.indent(element, space="  ", level=1)
            out.write("  " + ET.tostring(element, encoding="unicode") + "\n")
        out.write("</annotations>\n")


@dataclass
class Tally:
    """What an export wrote, and what it could not write and why ("item: why")."""

    files: list[Path] = field(default_factory=list)
    shapes: int = 0
    skipped: list[str] = field(default_factory=list)

    def items_of(self, dataset: Dataset, media: str, holds: str) -> list[Item]:
        """The dataset's items of `media`; the others are reported as skipped."""
        self.skipped += [f"{i.name}: a {i.media} item ({holds})"
                         for i in dataset.items if i.media != media]
        return [i for i in dataset.items if i.media == media]

    def report(self, items: int) -> ExportReport:
        return ExportReport(tuple(self.files), items, self.shapes, tuple(self.skipped))


def unique_name(stem: str, taken: set[str]) -> str:
    """`stem` as a file name not yet in `taken` (then "-2", "-3", ...), added to it."""
    name, n = safe_file_name(stem, "video name"), 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    taken.add(name)
    return name


def safe_file_name(name: str, what: str) -> str:
    """`name` as one path component, or a ValidationError (no folders, no hidden names)."""
    if not name or name in (".", "..") or re.search(r"[\\/\x00-\x1f]", name):
        raise ValidationError(f"{what} {name!r} cannot be a file name", where=what)
    return name

