"""Area, bounds, IoU, simplification and repair."""

from __future__ import annotations

import math

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from app.annotators import geometry, masks
from app.annotators.geometry import area, bounds, iou, make_valid, simplify
from app.annotators.shapes import Box, Points, Polygon, PolygonPart, Polyline, RotatedBox, Tag
from app.core.errors import ValidationError
from tests.unit.annotators.strategies import (
    boxes, mask_pairs, polygons, polylines, rotated_boxes, star_ring,
)

SQUARE = ((0, 0), (10, 0), (10, 10), (0, 10))
HOLE = ((3, 3), (7, 3), (7, 7), (3, 7))
FAST = settings(max_examples=60, deadline=None)

region_shapes = st.one_of(boxes(), rotated_boxes(), polygons())


def far_away(shape):
    """The shape moved clear of its own bounds."""
    x1, y1, x2, y2 = bounds(shape)
    return shape.translated(x2 - x1 + 1, y2 - y1 + 1)


def check_iou_properties(a, b):
    forward, backward = iou(a, b), iou(b, a)
    assert forward == backward
    assert 0.0 <= forward <= 1.0
    assert iou(a, a) == 1.0
    assert iou(a, far_away(a)) == 0.0


@FAST
@given(boxes(), boxes())
def test_box_iou_properties(a, b):
    check_iou_properties(a, b)


@FAST
@given(rotated_boxes(), rotated_boxes())
def test_rotated_box_iou_properties(a, b):
    check_iou_properties(a, b)


@settings(max_examples=40, deadline=None)
@given(polygons(), polygons())
def test_polygon_iou_properties(a, b):
    check_iou_properties(a, b)


@settings(max_examples=40, deadline=None)
@given(region_shapes, region_shapes)
def test_mixed_vector_iou_properties(a, b):
    check_iou_properties(a, b)


@FAST
@given(mask_pairs())
def test_mask_iou_properties(pair):
    a, b = pair
    forward = iou(a, b)
    assert forward == iou(b, a)
    assert 0.0 <= forward <= 1.0
    assert iou(a, a) == (1.0 if masks.mask_area(a) else 0.0)
    bits_a, bits_b = masks.decode(a), masks.decode(b)
    union = (bits_a | bits_b).sum()
    assert forward == pytest.approx((bits_a & bits_b).sum() / union if union else 0.0)


def test_box_iou_example():
    assert iou(Box(0, 0, 2, 2), Box(1, 0, 3, 2)) == pytest.approx(1 / 3)
    assert iou(Box(0, 0, 1, 1), Box(1, 0, 2, 1)) == 0.0  # touching is not overlapping


def test_rotated_box_matches_box_at_zero_and_is_square_symmetric():
    assert iou(RotatedBox(5, 5, 10, 4), Box(0, 3, 10, 7)) == pytest.approx(1.0)
    assert iou(RotatedBox(5, 5, 4, 4, 90), RotatedBox(5, 5, 4, 4, 0)) == pytest.approx(1.0)
    diamond = RotatedBox(0, 0, math.sqrt(2), math.sqrt(2), 45)
    assert area(diamond) == pytest.approx(2.0)
    assert bounds(diamond) == pytest.approx((-1, -1, 1, 1))


def test_square_with_a_hole():
    ring = Polygon.from_rings(SQUARE, [HOLE])
    assert area(ring) == 84
    assert iou(ring, Box(0, 0, 10, 10)) == pytest.approx(0.84)
    assert iou(ring, Box(3, 3, 7, 7)) == 0.0
    assert iou(ring, Polygon.from_rings(SQUARE)) == pytest.approx(0.84)


def test_two_parts_add_up_and_an_island_in_a_hole_counts():
    island = Polygon((PolygonPart(SQUARE, (HOLE,)),
                      PolygonPart(((4, 4), (6, 4), (6, 6), (4, 6)))))
    assert area(island) == 88
    apart = Polygon((PolygonPart(SQUARE), PolygonPart(((20, 0), (25, 0), (25, 5), (20, 5)))))
    assert area(apart) == 125
    assert bounds(apart) == (0, 0, 25, 10)
    assert iou(apart, Box(0, 0, 10, 10)) == pytest.approx(100 / 125)


def test_overlapping_parts_unite_rather_than_cancel():
    twice = Polygon((PolygonPart(SQUARE), PolygonPart(((5, 0), (15, 0), (15, 10), (5, 10)))))
    assert area(twice) == 150


def test_polygon_against_mask_rasterizes_at_the_mask_size():
    square = Polygon.from_rings(((2, 2), (6, 2), (6, 6), (2, 6)))
    mask = masks.polygon_to_mask(Box(2, 2, 6, 4), 8, 8)
    assert iou(square, mask) == pytest.approx(0.5)
    assert iou(mask, square) == iou(square, mask)
    assert iou(square, Box(2, 2, 6, 4), height=8, width=8) == pytest.approx(0.5)
    with pytest.raises(ValidationError):
        iou(square, mask, height=9, width=8)
    with pytest.raises(ValidationError):
        iou(mask, masks.polygon_to_mask(square, 9, 9))


@pytest.mark.parametrize("other", [Tag(), Polyline(((0, 0), (1, 1))), Points(((1, 1),))])
def test_iou_refuses_shapes_without_area(other):
    with pytest.raises(ValidationError) as err:
        iou(Box(0, 0, 1, 1), other)
    assert err.value.where == "b"


def test_bounds_of_keypoints_skip_unlabeled_points():
    pts = Points(((0, 0), (5, 6), (7, 2)), (0, 2, 1))
    assert bounds(pts) == (5, 2, 7, 6)
    with pytest.raises(ValidationError):
        bounds(Tag())


def test_make_valid_splits_a_bow_tie():
    bow_tie = Polygon.from_rings(((0, 0), (10, 10), (10, 0), (0, 10)))
    fixed = make_valid(bow_tie)
    assert len(fixed.parts) == 2 and area(fixed) == pytest.approx(50)
    square = Polygon.from_rings(SQUARE)
    assert make_valid(square) is square
    with pytest.raises(ValidationError):
        make_valid(Polygon.from_rings(((0, 0), (1, 1), (2, 2))))


def _valid(polygon):
    return shapely.MultiPolygon(
        [shapely.Polygon(p.exterior, p.holes) for p in polygon.parts]).is_valid


@settings(max_examples=50, deadline=None)
@given(polygons(), st.floats(0, 30))
def test_simplified_polygons_stay_valid_with_real_rings(polygon, tolerance):
    simple = simplify(polygon, tolerance)
    assert _valid(simple)
    assert all(len(ring) >= 3 for part in simple.parts for ring in (part.exterior, *part.holes))
    assert len(simple.parts) >= 1
    if tolerance == 0:
        assert area(simple) == pytest.approx(area(polygon))


@FAST
@given(polylines(), st.floats(0, 50))
def test_simplified_polylines_keep_their_ends(line, tolerance):
    simple = simplify(line, tolerance)
    assert len(simple.points) >= 2
    assert simple.points[0] == line.points[0] and simple.points[-1] == line.points[-1]


@FAST
@given(star_ring(0, 0, 20, 40))
def test_huge_tolerance_keeps_the_largest_part(ring):
    tiny = PolygonPart(((100, 100), (101, 100), (100.5, 101)))
    simple = simplify(Polygon((PolygonPart(ring), tiny)), 1000)
    assert _valid(simple)
    assert area(simple) > 0


def test_simplify_drops_collinear_points_and_refuses_bad_tolerance():
    dense = Polygon.from_rings(((0, 0), (5, 0), (10, 0), (10, 10), (0, 10)))
    assert len(simplify(dense, 0.1).parts[0].exterior) == 4
    with pytest.raises(ValidationError):
        simplify(dense, -1)
    with pytest.raises(ValidationError):
        simplify(Box(0, 0, 1, 1), 1)  # type: ignore[arg-type]


def test_to_shapely_and_back():
    ring = Polygon.from_rings(SQUARE, [HOLE])
    assert geometry.polygon_from_shapely(geometry.to_shapely(ring)) == ring
    assert geometry.to_shapely(Polyline(((0, 0), (3, 4)))).length == 5
    with pytest.raises(ValidationError):
        geometry.polygon_from_shapely(shapely.LineString([(0, 0), (1, 1)]))
