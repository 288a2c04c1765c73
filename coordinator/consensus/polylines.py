"""Open curves (lane markings, road edges, wires) from several annotators, matched by a curve
similarity that is to polylines what OKS is to keypoints.

Each polyline is resampled to `SAMPLES` points at equal arc length, so two drawings of one
curve compare point by point whatever their vertex counts. Their distance d is the mean gap
between those points, taking the better of the two directions (nobody agrees which end a lane
starts at). Similarity is exp(-d² / (2 (σ·L)²)), L the curves' mean length (at least
`MIN_SCALE_PX`), σ = `SIGMA`: 0.5 at d ≈ 6 % of the length, like OKS's scale-aware tolerance. The
fused curve is the weighted mean of the members' resampled points (each turned to the
heaviest member's direction), with the points a straight stretch does not need left out.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from coordinator.consensus.clustering import ShapeConsensus, merge_shapes

SAMPLES = 32  # points per curve after resampling
SIGMA = 0.05  # tolerance as a share of the curve's length
MIN_SCALE_PX = 50.0  # short curves are not held to sub-pixel agreement
SIMPLIFY_PX = 0.25  # fused points this close to the line through their neighbours are dropped


def as_polyline(points: Any) -> np.ndarray:
    """(K, 2) finite float array, K >= 2."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 2:
        raise ValueError(f"a polyline is (K >= 2, 2) points, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("a polyline holds NaN or infinite coordinates")
    return arr


def resample(points: np.ndarray, n: int = SAMPLES) -> np.ndarray:
    """(n, 2) points at equal arc length along the polyline, both ends kept."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] == 0.0:  # every vertex in one place
        return np.repeat(points[:1], n, axis=0)
    keep = np.concatenate([[True], steps > 0])  # np.interp needs strictly increasing positions
    at = np.linspace(0.0, along[-1], n)
    return np.column_stack([np.interp(at, along[keep], points[keep, 0]), np.interp(at, along[keep], points[keep, 1])])


def curve_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def curve_similarity(a: np.ndarray, b: np.ndarray, len_a: np.ndarray, len_b: np.ndarray) -> np.ndarray:
    """(N, M) similarity in [0, 1] between resampled curves a (N, S, 2) and b (M, S, 2)."""
    forward = np.linalg.norm(a[:, None] - b[None, :], axis=3).mean(axis=2)
    backward = np.linalg.norm(a[:, None] - b[None, :, ::-1], axis=3).mean(axis=2)
    d = np.minimum(forward, backward)
    scale = SIGMA * np.maximum((len_a[:, None] + len_b[None, :]) / 2.0, MIN_SCALE_PX)
    return np.exp(-(d ** 2) / (2.0 * scale ** 2))


def _simplify(points: np.ndarray) -> np.ndarray:
    """Drop interior points within `SIMPLIFY_PX` of the segment joining their kept neighbours."""
    kept = [points[0]]
    for i in range(1, len(points) - 1):
        start, here, nxt = kept[-1], points[i], points[i + 1]
        span = nxt - start
        norm = float(np.hypot(*span))
        off = abs(span[0] * (here[1] - start[1]) - span[1] * (here[0] - start[0])) / norm if norm else 0.0
        if off > SIMPLIFY_PX:
            kept.append(here)
    kept.append(points[-1])
    return np.asarray(kept)


def fuse_polylines(members: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(K, 2): the weighted mean of resampled curves (S, 2 each), each turned to the heaviest one's
    direction first, then simplified."""
    w = weights if weights.sum() > 0 else np.ones(len(weights))
    lead = members[int(np.argmax(w))]
    turned = np.array([m if np.linalg.norm(m - lead, axis=1).mean() <= np.linalg.norm(m[::-1] - lead, axis=1).mean()
                       else m[::-1] for m in members])
    mean = (turned * w[:, None, None]).sum(axis=0) / w.sum()
    return _simplify(mean)


def merge_polylines(polylines: Sequence[Any], annotators: Sequence[Hashable],
                    labels: Sequence[Hashable] | None = None, *, weights: Mapping[Hashable, float] | None = None,
                    threshold: float = 0.5, quorum: int | None = None, n_annotators: int | None = None,
                    same_label_only: bool = False) -> ShapeConsensus:
    """Consensus polylines of one item; other arguments as in `merge_boxes`. Each cluster's shape
    is a (K, 2) array of the fused curve's points."""
    curves = [as_polyline(p) for p in polylines]
    if len(curves) != len(annotators):
        raise ValueError(f"mismatched lengths: polylines={len(curves)}, annotators={len(annotators)}")
    sampled = np.array([resample(c) for c in curves]).reshape(len(curves), SAMPLES, 2)
    lengths = np.array([curve_length(c) for c in curves])
    similarity = curve_similarity(sampled, sampled, lengths, lengths)

    def fuse(members: np.ndarray, w: np.ndarray) -> np.ndarray:
        return fuse_polylines(sampled[members], w)

    def similarity_to(fused: np.ndarray, members: np.ndarray) -> np.ndarray:
        return curve_similarity(resample(fused)[None], sampled[members], np.array([curve_length(fused)]),
                                lengths[members])[0]

    return merge_shapes(similarity, annotators, labels, fuse, similarity_to, threshold=threshold,
                        weights=weights, quorum=quorum, n_annotators=n_annotators, same_label_only=same_label_only)
