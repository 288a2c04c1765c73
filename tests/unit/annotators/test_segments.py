"""Audio segments: validation, overlaps, sorting and dict round trips."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.annotators.audio.segments import (
    Segment, overlapping_pairs, segment_from_dict, segments_at, sort_segments,
)
from app.core.errors import ValidationError


@st.composite
def segments(draw: st.DrawFn) -> Segment:
    start = draw(st.floats(0, 100, allow_nan=False))
    length = draw(st.floats(0.01, 20, allow_nan=False))
    return Segment(start, start + length, draw(st.none() | st.integers(0, 2)),
                   label=draw(st.sampled_from(["speech", "music", ""])),
                   speaker=draw(st.none() | st.text(max_size=4)),
                   transcript=draw(st.text(max_size=10)),
                   attributes=draw(st.dictionaries(st.text(min_size=1, max_size=3),
                                                   st.integers(0, 5), max_size=2)))


@settings(max_examples=80, deadline=None)
@given(segments())
def test_dict_round_trip(segment):
    data = json.loads(json.dumps(segment.to_dict(), allow_nan=False))
    assert segment_from_dict(data) == segment


@settings(max_examples=60, deadline=None)
@given(st.lists(segments(), max_size=12))
def test_overlapping_pairs_match_brute_force(segs):
    expected = [(i, j) for i, j in itertools.combinations(range(len(segs)), 2)
                if segs[i].overlaps(segs[j])]
    assert overlapping_pairs(segs) == expected
    ordered = sort_segments(segs)
    assert [s.start for s in ordered] == sorted(s.start for s in segs)


def test_overlap_is_per_channel_and_touching_is_not_overlapping():
    left, right = Segment(0, 1, 0), Segment(1, 2, 0)
    assert not left.overlaps(right)
    assert not Segment(0, 2, 0).overlaps(Segment(1, 3, 1))
    assert Segment(0, 2, None).overlaps(Segment(1, 3, 1))  # None spans every channel
    assert overlapping_pairs([Segment(0, 2, 0), Segment(1, 3, 1), Segment(1.5, 4, 0)]) == [(0, 2)]


def test_segments_at_a_time():
    segs = [Segment(0, 1, 0, "a"), Segment(0.5, 2, 1, "b"), Segment(0, 5, None, "c")]
    assert [s.label for s in segments_at(segs, 0.75)] == ["a", "b", "c"]
    assert [s.label for s in segments_at(segs, 0.75, channel=1)] == ["b", "c"]
    assert [s.label for s in segments_at(segs, 1.0)] == ["b", "c"]  # end is exclusive


@pytest.mark.parametrize(("data", "where"), [
    ({"end": 1}, "segment.start"),
    ({"start": 1, "end": 1}, "segment.end"),
    ({"start": -1, "end": 1}, "segment.start"),
    ({"start": 0, "end": float("inf")}, "segment.end"),
    ({"start": float("nan"), "end": 1}, "segment.start"),
    ({"start": 0, "end": 1, "channel": -1}, "segment.channel"),
    ({"start": 0, "end": 1, "channel": 1.0}, "segment.channel"),
    ({"start": 0, "end": 1, "label": None}, "segment.label"),
    ({"start": 0, "end": 1, "speaker": 3}, "segment.speaker"),
    ({"start": 0, "end": 1, "attributes": {"a": [1]}}, "segment.attributes.a"),
    ({"start": 0, "end": 1, "pitch": 3}, "segment.pitch"),
    ("0-1", "segment"),
])
def test_bad_dicts_name_the_field(data, where):
    with pytest.raises(ValidationError) as err:
        segment_from_dict(data)
    assert err.value.where == where


def test_duration_bounds_the_end():
    assert segment_from_dict({"start": 0, "end": 2}, duration=2.0).end == 2.0
    with pytest.raises(ValidationError) as err:
        segment_from_dict({"start": 0, "end": 2.5}, duration=2.0)
    assert err.value.where == "segment.end"
    assert Segment(1, 3.5).duration == 2.5
