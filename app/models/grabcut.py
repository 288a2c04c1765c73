"""GrabCut: the classical pre-labeler that needs no weights, the default until SAM is set up.

Speed: GrabCut's cost grows with the pixels it models, so it runs on the prompt's region of
interest only (the box, or the clicks' bounds, plus a margin that supplies the background
colours), scaled so its long side is at most `max_side` px, and the mask is scaled back up.
Measured on this 2-core CPU (bench/bench_grabcut.py: a box over a third of a 1024x768
photo-like image, on a busy machine): 384 px and two iterations ~180-240 ms at IoU 0.996;
512 px ~270-400 ms at 0.997. One iteration is faster, but on a ring it kept the hole filled
for 1 k-means seed in 12; two never did. The whole image at 2048 px, what a direct port
does, takes about 8 s.

Prompts: outside the region is definite background; inside the box is probable foreground;
positive clicks paint small discs of definite foreground and negative clicks of definite
background. With clicks only, the region is the positive clicks' bounds grown by a margin
that scales with the image, since one click says nothing about the object's size; while the
mask runs into the region's edge, the margin doubles (twice at most) and GrabCut runs again.

Score (confidence, 0..1): how well the outline follows image edges. Over the mask's boundary
pixels we take the share whose gradient magnitude is above the region's median; an outline
drawn at random scores about half, so the score is 2 x (share - 0.5), clipped. An outline
that follows real edges scores near 1; one that cuts through texture scores near 0.
No flood-fill or superpixel refinement: on the generated test shapes GrabCut alone reaches
IoU >= 0.95, and specks below 0.1% of the region are removed instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.core.errors import ValidationError
from app.models.base import Prompt, PromptKind, Proposal

MODEL_ID = "grabcut"
CLICK_RADIUS = 0.01  # of the region's long side (at least 2 px): the painted disc for a click
BOX_MARGIN = 0.15  # of the box's size on each side: background colours to learn from
CLICK_MARGIN = 0.25  # of the image's short side, around the clicks' bounds


@dataclass(frozen=True)
class GrabCutState:
    image: np.ndarray  # (H, W, 3) uint8 BGR, full size

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[0], self.image.shape[1]


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Any decoded image (grey, BGR, BGRA; 8/16-bit or float) as the uint8 BGR GrabCut needs."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 1):
        a = cv2.cvtColor(a.reshape(a.shape[0], a.shape[1]), cv2.COLOR_GRAY2BGR)
    if a.ndim != 3 or a.shape[2] != 3 or min(a.shape[:2]) < 2:
        raise ValidationError(f"expected a grey or colour image, got shape {a.shape}", where="image")
    if a.dtype != np.uint8:  # stretch the actual range: 16-bit scans rarely use all of it
        lo, hi = float(a.min()), float(a.max())
        a = ((a.astype(np.float32) - lo) * (255.0 / (hi - lo) if hi > lo else 0.0)).astype(np.uint8)
    return np.ascontiguousarray(a)


class GrabCutPreLabeler:
    id = MODEL_ID
    prompt_kinds = frozenset({PromptKind.BOX, PromptKind.POINTS, PromptKind.NONE})
    outputs = ("mask", "polygon", "box")

    def __init__(self, *, max_side: int = 384, iterations: int = 2) -> None:
        if max_side < 64 or iterations < 1:
            raise ValidationError("max_side >= 64 and iterations >= 1", where="grabcut")
        self.max_side = max_side
        self.iterations = iterations

    def prepare(self, image: np.ndarray) -> GrabCutState:
        return GrabCutState(to_bgr8(image))

    def propose(self, state: GrabCutState, prompt: Prompt) -> list[Proposal]:
        if prompt.is_empty:
            raise ValidationError("GrabCut needs a box or a positive click", where="prompt")
        h, w = state.size
        margin = CLICK_MARGIN
        while True:
            region = _region(prompt, w, h, margin)
            fg = self._cut_region(state.image, prompt, region)
            # Clicks do not say how big the object is: while the mask runs into the window's
            # edge (and the window can still grow), grow the window and cut again.
            if prompt.box is not None or margin >= 4 * CLICK_MARGIN or not _touches_inner_edge(
                    fg, region, w, h):
                break
            margin *= 2
        x1, y1, x2, y2 = region
        full = np.zeros((h, w), dtype=bool)
        full[y1:y2, x1:x2] = fg
        return [Proposal(full, edge_score(state.image[y1:y2, x1:x2], fg), MODEL_ID)]

    def _cut_region(self, image: np.ndarray, prompt: Prompt, region: tuple[int, int, int, int]
                    ) -> np.ndarray:
        """The foreground inside `region`, computed at most `max_side` px on the long side."""
        x1, y1, x2, y2 = region
        crop = image[y1:y2, x1:x2]
        scale = min(1.0, self.max_side / max(crop.shape[:2]))
        small = crop if scale == 1.0 else cv2.resize(
            crop, (max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale))),
            interpolation=cv2.INTER_AREA)
        sx, sy = small.shape[1] / crop.shape[1], small.shape[0] / crop.shape[0]
        seeds = _seeds(prompt, small.shape[:2], x1, y1, sx, sy)
        return _upscale(_cut(small, seeds, self.iterations), crop.shape[:2])

    def segment_everything(self, image: np.ndarray, *, limit: int = 8) -> list[Proposal]:
        state = self.prepare(image)
        proposals = [p for box in salient_boxes(state.image, limit=limit)
                     for p in self.propose(state, Prompt(box=box))]
        return [p for p in proposals if p.mask.any()]


def salient_boxes(image: np.ndarray, *, limit: int = 8, min_share: float = 0.005
                  ) -> list[tuple[float, float, float, float]]:
    """Boxes around the most salient regions, largest first: the prompts for "everything".

    Frequency-tuned saliency (Achanta et al. 2009): a pixel is salient as far as its blurred
    Lab colour is from the image's mean colour. Otsu splits salient from not, and each
    connected region of at least `min_share` of the image that does not span the whole width
    or height (that is background) becomes a box, for GrabCut to cut out precisely.
    """
    h, w = image.shape[:2]
    scale = min(1.0, 256 / max(h, w))  # saliency is coarse; 256 px is plenty and fast
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA) if scale < 1 else image
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_BGR2LAB).astype(np.float32)
    sal = np.linalg.norm(lab - lab.reshape(-1, 3).mean(axis=0), axis=2)
    sal8 = cv2.normalize(sal, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    _, fg = cv2.threshold(sal8, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    sh, sw = fg.shape
    boxes = []
    for x, y, bw, bh, area in sorted(stats[1:].tolist(), key=lambda s: -s[4]):
        if area < min_share * fg.size or bw >= sw or bh >= sh:
            continue
        boxes.append((x / scale, y / scale, min(w, (x + bw) / scale), min(h, (y + bh) / scale)))
    return boxes[:limit]


def _touches_inner_edge(fg: np.ndarray, region: tuple[int, int, int, int], w: int, h: int) -> bool:
    """Whether the mask reaches a side of the window that is not the image's own border."""
    x1, y1, x2, y2 = region
    k = max(3, round(0.04 * min(fg.shape)))  # past the 2% frame that `_seeds` keeps background
    sides = ((fg[:, :k], x1 > 0), (fg[:, -k:], x2 < w), (fg[:k, :], y1 > 0), (fg[-k:, :], y2 < h))
    return any(open_side and strip.any() for strip, open_side in sides)


def _region(prompt: Prompt, w: int, h: int, click_margin: float = CLICK_MARGIN
            ) -> tuple[int, int, int, int]:
    """The integer pixel window GrabCut models: the prompt's extent plus a margin."""
    if prompt.box is not None:
        bx1, by1, bx2, by2 = prompt.box
        pts = [(bx1, by1), (bx2, by2), *prompt.positive]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        mx = max(4.0, (max(xs) - min(xs)) * BOX_MARGIN)
        my = max(4.0, (max(ys) - min(ys)) * BOX_MARGIN)
    else:
        xs, ys = [p[0] for p in prompt.positive], [p[1] for p in prompt.positive]
        mx = my = max(8.0, click_margin * min(w, h))
    x1, y1 = int(max(0, np.floor(min(xs) - mx))), int(max(0, np.floor(min(ys) - my)))
    x2, y2 = int(min(w, np.ceil(max(xs) + mx))), int(min(h, np.ceil(max(ys) + my)))
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise ValidationError("the prompt lies outside the image", where="prompt")
    return x1, y1, x2, y2


def _seeds(prompt: Prompt, shape: tuple[int, int], ox: int, oy: int, sx: float, sy: float
           ) -> np.ndarray:
    """GrabCut's initial label mask at the working scale."""
    h, w = shape
    mask = np.full((h, w), cv2.GC_BGD, dtype=np.uint8)
    if prompt.box is not None:
        bx1, by1, bx2, by2 = prompt.box
        c1, r1 = int(round((bx1 - ox) * sx)), int(round((by1 - oy) * sy))
        c2, r2 = int(round((bx2 - ox) * sx)), int(round((by2 - oy) * sy))
        mask[max(0, r1):max(0, r2), max(0, c1):max(0, c2)] = cv2.GC_PR_FGD
    else:  # clicks only: the whole window might be the object, except its outer frame
        frame = max(1, round(min(h, w) * 0.02))
        mask[frame:h - frame, frame:w - frame] = cv2.GC_PR_FGD
    radius = max(2, round(CLICK_RADIUS * max(h, w)))
    for points, value in ((prompt.positive, cv2.GC_FGD), (prompt.negative, cv2.GC_BGD)):
        for x, y in points:
            cv2.circle(mask, (int((x - ox) * sx), int((y - oy) * sy)), radius, int(value), -1)
    return mask


def _cut(image: np.ndarray, seeds: np.ndarray, iterations: int) -> np.ndarray:
    """Foreground after GrabCut, minus specks; empty when the seeds leave nothing to decide."""
    labels = seeds.copy()
    has_fg = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).any()
    has_bg = np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD)).any()
    if has_fg and has_bg:  # GrabCut needs samples of both to fit its colour models
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # GrabCut seeds its colour models by k-means: same input, same mask
        cv2.grabCut(image, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    fg = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    count, comp, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    speck = max(4, int(0.001 * fg.size))
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < speck)
    small = small[small > 0]  # label 0 is the background
    if small.size and count > 1:
        fg[np.isin(comp, small)] = 0
    return fg.astype(bool)


def _upscale(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Back to the crop's size; bilinear then a 0.5 cut gives smooth edges, not blocky ones."""
    if mask.shape == shape:
        return mask
    big = cv2.resize(mask.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return big >= 0.5


def edge_score(image: np.ndarray, mask: np.ndarray) -> float:
    """The confidence described in the module docstring."""
    m = mask.astype(np.uint8)
    if not m.any() or m.all():
        return 0.0
    boundary = (m - cv2.erode(m, np.ones((3, 3), np.uint8))).astype(bool)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    mag = cv2.GaussianBlur(cv2.magnitude(gx, gy), (5, 5), 0)  # an edge one pixel off still counts
    share = float((mag[boundary] > np.median(mag)).mean())
    return float(np.clip(2.0 * (share - 0.5), 0.0, 1.0))
