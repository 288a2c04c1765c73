"""Clipboard: copy and paste between documents, clipping, offsets and one-step undo."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest

from app.annotators.annotation import Annotation
from app.annotators.clipboard import PASTE_OFFSET, Clipboard, clip_to_image
from app.annotators.commands import AddAnnotation
from app.annotators.document import AnnotationDocument
from app.annotators.masks import decode, encode
from app.annotators.shapes import Box, Points, Polygon, Polyline, RotatedBox, Tag
from app.core.errors import ValidationError
from tests.unit.annotators.tools.fake_context import FakeContext

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)


def add(ctx: FakeContext, shape: Any, label: str = "car", **fields: Any) -> Annotation:
    annotation = Annotation.new(asset_id=ctx.asset_id, label=label, shape=shape,
                                author="source-author", now=T0, **fields)
    ctx.history.push(AddAnnotation(annotation))
    return annotation


def context(asset_id: int, size: tuple[int, int] = (640, 480)) -> FakeContext:
    return FakeContext(AnnotationDocument(asset_id), image_size=size, author="paster")


def test_paste_on_the_same_image_offsets_and_is_one_undo_step() -> None:
    ctx = context(1)
    a = add(ctx, Box(10, 10, 50, 50), attributes={"occluded": True}, source="model",
            confidence=0.8, locked=True, hidden=True, track_id="t1", z_order=3)
    b = add(ctx, Polygon.from_rings([(100, 100), (200, 100), (150, 180)]), "person")
    ctx.set_selection([a.id, b.id])
    board = Clipboard()
    assert board.copy(ctx) == 2
    before = ctx.snapshot()
    ids = board.paste(ctx)
    assert len(ids) == 2 and ctx.selection == set(ids)
    assert ctx.history.undo_labels()[0] == "Paste 2"
    copy_b, copy_a = (ctx.document.get(i) for i in ids)  # drawing order: a has z_order 3
    assert copy_a.shape == Box(20, 20, 60, 60)  # offset: the original is right there
    assert copy_b.shape == b.shape.translated(PASTE_OFFSET, PASTE_OFFSET)
    assert (copy_a.label, dict(copy_a.attributes), copy_a.z_order) == (
        "car", {"occluded": True}, 3)
    assert (copy_a.author, copy_a.source, copy_a.confidence, copy_a.version) == (
        "paster", "human", None, 1)
    assert not copy_a.locked and not copy_a.hidden and copy_a.track_id is None
    assert copy_a.created_at > T0 and copy_a.id not in (a.id, b.id)
    second = board.paste(ctx)
    assert ctx.document.get(second[1]).shape == Box(30, 30, 70, 70)
    ctx.history.undo()
    ctx.history.undo()
    assert ctx.snapshot() == before


def test_paste_on_another_image_lands_in_place_then_offsets() -> None:
    source, target = context(1), context(2)
    a = add(source, Points(((5, 5), (30, 40))))
    source.set_selection([a.id])
    board = Clipboard()
    board.copy(source)
    (first,) = board.paste(target)
    pasted = target.document.get(first)
    assert pasted.asset_id == 2 and pasted.shape == a.shape
    (second,) = board.paste(target)
    assert target.document.get(second).shape == a.shape.translated(10, 10)
    assert len(source.document) == 1  # the source is untouched


def test_clipping_to_a_smaller_image_and_dropping_what_falls_off() -> None:
    source, target = context(1, (640, 480)), context(2, (100, 100))
    bits = np.zeros((480, 640), dtype=bool)
    bits[90:110, 90:110] = True
    shapes = [Box(80, 80, 150, 150), Box(200, 200, 300, 300),
              Polygon.from_rings([(50, 50), (150, 50), (150, 150), (50, 150)]),
              Polyline(((50, 50), (150, 50), (150, 10), (50, 10))),
              Points(((10, 10), (120, 10))), encode(bits), Tag()]
    added = [add(source, s) for s in shapes]
    source.set_selection([a.id for a in added])
    board = Clipboard()
    board.copy(source)
    ids = board.paste(target)
    assert len(ids) == 6 and "1 of 7" in target.messages[-1]
    got = [target.document.get(i).shape for i in ids]
    assert got[0] == Box(80, 80, 100, 100)
    assert got[1].parts[0].exterior and max(x for x, _ in got[1].parts[0].exterior) == 100
    assert got[2].points[0] == (50, 50) and got[2].points[-1] == (100, 50)
    assert got[3] == Points(((10, 10),))
    mask = decode(got[4])
    assert mask.shape == (100, 100) and mask.sum() == 100
    assert got[5] == Tag()


def test_clip_rules_for_named_keypoints_and_rotated_boxes() -> None:
    named = Points(((10, 10), (150, 10)), (2, 2), ("head", "tail"))
    assert clip_to_image(named, (100, 100)) == Points(named.points, (2, 0), named.names)
    assert clip_to_image(Points(((150, 10),), names=("x",)), (100, 100)) is None
    half_off = RotatedBox(95, 50, 20, 10, 30)
    assert clip_to_image(half_off, (100, 100)) == half_off  # kept whole
    assert clip_to_image(RotatedBox(300, 50, 20, 10, 30), (100, 100)) is None
    assert clip_to_image(Box(-50, -50, -10, -10), (100, 100)) is None
    assert clip_to_image(Polyline(((-5, -5), (-1, -50))), (100, 100)) is None


def test_everything_outside_pastes_nothing() -> None:
    source, target = context(1, (640, 480)), context(2, (100, 100))
    a = add(source, Box(300, 300, 400, 400))
    source.set_selection([a.id])
    board = Clipboard()
    board.copy(source)
    assert board.paste(target) == [] and len(target.document) == 0
    assert "1 of 1" in target.messages[-1]
    assert target.history.undo_labels() == []


def test_empty_clipboard_and_empty_selection_say_so() -> None:
    ctx = context(1)
    board = Clipboard()
    assert board.copy(ctx) == 0 and "Nothing selected" in ctx.messages[-1]
    assert board.paste(ctx) == [] and "empty" in ctx.messages[-1]


def test_cut_removes_unlocked_in_one_step() -> None:
    ctx = context(1)
    a, b = add(ctx, Box(0, 0, 10, 10)), add(ctx, Box(20, 0, 30, 10), locked=True)
    ctx.set_selection([a.id, b.id])
    before = ctx.snapshot()
    board = Clipboard()
    assert board.cut(ctx) == 2
    assert ctx.document.ids() == [b.id] and ctx.selection == {b.id}
    ctx.history.undo()
    assert ctx.snapshot() == before
    ids = board.paste(ctx)  # the original is back, so the copies shift
    assert ctx.document.get(ids[0]).shape == Box(10, 10, 20, 20)


def test_json_round_trip_and_bad_input() -> None:
    ctx = context(1)
    a = add(ctx, Box(1, 2, 3, 4))
    ctx.set_selection([a.id])
    board = Clipboard()
    board.copy(ctx)
    again = Clipboard.from_json(board.to_json())
    assert again.items == board.items and len(again) == 1
    with pytest.raises(ValidationError):
        Clipboard.from_json("not json")
    with pytest.raises(ValidationError, match=r"clipboard\[0\]"):
        Clipboard.from_json('[{"id": "x"}]')
