"""Box tool, driven by synthetic pointer and key events over a real document and history."""

from __future__ import annotations

import pytest

from app.annotators.annotation import Annotation
from app.annotators.document import AnnotationDocument
from app.annotators.shapes import Box
from app.annotators.tools.box import BoxTool
from tests.unit.annotators.tools.fake_context import (
    FakeContext,
    assert_undo_redo_exact,
    click,
    dbl_click,
    drag,
    hover,
    key,
    move,
    press,
    release,
)


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(label="car", image_size=(640, 480), author="tester")


@pytest.fixture
def tool(ctx: FakeContext) -> BoxTool:
    return BoxTool(ctx)


def test_drag_draws_a_labelled_selected_human_box(ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (10, 20), (110, 70))
    ann = ctx.only
    assert ann.shape == Box(10, 20, 110, 70)
    assert (ann.label, ann.author, ann.source, ann.asset_id) == ("car", "tester", "human", 1)
    assert ctx.selection == {ann.id}
    assert not tool.busy and tool.preview() is None
    assert ctx.history.undo_labels() == ["Draw box"]


def test_drag_up_and_left_is_normalized(ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (110, 70), (10, 20))
    assert ctx.only.shape == Box(10, 20, 110, 70)


def test_box_is_clamped_to_the_image(ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (-30, -5), (700, 900))
    assert ctx.only.shape == Box(0, 0, 640, 480)


def test_busy_and_rubber_band_preview_while_dragging(tool: BoxTool) -> None:
    assert not tool.busy and tool.preview() is None
    tool.on_pointer(press(10, 10))
    tool.on_pointer(move(50, 40))
    assert tool.busy
    pv = tool.preview()
    assert pv is not None and pv.shape == Box(10, 10, 50, 40) and pv.handles == ((10, 10),)
    assert "Release" in pv.hint


def test_short_drag_creates_nothing_says_why_and_waits_for_the_second_corner(
        ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (100, 100), (102, 101))  # under 3 screen px: a click
    assert len(ctx.document) == 0
    assert ctx.messages and "opposite corner" in ctx.messages[-1]
    assert tool.busy
    tool.on_pointer(hover(150, 180))
    assert tool.preview().shape == Box(100, 100, 150, 180)  # type: ignore[union-attr]
    click(tool, 200, 160)
    assert ctx.only.shape == Box(100, 100, 200, 160)
    assert not tool.busy


def test_two_clicks_draw_a_box_in_one_undo_step(ctx: FakeContext, tool: BoxTool) -> None:
    before = ctx.snapshot()
    click(tool, 30, 40)
    tool.on_pointer(hover(80, 90))
    click(tool, 80, 90)
    assert ctx.only.shape == Box(30, 40, 80, 90)
    assert_undo_redo_exact(ctx, before)


def test_return_finishes_a_two_click_box_at_the_pointer(ctx: FakeContext, tool: BoxTool) -> None:
    click(tool, 30, 40)
    tool.on_pointer(hover(70, 75))
    assert tool.on_key(key("Return"))
    assert ctx.only.shape == Box(30, 40, 70, 75)


def test_thin_drag_creates_nothing_and_says_why(ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (10, 10), (200, 11))  # long but 1 px tall
    assert len(ctx.document) == 0 and not tool.busy
    assert "too small" in ctx.messages[-1]
    assert not ctx.history.can_undo


def test_second_click_on_the_first_corner_creates_nothing(ctx: FakeContext, tool: BoxTool) -> None:
    click(tool, 50, 50)
    click(tool, 51, 50)
    assert len(ctx.document) == 0 and not tool.busy
    assert "too small" in ctx.messages[-1]


def test_double_click_creates_nothing(ctx: FakeContext, tool: BoxTool) -> None:
    dbl_click(tool, 50, 50)
    assert len(ctx.document) == 0 and not tool.busy


def test_thresholds_are_in_screen_pixels(ctx: FakeContext, tool: BoxTool) -> None:
    # Zoomed in 10x: a 1-image-pixel drag is 10 screen pixels, a real box.
    drag(tool, (10, 10), (11, 11), pixel_size=0.1)
    assert ctx.only.shape == Box(10, 10, 11, 11)
    # Zoomed out 4x: 8 image pixels are 2 screen pixels, a click.
    drag(tool, (100, 100), (108, 108), pixel_size=4.0)
    assert len(ctx.document) == 1 and tool.busy


def test_shift_keeps_the_box_square(ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (10, 10), (50, 30), modifiers={"shift"})
    assert ctx.only.shape == Box(10, 10, 50, 50)


def test_shift_square_up_left(ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (100, 100), (90, 40), modifiers={"shift"})
    assert ctx.only.shape == Box(40, 40, 100, 100)


def test_shift_square_stays_square_at_the_image_edge(ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (600, 10), (700, 50), modifiers={"shift"})
    assert ctx.only.shape == Box(600, 10, 640, 50)


def test_escape_cancels_a_drag(ctx: FakeContext, tool: BoxTool) -> None:
    tool.on_pointer(press(10, 10))
    tool.on_pointer(move(80, 80))
    assert tool.on_key(key("Escape"))
    assert not tool.busy and tool.preview() is None
    assert not tool.on_pointer(release(80, 80))
    assert len(ctx.document) == 0 and not ctx.history.can_undo


def test_escape_when_idle_is_not_consumed(tool: BoxTool) -> None:
    assert not tool.on_key(key("Escape"))  # the host may use it (clear the selection)


def test_right_click_cancels_two_click_mode(ctx: FakeContext, tool: BoxTool) -> None:
    click(tool, 10, 10)
    assert tool.on_pointer(press(50, 50, button="right"))
    assert tool.on_pointer(release(50, 50, button="right"))  # no context menu either
    assert not tool.busy
    assert not tool.on_pointer(press(50, 50, button="right"))  # idle: the host's menu
    click(tool, 60, 60)  # starts afresh, no box from (10, 10)
    assert len(ctx.document) == 0 and tool.busy


def test_cancel_drops_the_gesture(ctx: FakeContext, tool: BoxTool) -> None:
    tool.on_pointer(press(10, 10))
    tool.cancel()
    assert not tool.busy
    tool.on_pointer(release(90, 90))
    assert len(ctx.document) == 0


def test_undo_redo_restores_exact_state_with_existing_annotations() -> None:
    existing = Annotation.new(asset_id=1, label="person", shape=Box(1, 1, 5, 5), author="x")
    ctx = FakeContext(document=AnnotationDocument(1, [existing]))
    tool = BoxTool(ctx)
    before = ctx.snapshot()
    drag(tool, (10, 20), (60, 90), steps=40)  # many moves, still one step
    assert len(ctx.document) == 2
    assert_undo_redo_exact(ctx, before)
    assert len(ctx.history.undo_labels()) == 1


def test_two_boxes_are_two_undo_steps(ctx: FakeContext, tool: BoxTool) -> None:
    drag(tool, (10, 10), (50, 50))
    drag(tool, (100, 100), (150, 150))
    assert ctx.history.undo_labels() == ["Draw box", "Draw box"]
    assert ctx.selection == {ctx.snapshot()[-1].id}


def test_without_a_label_nothing_is_drawn(ctx: FakeContext, tool: BoxTool) -> None:
    ctx.label = ""
    drag(tool, (10, 10), (50, 50))
    assert len(ctx.document) == 0 and "label" in ctx.messages[-1]


def test_current_label_is_read_at_commit(ctx: FakeContext, tool: BoxTool) -> None:
    tool.on_pointer(press(10, 10))
    ctx.label = "truck"
    tool.on_pointer(move(40, 40))
    tool.on_pointer(release(40, 40))
    assert ctx.only.label == "truck"


def test_the_schema_fills_attribute_defaults_and_refuses_disallowed_kinds() -> None:
    from app.annotators.ontology import parse_schema

    schema = parse_schema({"name": "s", "version": 1, "classes": [
        {"name": "car", "colour": "#ff0000", "allowed_kinds": ["box"],
         "attributes": [{"name": "parked", "type": "bool", "default": False}]},
        {"name": "lane", "colour": "#00ff00", "allowed_kinds": ["polyline"]}]})
    ctx = FakeContext(schema=schema)
    tool = BoxTool(ctx)
    drag(tool, (10, 10), (60, 60))
    assert dict(ctx.only.attributes) == {"parked": False}
    ctx.label = "lane"
    drag(tool, (100, 100), (160, 160))
    assert len(ctx.document) == 1
    assert ctx.messages[-1] == "lane takes polyline, not a box"
