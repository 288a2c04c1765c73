"""Proposals become masks, polygons (holes and every component kept) or boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.annotators.geometry import iou
from app.annotators.masks import decode, rasterize
from app.annotators.shapes import Box, Mask, Polygon
from app.core.errors import ValidationError
from app.models.base import Proposal
from app.models.outputs import proposal_shape, proposal_to_annotation

H, W = 300, 400


def rings_and_islands() -> np.ndarray:
    """Two components: a ring (a hole) with an island in its hole, and a separate square."""
    m = np.zeros((H, W), np.uint8)
    cv2.circle(m, (120, 150), 100, 1, -1)
    cv2.circle(m, (120, 150), 50, 0, -1)
    cv2.circle(m, (120, 150), 20, 1, -1)  # an island inside the hole
    cv2.rectangle(m, (280, 60), (360, 240), 1, -1)
    return m.astype(bool)


def test_a_polygon_keeps_holes_and_every_component() -> None:
    truth = rings_and_islands()
    poly = proposal_shape(Proposal(truth, 0.8, "grabcut"), "polygon")
    assert isinstance(poly, Polygon)
    assert len(poly.parts) == 3  # ring, island, square
    assert sum(len(p.holes) for p in poly.parts) == 1
    drawn = rasterize(poly, H, W)
    assert (drawn & truth).sum() / (drawn | truth).sum() >= 0.98
    assert not drawn[150, 170 - 20]  # a pixel in the hole (between island and ring) stays empty


def test_a_mask_round_trips_exactly_and_a_box_bounds_it() -> None:
    truth = rings_and_islands()
    proposal = Proposal(truth, 0.5, "grabcut")
    mask = proposal_shape(proposal, "mask")
    assert isinstance(mask, Mask) and np.array_equal(decode(mask), truth)
    box = proposal_shape(proposal, "box")
    assert box == Box(20.0, 50.0, 361.0, 251.0)
    assert iou(box, mask) == pytest.approx(truth.sum() / (341 * 201), rel=1e-6)


def test_annotation_carries_source_confidence_and_model() -> None:
    ann = proposal_to_annotation(Proposal(rings_and_islands(), 0.87, "grabcut"), 7, "cell", "polygon")
    assert ann is not None
    assert (ann.source, ann.confidence, ann.author, ann.label, ann.asset_id) == ("model", 0.87, "grabcut",
                                                                                 "cell", 7)


def test_empty_proposals_give_nothing_and_bad_outputs_are_refused() -> None:
    empty = Proposal(np.zeros((5, 5), bool), 0.1, "grabcut")
    assert proposal_to_annotation(empty, 1, "x", "polygon") is None
    with pytest.raises(ValidationError, match="mask, polygon, box"):
        proposal_shape(Proposal(rings_and_islands(), 0.1, "grabcut"), "segments")


def test_scores_are_clipped_to_0_1() -> None:
    assert Proposal(np.ones((2, 2), bool), 1.03, "sam").score == 1.0
    assert Proposal(np.ones((2, 2), bool), -0.2, "sam").score == 0.0
