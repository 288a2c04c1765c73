"""Polyline tool: an open path; double-click or Return finishes; two points minimum."""

from __future__ import annotations

import pytest

from app.annotators.shapes import Polyline
from app.annotators.tools.polyline import PolylineTool
from tests.unit.annotators.tools.fake_context import (
    FakeContext,
    assert_undo_redo_exact,
    click,
    dbl_click,
    drag,
    hover,
    key,
    press,
    release,
)

LINE = ((10.0, 10.0), (100.0, 10.0), (100.0, 80.0))


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(label="lane")


@pytest.fixture
def tool(ctx: FakeContext) -> PolylineTool:
    return PolylineTool(ctx)


def clicks(tool: PolylineTool, points: tuple[tuple[float, float], ...]) -> None:
    for p in points:
        click(tool, *p)


def line_points(ctx: FakeContext) -> tuple[tuple[float, float], ...]:
    shape = ctx.only.shape
    assert isinstance(shape, Polyline)
    return shape.points


def test_return_finishes_a_labelled_selected_line(ctx: FakeContext, tool: PolylineTool) -> None:
    before = ctx.snapshot()
    clicks(tool, LINE)
    assert tool.on_key(key("Return"))
    assert line_points(ctx) == LINE
    ann = ctx.only
    assert (ann.label, ann.author, ann.source) == ("lane", "tester", "human")
    assert ctx.selection == {ann.id} and not tool.busy
    assert ctx.history.undo_labels() == ["Draw polyline"]
    assert_undo_redo_exact(ctx, before)


def test_double_click_finishes_without_a_duplicate(ctx: FakeContext, tool: PolylineTool) -> None:
    click(tool, *LINE[0])
    dbl_click(tool, *LINE[1])
    assert line_points(ctx) == LINE[:2]


def test_two_points_are_enough(ctx: FakeContext, tool: PolylineTool) -> None:
    clicks(tool, LINE[:2])
    tool.on_key(key("Return"))
    assert line_points(ctx) == LINE[:2]


def test_one_point_says_why_and_keeps_drawing(ctx: FakeContext, tool: PolylineTool) -> None:
    dbl_click(tool, 50, 50)
    assert len(ctx.document) == 0 and tool.busy and "at least 2" in ctx.messages[-1]
    assert not ctx.history.can_undo


def test_clicking_the_first_vertex_adds_it_and_does_not_finish(ctx: FakeContext,
                                                               tool: PolylineTool) -> None:
    clicks(tool, LINE)
    click(tool, *LINE[0])
    assert tool.busy and len(ctx.document) == 0
    tool.on_key(key("Return"))
    assert line_points(ctx) == (*LINE, LINE[0])


def test_drag_traces_a_line(ctx: FakeContext, tool: PolylineTool) -> None:
    drag(tool, (0, 100), (50, 100), steps=50)
    tool.on_key(key("Return"))
    assert line_points(ctx) == tuple((float(x), 100.0) for x in range(0, 51, 5))


def test_backspace_and_right_click_remove_the_last_vertex(tool: PolylineTool) -> None:
    clicks(tool, LINE)
    tool.on_key(key("Backspace"))
    assert tool.vertices == LINE[:2]
    assert tool.on_pointer(press(5, 5, button="right"))
    assert tool.on_pointer(release(5, 5, button="right"))
    assert tool.vertices == LINE[:1]


def test_escape_cancels(ctx: FakeContext, tool: PolylineTool) -> None:
    clicks(tool, LINE)
    assert tool.on_key(key("Escape"))
    assert not tool.busy and len(ctx.document) == 0 and not ctx.history.can_undo


def test_clamped_to_the_image(ctx: FakeContext, tool: PolylineTool) -> None:
    clicks(tool, ((-5, 240), (900, 240)))
    tool.on_key(key("Return"))
    assert line_points(ctx) == ((0, 240), (640, 240))


def test_preview_path_ends_at_the_pointer(tool: PolylineTool) -> None:
    click(tool, *LINE[0])
    tool.on_pointer(hover(70, 20))
    pv = tool.preview()
    assert pv is not None and pv.path == (LINE[0], (70, 20)) and pv.handles == (LINE[0],)
    assert "double-click" in pv.hint


def test_double_click_on_the_last_vertex_finishes_there(ctx: FakeContext,
                                                        tool: PolylineTool) -> None:
    clicks(tool, LINE)
    dbl_click(tool, 99, 79)
    assert line_points(ctx) == LINE
