"""Instance masks (and polygons, which the caller rasterises) from several annotators.

Same clustering as boxes, with mask IoU as the similarity. The fused mask is a pixel-wise
weighted vote of the cluster's members (a pixel is on when members holding at least
`pixel_threshold` of the cluster's weight have it on), or optionally the medoid member.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from coordinator.consensus.clustering import ShapeConsensus, medoid_index, merge_shapes


def as_masks(masks: Any, name: str = "masks") -> np.ndarray:
    """(N, H, W) boolean masks from a 3-D array or a sequence of equally shaped 2-D arrays."""
    if isinstance(masks, np.ndarray):
        arr = masks
    else:
        items = [np.asarray(m) for m in masks]
        shapes = {m.shape for m in items}
        if len(shapes) > 1:
            raise ValueError(f"{name} differ in shape: {sorted(shapes)}")
        arr = np.stack(items) if items else np.zeros((0, 0, 0), bool)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be (N, H, W), got shape {arr.shape}")
    if arr.dtype != bool:
        if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} hold NaN or infinite values")
        arr = arr != 0
    return arr


def mask_iou(flat: np.ndarray) -> np.ndarray:
    """(N, N) IoU of (N, P) boolean rows; two empty masks score 0."""
    f = flat.astype(np.float32)
    inter = (f @ f.T).astype(np.float64)  # exact: float32 holds pixel counts up to 2**24
    area = np.diag(inter).copy()
    union = area[:, None] + area[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def pixel_vote(masks: np.ndarray, weights: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """On where the members that have the pixel on hold >= `threshold` of the total weight."""
    total = weights.sum()
    w = weights if total > 0 else np.ones(len(weights))
    share = np.tensordot(w / w.sum(), masks.astype(np.float64), axes=1)
    return share >= threshold - 1e-12


def merge_masks(masks: Any, annotators: Sequence[Hashable], labels: Sequence[Hashable] | None = None,
                *, weights: Mapping[Hashable, float] | None = None, iou_threshold: float = 0.5,
                quorum: int | None = None, n_annotators: int | None = None,
                fusion: Literal["vote", "medoid"] = "vote", pixel_threshold: float = 0.5,
                same_label_only: bool = False) -> ShapeConsensus:
    """Consensus instance masks of one item; arguments as in `merge_boxes`.

    masks: (N, H, W) booleans (or a sequence of equally shaped 2-D arrays), one per instance.
    fusion: "vote" (pixel-wise weighted vote) or "medoid" (the most central member mask).
    """
    arr = as_masks(masks)
    if len(arr) != len(annotators):
        raise ValueError(f"mismatched lengths: masks={len(arr)}, annotators={len(annotators)}")
    if fusion not in ("vote", "medoid"):
        raise ValueError(f"fusion must be 'vote' or 'medoid', got {fusion!r}")
    if not 0.0 < pixel_threshold <= 1.0:
        raise ValueError(f"pixel_threshold must lie in (0, 1], got {pixel_threshold}")
    flat = arr.reshape(len(arr), -1)
    iou = mask_iou(flat)

    def fuse(members: np.ndarray, w: np.ndarray) -> np.ndarray:
        if fusion == "medoid":
            return arr[medoid_index(iou, members, w)].copy()
        return pixel_vote(arr[members], w, pixel_threshold)

    def iou_to(fused: np.ndarray, members: np.ndarray) -> np.ndarray:
        return mask_iou(np.vstack([fused.reshape(1, -1), flat[members]]))[0, 1:]

    return merge_shapes(iou, annotators, labels, fuse, iou_to, threshold=iou_threshold,
                        weights=weights, quorum=quorum, n_annotators=n_annotators,
                        same_label_only=same_label_only)
