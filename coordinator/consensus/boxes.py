"""Axis-aligned boxes from several annotators: match by IoU, vote the label, fuse the geometry.

Boxes are (x1, y1, x2, y2) rows. Fusion is either "wbf" (Weighted Boxes Fusion style: the
weight-averaged corners, weights = annotator reputation) or "medoid" (the member box with the
highest weighted mean IoU to the other members, as CVAT outputs).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from coordinator.consensus._common import finite_array
from coordinator.consensus.clustering import ShapeConsensus, medoid_index, merge_shapes

Fusion = Literal["wbf", "medoid"]


def as_boxes(boxes: Any, name: str = "boxes") -> np.ndarray:
    """(N, 4) float boxes, refusing NaN/infinite coordinates and negative sizes."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    arr = finite_array(arr, name, (4,))
    bad = np.flatnonzero((arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1]))
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] has a negative size (x2 < x1 or y2 < y1): "
                         f"{arr[bad[0]].tolist()}")
    return arr


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union; a pair with no area on either side scores 0."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def fuse_wbf(boxes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weight-averaged corners (plain mean when every weight is zero)."""
    total = weights.sum()
    if total <= 0:
        return boxes.mean(axis=0)
    return (boxes * weights[:, None]).sum(axis=0) / total


def merge_boxes(boxes: Any, annotators: Sequence[Hashable], labels: Sequence[Hashable] | None = None,
                *, weights: Mapping[Hashable, float] | None = None, iou_threshold: float = 0.5,
                quorum: int | None = None, n_annotators: int | None = None,
                fusion: Fusion = "wbf", same_label_only: bool = False) -> ShapeConsensus:
    """Consensus boxes of one item.

    boxes: (N, 4) x1, y1, x2, y2; annotators: (N,) who drew each box; labels: (N,) or None.
    weights: {annotator: weight} (e.g. reputation), default 1 each.
    quorum: minimum number of annotators in a kept cluster (default: strict majority of
        n_annotators). n_annotators: how many annotators worked on the item, including those
        who drew nothing (default: the distinct annotators in `annotators`).
    same_label_only: match only boxes that carry the same label (CVAT's rule); by default
        geometry decides the match and the label is voted inside the cluster.
    """
    arr = as_boxes(boxes)
    if len(arr) != len(annotators):
        raise ValueError(f"mismatched lengths: boxes={len(arr)}, annotators={len(annotators)}")
    if fusion not in ("wbf", "medoid"):
        raise ValueError(f"fusion must be 'wbf' or 'medoid', got {fusion!r}")
    iou = box_iou(arr, arr)

    def fuse(members: np.ndarray, w: np.ndarray) -> np.ndarray:
        if fusion == "medoid":
            return arr[medoid_index(iou, members, w)].copy()
        return fuse_wbf(arr[members], w)

    def iou_to(fused: np.ndarray, members: np.ndarray) -> np.ndarray:
        return box_iou(fused[None, :], arr[members])[0]

    return merge_shapes(iou, annotators, labels, fuse, iou_to, threshold=iou_threshold,
                        weights=weights, quorum=quorum, n_annotators=n_annotators,
                        same_label_only=same_label_only)
