"""Keypoint instances (skeletons) from several annotators, matched by COCO's OKS.

An instance is a (J, 3) array of (x, y, v) with COCO's visibility flag: 0 not labelled, 1
labelled but occluded, 2 visible. OKS between two instances averages, over the keypoints both
labelled, exp(-d^2 / (2 * area * (2 * sigma_j)^2)); with no keypoint in common it is 0. The
fused instance takes each keypoint's visibility by weighted vote (ties to the higher flag, so
a keypoint one of two annotators saw is kept) and its position as the weighted mean of the
members that labelled it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from coordinator.consensus.clustering import ShapeConsensus, merge_shapes

# COCO's per-keypoint sigmas for its 17-keypoint person skeleton
COCO_PERSON_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                               .87, .87, .89, .89]) / 10.0
DEFAULT_SIGMA = 0.1  # CVAT's default when a skeleton has no sigmas of its own


def as_keypoints(points: Any) -> np.ndarray:
    """(N, J, 3) float array; v in {0, 1, 2}; x, y finite wherever v > 0."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"keypoints must have shape (N, J, 3), got {arr.shape}")
    vis = arr[..., 2]
    if not np.all(np.isin(vis, (0.0, 1.0, 2.0))):
        raise ValueError("keypoint visibility must be 0, 1 or 2 (NaN refused)")
    if not np.all(np.isfinite(arr[..., :2][vis > 0])):
        raise ValueError("keypoints hold NaN or infinite coordinates on labelled points")
    return arr


def _areas(arr: np.ndarray, areas: Any) -> np.ndarray:
    if areas is None:  # bounding box of the labelled points, at least 1 square pixel
        out = np.ones(len(arr))
        for i, inst in enumerate(arr):
            xy = inst[inst[:, 2] > 0, :2]
            if len(xy):
                out[i] = max(1.0, float(np.prod(xy.max(axis=0) - xy.min(axis=0))))
        return out
    out = np.asarray(areas, dtype=np.float64)
    if out.shape != (len(arr),) or not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise ValueError(f"areas must be ({len(arr)},) finite positive values")
    return out


def _sigmas(sigmas: Any, n_joints: int) -> np.ndarray:
    if sigmas is None:
        return np.full(n_joints, DEFAULT_SIGMA)
    out = np.asarray(sigmas, dtype=np.float64)
    if out.shape != (n_joints,) or not np.all(np.isfinite(out)) or np.any(out <= 0):
        raise ValueError(f"sigmas must be ({n_joints},) finite positive values")
    return out


def oks(a: np.ndarray, b: np.ndarray, area_a: np.ndarray, area_b: np.ndarray,
        sigmas: np.ndarray) -> np.ndarray:
    """(N, M) object keypoint similarity between instances a (N, J, 3) and b (M, J, 3)."""
    both = (a[:, None, :, 2] > 0) & (b[None, :, :, 2] > 0)
    d2 = np.nan_to_num(((a[:, None, :, :2] - b[None, :, :, :2]) ** 2).sum(axis=3))
    scale = (area_a[:, None] + area_b[None, :]) / 2.0  # symmetric: neither side is the truth
    e = d2 / (2.0 * scale[..., None] * (2.0 * sigmas) ** 2)
    n = both.sum(axis=2)
    total = np.where(both, np.exp(-e), 0.0).sum(axis=2)
    return np.divide(total, n, out=np.zeros(total.shape), where=n > 0)


def fuse_keypoints(members: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(J, 3): visibility by weighted vote (ties to the higher flag), weighted mean position."""
    w = weights if weights.sum() > 0 else np.ones(len(weights))
    vis = members[:, :, 2].astype(np.int64)
    votes = np.stack([(w[:, None] * (vis == v)).sum(axis=0) for v in (0, 1, 2)], axis=1)
    fused_v = 2 - np.argmax(votes[:, ::-1], axis=1)  # reversed argmax: ties to the higher flag
    on = (vis > 0) * w[:, None]  # (members, J) weight of each member's labelled points
    denom = on.sum(axis=0)
    xy = np.nan_to_num(members[:, :, :2]) * on[:, :, None]
    mean = np.divide(xy.sum(axis=0), denom[:, None], out=np.zeros((len(denom), 2)),
                     where=denom[:, None] > 0)
    mean[fused_v == 0] = 0.0
    return np.column_stack([mean, fused_v.astype(np.float64)])


def merge_keypoints(points: Any, annotators: Sequence[Hashable],
                    labels: Sequence[Hashable] | None = None, *, sigmas: Any = None,
                    areas: Any = None, weights: Mapping[Hashable, float] | None = None,
                    oks_threshold: float = 0.5, quorum: int | None = None,
                    n_annotators: int | None = None, same_label_only: bool = False) -> ShapeConsensus:
    """Consensus keypoint instances of one item; other arguments as in `merge_boxes`.

    points: (N, J, 3) instances; sigmas: (J,) per-keypoint sigmas (default 0.1 each;
    `COCO_PERSON_SIGMAS` for COCO's person); areas: (N,) object areas (default: the bounding
    box of each instance's labelled points).
    """
    arr = as_keypoints(points)
    if len(arr) != len(annotators):
        raise ValueError(f"mismatched lengths: keypoints={len(arr)}, annotators={len(annotators)}")
    area = _areas(arr, areas)
    sig = _sigmas(sigmas, arr.shape[1])
    similarity = oks(arr, arr, area, area, sig)

    def fuse(members: np.ndarray, w: np.ndarray) -> np.ndarray:
        return fuse_keypoints(arr[members], w)

    def oks_to(fused: np.ndarray, members: np.ndarray) -> np.ndarray:
        fused_area = np.array([float(np.mean(area[members]))])
        return oks(fused[None], arr[members], fused_area, area[members], sig)[0]

    return merge_shapes(similarity, annotators, labels, fuse, oks_to, threshold=oks_threshold,
                        weights=weights, quorum=quorum, n_annotators=n_annotators,
                        same_label_only=same_label_only)
