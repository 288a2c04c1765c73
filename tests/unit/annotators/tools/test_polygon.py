"""Polygon tool: clicks and drags add vertices; close, double-click or Return finishes."""

from __future__ import annotations

import pytest

from app.annotators.annotation import Annotation
from app.annotators.document import AnnotationDocument
from app.annotators.shapes import Box, Polygon
from app.annotators.tools.polygon import PolygonTool
from tests.unit.annotators.tools.fake_context import (
    FakeContext,
    assert_undo_redo_exact,
    click,
    dbl_click,
    double_click,
    drag,
    hover,
    key,
    move,
    press,
    release,
)

TRIANGLE = ((10.0, 10.0), (100.0, 10.0), (100.0, 80.0))


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(label="road")


@pytest.fixture
def tool(ctx: FakeContext) -> PolygonTool:
    return PolygonTool(ctx)


def clicks(tool: PolygonTool, points: tuple[tuple[float, float], ...]) -> None:
    for p in points:
        click(tool, *p)


def exterior(ctx: FakeContext) -> tuple[tuple[float, float], ...]:
    shape = ctx.only.shape
    assert isinstance(shape, Polygon) and len(shape.parts) == 1
    return shape.parts[0].exterior


def test_clicking_the_first_vertex_closes(ctx: FakeContext, tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE)
    assert tool.busy and len(ctx.document) == 0
    click(tool, 12, 13)  # within the handle radius of (10, 10)
    assert exterior(ctx) == TRIANGLE
    ann = ctx.only
    assert (ann.label, ann.author, ann.source) == ("road", "tester", "human")
    assert ctx.selection == {ann.id} and not tool.busy
    assert ctx.history.undo_labels() == ["Draw polygon"]


def test_double_click_finishes_without_a_duplicate_vertex(ctx: FakeContext,
                                                          tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE[:2])
    dbl_click(tool, *TRIANGLE[2])  # press, release, double_click, release
    assert exterior(ctx) == TRIANGLE and not tool.busy


@pytest.mark.parametrize("name", ["Return", "Enter"])
def test_return_finishes(ctx: FakeContext, tool: PolygonTool, name: str) -> None:
    clicks(tool, TRIANGLE)
    assert tool.on_key(key(name))
    assert exterior(ctx) == TRIANGLE


def test_creation_is_one_undo_step_and_exact(ctx: FakeContext) -> None:
    existing = Annotation.new(asset_id=1, label="car", shape=Box(0, 0, 5, 5), author="a")
    ctx = FakeContext(document=AnnotationDocument(1, [existing]), label="road")
    tool = PolygonTool(ctx)
    before = ctx.snapshot()
    clicks(tool, ((10, 10), (50, 10), (60, 40), (30, 70), (5, 40)))
    tool.on_key(key("Return"))
    assert len(ctx.document) == 2
    assert_undo_redo_exact(ctx, before)
    assert len(ctx.history.undo_labels()) == 1


def test_dragging_adds_points_spaced_in_screen_pixels(ctx: FakeContext,
                                                      tool: PolygonTool) -> None:
    drag(tool, (10, 10), (110, 10), steps=100)  # 1 px moves: a vertex every 5 px
    assert tool.busy and len(tool.vertices) == 21
    gaps = [b[0] - a[0] for a, b in zip(tool.vertices, tool.vertices[1:])]
    assert all(g >= 5 - 1e-9 for g in gaps)
    tool.on_pointer(hover(120, 60))  # released: hovering adds nothing
    assert len(tool.vertices) == 21
    click(tool, 60, 60)
    tool.on_key(key("Return"))
    assert len(exterior(ctx)) == 22


def test_drag_spacing_scales_with_zoom(tool: PolygonTool) -> None:
    drag(tool, (10, 10), (20, 10), steps=100, pixel_size=0.1)  # 5 screen px = 0.5 image px
    assert len(tool.vertices) == 21


def test_click_then_drag_then_click_mixes(ctx: FakeContext, tool: PolygonTool) -> None:
    click(tool, 10, 10)
    drag(tool, (50, 10), (50, 50), steps=4)  # 10 px steps: press + 4 moves
    click(tool, 10, 50)
    assert len(tool.vertices) == 7
    click(tool, 11, 11)  # closes
    assert len(exterior(ctx)) == 7


@pytest.mark.parametrize("undo", [key("Backspace"), key("z", {"ctrl"})])
def test_backspace_and_ctrl_z_remove_the_last_vertex(tool: PolygonTool, undo) -> None:
    clicks(tool, TRIANGLE)
    assert tool.on_key(undo)
    assert tool.vertices == TRIANGLE[:2]
    tool.on_key(undo)
    tool.on_key(undo)
    assert not tool.busy and tool.preview() is None
    assert not tool.on_key(undo)  # idle: the host's undo takes it


def test_right_click_removes_the_last_vertex_and_swallows_its_release(tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE)
    assert tool.on_pointer(press(300, 300, button="right"))
    assert tool.on_pointer(release(300, 300, button="right"))
    assert tool.vertices == TRIANGLE[:2]
    tool.on_pointer(press(0, 0, button="right"))
    tool.on_pointer(press(0, 0, button="right"))
    assert not tool.busy
    assert not tool.on_pointer(press(0, 0, button="right"))  # idle: the host's context menu


def test_right_click_mid_drag_stops_adding(tool: PolygonTool) -> None:
    tool.on_pointer(press(10, 10))
    tool.on_pointer(move(30, 10))
    tool.on_pointer(press(30, 10, button="right"))
    tool.on_pointer(move(60, 10))
    assert tool.vertices == ((10, 10),)


@pytest.mark.parametrize("finish", ["return", "double_click"])
def test_too_few_vertices_says_why_and_keeps_drawing(ctx: FakeContext, tool: PolygonTool,
                                                     finish: str) -> None:
    clicks(tool, TRIANGLE[:1])
    if finish == "return":
        click(tool, *TRIANGLE[1])
        tool.on_key(key("Return"))
    else:
        dbl_click(tool, *TRIANGLE[1])
    assert len(ctx.document) == 0 and tool.busy
    assert "at least 3" in ctx.messages[-1]
    assert not ctx.history.can_undo
    click(tool, *TRIANGLE[2])
    tool.on_key(key("Return"))
    assert exterior(ctx) == TRIANGLE


def test_collinear_vertices_have_no_area(ctx: FakeContext, tool: PolygonTool) -> None:
    clicks(tool, ((10, 10), (20, 20), (30, 30)))
    tool.on_key(key("Return"))
    assert len(ctx.document) == 0 and "no area" in ctx.messages[-1] and tool.busy


def test_repeat_clicks_do_not_make_duplicate_vertices(ctx: FakeContext,
                                                      tool: PolygonTool) -> None:
    clicks(tool, ((10, 10), (100, 10), (100, 10), (100.5, 10.2)))
    assert tool.vertices == ((10, 10), (100, 10))
    tool.on_key(key("Return"))
    assert len(ctx.document) == 0  # two distinct vertices are not a polygon


def test_clicking_the_first_vertex_too_early_does_not_close_or_add(
        ctx: FakeContext, tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE[:2])
    click(tool, 11, 11)
    assert tool.vertices == TRIANGLE[:2] and "at least 3" in ctx.messages[-1]


def test_vertices_are_clamped_to_the_image(ctx: FakeContext, tool: PolygonTool) -> None:
    clicks(tool, ((-20, -20), (700, 10), (700, 900)))
    tool.on_key(key("Return"))
    assert exterior(ctx) == ((0, 0), (640, 10), (640, 480))


def test_clamping_that_collapses_vertices_keeps_them_distinct(ctx: FakeContext,
                                                              tool: PolygonTool) -> None:
    clicks(tool, ((-20, -20), (-30, -5), (100, 0), (100, 100)))  # first two both clamp to 0,0
    tool.on_key(key("Return"))
    assert exterior(ctx) == ((0, 0), (100, 0), (100, 100))


def test_escape_cancels_and_nothing_is_recorded(ctx: FakeContext, tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE)
    assert tool.on_key(key("Escape"))
    assert not tool.busy and len(ctx.document) == 0 and not ctx.history.can_undo
    assert not tool.on_key(key("Escape"))


def test_preview_shows_path_ghost_segment_and_handles(tool: PolygonTool) -> None:
    assert tool.preview() is None
    clicks(tool, TRIANGLE[:2])
    tool.on_pointer(hover(60, 70))
    pv = tool.preview()
    assert pv is not None
    assert pv.path == (*TRIANGLE[:2], (60, 70))
    assert pv.handles == TRIANGLE[:2] and pv.shape is None
    click(tool, *TRIANGLE[2])
    tool.on_pointer(hover(12, 12))
    assert "close" in tool.preview().hint  # type: ignore[union-attr]


def test_the_closing_double_click_does_not_start_a_new_polygon(ctx: FakeContext,
                                                               tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE)
    dbl_click(tool, *TRIANGLE[0])  # first half closes; the double_click finds the tool idle
    assert len(ctx.document) == 1 and not tool.busy
    assert not tool.on_pointer(double_click(50, 50))


def test_without_a_label_the_drawing_is_kept(ctx: FakeContext, tool: PolygonTool) -> None:
    ctx.label = ""
    clicks(tool, TRIANGLE)
    tool.on_key(key("Return"))
    assert len(ctx.document) == 0 and tool.busy and "label" in ctx.messages[-1]
    ctx.label = "road"
    tool.on_key(key("Return"))
    assert exterior(ctx) == TRIANGLE


def test_cancel_drops_the_drawing(ctx: FakeContext, tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE)
    tool.cancel()
    assert not tool.busy and tool.vertices == ()
    click(tool, 50, 50)
    assert tool.vertices == ((50, 50),)


def test_double_click_near_the_last_vertex_adds_no_near_copy(ctx: FakeContext,
                                                             tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE)
    dbl_click(tool, 102, 83)  # aimed at (100, 80), 3.6 px off
    assert exterior(ctx) == TRIANGLE


def test_double_click_away_from_the_last_vertex_keeps_its_vertex(ctx: FakeContext,
                                                                 tool: PolygonTool) -> None:
    clicks(tool, TRIANGLE)
    dbl_click(tool, 40, 90)
    assert exterior(ctx) == (*TRIANGLE, (40, 90))
