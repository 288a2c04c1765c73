"""Audio segments (start, end, label) from several annotators: frame-wise weighted vote.

Time is cut into frames of `frame` seconds. For every label separately, a frame is on when
annotators holding at least `threshold` of the weight mark it with that label, so overlapping
labels (two speakers at once) survive. Then, per label:

  * gaps shorter than `tolerance` between two runs are closed (a jittered boundary or a
    breath must not split a segment);
  * runs shorter than `min_duration` (default: `tolerance`) are dropped as slivers;
  * each boundary snaps to the weighted median of the annotators' own boundaries of that
    kind and label within `tolerance`, so outputs are not quantised to the frame grid.

Annotators who marked nothing count as voting "absent" (pass `n_annotators`); such an
annotator weighs the mean weight of the others, since the mapping cannot name them.
Agreement: each annotator's (label, frame) cells against the consensus cells, as IoU (1 when
both are empty), averaged with the annotators' weights.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from coordinator.consensus._common import (
    annotator_weights, check_unit_interval, finite_array, first_appearance_codes, same_length,
)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    label: Hashable
    support: float  # mean weighted vote share over the segment's frames


@dataclass(frozen=True)
class SegmentConsensus:
    segments: tuple[Segment, ...]  # sorted by start, then label order of first appearance
    agreement: float
    annotator_agreement: dict[Hashable, float]
    n_annotators: int


@dataclass(frozen=True)
class _Grid:
    t0: float
    frame: float
    n: int

    def index(self, t: np.ndarray) -> np.ndarray:
        """First frame whose centre is at or after t (so [s, e) covers index(s)..index(e)-1)."""
        return np.clip(np.ceil((t - self.t0) / self.frame - 0.5 - 1e-9), 0, self.n).astype(np.int64)


def _coverage(grid: _Grid, starts: np.ndarray, ends: np.ndarray, who: np.ndarray,
              what: np.ndarray, n_ann: int, n_labels: int) -> np.ndarray:
    """(annotators, labels, frames) booleans: does the annotator mark the label there."""
    diff = np.zeros((n_ann, n_labels, grid.n + 1), np.int64)
    np.add.at(diff, (who, what, grid.index(starts)), 1)
    np.add.at(diff, (who, what, grid.index(ends)), -1)
    return np.cumsum(diff, axis=2)[:, :, :grid.n] > 0


def _runs(on: np.ndarray) -> np.ndarray:
    """(k, 2) [first, stop) frame ranges of the True runs of a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    return np.column_stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)])


def _clean(on: np.ndarray, max_gap: int, min_len: int) -> np.ndarray:
    """Close gaps shorter than max_gap frames, then drop runs shorter than min_len frames."""
    out = on.copy()
    runs = _runs(out)
    for (_, stop), (start, _) in zip(runs[:-1], runs[1:]):
        if start - stop < max_gap:
            out[stop:start] = True
    for start, stop in _runs(out):
        if stop - start < min_len:
            out[start:stop] = False
    return out


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2.0)])


def _snap(t: float, candidates: np.ndarray, weights: np.ndarray, tolerance: float) -> float:
    near = np.abs(candidates - t) <= tolerance
    if not near.any() or weights[near].sum() <= 0:
        return t
    return _weighted_median(candidates[near], weights[near])


def _check(starts: np.ndarray, ends: np.ndarray, frame: float, tolerance: float) -> None:
    bad = np.flatnonzero(ends < starts)
    if bad.size:
        raise ValueError(f"segment {int(bad[0])} ends before it starts "
                         f"({ends[bad[0]]} < {starts[bad[0]]})")
    if not frame > 0 or not tolerance >= 0:
        raise ValueError(f"need frame > 0 and tolerance >= 0, got frame={frame}, tolerance={tolerance}")


def merge_segments(starts: Any, ends: Any, labels: Sequence[Hashable], annotators: Sequence[Hashable],
                   *, weights: Mapping[Hashable, float] | None = None, frame: float = 0.01,
                   tolerance: float = 0.2, min_duration: float | None = None,
                   threshold: float = 0.5, n_annotators: int | None = None) -> SegmentConsensus:
    """Consensus segments of one audio item (times in seconds); see the module docstring."""
    same_length(starts=starts, ends=ends, labels=labels, annotators=annotators)
    s, e = finite_array(starts, "starts"), finite_array(ends, "ends")
    _check(s, e, frame, tolerance)
    threshold = check_unit_interval(threshold, "threshold")
    who, ann_ids = first_appearance_codes(list(annotators))
    n_ann = len(ann_ids) if n_annotators is None else int(n_annotators)
    if n_ann == 0:
        raise ValueError("no segments and no n_annotators: pass n_annotators when nobody marked anything")
    if n_ann < len(ann_ids):
        raise ValueError(f"n_annotators={n_annotators} but segments come from {len(ann_ids)} annotators")
    what, label_ids = first_appearance_codes(list(labels))
    seg_w = annotator_weights(list(annotators), weights)
    ann_w = np.ones(n_ann) * (seg_w.mean() if len(seg_w) else 1.0)
    ann_w[who] = seg_w  # the present annotators' own weights
    grid = _Grid(float(s.min()) if len(s) else 0.0, float(frame),
                 int(np.ceil((e.max() - s.min()) / frame)) if len(s) else 0)
    cover = _coverage(grid, s, e, who, what, n_ann, len(label_ids))
    share = np.tensordot(ann_w / ann_w.sum(), cover.astype(np.float64), axes=1)  # (labels, frames)
    max_gap = int(round(tolerance / frame))
    min_len = int(round((tolerance if min_duration is None else min_duration) / frame))
    decided = np.stack([_clean(share[k] >= threshold - 1e-12, max_gap, min_len)
                        for k in range(len(label_ids))]) if label_ids else np.zeros((0, grid.n), bool)
    segments = _segments(decided, share, grid, (s, e, what, seg_w), label_ids, tolerance)
    per_ann = _agreement(cover, decided)
    return SegmentConsensus(segments, float(np.average(per_ann, weights=ann_w)),
                            {a: float(per_ann[i]) for i, a in enumerate(ann_ids)}, n_ann)


def _segments(decided: np.ndarray, share: np.ndarray, grid: _Grid,
              source: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
              label_ids: list[Hashable], tolerance: float) -> tuple[Segment, ...]:
    s, e, what, seg_w = source
    out = []
    for k, label in enumerate(label_ids):
        mine = what == k
        for first, stop in _runs(decided[k]):
            start = _snap(grid.t0 + first * grid.frame, s[mine], seg_w[mine], tolerance)
            end = _snap(grid.t0 + stop * grid.frame, e[mine], seg_w[mine], tolerance)
            if end <= start:  # snapping crossed over: keep the grid boundaries
                start, end = grid.t0 + first * grid.frame, grid.t0 + stop * grid.frame
            out.append(Segment(start, end, label, float(share[k, first:stop].mean())))
    out.sort(key=lambda seg: (seg.start, label_ids.index(seg.label)))
    return tuple(out)


def _agreement(cover: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """Per annotator: IoU of its (label, frame) cells with the consensus cells."""
    inter = (cover & decided[None]).sum(axis=(1, 2))
    union = (cover | decided[None]).sum(axis=(1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)
