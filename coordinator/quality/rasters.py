"""Polygons, rotated boxes and masks as boolean rasters on one shared, cropped frame.

Only the union of the shapes' extents is rasterised (a 4000×3000 image with small objects
costs a small frame). A consensus of pure polygons goes back to a polygon (holes kept); one
that involved a mask stays a mask of that mask's image size.

Polygons and rotated boxes are drawn by pycocotools' rule, the workstation's too
(`app.annotators.masks`, which the coordinator may not import): vertices rounded to a fifth of
a pixel, a pixel in when its centre is inside; holes drawn the same way and subtracted, parts
united. The frame starts at a whole pixel at or before every vertex, so the pixels are those
of the image wherever the shapes lie on it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import cv2
import numpy as np
import shapely
from pycocotools import mask as coco_mask

from coordinator.consensus import merge_masks
from coordinator.consensus.clustering import ShapeConsensus

MAX_FRAME_PIXELS = 64_000_000  # refuse to rasterise more than this (a hostile extent)


@dataclass(frozen=True)
class FrameBox:
    x0: int
    y0: int
    height: int
    width: int
    image_size: tuple[int, int] | None  # (h, w) when a mask told us; None for pure polygons


def _mask_array(shape: dict) -> np.ndarray:
    rle = {"size": [shape["height"], shape["width"]], "counts": shape["counts"].encode("ascii")}
    return coco_mask.decode(rle).astype(bool)


def _rings(shape: dict) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    if shape["kind"] == "rotated_box":
        corners = cv2.boxPoints(((shape["cx"], shape["cy"]), (shape["w"], shape["h"]), shape["angle"]))
        return [(np.asarray(corners, float), [])]
    return [(np.asarray(p["exterior"], float), [np.asarray(h, float) for h in p.get("holes", [])])
            for p in shape["parts"]]


def _frame(shapes: list[dict]) -> FrameBox:
    sizes = {(s["height"], s["width"]) for s in shapes if s["kind"] == "mask"}
    if len(sizes) > 1:
        raise ValueError(f"masks of one item differ in size: {sorted(sizes)}")
    points = [ring for s in shapes if s["kind"] != "mask" for ext, _ in _rings(s) for ring in (ext,)]
    lo = np.floor(np.min([p.min(axis=0) for p in points], axis=0)).astype(int) if points else np.zeros(2, int)
    hi = np.ceil(np.max([p.max(axis=0) for p in points], axis=0)).astype(int) + 1 if points else np.ones(2, int)
    if sizes:
        (h, w), = sizes
        lo, hi = np.minimum(lo, 0), np.maximum(hi, [w, h])
    if int(np.prod(hi - lo)) > MAX_FRAME_PIXELS:
        raise ValueError("the shapes span too large an area to compare")
    return FrameBox(int(lo[0]), int(lo[1]), int(hi[1] - lo[1]), int(hi[0] - lo[0]), next(iter(sizes), None))


def rasterize(shapes: list[dict]) -> tuple[np.ndarray, FrameBox]:
    """(N, H, W) booleans on the shapes' common frame, and that frame."""
    box = _frame(shapes)
    stack = np.zeros((len(shapes), box.height, box.width), np.uint8)
    offset = np.array([box.x0, box.y0], float)
    for i, shape in enumerate(shapes):
        if shape["kind"] == "mask":
            m = _mask_array(shape)
            stack[i, -box.y0:-box.y0 + m.shape[0], -box.x0:-box.x0 + m.shape[1]] = m
            continue
        rings = [(exterior - offset, [h - offset for h in holes]) for exterior, holes in _rings(shape)]
        plain = [exterior for exterior, holes in rings if not holes]
        if plain:
            stack[i] = _draw(plain, box.height, box.width)
        for exterior, holes in (r for r in rings if r[1]):
            stack[i] |= _draw([exterior], box.height, box.width) & ~_draw(holes, box.height, box.width)
    return stack.astype(bool), box


def _draw(rings: list[np.ndarray], height: int, width: int) -> np.ndarray:
    """The union of the rings' pixels, by pycocotools' polygon rule."""
    rles = coco_mask.frPyObjects([r.ravel().tolist() for r in rings], height, width)
    return coco_mask.decode(coco_mask.merge(rles))


def merge_stack(stack: np.ndarray, annotators: list[Hashable], labels: list[str],
                weights: Mapping[Hashable, float], n_annotators: int) -> ShapeConsensus:
    return merge_masks(stack, annotators, labels, weights=weights, n_annotators=n_annotators)


def to_mask_shape(raster: np.ndarray, box: FrameBox) -> dict | None:
    """The consensus raster as a wire shape: a polygon for polygons (None when nothing is left
    of it), a mask when masks took part."""
    if box.image_size is None:
        return _polygon(raster, box)
    h, w = box.image_size
    full = raster[-box.y0:-box.y0 + h, -box.x0:-box.x0 + w]
    rle = coco_mask.encode(np.asfortranarray(full.astype(np.uint8)))
    return {"kind": "mask", "height": h, "width": w, "counts": rle["counts"].decode("ascii")}


def _polygon(raster: np.ndarray, box: FrameBox) -> dict | None:
    """The raster's outline along pixel edges, holes kept: drawn again it gives the same pixels
    (an outline through pixel centres would lose half of every boundary pixel)."""
    padded = np.pad(raster, ((0, 0), (1, 1))).astype(np.int8)
    rows, cols = np.nonzero(np.diff(padded, axis=1))  # per row: run starts and stops alternate
    if rows.size == 0:
        return None
    x, y = cols[0::2] + box.x0, rows[0::2] + box.y0
    cells = shapely.box(x, y, cols[1::2] + box.x0, y + 1)  # one rectangle per run of a row
    region = shapely.simplify(shapely.union_all(cells), 0)  # drops the runs' collinear corners
    parts = [{"exterior": [list(p) for p in part.exterior.coords[:-1]],
              "holes": [[list(p) for p in hole.coords[:-1]] for hole in part.interiors]}
             for part in getattr(region, "geoms", [region])]
    return {"kind": "polygon", "parts": parts}
