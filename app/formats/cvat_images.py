"""CVAT for images 1.1: one XML file per subset, `<image>` elements holding shapes and tags.

Layout written: `OUT/<subset>.xml` (each `<image>` also carries `subset=`, as CVAT's project
exports do) and, for items whose media file is known, a copy at `OUT/images/<subset>/<name>`
(where datumaro's CVAT reader looks for it). Reading takes one file or every `.xml` in a
folder; an image's subset is its `subset` attribute, else the file's name (`annotations.xml`,
CVAT's own name, means the default subset).

Mapping: `source` manual/auto <-> human/model (consensus kept); CVAT's `occluded` flag <-> a
bool attribute `occluded`; other attributes are typed by the label's declared input type.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from app.annotators.annotation import Annotation
from app.annotators.shapes import Tag
from app.formats._media_files import place_media, safe_name
from app.formats.base import DEFAULT_SUBSET, Dataset, ExportReport, Item, Progress
from app.formats.cvat_common import (
    SHAPE_TAGS, SOURCE_OUT, Tally, Unwritable, XmlDoc, add_attributes, check_text, geometry,
    read_attributes, read_labels, read_shape, read_source, read_xml, require_text,
    safe_file_name, write_document, xml_files,
)
from app.formats.cvat_meta import declare_labels, labels_element, task_meta

PRECISION = (
    "boxes, polygons, polylines, points and masks exact (numbers written with repr, masks as "
    "CVAT RLE); rotated boxes to 1e-9 px and degrees (CVAT stores corners and a rotation in "
    "[0, 360)); polygons with holes or several parts are written as masks; points must all be "
    "visible (names are not kept); attributes keep bool/number/text by the declared input "
    "type (select values read back as text); confidence, author, hidden, locked and group ids "
    "are not kept"
)


class CvatImagesFormat:
    name = "cvat-images"
    title = "CVAT for images 1.1"
    media = frozenset({"image"})
    can_import = True
    can_export = True
    precision = PRECISION

    def export(self, dataset: Dataset, out: Path, *, progress: Progress | None = None
               ) -> ExportReport:
        out, tally = Path(out), Tally()
        images = tally.items_of(dataset, "image", "CVAT for images holds images")
        used = [(a.label, a.attributes) for i in images for a in i.annotations]
        declared = declare_labels(dataset.used_labels(), dataset.schema, used)
        labels = labels_element(declared, dataset.schema)
        done = 0
        for subset in dataset.subsets():
            members = [i for i in images if i.subset == subset]
            if not members:
                continue
            path = out / f"{safe_file_name(subset, 'subset')}.xml"
            meta = task_meta(_task_fields(subset, len(members)), labels)
            write_document(path, meta, _image_elements(members, out, tally, progress, done,
                                                       len(images)))
            done += len(members)
            tally.files.append(path)
        return tally.report(len(images))

    def load(self, path: Path) -> Dataset:
        dataset = Dataset()
        for file in xml_files(Path(path)):
            _load_file(file, dataset)
        return dataset


def _task_fields(subset: str, size: int) -> list[tuple[str, str]]:
    return [("id", "0"), ("name", subset), ("size", str(size)), ("mode", "annotation"),
            ("overlap", "0"), ("start_frame", "0"), ("stop_frame", str(max(size - 1, 0))),
            ("frame_filter", ""), ("z_order", "True"), ("subset", subset)]


def _image_elements(members: list[Item], out: Path, tally: Tally, progress: Progress | None,
                    done: int, total: int) -> Iterator[ET.Element]:
    """Streamed to the file one by one, so a large subset is never held as one tree."""
    for index, item in enumerate(members):
        yield _image_element(index, item, out, tally)
        if progress:
            progress(done + index + 1, total)


def _image_element(index: int, item: Item, out: Path, tally: Tally) -> ET.Element:
    attrib = {"id": str(index), "name": require_text(item.name, "item name"), "subset": item.subset}
    size = (item.width, item.height) if item.width and item.height else None
    if size:
        attrib.update(width=str(size[0]), height=str(size[1]))
    element = ET.Element("image", attrib)
    for ann in item.annotations:
        try:
            element.append(_annotation_element(ann, size))
            tally.shapes += 1
        except Unwritable as why:
            tally.skipped.append(f"{item.name}: {why}")
    _copy(item, out)
    return element


def _annotation_element(ann: Annotation, size: tuple[int, int] | None) -> ET.Element:
    attrib = {"label": check_text(ann.label, "label"), "source": SOURCE_OUT[ann.source]}
    if isinstance(ann.shape, Tag):
        element = ET.Element("tag", attrib)
    else:
        tag, geo = geometry(ann.shape, size)  # type: ignore[arg-type]
        occluded = ann.attributes.get("occluded") is True
        attrib.update(occluded="1" if occluded else "0", **geo, z_order=str(ann.z_order))
        element = ET.Element(tag, attrib)
    add_attributes(element, ann.attributes, occluded_is_flag=element.tag != "tag")
    return element


def _copy(item: Item, out: Path) -> None:
    """The media file at images/<subset>/<name>, where datumaro's CVAT reader finds it."""
    if item.media_path is not None:
        place_media(item, out / "images" / item.subset / safe_name(item))


# -- reading ------------------------------------------------------------------------------------

def _load_file(file: Path, dataset: Dataset) -> None:
    doc = read_xml(file)
    track = doc.root.find("track")
    if track is not None:
        raise doc.fail(track, "a <track>: this is CVAT for video (format cvat-video)")
    labels = read_labels(doc)
    for name in labels:
        dataset.add_label(name)
    default = DEFAULT_SUBSET if file.stem == "annotations" else file.stem
    for element in doc.root.iterfind("image"):
        dataset.items.append(_item(doc, element, labels, default))


def _item(doc: XmlDoc, element: ET.Element, labels: dict[str, dict[str, str]],
          default_subset: str) -> Item:
    name = doc.text(element, "name")
    width = doc.integer(element, "width", minimum=1) if "width" in element.attrib else None
    height = doc.integer(element, "height", minimum=1) if "height" in element.attrib else None
    item = Item(name=name, width=width, height=height,
                subset=element.get("subset") or default_subset)
    size = (width, height) if width and height else None
    for child in element:
        item.annotations.append(_annotation(doc, child, labels, size))
    return item


def _annotation(doc: XmlDoc, element: ET.Element, labels: dict[str, dict[str, str]],
                size: tuple[int, int] | None) -> Annotation:
    if element.tag not in (*SHAPE_TAGS, "tag"):
        raise doc.fail(element, f"<{element.tag}> is not supported (CVAT shapes read: "
                                f"{', '.join(SHAPE_TAGS)} and tag)")
    label = doc.text(element, "label")
    if label not in labels:
        raise doc.fail(element, f"label {label!r} is not declared in <meta> <labels>",
                       f"{element.tag}.label")
    attributes = read_attributes(doc, element, labels[label])
    if element.tag == "tag":
        shape = Tag()
    else:
        shape = read_shape(doc, element, size)
        if doc.flag(element, "occluded"):
            attributes["occluded"] = True
    return Annotation.new(asset_id=0, author="", label=label, shape=shape,
                          attributes=attributes, source=read_source(doc, element),
                          z_order=doc.integer(element, "z_order", default=0, minimum=None))


FORMAT = CvatImagesFormat()
