"""How well one answer matches a reference (the consensus, a gold truth or an expert's decision).

Shapes are matched one to one (Hungarian, on IoU, OKS or curve similarity, same label only); the score is the
sum of matched similarities over the larger of the two counts, so a missed or an invented
object costs as much as a wrong one. Tags score by Jaccard, segments by frame-wise IoU per
label, transcripts by 1 - normalised edit distance. Groups (frame × kind) weigh by size.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from coordinator.consensus import (
    box_iou, curve_length, curve_similarity, mask_iou, normalized_distance, oks, resample,
)
from coordinator.quality import rasters

MATCH_MIN = 0.5  # below this similarity two shapes are not the same object
FRAME_S = 0.01  # time grid for segments


def labels_score(reference: dict[str, Any], answer: dict[str, Any]) -> float:
    parts: list[tuple[float, int]] = []
    ref, ans = _groups(reference), _groups(answer)
    for key in sorted(set(ref) | set(ans), key=repr):
        r, a = ref.get(key, []), ans.get(key, [])
        parts.append((_GROUP_SCORE[key[1]](r, a), max(len(r), len(a), 1)))
    if reference.get("segments") or answer.get("segments"):
        segs_r, segs_a = reference.get("segments", []), answer.get("segments", [])
        parts.append((_segments_score(segs_r, segs_a), max(len(segs_r), len(segs_a), 1)))
    if not parts:
        return 1.0  # both empty: they agree that there is nothing
    total = sum(n for _, n in parts)
    return min(1.0, max(0.0, float(sum(s * n for s, n in parts) / total)))  # rounding can step past 1


def _groups(labels: dict[str, Any]) -> dict[tuple[Any, str], list[dict]]:
    out: dict[tuple[Any, str], list[dict]] = defaultdict(list)
    for ann in labels.get("annotations", []):
        kind = ann["shape"]["kind"]
        out[(ann.get("frame"), "raster" if kind in ("polygon", "rotated_box", "mask") else kind)].append(ann)
    return out


def _matched(similarity: np.ndarray, same_label: np.ndarray) -> float:
    n, m = similarity.shape
    if n == 0 or m == 0:
        return 0.0 if max(n, m) else 1.0
    sim = np.where(same_label, similarity, 0.0)
    rows, cols = linear_sum_assignment(-sim)
    hits = sim[rows, cols]
    return float(hits[hits >= MATCH_MIN].sum() / max(n, m))


def _same_label(r: list[dict], a: list[dict]) -> np.ndarray:
    return np.array([[x["label"] == y["label"] for y in a] for x in r], bool).reshape(len(r), len(a))


def _boxes(anns: list[dict]) -> np.ndarray:
    b = np.array([[s["shape"][k] for k in ("x1", "y1", "x2", "y2")] for s in anns], float).reshape(-1, 4)
    return np.column_stack([np.minimum(b[:, 0], b[:, 2]), np.minimum(b[:, 1], b[:, 3]),
                            np.maximum(b[:, 0], b[:, 2]), np.maximum(b[:, 1], b[:, 3])])


def _box_score(r: list[dict], a: list[dict]) -> float:
    return _matched(box_iou(_boxes(r), _boxes(a)), _same_label(r, a))


def _raster_score(r: list[dict], a: list[dict]) -> float:
    if not r or not a:
        return _matched(np.zeros((len(r), len(a))), _same_label(r, a))
    stack, _ = rasters.rasterize([x["shape"] for x in r + a])
    iou = mask_iou(stack.reshape(len(stack), -1))[: len(r), len(r):]
    return _matched(iou, _same_label(r, a))


def _keypoints(anns: list[dict], joints: int) -> np.ndarray:
    return np.array([[[*p, (s["shape"].get("visibility") or [2] * joints)[j]]
                      for j, p in enumerate(s["shape"]["points"])] for s in anns], float).reshape(-1, joints, 3)


def _points_score(r: list[dict], a: list[dict]) -> float:
    joints = {len(s["shape"]["points"]) for s in r + a}
    if len(joints) > 1 or not r or not a:
        return _matched(np.zeros((len(r), len(a))), _same_label(r, a))
    (j,) = joints
    kr, ka = _keypoints(r, j), _keypoints(a, j)
    sigmas = np.full(j, 0.1)
    return _matched(oks(kr, ka, _areas(kr), _areas(ka), sigmas), _same_label(r, a))


def _areas(k: np.ndarray) -> np.ndarray:
    span = np.nanmax(k[:, :, :2], axis=1) - np.nanmin(k[:, :, :2], axis=1)
    return np.maximum(span.prod(axis=1), 1.0)


def _tag_score(r: list[dict], a: list[dict]) -> float:
    sr, sa = {x["label"] for x in r}, {x["label"] for x in a}
    return len(sr & sa) / len(sr | sa) if sr | sa else 1.0


def _curves(anns: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    points = [np.asarray(s["shape"]["points"], float) for s in anns]
    return (np.array([resample(p) for p in points]).reshape(len(points), -1, 2),
            np.array([curve_length(p) for p in points]))


def _polyline_score(r: list[dict], a: list[dict]) -> float:
    if not r or not a:
        return _matched(np.zeros((len(r), len(a))), _same_label(r, a))
    (cr, lr), (ca, la) = _curves(r), _curves(a)
    return _matched(curve_similarity(cr, ca, lr, la), _same_label(r, a))


def _segments_score(r: list[dict], a: list[dict]) -> float:
    if not r and not a:
        return 1.0
    end = max(s["end"] for s in r + a)
    n = int(np.ceil(end / FRAME_S)) + 1
    labels = {s.get("label") or s.get("speaker") or "" for s in r + a}
    inter = union = 0
    for label in labels:
        cr, ca = _cover(r, label, n), _cover(a, label, n)
        inter, union = inter + int((cr & ca).sum()), union + int((cr | ca).sum())
    score = inter / union if union else 1.0
    texts = [" ".join(s.get("transcript") or "" for s in sorted(x, key=lambda s: s["start"])).strip() for x in (r, a)]
    if any(texts):
        score = (score + 1.0 - normalized_distance(texts[0], texts[1])) / 2
    return score


def _cover(segs: list[dict], label: str, n: int) -> np.ndarray:
    on = np.zeros(n, bool)
    for s in segs:
        if (s.get("label") or s.get("speaker") or "") == label:
            on[int(round(s["start"] / FRAME_S)):int(round(s["end"] / FRAME_S))] = True
    return on


_GROUP_SCORE = {"tag": _tag_score, "box": _box_score, "raster": _raster_score, "points": _points_score,
                "polyline": _polyline_score}
