"""GrabCut on generated images with known objects on textured backgrounds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.core.errors import ValidationError
from app.models.base import PreLabeler, Prompt
from app.models.grabcut import GrabCutPreLabeler, edge_score, salient_boxes, to_bgr8

W, H = 640, 480


def scene(kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy, shaded background with one object of a distinct (but noisy) colour."""
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(60, 140, (H, W, 3)).astype(np.uint8), (0, 0), 1.5)
    x = np.arange(W)[None, :, None]
    bg = np.clip(bg.astype(int) + x * 40 // W, 0, 255).astype(np.uint8)
    m = np.zeros((H, W), np.uint8)
    if kind == "circle":
        cv2.circle(m, (320, 240), 120, 1, -1)
    elif kind == "rect":
        cv2.rectangle(m, (150, 120), (430, 350), 1, -1)
    elif kind == "ring":  # a hole: the inside is background again
        cv2.circle(m, (320, 240), 150, 1, -1)
        cv2.circle(m, (320, 240), 60, 0, -1)
    fg = np.clip(rng.integers(0, 40, (H, W, 3)) + np.array([30, 170, 210]), 0, 255).astype(np.uint8)
    return np.where(m[:, :, None] > 0, fg, bg), m.astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def box_of(m: np.ndarray, pad: int = 8) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(m)
    return (xs.min() - pad, ys.min() - pad, xs.max() + 1 + pad, ys.max() + 1 + pad)


@pytest.fixture(scope="module")
def gc() -> GrabCutPreLabeler:
    return GrabCutPreLabeler()


def test_it_is_a_prelabeler(gc: GrabCutPreLabeler) -> None:
    assert isinstance(gc, PreLabeler)
    assert gc.id == "grabcut" and "polygon" in gc.outputs


@pytest.mark.parametrize("kind", ["circle", "rect", "ring"])
def test_a_box_finds_the_object(gc: GrabCutPreLabeler, kind: str) -> None:
    image, truth = scene(kind)
    [p] = gc.propose(gc.prepare(image), Prompt(box=box_of(truth)))
    assert p.mask.shape == truth.shape and p.model == "grabcut"
    assert iou(p.mask, truth) >= 0.9
    assert p.score > 0.8  # the outline follows real edges
    if kind == "ring":
        assert not p.mask[240, 320]  # the hole stays a hole


@pytest.mark.parametrize("kind", ["circle", "rect"])
def test_clicks_alone_work(gc: GrabCutPreLabeler, kind: str) -> None:
    image, truth = scene(kind)
    [p] = gc.propose(gc.prepare(image), Prompt(positive=((320, 240), (300, 220))))
    assert iou(p.mask, truth) >= 0.9


def test_clicks_on_a_ring_body(gc: GrabCutPreLabeler) -> None:
    image, truth = scene("ring")
    clicks = ((320, 120), (320, 360), (200, 240), (440, 240))  # on the ring, around the hole
    [p] = gc.propose(gc.prepare(image), Prompt(positive=clicks))
    assert iou(p.mask, truth) >= 0.85


def test_negative_clicks_carve_out_background(gc: GrabCutPreLabeler) -> None:
    image, truth = scene("circle")
    state = gc.prepare(image)
    box = (150.0, 80.0, 520.0, 400.0)  # a sloppy box, far wider than the circle
    [loose] = gc.propose(state, Prompt(box=box))
    [carved] = gc.propose(state, Prompt(box=box, negative=((170, 100), (500, 380), (500, 100)),
                                        positive=((320, 240),)))
    assert iou(carved.mask, truth) >= 0.9
    assert iou(carved.mask, truth) >= iou(loose.mask, truth) - 0.01
    assert not carved.mask[100, 170] and not carved.mask[380, 500]


def test_large_images_run_downscaled_and_come_back_full_size() -> None:
    image, truth = scene("circle")
    big = cv2.resize(image, (W * 3, H * 3), interpolation=cv2.INTER_NEAREST)
    big_truth = cv2.resize(truth.astype(np.uint8), (W * 3, H * 3), interpolation=cv2.INTER_NEAREST) > 0
    gc = GrabCutPreLabeler(max_side=256)
    [p] = gc.propose(gc.prepare(big), Prompt(box=tuple(3 * v for v in box_of(truth))))
    assert p.mask.shape == big_truth.shape
    assert iou(p.mask, big_truth) >= 0.95


def test_grey_and_16_bit_images_are_accepted(gc: GrabCutPreLabeler) -> None:
    image, truth = scene("rect")
    grey16 = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 256
    assert to_bgr8(grey16).dtype == np.uint8 and to_bgr8(grey16).shape == (H, W, 3)
    [p] = gc.propose(gc.prepare(grey16), Prompt(box=box_of(truth)))
    assert iou(p.mask, truth) >= 0.9


def test_segment_everything_finds_the_salient_objects(gc: GrabCutPreLabeler) -> None:
    image, truth = scene("circle")
    assert len(salient_boxes(to_bgr8(image))) >= 1
    proposals = gc.segment_everything(image)
    assert proposals and max(iou(p.mask, truth) for p in proposals) >= 0.9


def test_the_score_separates_true_outlines_from_arbitrary_ones() -> None:
    image, truth = scene("circle")
    arbitrary = np.zeros_like(truth)
    arbitrary[100:400, 150:600] = True
    assert edge_score(image, truth) > 0.8 > 0.2 > edge_score(image, arbitrary)
    assert edge_score(image, np.zeros_like(truth)) == 0.0


def test_bad_prompts_are_clear_errors(gc: GrabCutPreLabeler) -> None:
    state = gc.prepare(scene("circle")[0])
    with pytest.raises(ValidationError, match="box or a positive click"):
        gc.propose(state, Prompt(negative=((10, 10),)))
    with pytest.raises(ValidationError, match="outside the image"):
        gc.propose(state, Prompt(box=(5000, 5000, 6000, 6000)))
    with pytest.raises(ValidationError, match="x2 > x1"):
        Prompt(box=(10, 10, 5, 20))
