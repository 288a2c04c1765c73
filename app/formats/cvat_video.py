"""CVAT for video 1.1: one XML file per video, `<track>` elements of per-frame shapes.

Layout written: `OUT/<video stem>.xml` per video item (a `-2`, `-3` suffix when stems repeat).
The item's name goes in `<meta><source>` (where CVAT puts the video's file name), its subset
in `<meta><task><subset>`, its size in `<original_size>` and its frame count in `<size>` and
`<stop_frame>`. Frame numbers are the video's own integer frame indices.

Tracks are written as CVAT writes them: every keyframe (`keyframe="1"`, an outside keyframe
where the object leaves) and, between them, every frame on which the object is visible with
the shape our interpolation gives (`keyframe="0"`), up to the last frame of the video; readers
that want per-frame shapes (datumaro, training scripts) find them there. Reading keeps only
`keyframe="1"` elements: the interpolation is ours (boxes, points and rotated boxes move
linearly like CVAT's; polygons are matched by arc length, so their in-between frames may
differ from CVAT's). A file whose track has no `keyframe="1"` element at all has each element
read as a keyframe.

A shape on one frame outside any track (`Item.annotations` with `frame` set) is written as
CVAT writes such shapes, a single-frame track: the shape at frame f and an outside keyframe at
f + 1 (none when f is the last frame). Reading turns a track of exactly that form back into a
frame annotation. Tags cannot be written (CVAT for video has none): they are reported as
skipped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from app.annotators import masks
from app.annotators.annotation import Annotation
from app.annotators.shapes import Box, Polygon, RotatedBox
from app.annotators.video.tracks import Keyframe, Track, TrackState
from app.core.errors import ValidationError
from app.formats.base import DEFAULT_SUBSET, Dataset, ExportReport, Item, Progress
from app.formats.cvat_common import (
    SHAPE_TAGS, SOURCE_OUT, Tally, Unwritable, XmlDoc, add_attributes, geometry,
    read_attributes, read_labels, read_shape, read_source, read_xml, require_text, unique_name,
    write_document, xml_files,
)
from app.formats.cvat_meta import declare_labels, labels_element, task_meta

PRECISION = (
    "frames exact (integers); keyframes, outside and occluded exact; box, polygon, polyline, "
    "points and mask keyframes exact (repr numbers, CVAT RLE); rotated boxes to 1e-9 px and "
    "degrees; a polygon track with holes or several parts is written as a mask keyframe on "
    "every frame it is visible (raster precision); track ids are renumbered, and track "
    "source and z-order, confidence, author and point visibility are not kept; tags are skipped"
)


class CvatVideoFormat:
    name = "cvat-video"
    title = "CVAT for video 1.1"
    media = frozenset({"video"})
    can_import = True
    can_export = True
    precision = PRECISION

    def __init__(self, *, interpolated: bool = True) -> None:
        self.interpolated = interpolated  # False: keyframes only (smaller files)

    def export(self, dataset: Dataset, out: Path, *, progress: Progress | None = None
               ) -> ExportReport:
        out, tally = Path(out), Tally()
        videos = tally.items_of(dataset, "video", "CVAT for video holds videos")
        used = [(a.label, a.attributes) for i in videos for a in i.annotations]
        used += [(t.label, k.attributes) for i in videos for t in i.tracks for k in t.keyframes]
        labels = labels_element(declare_labels(dataset.used_labels(), dataset.schema, used),
                                dataset.schema)
        stems: set[str] = set()
        for done, item in enumerate(videos, 1):
            path = out / f"{unique_name(item.stem, stems)}.xml"
            write_document(path, _meta(item, labels), self._tracks(item, tally))
            tally.files.append(path)
            if progress:
                progress(done, len(videos))
        return tally.report(len(videos))

    def load(self, path: Path) -> Dataset:
        dataset = Dataset()
        for file in xml_files(Path(path)):
            doc = read_xml(file)
            labels = read_labels(doc)
            for name in labels:
                dataset.add_label(name)
            dataset.items.append(_read_video(doc, labels))
        return dataset

    def _tracks(self, item: Item, tally: Tally) -> Iterator[ET.Element]:
        size = (item.width, item.height) if item.width and item.height else None
        count = _frame_count(item)
        number = 0
        for track in item.tracks:
            try:
                element = _track_element(number, track, size, count, self.interpolated)
            except Unwritable as why:
                tally.skipped.append(f"{item.name}: track {track.id}: {why}")
                continue
            number, tally.shapes = number + 1, tally.shapes + 1
            yield element
        for ann in item.annotations:
            try:
                element = _single_frame(number, ann, size, count)
            except Unwritable as why:
                tally.skipped.append(f"{item.name}: {why}")
                continue
            number, tally.shapes = number + 1, tally.shapes + 1
            yield element

def _frame_count(item: Item) -> int:
    last = [kf.frame for t in item.tracks for kf in t.keyframes]
    last += [a.frame for a in item.annotations if a.frame is not None]
    return max(item.frame_count or 0, max(last, default=-1) + 1)


def _meta(item: Item, labels: ET.Element) -> ET.Element:
    count = _frame_count(item)
    fields = [("id", "0"), ("name", require_text(item.stem, "video name")), ("size", str(count)),
              ("mode", "interpolation"), ("overlap", "0"), ("start_frame", "0"),
              ("stop_frame", str(max(count - 1, 0))), ("frame_filter", ""), ("z_order", "True"),
              ("subset", require_text(item.subset, "subset"))]
    extra = []
    if item.width and item.height:
        size = ET.Element("original_size")
        ET.SubElement(size, "width").text = str(item.width)
        ET.SubElement(size, "height").text = str(item.height)
        extra.append(size)
    meta = task_meta(fields, labels, extra)
    ET.SubElement(meta, "source").text = require_text(item.name, "item name")
    return meta


def _states(track: Track, count: int, every: bool) -> Iterator[TrackState]:
    """The states written: the keyframes' and, with `every`, each frame's between the first
    keyframe and the end of the video on which the object is visible."""
    frames = track.frames
    candidates = range(frames[0], max(count, frames[-1] + 1)) if every and frames else frames
    for frame in candidates:
        state = track.shape_at(frame)
        if state is not None and (state.is_keyframe or not state.outside):
            yield state


def _track_element(number: int, track: Track, size: tuple[int, int] | None, count: int,
                   interpolated: bool) -> ET.Element:
    if track.keyframes and track.keyframes[0].shape.kind == "tag":
        raise Unwritable("a track of tags (CVAT for video has no tags)")
    as_masks = any(isinstance(kf.shape, Polygon) and _needs_mask(kf.shape)
                   for kf in track.keyframes)
    if as_masks and size is None:
        raise Unwritable("a polygon track with holes becomes masks, which need the video size")
    element = ET.Element("track", {"id": str(number), "label": track.label, "source": "manual"})
    for state in _states(track, count, interpolated or as_masks):
        shape = masks.polygon_to_mask(state.shape, size[1], size[0]) if as_masks else state.shape
        tag, geo = geometry(shape, size)  # type: ignore[arg-type]
        child = ET.SubElement(element, tag, {
            "frame": str(state.frame), "keyframe": "1" if state.is_keyframe or as_masks else "0",
            "outside": "1" if state.outside else "0", "occluded": "1" if state.occluded else "0",
            **geo, "z_order": "0"})
        add_attributes(child, state.attributes, occluded_is_flag=False)
    return element


def _needs_mask(polygon: Polygon) -> bool:
    return len(polygon.parts) > 1 or bool(polygon.parts[0].holes)


def _single_frame(number: int, ann: Annotation, size: tuple[int, int] | None, count: int
                  ) -> ET.Element:
    """A frame annotation as CVAT writes shapes in video: a one-frame track."""
    if ann.frame is None:
        raise Unwritable(f"a {ann.shape.kind} on no frame of a video")
    if ann.shape.kind == "tag":
        raise Unwritable(f"a tag on frame {ann.frame} (CVAT for video has no tags)")
    tag, geo = geometry(ann.shape, size)  # type: ignore[arg-type]
    element = ET.Element("track", {"id": str(number), "label": ann.label,
                                   "source": SOURCE_OUT[ann.source]})
    occluded = "1" if ann.attributes.get("occluded") is True else "0"
    for frame, outside in ((ann.frame, "0"), (ann.frame + 1, "1")):
        if outside == "1" and frame >= count:
            break  # nothing follows the last frame, so there is nothing to leave
        child = ET.SubElement(element, tag, {"frame": str(frame), "keyframe": "1",
                                             "outside": outside, "occluded": occluded, **geo,
                                             "z_order": str(ann.z_order)})
        add_attributes(child, ann.attributes, occluded_is_flag=True)
    return element


# -- reading ------------------------------------------------------------------------------------

def _read_video(doc: XmlDoc, labels: dict[str, dict[str, str]]) -> Item:
    image = doc.root.find("image")
    if image is not None:
        raise doc.fail(image, "an <image>: this is CVAT for images (format cvat-images)")
    meta = doc.root.find("meta")
    task = next((t for t in (meta.find(p) for p in ("task", "job", "project/tasks/task"))
                 if t is not None), None) if meta is not None else None
    width, height = (_meta_int(doc, task, f"original_size/{n}") for n in ("width", "height"))
    item = Item(name=doc.child_text(meta, "source") or doc.child_text(task, "name")
                or doc.path.stem, media="video", width=width, height=height,
                frame_count=_read_frame_count(doc, task),
                subset=doc.child_text(task, "subset") or DEFAULT_SUBSET)
    size = (width, height) if width and height else None
    for element in doc.root.iterfind("track"):
        track, source, z_order = _read_track(doc, element, labels, size)
        single = _as_frame_shape(track, item.frame_count)
        if single is None:
            item.tracks.append(track)
            continue
        attributes = dict(single.attributes)
        if single.occluded:
            attributes["occluded"] = True
        item.annotations.append(Annotation.new(
            asset_id=0, author="", label=track.label, shape=single.shape, attributes=attributes,
            source=source, z_order=z_order, frame=single.frame))  # type: ignore[arg-type]
    return item


def _meta_int(doc: XmlDoc, task: ET.Element | None, path: str) -> int | None:
    text = doc.child_text(task, path)
    if not text:
        return None
    if not text.isdigit():
        raise doc.fail(task.find(path), f"expected a whole number, got {text!r}", path)  # type: ignore[union-attr, arg-type]
    return int(text)


def _read_frame_count(doc: XmlDoc, task: ET.Element | None) -> int | None:
    """Frames in the video: `size` for a task from frame 0, else up to `stop_frame`."""
    size, start = _meta_int(doc, task, "size"), _meta_int(doc, task, "start_frame")
    stop = _meta_int(doc, task, "stop_frame")
    if stop is not None and (start or doc.child_text(task, "frame_filter") or size is None):
        return stop + 1
    return size


def _read_track(doc: XmlDoc, element: ET.Element, labels: dict[str, dict[str, str]],
                size: tuple[int, int] | None) -> tuple[Track, str, int]:
    """The track (keyframe elements only), its source and its first element's z-order."""
    label = doc.text(element, "label")
    if label not in labels:
        raise doc.fail(element, f"label {label!r} is not declared in <meta> <labels>",
                       "track.label")
    children = list(element)
    for child in children:
        if child.tag not in SHAPE_TAGS:
            raise doc.fail(child, f"<{child.tag}> is not supported in a track (read: "
                                  f"{', '.join(SHAPE_TAGS)})")
    keyed = [c for c in children if doc.flag(c, "keyframe", default=True)] or children
    keyframes = [Keyframe(doc.integer(c, "frame"), read_shape(doc, c, size),
                          outside=doc.flag(c, "outside"), occluded=doc.flag(c, "occluded"),
                          attributes=read_attributes(doc, c, labels[label])) for c in keyed]
    if {kf.shape.kind for kf in keyframes} == {"box", "rotated_box"}:
        keyframes = [_rotated(kf) for kf in keyframes]  # CVAT omits a rotation of 0
    try:
        track = Track(element.get("id") or "0", label, tuple(keyframes))
    except ValidationError as err:
        raise doc.fail(element, str(err)) from None
    z_order = doc.integer(keyed[0], "z_order", default=0, minimum=None) if keyed else 0
    return track, read_source(doc, element), z_order


def _rotated(keyframe: Keyframe) -> Keyframe:
    box = keyframe.shape
    if not isinstance(box, Box):
        return keyframe
    turned = RotatedBox((box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2, box.x2 - box.x1,
                        box.y2 - box.y1, 0.0)
    return Keyframe(keyframe.frame, turned, keyframe.outside, keyframe.occluded,
                    keyframe.attributes)


def _as_frame_shape(track: Track, frame_count: int | None) -> Keyframe | None:
    """The one visible keyframe of a single-frame track (CVAT's form of a frame shape)."""
    kfs = track.keyframes
    if not kfs or kfs[0].outside:
        return None
    if len(kfs) == 2 and kfs[1].outside and kfs[1].frame == kfs[0].frame + 1:
        return kfs[0]
    if len(kfs) == 1 and frame_count is not None and kfs[0].frame == frame_count - 1:
        return kfs[0]
    return None


FORMAT = CvatVideoFormat()
