"""GrabCut from a box on a 1024-px image: the classical pre-labeler's latency per prompt.

Target (issue 4): <= 300 ms. Ours models only the box plus a margin, at <= 384 px, with two
iterations (app/models/grabcut.py). Baseline, same run: what a direct port does, GrabCut on
the whole image at full resolution (a 2048-px version of the same picture), initialised
from the rectangle with OpenCV's sample settings (5 iterations).
"""

from __future__ import annotations

import statistics
import time

import cv2
import numpy as np

from bench.harness import Measurement


def photo(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """A photo-like picture (textured, shaded background; a noisy blob with a bay) and its mask."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([90 + 60 * xx / width, 80 + 50 * yy / height, 110 + 30 * np.sin(xx / 37)], axis=-1)
    img = base + rng.normal(0, 14, (height, width, 3)).astype(np.float32)
    truth = np.zeros((height, width), np.uint8)
    s = width / 1024
    cv2.ellipse(truth, (int(500 * s), int(380 * s)), (int(290 * s), int(210 * s)), 15, 0, 360, 1, -1)
    cv2.circle(truth, (int(720 * s), int(300 * s)), int(80 * s), 0, -1)  # a bay in the outline
    blob = np.array([40, 150, 200], np.float32) + rng.normal(0, 18, (height, width, 3)).astype(np.float32)
    img = np.where(truth[:, :, None] > 0, blob, img)
    return np.clip(img, 0, 255).astype(np.uint8), truth.astype(bool)


def _box(truth: np.ndarray, pad: float) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(truth)
    return (xs.min() - pad, ys.min() - pad, xs.max() + 1 + pad, ys.max() + 1 + pad)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def _ours(image: np.ndarray, truth: np.ndarray, repeats: int) -> tuple[list[float], float]:
    from app.models.base import Prompt
    from app.models.grabcut import GrabCutPreLabeler

    gc, prompt, times = GrabCutPreLabeler(), _box_prompt(truth), []
    for _ in range(repeats):
        t0 = time.perf_counter()
        [p] = gc.propose(gc.prepare(image), Prompt(box=prompt))  # prepare included: it is per image
        times.append(time.perf_counter() - t0)
    return times, _iou(p.mask, truth)


def _box_prompt(truth: np.ndarray) -> tuple[float, float, float, float]:
    return _box(truth, 0.01 * truth.shape[1])


def _naive(image: np.ndarray, truth: np.ndarray, repeats: int) -> tuple[list[float], float]:
    x1, y1, x2, y2 = (int(v) for v in _box_prompt(truth))
    times = []
    for _ in range(repeats):
        mask = np.zeros(image.shape[:2], np.uint8)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        t0 = time.perf_counter()
        cv2.grabCut(image, mask, (x1, y1, x2 - x1, y2 - y1), bgd, fgd, 5, cv2.GC_INIT_WITH_RECT)
        times.append(time.perf_counter() - t0)
    return times, _iou(np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)), truth)


def run(quick: bool) -> list[Measurement]:
    image, truth = photo(1024, 768)
    big, big_truth = photo(2048, 1536)
    ours, ours_iou = _ours(image, truth, 3 if quick else 15)
    naive, naive_iou = _naive(big, big_truth, 1 if quick else 3)
    ms = statistics.median(ours) * 1000
    return [Measurement(
        name="grabcut box, 1024 px", unit="ms", measured=ms, target=300.0,
        baseline=statistics.median(naive) * 1000, baseline_label="whole 2048-px image, 5 iterations",
        higher_is_better=False,
        details={"p95_ms": float(np.percentile(ours, 95) * 1000), "iou": round(ours_iou, 4),
                 "baseline_iou": round(naive_iou, 4), "box_share_of_image": round(
                     float(np.prod(np.ptp(np.argwhere(truth), axis=0))) / truth.size, 3)})]
