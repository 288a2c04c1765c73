"""Annotations, the document and its commands under History: exact undo, merging, events."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from app.annotators.annotation import Annotation
from app.annotators.changes import ChangeSet
from app.annotators.commands import (
    AddAnnotation,
    MoveAnnotations,
    Relabel,
    RemoveAnnotations,
    SetAttribute,
    SetHidden,
    SetZOrder,
    UpdateAnnotation,
)
from app.annotators.document import AnnotationDocument
from app.annotators.shapes import Box, Mask, Points, Polygon, Polyline, RotatedBox, Tag
from app.core.errors import ConflictError, NotFoundError, ValidationError
from app.core.history import History

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
ASSET = 7


def box(x: float = 0, y: float = 0, w: float = 10, h: float = 10) -> Box:
    return Box(x, y, x + w, y + h)


def make(label: str = "car", shape: Any = None, **fields: Any) -> Annotation:
    return Annotation.new(asset_id=ASSET, label=label, shape=shape or box(), author="ana",
                          now=T0, **fields)


@pytest.fixture
def doc() -> AnnotationDocument:
    return AnnotationDocument(ASSET)


@pytest.fixture
def history(doc: AnnotationDocument) -> History[AnnotationDocument]:
    return History(doc)


# -- Annotation ------------------------------------------------------------------------------

ALL_SHAPES = [
    box(1.5, 2, 3, 4),
    RotatedBox(5, 5, 4, 2, 30),
    Polygon.from_rings([(0, 0), (4, 0), (4, 4)], [[(1, 1), (2, 1), (2, 2)]]),
    Polyline(((0, 0), (3, 4))),
    Points(((1, 1), (2, 2)), (2, 1), ("nose", "eye")),
    Mask(2, 2, "04"),
    Tag(),
]


@pytest.mark.parametrize("shape", ALL_SHAPES, ids=lambda s: s.kind)
def test_annotation_round_trips_through_json(shape: Any) -> None:
    ann = make(shape=shape, attributes={"occluded": True, "doors": 4, "plate": "x"},
               source="model", confidence=0.25, frame=12, track_id="t1", z_order=-2)
    data = json.loads(json.dumps(ann.to_dict()))
    assert Annotation.from_dict(data) == ann
    assert data["created_at"] == "2025-01-02T03:04:05.678901+00:00"


def test_new_annotation_defaults() -> None:
    ann = make()
    assert len(ann.id) == 32 and int(ann.id, 16) >= 0
    assert (ann.version, ann.source, ann.confidence, ann.z_order) == (1, "human", None, 0)
    assert ann.created_at == ann.updated_at == T0
    assert make().id != ann.id


def test_attributes_are_read_only_and_hashable() -> None:
    ann = make(attributes={"b": 1, "a": "x"})
    with pytest.raises(TypeError):
        ann.attributes["a"] = "y"  # type: ignore[index]
    copy = dict(ann.attributes)
    copy["a"] = "y"
    assert ann.attributes == {"a": "x", "b": 1}
    assert hash(ann) == hash(ann.replace())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"source": "robot"}, "source: must be one of human, model, consensus"),
        ({"confidence": 1.5}, "confidence: must be a number from 0 to 1, or null"),
        ({"confidence": float("nan")}, "confidence: must be a number from 0 to 1, or null"),
        ({"confidence": True}, "confidence: must be a number from 0 to 1, or null"),
        ({"attributes": {"x": [1]}}, "attributes.x: must be a bool, number or string, not list"),
        ({"frame": -1}, "frame: must be a non-negative integer or null"),
        ({"label": " "}, "label: must be a non-empty string"),
    ],
)
def test_annotation_validation_names_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        make(**fields)
    assert str(info.value) == message


def test_annotation_rejects_naive_timestamps_and_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="^updated_at: must be a timezone-aware"):
        make().replace(updated_at=datetime(2025, 1, 1))
    with pytest.raises(ValidationError, match="^colour: not an annotation field"):
        make().replace(colour="red")
    local = make().replace(updated_at=T0.astimezone(timezone(timedelta(hours=2))))
    assert local.updated_at.tzinfo == timezone.utc and local.updated_at == T0


def test_from_dict_names_bad_fields() -> None:
    data = make().to_dict()
    with pytest.raises(ValidationError, match="^author: required field is missing"):
        Annotation.from_dict({k: v for k, v in data.items() if k != "author"})
    with pytest.raises(ValidationError, match="^extra: unknown annotation field"):
        Annotation.from_dict({**data, "extra": 1})
    with pytest.raises(ValidationError, match=r"^shape\.x2: "):
        Annotation.from_dict({**data, "shape": {"kind": "box", "x1": 0, "y1": 0, "x2": "a",
                                                "y2": 1}})
    with pytest.raises(ValidationError, match="^created_at: not an ISO 8601"):
        Annotation.from_dict({**data, "created_at": "yesterday"})


# -- document --------------------------------------------------------------------------------


def test_document_orders_by_z_then_insertion(doc: AnnotationDocument) -> None:
    a, b, c = make(z_order=1), make(), make()
    doc._add([a, b, c])
    assert doc.ids() == [b.id, c.id, a.id]
    assert doc.z_range() == (0, 1)


def test_document_refuses_duplicates_and_other_assets_atomically(doc: AnnotationDocument) -> None:
    a = make()
    doc._add([a])
    with pytest.raises(ConflictError):
        doc._add([make(), a])
    with pytest.raises(ValidationError, match="^asset_id: belongs to asset 8, not 7"):
        doc._add([Annotation.new(asset_id=8, label="car", shape=box(), author="x")])
    with pytest.raises(NotFoundError):
        doc._remove([a.id, "missing"])
    assert doc.ids() == [a.id]


def test_document_events_carry_change_sets(doc: AnnotationDocument,
                                           history: History[AnnotationDocument]) -> None:
    seen: list[tuple[str, ChangeSet]] = []
    for name in doc.events.names:
        doc.events.subscribe(name, lambda cs, name=name: seen.append((name, cs)))
    a, b = make(), make()
    history.push(AddAnnotation(a, b))
    history.push(UpdateAnnotation(a.id, label="person"))
    history.push(RemoveAnnotations([b.id]))
    assert seen == [
        ("annotation_added", ChangeSet.of(added=[a.id, b.id])),
        ("document_changed", ChangeSet.of(added=[a.id, b.id])),
        ("annotation_changed", ChangeSet.of(changed=[a.id])),
        ("document_changed", ChangeSet.of(changed=[a.id])),
        ("annotation_removed", ChangeSet.of(removed=[b.id])),
        ("document_changed", ChangeSet.of(removed=[b.id])),
    ]
    seen.clear()
    history.undo()
    assert seen == [("annotation_added", ChangeSet.of(added=[b.id])),
                    ("document_changed", ChangeSet.of(added=[b.id]))]


def test_change_set_composition() -> None:
    add, change, remove = (ChangeSet.of(added=["x"]), ChangeSet.of(changed=["x"]),
                           ChangeSet.of(removed=["x"]))
    assert add.then(change) == add
    assert not add.then(remove)
    assert remove.then(add) == change
    assert change.then(remove) == remove
    assert ChangeSet().then(change) == change


# -- commands --------------------------------------------------------------------------------


def test_add_and_remove_restore_exact_positions(doc: AnnotationDocument,
                                                history: History[AnnotationDocument]) -> None:
    anns = [make() for _ in range(4)]
    assert history.push(AddAnnotation(*anns)) == ChangeSet.of(added=[a.id for a in anns])
    before = doc.annotations()
    history.push(RemoveAnnotations([anns[1].id, anns[2].id]))
    assert doc.ids() == [anns[0].id, anns[3].id]
    assert history.undo() == ChangeSet.of(added=[anns[1].id, anns[2].id])
    assert doc.annotations() == before
    history.undo()
    assert len(doc) == 0
    history.redo()
    assert doc.annotations() == before


def test_update_stores_only_the_fields_that_differ(doc: AnnotationDocument,
                                                   history: History[AnnotationDocument]) -> None:
    a = make(attributes={"paint": "red"})
    history.push(AddAnnotation(a))
    cmd = UpdateAnnotation(a.id, label="truck", hidden=False, attributes={"paint": "red"})
    history.push(cmd)
    assert cmd.diff == {a.id: ({"label": "car"}, {"label": "truck"})}
    assert history.undo() == ChangeSet.of(changed=[a.id])
    assert doc.get(a.id) == a


def test_update_that_changes_nothing_is_not_recorded(doc: AnnotationDocument,
                                                     history: History[AnnotationDocument]) -> None:
    a = make()
    history.push(AddAnnotation(a))
    assert not history.push(UpdateAnnotation(a.id, label="car"))
    assert history.undo_labels() == ["Add car"]


def test_bad_update_fails_before_touching_anything(doc: AnnotationDocument,
                                                   history: History[AnnotationDocument]) -> None:
    a, b = make(), make()
    history.push(AddAnnotation(a, b))
    with pytest.raises(ValidationError, match="^version: is not editable"):
        UpdateAnnotation(a.id, version=3)
    with pytest.raises(ValidationError, match="^colour: is not an annotation field"):
        UpdateAnnotation(a.id, colour="red")
    with pytest.raises(ValidationError, match="^confidence: "):
        history.push(UpdateAnnotation(b.id, confidence=2))
    with pytest.raises(NotFoundError):
        history.push(Relabel([a.id, "gone"], "truck"))
    assert doc.annotations() == [a, b] and history.undo_labels() == ["Add 2 annotations"]


def test_a_drag_is_one_step_and_undo_is_exact(doc: AnnotationDocument,
                                              history: History[AnnotationDocument]) -> None:
    a, b = make(shape=box(0.1, 0.2)), make(shape=Polyline(((0, 0), (1, 1))))
    history.push(AddAnnotation(a, b))
    for _ in range(50):
        history.push(MoveAnnotations([a.id, b.id], 0.1, 0.3, gesture="drag-1"))
    assert history.undo_labels() == ["Move", "Add 2 annotations"]
    moved = doc.get(a.id).shape
    assert moved.x1 == pytest.approx(5.1) and moved.y1 == pytest.approx(15.2)
    history.undo()
    assert doc.annotations() == [a, b]  # bit-exact, no floating-point drift
    history.redo()
    assert doc.get(a.id).shape == moved


def test_separate_drags_and_different_selections_do_not_merge(
    doc: AnnotationDocument, history: History[AnnotationDocument]
) -> None:
    a, b = make(), make()
    history.push(AddAnnotation(a, b))
    history.push(MoveAnnotations([a.id], 1, 0, gesture="g1"))
    history.push(MoveAnnotations([a.id], 1, 0, gesture="g2"))
    history.push(MoveAnnotations([a.id, b.id], 1, 0, gesture="g2"))
    history.push(SetHidden([a.id], True))
    history.push(MoveAnnotations([b.id, a.id], 1, 0, gesture="g2"))
    assert history.undo_labels() == ["Move", "Hide", "Move", "Move", "Move", "Add 2 annotations"]


def test_a_drag_back_to_the_start_leaves_no_step(doc: AnnotationDocument,
                                                 history: History[AnnotationDocument]) -> None:
    a = make()
    history.push(AddAnnotation(a))
    history.push(MoveAnnotations([a.id], 4, 2))
    history.push(MoveAnnotations([a.id], -4, -2))
    assert history.undo_labels() == ["Add car"]
    assert doc.get(a.id) == a


def test_z_order_commands(doc: AnnotationDocument, history: History[AnnotationDocument]) -> None:
    a, b, c = make(), make(), make()
    history.push(AddAnnotation(a, b, c))
    history.push(SetZOrder.to_front(doc, [a.id]))
    assert doc.ids() == [b.id, c.id, a.id]
    history.push(SetZOrder.to_back(doc, [c.id]))
    assert doc.ids() == [c.id, b.id, a.id]
    assert history.undo_labels()[:2] == ["Send to back", "Bring to front"]
    history.undo()
    history.undo()
    assert doc.annotations() == [a, b, c]


def test_set_attribute_sets_and_clears(doc: AnnotationDocument,
                                       history: History[AnnotationDocument]) -> None:
    a, b = make(attributes={"paint": "red"}), make()
    history.push(AddAnnotation(a, b))
    history.push(SetAttribute([a.id, b.id], "paint", "blue"))
    assert [dict(x.attributes) for x in doc] == [{"paint": "blue"}] * 2
    history.push(SetAttribute([a.id], "paint", None))
    assert dict(doc.get(a.id).attributes) == {}
    history.undo()
    history.undo()
    assert doc.annotations() == [a, b]


def test_group_of_commands_is_one_step(doc: AnnotationDocument,
                                       history: History[AnnotationDocument]) -> None:
    a = make()
    with history.group("Paste and place"):
        history.push(AddAnnotation(a))
        history.push(MoveAnnotations([a.id], 5, 5))
        history.push(Relabel([a.id], "person"))
    assert history.undo_labels() == ["Paste and place"]
    assert history.undo() == ChangeSet.of(removed=[a.id])
    assert len(doc) == 0


def test_size_estimate_follows_the_data(doc: AnnotationDocument) -> None:
    small = AddAnnotation(make())
    noise = np.random.default_rng(0).random((200, 200)) > 0.5
    rle = coco_mask.encode(np.asfortranarray(noise.astype(np.uint8)))
    big_mask = Mask(200, 200, rle["counts"].decode("ascii"))
    big = AddAnnotation(make(shape=Polygon.from_rings([(i, i * i % 7) for i in range(5000)])))
    assert big.size_bytes() > 50 * small.size_bytes()
    assert AddAnnotation(make(shape=big_mask)).size_bytes() > 10_000


def test_memory_budget_drops_oldest_annotation_steps(doc: AnnotationDocument) -> None:
    history: History[AnnotationDocument] = History(doc, budget_bytes=100_000)
    polygons = [make(shape=Polygon.from_rings([(i, i % 5) for i in range(300)]))
                for _ in range(6)]
    for ann in polygons:
        history.push(AddAnnotation(ann))
    kept = len(history.undo_labels())
    assert 1 < kept < 6 and history.size_bytes <= 100_000
    while history.can_undo:
        history.undo()
    assert len(doc) == 6 - kept


# -- property: any sequence of commands undoes and redoes exactly ---------------------------

coord = st.integers(-50, 50).map(lambda v: v / 4)
op = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(["car", "person"]), coord, coord, st.integers(1, 3)),
    st.tuples(st.just("remove"), st.integers(0, 99), st.integers(1, 3)),
    st.tuples(st.just("move"), st.integers(0, 99), coord, coord, st.sampled_from([None, "g"])),
    st.tuples(st.just("relabel"), st.integers(0, 99), st.sampled_from(["car", "bus"])),
    st.tuples(st.just("z"), st.integers(0, 99), st.integers(-2, 2)),
    st.tuples(st.just("attr"), st.integers(0, 99), st.sampled_from([None, True, 3, "x"])),
    st.tuples(st.just("hide"), st.integers(0, 99), st.booleans()),
)


def command_for(doc: AnnotationDocument, step: tuple[Any, ...]) -> Any:
    ids = doc.ids()
    if step[0] == "add":
        _, label, x, y, count = step
        return AddAnnotation(*(make(label, box(x + i, y)) for i in range(count)))
    if not ids:
        return None
    pick = [ids[(step[1] + k) % len(ids)] for k in range(step[2] if step[0] == "remove" else 1)]
    kind = step[0]
    if kind == "remove":
        return RemoveAnnotations(pick)
    if kind == "move":
        return MoveAnnotations(pick, step[2], step[3], gesture=step[4])
    if kind == "relabel":
        return Relabel(pick, step[2])
    if kind == "z":
        return SetZOrder(pick, step[2])
    if kind == "attr":
        return SetAttribute(pick, "a", step[2])
    return SetHidden(pick, step[2])


def net_change(before: list[Annotation], after: list[Annotation]) -> tuple[set[str], ...]:
    old, new = {a.id: a for a in before}, {a.id: a for a in after}
    changed = {i for i in old.keys() & new.keys() if old[i] != new[i]}
    return set(new) - set(old), changed, set(old) - set(new)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(op, max_size=25), initial=st.integers(0, 3), grouped=st.integers(0, 25))
def test_undo_all_and_redo_all_are_exact(steps: list[Any], initial: int, grouped: int) -> None:
    doc = AnnotationDocument(ASSET, [make(shape=box(i, i)) for i in range(initial)])
    history: History[AnnotationDocument] = History(doc)
    start = doc.annotations()
    results = []
    with history.group("Tail"):  # a group of the last steps must behave the same
        for index, step in enumerate(steps):
            if index == grouped:
                break
            if (cmd := command_for(doc, step)) is not None:
                results.append(history.push(cmd))
    for step in steps[grouped:]:
        if (cmd := command_for(doc, step)) is not None:
            results.append(history.push(cmd))
    end = doc.annotations()
    done = ChangeSet()
    for later in results:
        done = done.then(later)
    added, changed, removed = net_change(start, end)
    assert (set(done.added), set(done.removed)) == (added, removed)
    assert changed <= done.changed

    undone = ChangeSet()
    while history.can_undo:
        undone = undone.then(history.undo())
    assert doc.annotations() == start
    assert (set(undone.added), set(undone.removed)) == (removed, added)
    while history.can_redo:
        history.redo()
    assert doc.annotations() == end
