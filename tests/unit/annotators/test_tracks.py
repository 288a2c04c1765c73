"""Tracks, keyframes and interpolation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.annotators import masks
from app.annotators.geometry import area, iou
from app.annotators.shapes import Box, Points, Polygon, Polyline, RotatedBox, Tag
from app.annotators.video.interpolation import interpolate
from app.annotators.video.tracks import (
    Keyframe, Track, keyframe_from_dict, track_from_dict,
)
from app.core.errors import NotFoundError, ValidationError
from tests.unit.annotators.strategies import (
    boxes, keypoints, polygons, polylines, rotated_boxes, star_ring,
)

SQUARE = ((0, 0), (10, 0), (10, 10), (0, 10))


@st.composite
def tracks(draw: st.DrawFn) -> Track:
    """A track of 1..6 keyframes of one kind at distinct frames, some outside or occluded."""
    kind = draw(st.sampled_from([boxes(), rotated_boxes(), polygons(max_parts=2), polylines(),
                                 keypoints(count=3)]))
    frames = draw(st.lists(st.integers(0, 500), min_size=1, max_size=6, unique=True))
    keyframes = tuple(
        Keyframe(f, draw(kind), outside=draw(st.booleans()), occluded=draw(st.booleans()),
                 attributes={"speed": draw(st.integers(0, 9))})
        for f in frames)
    return Track("t", "car", keyframes)


@settings(max_examples=60, deadline=None)
@given(tracks())
def test_keyframes_are_hit_exactly(track):
    for kf in track.keyframes:
        state = track.shape_at(kf.frame)
        assert state.is_keyframe and state.shape == kf.shape
        assert (state.outside, state.occluded, state.attributes) == (
            kf.outside, kf.occluded, kf.attributes)


@settings(max_examples=40, deadline=None)
@given(tracks(), st.integers(0, 600))
def test_any_frame_follows_the_outside_rules(track, frame):
    state = track.shape_at(frame)
    before = [kf for kf in track.keyframes if kf.frame <= frame]
    if not before:
        assert state is None
        return
    left = before[-1]
    assert state.outside == left.outside and state.frame == frame
    after = [kf for kf in track.keyframes if kf.frame > frame]
    if left.outside or not after or after[0].outside:
        assert state.shape == left.shape  # held: nothing interpolated across outside


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.tuples(boxes(), boxes()), st.tuples(rotated_boxes(), rotated_boxes()),
                 st.tuples(polygons(max_parts=1), polygons(max_parts=1)),
                 st.tuples(polylines(), polylines())),
       st.floats(0, 1))
def test_interpolation_ends_on_its_keyframes(pair, t):
    a, b = pair
    assert interpolate(a, b, 0.0) == a and interpolate(a, b, 1.0) == b
    assert type(interpolate(a, b, t)) is type(a)


def test_boxes_move_linearly():
    track = Track("t", "car", (Keyframe(0, Box(0, 0, 10, 10)), Keyframe(10, Box(10, 20, 30, 30))))
    assert track.shape_at(5).shape == Box(5, 10, 20, 20)
    assert track.shape_at(99).shape == Box(10, 20, 30, 30)  # holds after the last keyframe
    assert track.shape_at(5).is_keyframe is False


def test_rotated_boxes_turn_the_short_way():
    middle = interpolate(RotatedBox(0, 0, 2, 4, 170), RotatedBox(10, 0, 4, 4, -170), 0.5)
    assert middle.angle == pytest.approx(-180)
    assert (middle.cx, middle.w) == (5, 3)


def test_points_move_only_where_labeled_on_both_sides():
    a = Points(((0, 0), (10, 0)), (2, 0))
    b = Points(((10, 10), (20, 20)), (2, 2))
    assert interpolate(a, b, 0.5).points == ((5, 5), (10, 0))
    assert interpolate(a, Points(((1, 1),)), 0.5) == a  # counts differ: hold


@settings(max_examples=40, deadline=None)
@given(star_ring(50, 50, 10, 30), st.integers(0, 11), st.booleans())
def test_a_restarted_or_reversed_ring_does_not_twist(ring, shift, reverse):
    """The same outline drawn from another vertex, or the other way round, is matched vertex
    for vertex, so the halfway shape is the outline itself."""
    redrawn = np.roll(np.array(ring), -(shift % len(ring)), axis=0)
    if reverse:
        redrawn = redrawn[::-1]
    a, b = Polygon.from_rings(ring), Polygon.from_rings(redrawn)
    assert iou(interpolate(a, b, 0.5), a) == pytest.approx(1.0, abs=1e-9)


def test_polygons_morph_by_arc_length():
    square = Polygon.from_rings(SQUARE)
    bigger = Polygon.from_rings(((20, 20), (20, 0), (0, 0), (0, 20)))  # reversed, restarted
    middle = interpolate(square, bigger, 0.5)
    assert area(middle) == pytest.approx(225)
    assert iou(middle, Box(0, 0, 15, 15)) == pytest.approx(1.0)


def test_unmatched_structures_masks_and_tags_hold():
    with_hole = Polygon.from_rings(SQUARE, [((2, 2), (4, 2), (4, 4))])
    assert interpolate(with_hole, Polygon.from_rings(SQUARE), 0.5) == with_hole
    mask = masks.encode(np.eye(3, dtype=bool))
    assert interpolate(mask, masks.encode(np.ones((3, 3), bool)), 0.5) == mask
    assert interpolate(Tag(), Tag(), 0.3) == Tag()
    line = Polyline(((0, 0), (10, 0)))
    assert interpolate(line, Polyline(((0, 10), (5, 10), (10, 10))), 0.5).points[1] == (5, 5)
    with pytest.raises(ValidationError):
        interpolate(line, line, 1.5)


def test_outside_hides_the_object_until_it_comes_back():
    track = Track("t", "car", (
        Keyframe(0, Box(0, 0, 10, 10)),
        Keyframe(10, Box(100, 0, 110, 10), outside=True),
        Keyframe(20, Box(50, 0, 60, 10)),
        Keyframe(30, Box(60, 0, 70, 10)),
    ))
    assert track.shape_at(5).shape == Box(0, 0, 10, 10)  # no sliding into an outside keyframe
    assert track.shape_at(15).outside and not track.shape_at(20).outside
    assert track.shape_at(25).shape == Box(55, 0, 65, 10)


def test_edits_return_new_tracks():
    track = Track("t", "car", (Keyframe(10, Box(0, 0, 1, 1)), Keyframe(0, Box(0, 0, 2, 2))))
    assert track.frames == [0, 10]
    moved = track.with_keyframe(Keyframe(10, Box(5, 5, 6, 6), occluded=True))
    assert track.keyframe_at(10).shape == Box(0, 0, 1, 1)
    assert moved.keyframe_at(10).occluded and len(moved.keyframes) == 2
    assert moved.with_keyframe(Keyframe(5, Box(0, 0, 3, 3))).frames == [0, 5, 10]
    assert moved.without_keyframe(0).frames == [10]
    with pytest.raises(NotFoundError):
        moved.without_keyframe(7)
    assert track.keyframe_at(3) is None and track.shape_at(0).is_keyframe


def test_tracks_refuse_inconsistent_keyframes():
    with pytest.raises(ValidationError) as err:
        Track("t", "car", (Keyframe(0, Box(0, 0, 1, 1)), Keyframe(0, Box(0, 0, 2, 2))))
    assert err.value.where == "keyframes[1].frame"
    with pytest.raises(ValidationError) as err:
        Track("t", "car", (Keyframe(0, Box(0, 0, 1, 1)), Keyframe(1, Tag())))
    assert err.value.where == "keyframes[1].shape"
    with pytest.raises(ValidationError):
        Keyframe(-1, Box(0, 0, 1, 1))
    with pytest.raises(ValidationError):
        Keyframe(0, Box(0, 0, 1, 1), outside=1)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(tracks())
def test_dict_round_trip(track):
    data = json.loads(json.dumps(track.to_dict(), allow_nan=False))
    assert track_from_dict(data) == track


@pytest.mark.parametrize(("data", "where"), [
    ({"id": "t", "label": "car"}, "track.keyframes"),
    ({"id": 1, "label": "car", "keyframes": []}, "track.id"),
    ({"id": "t", "label": "car", "keyframes": [{"frame": 0}]}, "track.keyframes[0].shape"),
    ({"id": "t", "label": "car", "keyframes": [{"frame": "0", "shape": {"kind": "tag"}}]},
     "track.keyframes[0].frame"),
    ({"id": "t", "label": "car", "keyframes": [{"frame": 0, "shape": {"kind": "box"}}]},
     "track.keyframes[0].shape.x1"),
    ({"id": "t", "label": "car", "keyframes": [], "extra": 1}, "track.extra"),
])
def test_bad_track_dicts_name_the_field(data, where):
    with pytest.raises(ValidationError) as err:
        track_from_dict(data)
    assert err.value.where == where


def test_keyframe_from_dict_defaults():
    kf = keyframe_from_dict({"frame": 3, "shape": {"kind": "tag"}})
    assert (kf.outside, kf.occluded, dict(kf.attributes)) == (False, False, {})
