"""Shapes: construction, normalization, dict round trips and strict parsing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.annotators import masks
from app.annotators.shapes import (
    Box, Mask, Points, Polygon, PolygonPart, Polyline, RotatedBox, Tag, normalize_angle,
    rle_run_lengths, shape_from_dict,
)
from app.core.errors import ValidationError
from tests.unit.annotators.strategies import any_shapes, boxes, coords

SQUARE = ((0, 0), (10, 0), (10, 10), (0, 10))


@settings(max_examples=150, deadline=None)
@given(any_shapes())
def test_dict_round_trip_is_exact_even_through_json(shape):
    data = shape.to_dict()
    assert data["kind"] == shape.kind
    assert shape_from_dict(data) == shape
    assert shape_from_dict(json.loads(json.dumps(data, allow_nan=False))) == shape


@settings(max_examples=60, deadline=None)
@given(any_shapes(), coords, coords)
def test_translation_moves_every_coordinate(shape, dx, dy):
    if isinstance(shape, Mask):
        return  # whole-pixel moves only: tested below
    moved = shape.translated(dx, dy)
    assert type(moved) is type(shape)
    if isinstance(shape, Box):
        assert moved.x1 == shape.x1 + dx and moved.y2 == shape.y2 + dy
    if isinstance(shape, (Polyline, Points)):
        assert moved.points[0] == (shape.points[0][0] + dx, shape.points[0][1] + dy)


def test_box_is_normalized():
    assert Box(5, 7, 1, 2) == Box(1, 2, 5, 7)


@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_angle_lands_in_range_and_normalizing_twice_changes_nothing(angle):
    once = normalize_angle(angle)
    assert -180 <= once < 180
    assert normalize_angle(once) == once
    assert math.isclose(math.cos(math.radians(once)), math.cos(math.radians(angle)),
                        abs_tol=1e-6)


def test_rotated_box_corners_turn_clockwise_on_screen():
    corners = RotatedBox(0, 0, 2, 2, 90).corners()
    assert corners[0] == pytest.approx((1, -1))  # the box's top-left went to the top right


def test_closing_point_is_dropped_and_numpy_rings_accepted():
    closed = PolygonPart((*SQUARE, (0, 0)))
    assert closed.exterior == tuple((float(x), float(y)) for x, y in SQUARE)
    assert PolygonPart(np.array(SQUARE)) == closed


def test_points_default_to_visible():
    assert Points(((1, 2), (3, 4))).visibility == (2, 2)


def test_mask_moves_by_whole_pixels_only():
    bits = np.zeros((4, 5), dtype=bool)
    bits[1, 1] = True
    moved = masks.encode(bits).translated(2, 1.0)
    assert masks.decode(moved)[2, 3] and masks.mask_area(moved) == 1
    assert masks.mask_area(masks.encode(bits).translated(-9, 0)) == 0
    with pytest.raises(ValidationError) as err:
        masks.encode(bits).translated(0.5, 0)
    assert err.value.where == "dx"


def test_tag_has_no_geometry():
    assert Tag().to_dict() == {"kind": "tag"}
    assert Tag().translated(3, 4) == Tag()


@pytest.mark.parametrize(("data", "where"), [
    ([], "shape"),
    ({"x1": 0}, "shape.kind"),
    ({"kind": "circle"}, "shape.kind"),
    ({"kind": 3}, "shape.kind"),
    ({"kind": "box", "x1": 0, "y1": 0, "x2": 1}, "shape.y2"),
    ({"kind": "box", "x1": 0, "y1": 0, "x2": 1, "y2": 1, "z": 0}, "shape.z"),
    ({"kind": "box", "x1": float("nan"), "y1": 0, "x2": 1, "y2": 1}, "shape.x1"),
    ({"kind": "box", "x1": 0, "y1": float("inf"), "x2": 1, "y2": 1}, "shape.y1"),
    ({"kind": "box", "x1": "0", "y1": 0, "x2": 1, "y2": 1}, "shape.x1"),
    ({"kind": "box", "x1": True, "y1": 0, "x2": 1, "y2": 1}, "shape.x1"),
    ({"kind": "rotated_box", "cx": 0, "cy": 0, "w": -1, "h": 1, "angle": 0}, "shape.w"),
    ({"kind": "polygon", "parts": []}, "shape.parts"),
    ({"kind": "polygon", "parts": "abc"}, "shape.parts"),
    ({"kind": "polygon", "parts": [{"exterior": [[0, 0], [1, 1]]}]}, "shape.parts[0].exterior"),
    ({"kind": "polygon", "parts": [{"exterior": [[0, 0], [1, 1], [0, 0]]}]},
     "shape.parts[0].exterior"),
    ({"kind": "polygon", "parts": [{"exterior": [[0, 0], [1, 1], [2, None]]}]},
     "shape.parts[0].exterior[2][1]"),
    ({"kind": "polygon", "parts": [{"exterior": [[0, 0], [1, 1], [2]]}]},
     "shape.parts[0].exterior[2]"),
    ({"kind": "polygon", "parts": [{"exterior": SQUARE, "holes": [[[1, 1]] * 2]}]},
     "shape.parts[0].holes[0]"),
    ({"kind": "polygon", "parts": [{"holes": []}]}, "shape.parts[0].exterior"),
    ({"kind": "polyline", "points": [[0, 0]]}, "shape.points"),
    ({"kind": "points", "points": [[0, 0]], "visibility": [3]}, "shape.visibility[0]"),
    ({"kind": "points", "points": [[0, 0]], "visibility": [2, 2]}, "shape.visibility"),
    ({"kind": "points", "points": [[0, 0]], "names": [1]}, "shape.names[0]"),
    ({"kind": "mask", "height": 3, "width": 2, "counts": "4"}, "shape.counts"),
    ({"kind": "mask", "height": 0, "width": 2, "counts": ""}, "shape.height"),
    ({"kind": "mask", "height": 2, "width": 2, "counts": "\x7f"}, "shape.counts"),
    ({"kind": "mask", "height": 2, "width": 2, "counts": 4}, "shape.counts"),
    ({"kind": "tag", "label": "x"}, "shape.label"),
])
def test_bad_dicts_name_the_field(data, where):
    with pytest.raises(ValidationError) as err:
        shape_from_dict(data)
    assert err.value.where == where


def test_a_mask_whose_runs_fit_parses():
    assert shape_from_dict({"kind": "mask", "height": 2, "width": 2, "counts": "4"}).width == 2


def test_rle_strings_decode_like_pycocotools():
    bits = np.zeros((6, 7), dtype=bool)
    bits[1:5, 2:6] = True
    bits[2, 3] = False
    mask = masks.encode(bits)
    runs = rle_run_lengths(mask.counts)
    assert sum(runs) == 42 and sum(runs[1::2]) == bits.sum()
    with pytest.raises(ValidationError):
        rle_run_lengths(mask.counts + "a")  # a continuation group with no end


@settings(max_examples=40, deadline=None)
@given(boxes())
def test_shapes_are_immutable_and_hashable(box):
    with pytest.raises(AttributeError):
        box.x1 = 3  # type: ignore[misc]
    assert hash(box) == hash(Box(box.x1, box.y1, box.x2, box.y2))


def test_polygon_parts_must_be_parts():
    with pytest.raises(ValidationError) as err:
        Polygon(({"exterior": SQUARE},))  # type: ignore[arg-type]
    assert err.value.where == "parts[0]"
