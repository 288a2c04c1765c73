"""A leased item's labels in the wire shapes, built from its head annotations."""

from __future__ import annotations

import pytest

from app.annotators.annotation import Annotation
from app.annotators.audio.segments import Segment
from app.annotators.shapes import Box, Tag
from app.annotators.timeline import segment_to_annotation, track_to_annotation
from app.annotators.video.tracks import Keyframe, Track
from app.core.errors import ValidationError
from app.sync.submission import labels_of


def test_shapes_tracks_and_segments_travel_in_their_wire_form() -> None:
    box = Annotation.new(asset_id=1, label="car", shape=Box(1, 2, 30, 40), author="a", attributes={"parked": True})
    proposal = Annotation.new(asset_id=1, label="car", shape=Tag(), author="sam", source="model", confidence=0.8)
    track = track_to_annotation(Track("t1", "person", (Keyframe(0, Box(0, 0, 5, 5)), Keyframe(9, Box(4, 4, 9, 9)))),
                                asset_id=1, author="a")
    speech = segment_to_annotation(Segment(1.5, 3.0, 0, speaker="ana", transcript="hello"), asset_id=1, author="a")
    labels = labels_of([box, proposal, track, speech])
    first, second = labels.annotations
    assert (first.label, first.shape.kind, first.attributes, first.source) == ("car", "box", {"parked": True}, "human")
    assert (second.source, second.confidence) == ("model", 0.8)
    [wire_track] = labels.tracks
    assert (wire_track.id, wire_track.label, [k.frame for k in wire_track.keyframes]) == ("t1", "person", [0, 9])
    [segment] = labels.segments
    assert (segment.start, segment.end, segment.label, segment.speaker, segment.transcript) == (
        1.5, 3.0, None, "ana", "hello")


def test_work_that_cannot_travel_is_refused_with_the_field() -> None:
    long_label = Annotation.new(asset_id=1, label="x" * 300, shape=Tag(), author="a")
    with pytest.raises(ValidationError, match="cannot be sent to the coordinator"):
        labels_of([long_label])
