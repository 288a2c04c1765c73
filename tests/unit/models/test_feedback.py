"""What the human did with a proposal: accepted, edited (IoU, vertices, time) or deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from app.annotators.annotation import Annotation
from app.annotators.masks import encode
from app.annotators.shapes import Box, Polygon
from app.core.errors import ValidationError
from app.models.feedback import judge, vertices_changed, verify_only_classes

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
SQUARE = Polygon.from_rings(((0, 0), (10, 0), (10, 10), (0, 10)))


def proposal(shape: object = SQUARE, label: str = "cat") -> Annotation:
    return Annotation.new(asset_id=1, label=label, shape=shape, author="grabcut", source="model",
                          confidence=0.9, now=T0)


def edited(p: Annotation, seconds: float, **changes: object) -> Annotation:
    return p.replace(version=2, author="ana", updated_at=T0 + timedelta(seconds=seconds), **changes)


def test_unchanged_is_accepted_with_the_time_to_decide() -> None:
    p = proposal()
    out = judge(p, edited(p, 4.5))
    assert (out.outcome, out.iou, out.vertices_changed, out.seconds) == ("accepted", 1.0, 0, 4.5)


def test_a_moved_vertex_is_an_edit_with_its_iou_and_one_vertex_changed() -> None:
    p = proposal()
    moved = Polygon.from_rings(((0, 0), (10, 0), (20, 10), (0, 10)))  # area 150, overlap 100
    out = judge(p, edited(p, 12, shape=moved))
    assert out.outcome == "edited"
    assert out.iou == pytest.approx(100 / 150)
    assert out.vertices_changed == 1 and out.seconds == 12


def test_added_vertices_are_counted() -> None:
    p = proposal()
    more = Polygon.from_rings(((0, 0), (5, -1), (10, 0), (10, 10), (5, 11), (0, 10)))
    assert vertices_changed(p.shape, more) == 2


def test_a_relabel_alone_is_an_edit_with_full_overlap() -> None:
    p = proposal()
    out = judge(p, edited(p, 3, label="dog"))
    assert (out.outcome, out.iou, out.vertices_changed) == ("edited", 1.0, 0)


def test_masks_are_compared_pixel_by_pixel_against_vectors() -> None:
    bits = np.zeros((20, 20), bool)
    bits[0:10, 0:10] = True
    p = proposal(encode(bits))
    out = judge(p, edited(p, 1, shape=Box(0, 0, 10, 20)))  # the human redrew it as a taller box
    assert out.outcome == "edited" and out.iou == pytest.approx(0.5)
    assert out.vertices_changed is None  # a mask has no vertices


def test_deleted_has_no_iou() -> None:
    out = judge(proposal(), None, decided_at=T0 + timedelta(seconds=2))
    assert (out.outcome, out.iou, out.vertices_changed, out.seconds) == ("deleted", None, None, 2.0)


def test_only_model_proposals_of_the_same_annotation_are_judged() -> None:
    human = Annotation.new(asset_id=1, label="cat", shape=SQUARE, author="ana", now=T0)
    with pytest.raises(ValidationError, match="model"):
        judge(human, None)
    with pytest.raises(ValidationError, match="another annotation"):
        judge(proposal(), proposal())


@dataclass
class Row:
    label: str
    model: str
    proposals: int
    accept_rate: float


def test_verify_only_needs_the_rate_and_enough_proposals() -> None:
    rows = [Row("cat", "grabcut", 40, 0.95), Row("dog", "grabcut", 40, 0.85),
            Row("bird", "grabcut", 10, 1.0), Row("fish", "sam", 25, 0.9)]
    assert verify_only_classes(rows) == ["cat", "fish"]
    assert verify_only_classes(rows, 0.8, 5) == ["bird", "cat", "dog", "fish"]
    assert verify_only_classes(rows, model="sam") == ["fish"]
    with pytest.raises(ValidationError):
        verify_only_classes(rows, 1.5)
