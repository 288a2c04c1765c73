"""Independent readers of our YOLO segment, pose and obb and our labelme exports.

Ultralytics itself (it needs the non-headless OpenCV), labelme (PyQt5) and datumaro 1.13 (YOLO
detection only, LabelMe XML only) cannot read these here, so two other PyPI readers do:
- supervision (`DetectionDataset.from_yolo`): segment rings as masks and boxes, obb corners,
  and pose lines checked against `kpt_shape` (it keeps their boxes only);
- globox (`AnnotationSet.from_labelme`): labelme rectangles and polygons, as boxes.
Keypoints, labelme lines, points and masks have no reader here. Checked once by hand in a
throwaway environment: ultralytics 8.4.190's `verify_image_label` (installed without its
dependencies) read 640 segment, pose and obb objects exactly; labelme 6.3.1 with PyQt5 read 574
shapes of every kind we write, masks pixel for pixel through its `shapes_to_label`.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import globox
import numpy as np
import shapely
import supervision as sv
from hypothesis import given, settings

from app.annotators import masks
from app.annotators.geometry import bounds
from app.annotators.shapes import Box, Polygon
from app.formats import labelme, yolo
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies import (
    blob_masks_in, boxes_in, points_in, polygons_in, polylines_in, rotated_boxes_in,
)
from tests.unit.formats.strategies_images import close, datasets, image_items, with_images

READ = settings(max_examples=12, deadline=None)
KPT = 3
FLOAT32 = 1e-4  # px: supervision keeps coordinates as float32
FILL_POLY = 2.0  # px: cv2.fillPoly truncates vertices to whole pixels (up to 0.7 px off) and
#                  fills every pixel its outline touches


def tolerance(item: Item) -> float:
    """Our stated YOLO precision: 6 decimals of the width or height per number."""
    return 1.5e-6 * max(item.width, item.height) + FLOAT32


def read_yolo(dataset: Dataset, task: str) -> list[tuple[Item, sv.Detections]]:
    """Export with our writer, read every subset with supervision, check that it found every
    item and each object's label in order; each item with what supervision read of it."""
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        with_images(dataset, Path(tmp) / "src")
        yolo.YoloFormat(task).export(dataset, out)
        for images in (out / "images").iterdir():
            theirs = sv.DetectionDataset.from_yolo(
                images_directory_path=str(images),
                annotations_directory_path=str(out / "labels" / images.name),
                data_yaml_path=str(out / "data.yaml"), is_obb=task == "obb")
            for path, detections in theirs.annotations.items():
                labels = [theirs.classes[c] for c in detections.class_id]
                found[Path(path).name] = (labels, detections)
    assert sorted(found) == sorted(item.name for item in dataset.items)
    for item in dataset.items:
        assert found[item.name][0] == [a.label for a in item.annotations]
    return [(item, found[item.name][1]) for item in dataset.items if item.annotations]


@READ
@given(datasets(image_items(lambda w, h: polygons_in(w, h, holes=False, max_parts=1),
                            folders=False)))
def test_supervision_reads_our_segment_export(dataset):
    """Its masks are cv2.fillPoly's, so they may differ from ours near the outline only."""
    for item, detections in read_yolo(dataset, "segment"):
        for ann, box, mask in zip(item.annotations, detections.xyxy, detections.mask, strict=True):
            assert close(box, bounds(ann.shape), 0.5)
            ours = masks.rasterize(ann.shape, item.height, item.width)
            rows, cols = np.nonzero(mask.astype(bool) != ours)
            outline = shapely.LinearRing(ann.shape.parts[0].exterior)
            assert (shapely.distance(outline, shapely.points(cols + 0.5, rows + 0.5))
                    < FILL_POLY).all()


@READ
@given(datasets(image_items(lambda w, h: rotated_boxes_in(w, h).filter(
    lambda r: all(0 <= x <= w and 0 <= y <= h for x, y in r.corners())), folders=False)))
def test_supervision_reads_our_obb_export(dataset):
    for item, detections in read_yolo(dataset, "obb"):
        corners = detections.data["xyxyxyxy"]
        for ann, theirs, box in zip(item.annotations, corners, detections.xyxy, strict=True):
            assert close(np.ravel(theirs), np.ravel(ann.shape.corners()), tolerance(item))
            assert close(box, bounds(ann.shape), 0.5)


@READ
@given(datasets(image_items(lambda w, h: points_in(w, h, count=KPT, names=None).filter(
    lambda p: any(p.visibility)), folders=False)))
def test_supervision_reads_the_boxes_of_our_pose_export(dataset):
    """supervision takes a line as a pose label only when it has 5 + K x 3 fields, K from
    `kpt_shape`, and keeps its box: here the bounds of the keypoints."""
    for item, detections in read_yolo(dataset, "pose"):
        assert detections.mask is None  # read as pose boxes, not as polygons
        for ann, box in zip(item.annotations, detections.xyxy, strict=True):
            assert close(box, bounds(ann.shape), tolerance(item))


def labelme_boxes(item: Item) -> Counter:
    """What globox reads of an item: a box per rectangle and per polygon part."""
    found: Counter = Counter()
    for ann in item.annotations:
        if isinstance(ann.shape, Box):
            found[(ann.label, *bounds(ann.shape))] += 1
        elif isinstance(ann.shape, Polygon):
            for part in ann.shape.parts:
                found[(ann.label, *bounds(Polygon((part,))))] += 1
    return found


@READ
@given(datasets(image_items(lambda w, h: boxes_in(w, h) | polygons_in(w, h, holes=False)
                            | polylines_in(w, h) | points_in(w, h) | blob_masks_in(w, h))))
def test_globox_reads_our_labelme_boxes_and_polygons(dataset):
    with tempfile.TemporaryDirectory() as tmp:
        labelme.FORMAT.export(dataset, Path(tmp))
        theirs = globox.AnnotationSet.from_labelme(Path(tmp), recursive=True, include_poly=True)
    assert len(theirs) == len(dataset.items)
    for item in dataset.items:
        got = theirs[Path(item.name).name]
        assert (got.image_width, got.image_height) == (item.width, item.height)
        assert Counter((b.label, *b.ltrb) for b in got.boxes) == labelme_boxes(item)
