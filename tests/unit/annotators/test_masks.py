"""RLE masks, rasterizing polygons and tracing masks back into polygons."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask
from shapely.ops import polylabel

from app.annotators import masks
from app.annotators.geometry import area, iou, polygon_region
from app.annotators.shapes import Box, Polygon, PolygonPart, RotatedBox
from app.core.errors import ValidationError
from tests.unit.annotators.strategies import bool_arrays, polygons

SQUARE = ((1, 1), (11, 1), (11, 11), (1, 11))
HOLE = ((4, 4), (8, 4), (8, 8), (4, 8))
ISLAND = ((5, 5), (7, 5), (7, 7), (5, 7))
R_MAX = 25.0  # star polygons of 12.5 to 25 px radius, placed to fit the image below
HEIGHT, WIDTH = 60, 230


@settings(max_examples=80, deadline=None)
@given(bool_arrays())
def test_rle_round_trip_is_exact_and_matches_pycocotools(bits):
    mask = masks.encode(bits)
    assert np.array_equal(masks.decode(mask), bits)
    reference = coco_mask.encode(np.asfortranarray(bits.astype(np.uint8)))
    assert mask.counts == reference["counts"].decode("ascii")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pycocotools under numpy 2
        assert np.array_equal(coco_mask.decode(mask.rle()).astype(bool), bits)
    assert masks.mask_area(mask) == bits.sum()


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9)),
              elements=st.sampled_from((0, 1, 255))))
def test_integer_arrays_encode_their_non_zero_pixels(values):
    assert np.array_equal(masks.decode(masks.encode(values)), values != 0)


def test_encode_refuses_other_arrays():
    for bad in (np.zeros((2, 2, 3), bool), np.zeros((0, 3), bool), np.zeros((2, 2), float)):
        with pytest.raises(ValidationError):
            masks.encode(bad)


def test_bbox_and_area():
    bits = np.zeros((6, 8), dtype=bool)
    bits[2:4, 3:7] = True
    mask = masks.encode(bits)
    assert masks.mask_bbox(mask) == (3, 2, 7, 4)
    assert masks.mask_area(mask) == 8
    assert masks.mask_bbox(masks.encode(np.zeros((3, 3), bool))) is None


def test_small_cases_follow_pycocotools():
    """A pixel is in when its centre is inside the outline rounded to fifths of a pixel; a
    centre exactly on an edge goes to the region on the edge's left or above it."""
    assert masks.rasterize(Box(0.4, 0.4, 1.6, 1.6), 3, 3).sum() == 4
    assert masks.rasterize(Box(0.6, 0.6, 1.4, 1.4), 3, 3).sum() == 0
    on_centres = masks.rasterize(Box(0.5, 0.5, 1.5, 1.5), 3, 3)
    assert on_centres[1, 1] and on_centres.sum() == 1
    assert masks.rasterize(Box(0.45, 0.45, 1.55, 1.55), 3, 3).sum() == 4  # rounded to 0.4, 1.6
    assert masks.rasterize(Box(-5, -5, 50, 50), 3, 4).all()  # clipped to the image
    assert masks.rasterize(RotatedBox(2, 2, 2, 2, 45), 4, 4).sum() == 4
    assert not masks.rasterize(Box(5, 5, 9, 9), 3, 4).any()  # wholly off the image


def _pycocotools_pixels(polygon: Polygon, height: int, width: int) -> np.ndarray:
    """What pycocotools draws on the whole image, ring by ring: each part's exterior less its
    holes, parts united (what `annToMask` gives for a polygon without holes)."""
    def draw(rings):
        rle = coco_mask.merge(coco_mask.frPyObjects(
            [np.ravel(r).astype(float).tolist() for r in rings], height, width))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # pycocotools under numpy 2
            return coco_mask.decode(rle).astype(bool)
    out = np.zeros((height, width), dtype=bool)
    for part in polygon.parts:
        out |= draw([part.exterior]) & ~draw(part.holes) if part.holes else draw([part.exterior])
    return out


@settings(max_examples=60, deadline=None)
@given(polygons(r_max=20.0), st.integers(1, 90), st.integers(1, 150))
def test_rasterizing_is_pycocotools_on_the_whole_image(polygon, height, width):
    """Parts off every edge of the image, negative coordinates included: drawing on the
    window the rings reach gives pycocotools' pixels on the whole image."""
    expected = _pycocotools_pixels(polygon, height, width)
    assert np.array_equal(masks.rasterize(polygon, height, width), expected)
    assert masks.polygon_to_mask(polygon, height, width) == masks.encode(expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-8, 40), st.floats(-8, 30)), min_size=3, max_size=9, unique=True))
def test_self_intersecting_rings_are_pycocotools_too(ring):
    polygon = Polygon.from_rings(ring)
    expected = _pycocotools_pixels(polygon, 24, 32)
    assert np.array_equal(masks.rasterize(polygon, 24, 32), expected)
    assert masks.polygon_to_mask(polygon, 24, 32) == masks.encode(expected)


@settings(max_examples=40, deadline=None)
@given(polygons(r_max=R_MAX, at=(30.0, 30.0)))
def test_only_pixels_near_the_outline_differ_from_centre_sampling(polygon):
    """Against the exact rule (centre inside, shapely): rounding vertices and edge samples to
    fifths of a pixel moves the outline by under 0.3 px, holes included."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    exact = shapely.contains_xy(polygon_region(polygon), xs, ys)
    rows, cols = np.nonzero(masks.rasterize(polygon, HEIGHT, WIDTH) != exact)
    outline = shapely.MultiLineString([r + r[:1] for p in polygon.parts
                                       for r in (p.exterior, *p.holes)])
    assert (shapely.distance(outline, shapely.points(cols + 0.5, rows + 0.5)) < 0.3).all()


def test_holes_are_subtracted_and_parts_united():
    """Overlapping holes cut their union; a hole reaching past its exterior only cuts."""
    holes = (((2, 2), (6, 2), (6, 6), (2, 6)), ((4, 4), (8, 4), (8, 8), (4, 8)),
             ((9, 0), (14, 0), (14, 3), (9, 3)))
    square = ((0, 0), (10, 0), (10, 10), (0, 10))
    bits = masks.rasterize(Polygon.from_rings(square, holes), 12, 16)
    expected = np.zeros((12, 16), dtype=bool)
    expected[0:10, 0:10] = True
    expected[2:6, 2:6] = expected[4:8, 4:8] = expected[0:3, 9:10] = False
    assert np.array_equal(bits, expected)


def test_far_off_vertices_are_clipped_not_walked():
    """pycocotools would walk a 1e9-pixel edge in fifths of a pixel; the rings are clipped to
    the image (plus a pixel) first, which keeps axis-parallel edges exact."""
    band = Box(-1e9, 2, 1e9, 5)
    expected = np.zeros((10, 12), dtype=bool)
    expected[2:5] = True
    assert np.array_equal(masks.rasterize(band, 10, 12), expected)
    assert masks.polygon_to_mask(band, 10, 12) == masks.encode(expected)
    wedge = Polygon.from_rings(((-1e9, -1e9), (1e9, -1e9), (3.2, 7.1)))  # 45-degree sides
    rows, cols = np.nonzero(masks.rasterize(wedge, 10, 12))
    assert set(zip(rows.tolist(), cols.tolist())) == {
        (y, x) for y in range(10) for x in range(12) if abs(x + 0.5 - 3.2) < 7.1 - (y + 0.5)}
    far_hole = ((1e9, 1e9), (2e9, 1e9), (2e9, 2e9))  # wholly off the image: cuts nothing
    square = Polygon.from_rings(((2, 2), (8, 2), (8, 8), (2, 8)), [far_hole])
    assert masks.rasterize(square, 10, 12).sum() == 36


def test_overlapping_parts_rasterize_as_their_union():
    parts = (PolygonPart(((0, 0), (4, 0), (4, 4), (0, 4))),
             PolygonPart(((2, 0), (6, 0), (6, 4), (2, 4))))
    assert masks.rasterize(Polygon(parts), 4, 6).all()


@pytest.mark.parametrize(("polygon", "pixels", "holes"), [
    (Polygon.from_rings(SQUARE, [HOLE]), 84, 1),
    (Polygon((PolygonPart(SQUARE), PolygonPart(((13, 1), (15, 1), (15, 3), (13, 3))))), 104, 0),
    (Polygon((PolygonPart(SQUARE, (HOLE,)), PolygonPart(ISLAND))), 88, 1),
])
def test_examples_survive_both_ways_exactly(polygon, pixels, holes):
    mask = masks.polygon_to_mask(polygon, 16, 16)
    assert masks.mask_area(mask) == pixels
    traced = masks.mask_to_polygon(mask, tolerance=0)
    assert area(traced) == pixels and iou(traced, polygon) == 1.0
    assert sum(len(p.holes) for p in traced.parts) == holes
    assert len(traced.parts) == len(polygon.parts)


def test_a_hole_touching_the_outline_twice_is_repaired():
    """The pixel at row 2, column 1 is a hole (background joins only diagonally) whose corners
    both touch the outline, cutting off the pixel beside it: a valid polygon needs 2 parts."""
    bits = np.array([[1, 1, 1], [0, 1, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=bool)
    traced = masks.mask_to_polygon(bits, tolerance=0)
    parts = [shapely.Polygon(p.exterior, p.holes) for p in traced.parts]
    assert shapely.MultiPolygon(parts).is_valid and len(parts) == 2
    assert np.array_equal(masks.rasterize(traced, *bits.shape), bits)


@settings(max_examples=80, deadline=None)
@given(bool_arrays(16))
def test_mask_to_polygon_to_mask_is_exact(bits):
    traced = masks.mask_to_polygon(bits, tolerance=0)
    if not bits.any():
        assert traced is None
        return
    parts = [shapely.Polygon(p.exterior, p.holes) for p in traced.parts]
    assert shapely.MultiPolygon(parts).is_valid  # corner-touching pixels come out repaired
    assert area(traced) == bits.sum()
    assert np.array_equal(masks.rasterize(traced, *bits.shape), bits)


@settings(max_examples=40, deadline=None)
@given(polygons(r_max=R_MAX, at=(30.0, 30.0)), st.sampled_from((0.0, 0.5, 1.0)))
def test_polygon_to_mask_to_polygon_keeps_area_and_holes(polygon, tolerance):
    """Area within (0.5 + 0.3 x tolerance) x perimeter (the bound masks.py documents); holes
    at least 3 px across behind walls at least 2 px thick all survive."""
    mask = masks.polygon_to_mask(polygon, HEIGHT, WIDTH)
    traced = masks.mask_to_polygon(mask, tolerance=tolerance)
    region = polygon_region(polygon)
    assert abs(area(traced) - region.area) <= (0.5 + 0.3 * tolerance) * region.length
    for part in polygon.parts:
        for hole in part.holes:
            centre = _sturdy_centre(hole, part.exterior)
            assert centre is None or _in_a_hole(traced, centre)


def _sturdy_centre(hole, exterior):
    """The deepest point of a hole at least 3 px across behind a wall at least 2 px thick."""
    inner = shapely.Polygon(hole)
    centre = polylabel(inner, 0.05)
    sturdy = (centre.distance(inner.exterior) >= 1.5
              and inner.exterior.distance(shapely.LinearRing(exterior)) >= 2)
    return centre if sturdy else None


def _in_a_hole(polygon, point) -> bool:
    return any(shapely.Polygon(part.exterior).contains(point)
               and any(shapely.Polygon(h).contains(point) for h in part.holes)
               for part in polygon.parts)


@pytest.mark.parametrize(("tolerance", "bound"), [(0, 0.5), (0.5, 1.0), (1.0, 24.5)])
def test_a_diamond_on_pixel_centres_keeps_its_area(tolerance, bound):
    """45-degree edges through pixel centres: the worst case for the staircase."""
    diamond = Polygon.from_rings(((42.5, 30), (30, 42.5), (17.5, 30), (30, 17.5)))
    traced = masks.mask_to_polygon(masks.polygon_to_mask(diamond, 60, 60), tolerance=tolerance)
    assert abs(area(traced) - area(diamond)) <= bound


def test_tolerance_and_min_area():
    bits = np.zeros((40, 40), dtype=bool)
    yy, xx = np.mgrid[0:40, 0:40]
    bits[(yy - 20) ** 2 + (xx - 20) ** 2 < 15 ** 2] = True
    bits[2, 2] = True  # a speck
    exact = masks.mask_to_polygon(bits, tolerance=0)
    smooth = masks.mask_to_polygon(bits, tolerance=1.0)
    assert len(smooth.parts[0].exterior) < len(exact.parts[0].exterior) / 2
    assert len(masks.mask_to_polygon(bits, min_area=2).parts) == 1
    assert masks.mask_to_polygon(bits, min_area=10_000) is None


def test_rasterize_checks_sizes_and_kinds():
    mask = masks.encode(np.ones((2, 3), bool))
    assert masks.rasterize(mask, 2, 3).all()
    with pytest.raises(ValidationError):
        masks.rasterize(mask, 3, 3)
    with pytest.raises(ValidationError):
        masks.rasterize(Box(0, 0, 1, 1), 0, 3)
