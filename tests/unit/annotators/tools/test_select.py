"""Select tool, driven by synthetic events over a real document and history."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.annotators.annotation import Annotation
from app.annotators.commands import AddAnnotation, SetHidden, SetLocked
from app.annotators.masks import decode, encode
from app.annotators.shapes import Box, Points, Polygon, Polyline, RotatedBox
from app.annotators.tools.select import SelectTool
from tests.unit.annotators.tools.fake_context import (
    FakeContext, click, dbl_click, drag, hover, key, move, press, release,
)

SQUARE = ((100, 100), (200, 100), (200, 200), (100, 200))


def add(ctx: FakeContext, shape: Any, label: str = "car") -> Annotation:
    annotation = Annotation.new(asset_id=ctx.asset_id, label=label, shape=shape, author="a")
    ctx.history.push(AddAnnotation(annotation))
    return annotation


def shape(ctx: FakeContext, annotation: Annotation) -> Any:
    return ctx.document.get(annotation.id).shape


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(image_size=(640, 480))


@pytest.fixture
def tool(ctx: FakeContext) -> SelectTool:
    return SelectTool(ctx)


# -- selecting ---------------------------------------------------------------------------------

def test_click_selects_topmost_and_empty_click_clears(ctx: FakeContext, tool: SelectTool) -> None:
    low, high = add(ctx, Box(0, 0, 100, 100)), add(ctx, Box(50, 50, 150, 150))
    click(tool, 75, 75)
    assert ctx.selection == {high.id}
    click(tool, 20, 20)
    assert ctx.selection == {low.id}
    click(tool, 400, 400)
    assert ctx.selection == frozenset()
    assert len(ctx.history.undo_labels()) == 2  # selecting is not an edit


def test_shift_and_ctrl_click_toggle(ctx: FakeContext, tool: SelectTool) -> None:
    a, b = add(ctx, Box(0, 0, 50, 50)), add(ctx, Box(100, 0, 150, 50))
    click(tool, 10, 10)
    click(tool, 110, 10, modifiers=["shift"])
    assert ctx.selection == {a.id, b.id}
    click(tool, 10, 10, modifiers=["ctrl"])
    assert ctx.selection == {b.id}
    click(tool, 300, 300, modifiers=["shift"])  # empty space with Shift keeps the selection
    assert ctx.selection == {b.id}


def test_plain_click_on_one_of_several_selects_only_it(ctx: FakeContext,
                                                       tool: SelectTool) -> None:
    a, b = add(ctx, Box(0, 0, 50, 50)), add(ctx, Box(100, 0, 150, 50))
    ctx.set_selection([a.id, b.id])
    click(tool, 110, 10)
    assert ctx.selection == {b.id}


def test_hidden_not_hit_locked_selectable_but_passed_through(ctx: FakeContext,
                                                              tool: SelectTool) -> None:
    under, over = add(ctx, Box(0, 0, 100, 100)), add(ctx, Box(0, 0, 100, 100))
    ctx.history.push(SetLocked([over.id], True))
    click(tool, 50, 50)
    assert ctx.selection == {under.id}
    ctx.history.push(SetHidden([under.id], True))
    click(tool, 50, 50)
    assert ctx.selection == {over.id}


def test_rubber_band_selects_wholly_inside_and_previews(ctx: FakeContext,
                                                        tool: SelectTool) -> None:
    a, b = add(ctx, Box(10, 10, 40, 40)), add(ctx, Box(30, 30, 200, 200))
    c = add(ctx, Box(300, 300, 310, 310))
    tool.on_pointer(press(2, 2))
    tool.on_pointer(move(60, 70))
    band = tool.preview()
    assert band is not None and band.shape == Box(2, 2, 60, 70)
    assert tool.busy
    tool.on_pointer(release(60, 70))
    assert ctx.selection == {a.id}
    drag(tool, (290, 290), (320, 320), modifiers=["shift"])
    assert ctx.selection == {a.id, c.id}
    assert b.id not in ctx.selection and not tool.busy


# -- moving ------------------------------------------------------------------------------------

def test_drag_moves_all_selected_as_one_undo_step(ctx: FakeContext, tool: SelectTool) -> None:
    a, b = add(ctx, Box(10, 10, 40, 40)), add(ctx, Polygon.from_rings(SQUARE))
    before = ctx.snapshot()
    ctx.set_selection([a.id, b.id])
    drag(tool, (20, 20), (50, 35), steps=12)
    assert shape(ctx, a) == Box(40, 25, 70, 55)
    assert shape(ctx, b) == Polygon.from_rings([(x + 30, y + 15) for x, y in SQUARE])
    assert ctx.history.undo_labels()[0] == "Move"
    after = ctx.snapshot()
    drag(tool, (50, 30), (60, 30))
    assert len(ctx.history.undo_labels()) == 4  # two adds, two drags: drags never merge
    ctx.history.undo()
    assert ctx.snapshot() == after
    ctx.history.undo()
    assert ctx.snapshot() == before
    ctx.history.redo()
    assert ctx.snapshot() == after


def test_move_is_clamped_to_the_image(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Box(600, 400, 630, 470))
    drag(tool, (610, 410), (900, -200))
    assert shape(ctx, a) == Box(610, 0, 640, 70)


def test_small_jitter_is_a_click_not_a_move(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Box(10, 10, 40, 40))
    drag(tool, (20, 20), (21, 21))
    assert shape(ctx, a) == Box(10, 10, 40, 40) and ctx.selection == {a.id}


def test_locked_is_not_moved_and_says_so(ctx: FakeContext, tool: SelectTool) -> None:
    free, locked = add(ctx, Box(10, 10, 40, 40)), add(ctx, Box(100, 10, 140, 40))
    ctx.history.push(SetLocked([locked.id], True))
    ctx.set_selection([free.id, locked.id])
    drag(tool, (20, 20), (30, 20))
    assert shape(ctx, free) == Box(20, 10, 50, 40)
    assert shape(ctx, locked) == Box(100, 10, 140, 40)
    assert any("locked" in m for m in ctx.messages)


def test_mask_moves_by_whole_pixels(ctx: FakeContext, tool: SelectTool) -> None:
    bits = np.zeros((480, 640), dtype=bool)
    bits[10:20, 10:20] = True
    m = add(ctx, encode(bits))
    drag(tool, (15.5, 15.5), (20.2, 18.9))
    moved = decode(shape(ctx, m))
    assert moved[13:23, 15:25].all() and moved.sum() == 100


def test_escape_cancels_a_drag_exactly(ctx: FakeContext, tool: SelectTool) -> None:
    add(ctx, Box(10.3, 10.7, 40.1, 40.9))
    before, steps = ctx.snapshot(), ctx.history.undo_labels()
    tool.on_pointer(press(20, 20))
    for i in range(1, 30):
        tool.on_pointer(move(20 + i * 0.37, 20 + i * 0.61))
    assert ctx.snapshot() != before
    assert tool.on_key(key("Escape"))
    assert ctx.snapshot() == before and ctx.history.undo_labels() == steps
    tool.on_pointer(release(40, 40))
    assert ctx.snapshot() == before and not tool.busy


def test_escape_without_drag_clears_selection(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Box(10, 10, 40, 40))
    ctx.set_selection([a.id])
    assert tool.on_key(key("Escape")) and ctx.selection == frozenset()
    assert not tool.on_key(key("Escape"))


def test_arrow_keys_nudge_as_undoable_steps(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Box(10, 10, 40, 40))
    before = ctx.snapshot()
    ctx.set_selection([a.id])
    assert tool.on_key(key("Right"))
    tool.on_key(key("Down", ["shift"]))
    assert shape(ctx, a) == Box(11, 20, 41, 50)
    ctx.history.undo()
    assert shape(ctx, a) == Box(11, 10, 41, 40)
    ctx.history.undo()
    assert ctx.snapshot() == before
    for _ in range(3):
        tool.on_key(key("Up", ["shift"]))
    assert shape(ctx, a) == Box(10, 0, 40, 30)  # clamped at the top edge


def test_delete_removes_selected_but_keeps_locked(ctx: FakeContext, tool: SelectTool) -> None:
    a, b, c = (add(ctx, Box(i * 50, 0, i * 50 + 40, 40)) for i in range(3))
    ctx.history.push(SetLocked([c.id], True))
    before = ctx.snapshot()
    ctx.set_selection([a.id, b.id, c.id])
    assert tool.on_key(key("Delete"))
    assert ctx.document.ids() == [c.id] and ctx.selection == {c.id}
    assert any("locked" in m for m in ctx.messages)
    ctx.history.undo()
    assert ctx.snapshot() == before


# -- handles -----------------------------------------------------------------------------------

def test_box_corner_resize_flips_and_edge_resize(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Box(100, 100, 200, 200))
    before = ctx.snapshot()
    ctx.set_selection([a.id])
    drag(tool, (100, 100), (250, 260))  # top-left dragged past bottom-right
    assert shape(ctx, a) == Box(200, 200, 250, 260)
    assert ctx.history.undo_labels()[0] == "Reshape"
    ctx.history.undo()
    assert ctx.snapshot() == before
    drag(tool, (200, 150), (230, 150))  # right edge
    assert shape(ctx, a) == Box(100, 100, 230, 200)
    drag(tool, (230, 200), (230, 900))  # bottom-right corner, clamped to the image
    assert shape(ctx, a) == Box(100, 100, 230, 480)


def test_rotated_box_resize_and_rotate_with_snap(ctx: FakeContext, tool: SelectTool) -> None:
    box = RotatedBox(300, 200, 100, 40, 0)
    a = add(ctx, box)
    ctx.set_selection([a.id])
    drag(tool, (350, 220), (370, 240))  # bottom-right corner; top-left stays
    resized = shape(ctx, a)
    assert resized.corners()[0] == pytest.approx(box.corners()[0])
    assert (resized.w, resized.h, resized.angle) == pytest.approx((120, 60, 0))
    top = resized.cy - resized.h / 2 - 24  # the rotation handle
    drag(tool, (resized.cx, top), (resized.cx + 100, resized.cy - 95), modifiers=["shift"])
    turned = shape(ctx, a)
    assert turned.angle == pytest.approx(45.0)
    assert (turned.cx, turned.cy, turned.w) == pytest.approx((resized.cx, resized.cy, 120))


def test_polygon_vertex_drag_and_midpoint_insert(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Polygon.from_rings(SQUARE))
    ctx.set_selection([a.id])
    drag(tool, (200, 200), (220, 230), steps=8)
    assert shape(ctx, a).parts[0].exterior[2] == (220, 230)
    steps = len(ctx.history.undo_labels())
    drag(tool, (150, 100), (150, 80), steps=6)  # the top edge's midpoint
    ring = shape(ctx, a).parts[0].exterior
    assert ring[:3] == ((100, 100), (150, 80), (200, 100)) and len(ring) == 5
    assert len(ctx.history.undo_labels()) == steps + 1
    assert tool.active_handle is not None and tool.active_handle.index == 1
    ctx.history.undo()
    assert len(shape(ctx, a).parts[0].exterior) == 4


def test_double_click_on_edge_inserts_vertex(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Polyline(((0, 0), (100, 0), (100, 100))))
    dbl_click(tool, 30, 2)
    assert ctx.selection == {a.id}
    assert shape(ctx, a).points == ((0, 0), (30, 0), (100, 0), (100, 100))
    assert ctx.history.undo_labels()[0] == "Insert vertex"
    dbl_click(tool, 30, 0)  # on the new vertex: no duplicate
    assert len(shape(ctx, a).points) == 4


def test_alt_click_deletes_vertex_but_not_below_minimum(ctx: FakeContext,
                                                        tool: SelectTool) -> None:
    a = add(ctx, Polygon.from_rings(SQUARE))
    ctx.set_selection([a.id])
    click(tool, 200, 200, modifiers=["alt"])
    assert shape(ctx, a).parts[0].exterior == ((100, 100), (200, 100), (100, 200))
    click(tool, 200, 100, modifiers=["alt"])
    assert len(shape(ctx, a).parts[0].exterior) == 3
    assert "at least 3" in ctx.messages[-1]
    line = add(ctx, Polyline(((300, 300), (400, 300))))
    ctx.set_selection([line.id])
    click(tool, 400, 300, modifiers=["alt"])
    assert len(shape(ctx, line).points) == 2 and "at least 2" in ctx.messages[-1]


def test_delete_key_removes_the_active_vertex(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Polyline(((0, 0), (100, 0), (100, 100))))
    ctx.set_selection([a.id])
    click(tool, 100, 0)  # press on a vertex makes it the active handle
    assert tool.on_key(key("Backspace"))
    assert shape(ctx, a).points == ((0, 0), (100, 100))
    assert tool.on_key(key("Delete"))  # no active vertex now: the annotation goes
    assert len(ctx.document) == 0


def test_points_marker_drag_and_locked_handle(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Points(((50, 50), (80, 80))))
    ctx.set_selection([a.id])
    drag(tool, (80, 80), (90, 70))
    assert shape(ctx, a).points == ((50, 50), (90, 70))
    ctx.history.push(SetLocked([a.id], True))
    before = ctx.snapshot()
    drag(tool, (50, 50), (60, 60))
    click(tool, 90, 70, modifiers=["alt"])
    assert ctx.snapshot() == before
    assert "locked" in ctx.messages[-1]


def test_escape_restores_a_reshape_and_preview_shows_handles(ctx: FakeContext,
                                                             tool: SelectTool) -> None:
    a = add(ctx, Box(100, 100, 200, 200))
    ctx.set_selection([a.id])
    before = ctx.snapshot()
    tool.on_pointer(press(200, 200))
    tool.on_pointer(move(260, 300))
    tool.cancel()
    assert ctx.snapshot() == before and not tool.busy
    handles = tool.preview().handles
    assert (100, 100) in handles and (150, 200) in handles and len(handles) == 8


def test_hover_sets_the_cursor(ctx: FakeContext, tool: SelectTool) -> None:
    a = add(ctx, Box(100, 100, 200, 200))
    ctx.set_selection([a.id])
    tool.on_pointer(hover(100, 100))
    assert tool.cursor == "pointing"
    tool.on_pointer(hover(150, 150))
    assert tool.cursor == "open_hand"
    tool.on_pointer(hover(400, 400))
    assert tool.cursor == "arrow"
