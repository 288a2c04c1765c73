"""Tracks and audio segments persist as annotation rows: versioned, outboxed, exact, isolated
from the image canvas; imports are one transaction."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings

from app.annotators.annotation import Annotation
from app.annotators.audio.segments import Segment
from app.annotators.shapes import SHAPE_TYPES, Box, shape_from_dict
from app.annotators.timeline import (
    UNLABELED, SegmentShape, TrackShape, segment_from_annotation, segment_to_annotation,
    track_from_annotation, track_to_annotation,
)
from app.annotators.video.tracks import Keyframe, Track, keyframe_from_dict
from app.core.errors import ValidationError
from app.store.assets import NewAsset
from app.store.records import Asset
from app.store.workspace import Workspace
from tests.unit.annotators.test_segments import segments
from tests.unit.annotators.test_tracks import tracks

HYPO = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TRACK = Track("7", "car", (Keyframe(0, Box(0.1, 0.2, 10.3, 20.7)),
                           Keyframe(12, Box(1 / 3, 2 / 3, 11, 21), outside=True, attributes={"speed": 2})))
SEGMENT = Segment(0.1, 0.30000000000000004, 1, label="speech", speaker="spk-A", transcript="hello",
                  attributes={"lang": "en"})


def _asset(ws: Workspace, name: str, modality: str = "video", project: str = "p") -> Asset:
    p = ws.projects.get_or_create(project)
    sha = hashlib.sha256(name.encode()).hexdigest()
    ws.assets.add_many(p.id, [NewAsset(sha256=sha, modality=modality, storage="reference", path=f"/{name}",
                                       original_name=name, size_bytes=1, metadata={})])
    return ws.assets.by_sha256(p.id, [sha])[sha]


def test_the_image_tools_shape_table_is_unchanged() -> None:
    assert set(SHAPE_TYPES) == {"box", "rotated_box", "polygon", "polyline", "points", "mask", "tag"}
    with pytest.raises(ValidationError, match="expected a shape"):
        Keyframe(0, TrackShape(TRACK.keyframes))  # type: ignore[arg-type]  # no track inside a track


def test_shapes_read_timeline_kinds_and_name_bad_fields() -> None:
    track_shape, segment_shape = TrackShape(TRACK.keyframes), SegmentShape(0.5, 1.25, None, "s", "t")
    for shape in (track_shape, segment_shape):
        assert shape_from_dict(json.loads(json.dumps(shape.to_dict()))) == shape
    bad = [({"kind": "segment", "start": 2, "end": 1}, "shape.end"),
           ({"kind": "segment", "start": 0}, "shape.end"),
           ({"kind": "segment", "start": 0, "end": 1, "label": "x"}, "shape.label"),
           ({"kind": "track", "keyframes": [{"frame": -1, "shape": {"kind": "tag"}}]}, "shape.keyframes[0].frame"),
           ({"kind": "track", "keyframes": [{"frame": 0, "shape": {"kind": "track", "keyframes": []}}]},
            "shape.keyframes[0].shape")]
    for data, where in bad:
        with pytest.raises(ValidationError) as err:
            shape_from_dict(data)
        assert err.value.where == where, data
    with pytest.raises(ValidationError):
        keyframe_from_dict({"frame": 0, "shape": {"kind": "segment", "start": 0, "end": 1}})


@HYPO
@given(track=tracks())
def test_tracks_round_trip_exactly_through_the_store(workspace: Workspace, track: Track) -> None:
    asset = _asset(workspace, "clip.mp4")
    saved = workspace.annotations.save(track_to_annotation(track, asset_id=asset.id, author="ana"))
    assert track_from_annotation(workspace.annotations.get(saved.id)) == track


@HYPO
@given(segment=segments())
def test_segments_round_trip_exactly_through_the_store(workspace: Workspace, segment: Segment) -> None:
    asset = _asset(workspace, "talk.wav", "audio")
    saved = workspace.annotations.save(segment_to_annotation(segment, asset_id=asset.id, author="ana"))
    back = segment_from_annotation(workspace.annotations.get(saved.id))
    assert back == segment and (back.start, back.end) == (segment.start, segment.end)


def test_an_unlabeled_segment_is_stored_under_a_placeholder_and_read_back_unlabeled() -> None:
    ann = segment_to_annotation(Segment(0, 1), asset_id=1, author="a")
    assert ann.label == UNLABELED and segment_from_annotation(ann).label == ""
    with pytest.raises(ValidationError, match="needs a label"):
        track_to_annotation(Track("t", "", ()), asset_id=1, author="a")
    with pytest.raises(ValidationError, match="not a track"):
        track_from_annotation(ann)


def test_edits_are_versions_with_outbox_rows_and_the_canvas_never_sees_them(workspace: Workspace) -> None:
    video = _asset(workspace, "clip.mp4")
    box = workspace.annotations.save(Annotation.new(asset_id=video.id, label="car", shape=Box(0, 0, 1, 1),
                                                    author="ana", frame=3))
    first = workspace.annotations.save(track_to_annotation(TRACK, asset_id=video.id, author="ana"))
    moved = TRACK.with_keyframe(Keyframe(5, Box(2, 2, 3, 3)))
    second = workspace.annotations.save(first.replace(shape=TrackShape(moved.keyframes)),
                                        expected_version=1)
    assert [v for v, _, _ in workspace.annotations.versions(first.id)] == [1, 2]
    assert workspace.annotations.for_asset(video.id) == [box]  # the image canvas's view
    assert workspace.annotations.timeline_for_asset(video.id) == [second]
    assert track_from_annotation(second) == moved
    rows = [o for o in workspace.outbox.all() if o.entity_id == first.id]
    assert [(o.entity, o.entity_version, o.op) for o in rows] == [("annotation", 1, "upsert"),
                                                                   ("annotation", 2, "upsert")]
    assert rows[1].payload == second.to_dict() and rows[1].payload["track_id"] == "7"
    workspace.annotations.delete(first.id)
    assert workspace.annotations.timeline_for_asset(video.id) == []
    assert workspace.outbox.all()[-1].op == "delete"


def test_heads_for_project_returns_every_live_head_by_asset(workspace: Workspace) -> None:
    audio, video = _asset(workspace, "talk.wav", "audio"), _asset(workspace, "clip.mp4")
    other = _asset(workspace, "else.wav", "audio", project="q")
    seg = workspace.annotations.save(segment_to_annotation(SEGMENT, asset_id=audio.id, author="a"))
    trk = workspace.annotations.save(track_to_annotation(TRACK, asset_id=video.id, author="a"))
    workspace.annotations.save(segment_to_annotation(SEGMENT, asset_id=other.id, author="a"))
    gone = workspace.annotations.save(segment_to_annotation(SEGMENT, asset_id=audio.id, author="a"))
    workspace.annotations.delete(gone.id)
    heads = workspace.annotations.heads_for_project(audio.project_id)
    assert heads == {audio.id: [seg], video.id: [trk]}


def test_an_import_is_one_transaction(workspace: Workspace) -> None:
    a, b = _asset(workspace, "a.wav", "audio"), _asset(workspace, "b.wav", "audio")
    groups = [(None, [segment_to_annotation(SEGMENT, asset_id=asset.id, author="x")]) for asset in (a, b)]

    def interrupted(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt  # the user stops it after the second asset's rows were written

    with pytest.raises(KeyboardInterrupt):
        workspace.annotations.import_groups(groups, progress=interrupted)
    assert workspace.annotations.heads_for_project(a.project_id) == {}
    assert workspace.outbox.all() == []
    saved = workspace.annotations.import_groups(groups)
    assert len(saved) == 2 and len(workspace.outbox.all()) == 2


def test_an_import_copies_ids_it_cannot_reuse_and_updates_its_own(workspace: Workspace) -> None:
    a, b = _asset(workspace, "a.wav", "audio"), _asset(workspace, "b.wav", "audio")
    original = workspace.annotations.save(segment_to_annotation(SEGMENT, asset_id=a.id, author="x"))
    again = original.replace(label="music")
    copy = original.replace(asset_id=b.id)  # the same id on another asset: a copy, not a move
    saved = workspace.annotations.import_groups([(None, [again, again]), (None, [copy])])
    assert saved[0].id == original.id and saved[0].version == 2
    assert len({s.id for s in saved}) == 3  # the repeat and the copy got fresh ids
    assert {x.asset_id for x in saved} == {a.id, b.id}
    assert workspace.annotations.get(original.id).label == "music"


def test_the_task_list_order_uses_an_index(workspace: Workspace) -> None:
    with workspace.db.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE project_id = 1 "
                                    "ORDER BY priority DESC, id LIMIT 50").fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "ix_tasks_project_priority" in details and "TEMP B-TREE" not in details
