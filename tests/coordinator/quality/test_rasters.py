"""Consensus rasters: pycocotools' polygon rule on a cropped frame, and outlines that give the
same pixels back."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as coco_mask

from coordinator.quality import rasters


def polygon(*rings: list[tuple[float, float]]) -> dict:
    exterior, *holes = ([list(p) for p in ring] for ring in rings)
    return {"kind": "polygon", "parts": [{"exterior": exterior, "holes": holes}]}


def on_image(ring: list[tuple[float, float]], height: int, width: int) -> np.ndarray:
    """What pycocotools (and so `annToMask`) draws for the ring on the whole image."""
    flat = np.ravel(ring).astype(float).tolist()
    return coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects([flat], height, width))).astype(bool)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 60), st.floats(0, 40)), min_size=3, max_size=8, unique=True))
def test_a_polygon_gets_pycocotools_pixels_wherever_the_frame_starts(ring):
    (stack, box) = rasters.rasterize([polygon(ring)])
    whole = on_image(ring, 42, 62)
    assert not whole[:box.y0].any() and not whole[:, :box.x0].any()  # the frame holds them all
    assert np.array_equal(stack[0], whole[box.y0:box.y0 + box.height, box.x0:box.x0 + box.width])


def test_holes_are_subtracted_by_the_same_rule():
    square = [(0.3, 0.3), (12.7, 0.3), (12.7, 12.7), (0.3, 12.7)]
    hole = [(4.2, 4.2), (8.6, 4.2), (8.6, 8.6), (4.2, 8.6)]
    (stack, box) = rasters.rasterize([polygon(square, hole)])
    expected = on_image(square, 14, 14) & ~on_image(hole, 14, 14)
    assert (box.x0, box.y0) == (0, 0)
    assert np.array_equal(stack[0], expected[:box.height, :box.width])


@settings(max_examples=60, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))), st.integers(-5, 5),
       st.integers(-5, 5))
def test_a_polygon_consensus_outline_draws_the_same_pixels(bits, x0, y0):
    """Holes, islands in holes and pixels touching only at a corner included."""
    box = rasters.FrameBox(x0, y0, bits.shape[0], bits.shape[1], None)
    shape = rasters.to_mask_shape(bits, box)
    if not bits.any():
        assert shape is None
        return
    (stack, frame) = rasters.rasterize([shape])
    ys, xs = np.nonzero(bits)
    assert (frame.x0, frame.y0) == (x0 + xs.min(), y0 + ys.min())
    crop = bits[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert np.array_equal(stack[0][:crop.shape[0], :crop.shape[1]], crop)
    assert stack[0].sum() == crop.sum()  # nothing beyond (the frame has a spare row and column)
