"""Pascal VOC's segmentation side: the colour map, labelmap.txt, the palette PNGs, and turning
SegmentationObject/SegmentationClass pixels plus the XML objects back into annotations."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.annotators import masks
from app.annotators.annotation import Annotation, AttrValue
from app.annotators.geometry import box_iou
from app.annotators.shapes import Box
from app.core.errors import ValidationError
from app.formats._media_files import read_text, relative
from app.formats.base import located_in

CLASS_DIR = "SegmentationClass"
OBJECT_DIR = "SegmentationObject"
VOID = 255
# The 20 VOC classes, for datasets without a labelmap.txt (their PNG indices mean these).
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor")
_BAD_LABEL = re.compile("[:\n\r]|[^\t\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MIN_IOU = 0.5  # an instance and an XML object this alike are one object (VOC 2012's pairing)


def voc_colormap(n: int = 256) -> list[tuple[int, int, int]]:
    """VOC's colour for index i: the bits of i spread over the high bits of r, g and b."""
    colours = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colours.append((r, g, b))
    return colours


COLOURS = voc_colormap()
PALETTE = [v for colour in COLOURS for v in colour]  # index 255 is VOC's void (224, 224, 192)
INSTANCE_COLOURS = {colour: i for i, colour in enumerate(COLOURS)}


@dataclass
class XmlObject:
    """One <object> as read: its label, box and attributes."""

    label: str
    box: Box
    attributes: dict[str, AttrValue] = field(default_factory=dict)


# -- labelmap.txt -------------------------------------------------------------------------------

def class_names(labels: list[str]) -> list[str]:
    """PNG class indices: background 0, then the labels in order."""
    for label in labels:
        if _BAD_LABEL.search(label):
            raise ValidationError(f"label {label!r} cannot be written to Pascal VOC (a ':', a "
                                  "line break or a character XML cannot hold)", where="labels")
    return ["background", *(name for name in labels if name != "background")]


def labelmap_text(classes: list[str]) -> str:
    lines = ["# label:color_rgb:parts:actions"]
    lines += [f"{name}:{','.join(map(str, COLOURS[i % 256]))}::" for i, name in enumerate(classes)]
    return "\n".join(lines) + "\n"


def read_labelmap(root: Path) -> tuple[list[str], dict[tuple[int, int, int], int]]:
    """Class names by index and colour -> index, from labelmap.txt or VOC's defaults."""
    path = root / "labelmap.txt"
    if not path.is_file():
        return list(VOC_CLASSES), {COLOURS[i]: i for i in (*range(len(VOC_CLASSES)), VOID)}
    classes: list[str] = []
    colours = {COLOURS[VOID]: VOID}
    for number, line in enumerate(read_text(path, "labelmap.txt").splitlines(), 1):
        where = located_in("labelmap.txt", number)
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) > 4 or not fields[0].strip():
            raise ValidationError("expected name:r,g,b:parts:actions", where=where)
        if fields[0] in classes:
            raise ValidationError(f"label {fields[0]!r} is listed twice", where=where)
        colours[_colour(fields[1], where) if len(fields) > 1 and fields[1].strip()
                else COLOURS[len(classes) % 256]] = len(classes)
        classes.append(fields[0])
    return classes, colours


def _colour(text: str, where: str) -> tuple[int, int, int]:
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) < 256 for p in parts):
        raise ValidationError(f"colour {text!r} is not r,g,b from 0 to 255", where=where)
    r, g, b = (int(p) for p in parts)
    return r, g, b


# -- PNGs ---------------------------------------------------------------------------------------

def png_bytes(indices: np.ndarray) -> bytes:
    """A palette PNG whose pixel values are the indices, drawn in VOC's colours."""
    image = Image.fromarray(indices.astype(np.uint8))
    image.putpalette(PALETTE)  # an "L" image becomes "P" with its values kept
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def read_index_png(path: Path, colours: dict[tuple[int, int, int], int], root: Path
                   ) -> np.ndarray | None:
    """Indices per pixel: palette and grey PNGs as stored, RGB ones through `colours`."""
    if not path.is_file():
        return None
    where = relative(path, root)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                image.load()
                if image.mode in ("P", "L"):
                    return np.array(image)
                if image.mode not in ("RGB", "RGBA"):
                    raise ValidationError(f"unexpected image mode {image.mode}", where=where)
                rgb = np.array(image.convert("RGB")).astype(np.int32)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(f"not a readable PNG: {exc}", where=where) from None
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    unique, inverse = np.unique(codes, return_inverse=True)
    lookup = []
    for code in unique.tolist():
        colour = (code >> 16, (code >> 8) & 255, code & 255)
        if colour not in colours:
            raise ValidationError(f"colour {colour} is not in the label map", where=where)
        lookup.append(colours[colour])
    return np.asarray(lookup, dtype=np.uint8)[inverse].reshape(codes.shape)


# -- back to annotations ------------------------------------------------------------------------

def annotations(objects: list[XmlObject], instances: np.ndarray | None,
                classes_png: np.ndarray | None, classes: list[str], item_id: str
                ) -> list[Annotation]:
    """XML objects as boxes, except those paired with an instance (then its mask); instances
    without an object, or only class pixels when there is no SegmentationObject, as masks."""
    paired: dict[int, np.ndarray] = {}
    extra: list[tuple[str, np.ndarray]] = []
    class_where = f"{CLASS_DIR}/{item_id}.png"
    if instances is not None:
        for k in np.unique(instances).tolist():
            if k in (0, VOID):
                continue
            bits = instances == k
            label = _majority(classes_png, bits, classes, class_where)
            obj = objects[k - 1] if k <= len(objects) else None
            if obj is not None and label in (None, obj.label) and _iou(bits, obj.box) >= _MIN_IOU:
                paired[k - 1] = bits
            elif label is None:
                raise ValidationError(f"instance {k} has no class: no {CLASS_DIR} PNG and no "
                                      f"matching <object> {k} in the XML",
                                      where=f"{OBJECT_DIR}/{item_id}.png")
            else:
                extra.append((label, bits))
    elif classes_png is not None:
        extra = [(_class(c, classes, class_where), classes_png == c)
                 for c in np.unique(classes_png).tolist() if c not in (0, VOID)]
    found = [Annotation.new(asset_id=0, author="", label=obj.label, attributes=obj.attributes,
                            shape=masks.encode(paired[j]) if j in paired else obj.box)
             for j, obj in enumerate(objects)]
    return found + [Annotation.new(asset_id=0, author="", label=label, shape=masks.encode(bits))
                    for label, bits in extra]


def _class(index: int, classes: list[str], where: str) -> str:
    if index >= len(classes):
        raise ValidationError(f"class index {index} is not in the label map "
                              f"({len(classes)} classes)", where=where)
    return classes[index]


def _majority(classes_png: np.ndarray | None, bits: np.ndarray, classes: list[str], where: str
              ) -> str | None:
    if classes_png is None:
        return None
    values = classes_png[bits]
    values = values[(values != 0) & (values != VOID)]
    return _class(int(np.bincount(values).argmax()), classes, where) if values.size else None


def _iou(bits: np.ndarray, box: Box) -> float:
    rows, cols = np.nonzero(bits)
    return box_iou(Box(cols.min(), rows.min(), cols.max() + 1, rows.max() + 1), box)
