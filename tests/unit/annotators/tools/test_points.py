"""Points tool: clicks build a pending set; Return or a double-click commits it."""

from __future__ import annotations

import pytest

from app.annotators.shapes import Points
from app.annotators.tools.points import PointsTool
from tests.unit.annotators.tools.fake_context import (
    FakeContext,
    assert_undo_redo_exact,
    click,
    dbl_click,
    double_click,
    key,
    press,
    release,
)


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(label="person")


@pytest.fixture
def tool(ctx: FakeContext) -> PointsTool:
    return PointsTool(ctx)


def test_single_click_then_return_commits_one_point(ctx: FakeContext, tool: PointsTool) -> None:
    before = ctx.snapshot()
    click(tool, 30, 40)
    assert tool.busy and len(ctx.document) == 0
    assert tool.on_key(key("Return"))
    ann = ctx.only
    assert ann.shape == Points(((30, 40),), (2,))
    assert (ann.label, ann.author, ann.source) == ("person", "tester", "human")
    assert ctx.selection == {ann.id} and not tool.busy
    assert ctx.history.undo_labels() == ["Draw point"]
    assert_undo_redo_exact(ctx, before)


def test_clicks_and_a_double_click_commit_one_set(ctx: FakeContext, tool: PointsTool) -> None:
    before = ctx.snapshot()
    click(tool, 10, 10)
    click(tool, 20, 20)
    dbl_click(tool, 30, 30)  # its first click adds the point, the double_click commits
    assert ctx.only.shape == Points(((10, 10), (20, 20), (30, 30)))
    assert ctx.history.undo_labels() == ["Draw 3 points"]
    assert_undo_redo_exact(ctx, before)


def test_double_click_alone_commits_a_single_point(ctx: FakeContext, tool: PointsTool) -> None:
    dbl_click(tool, 5, 6)
    assert ctx.only.shape == Points(((5, 6),))
    assert not tool.on_pointer(double_click(5, 6))  # idle: nothing to commit


def test_shift_click_is_labelled_but_not_visible(ctx: FakeContext, tool: PointsTool) -> None:
    click(tool, 10, 10)
    click(tool, 20, 20, modifiers={"shift"})
    tool.on_key(key("Return"))
    assert ctx.only.shape.visibility == (2, 1)  # type: ignore[attr-defined]


@pytest.mark.parametrize("undo", [key("Backspace"), key("z", {"meta"})])
def test_backspace_removes_the_last_point(ctx: FakeContext, tool: PointsTool, undo) -> None:
    click(tool, 10, 10)
    click(tool, 20, 20, modifiers={"shift"})
    assert tool.on_key(undo)
    tool.on_key(key("Return"))
    assert ctx.only.shape == Points(((10, 10),), (2,))


def test_right_click_removes_the_last_point(ctx: FakeContext, tool: PointsTool) -> None:
    click(tool, 10, 10)
    assert tool.on_pointer(press(99, 99, button="right"))
    assert tool.on_pointer(release(99, 99, button="right"))
    assert not tool.busy
    assert not tool.on_pointer(press(99, 99, button="right"))


def test_escape_drops_the_set(ctx: FakeContext, tool: PointsTool) -> None:
    click(tool, 10, 10)
    click(tool, 20, 20)
    assert tool.on_key(key("Escape"))
    assert not tool.busy and len(ctx.document) == 0 and not ctx.history.can_undo
    assert not tool.on_key(key("Escape"))
    assert not tool.on_key(key("Return"))  # nothing pending: the host may use it


def test_click_just_off_the_edge_lands_on_it(ctx: FakeContext, tool: PointsTool) -> None:
    click(tool, -3, 100)
    click(tool, 642, 483)
    tool.on_key(key("Return"))
    assert ctx.only.shape.points == ((0, 100), (640, 480))  # type: ignore[attr-defined]


def test_click_far_outside_the_image_is_refused(ctx: FakeContext, tool: PointsTool) -> None:
    click(tool, -50, 100)
    assert not tool.busy and "outside the image" in ctx.messages[-1]
    click(tool, -50, 100, pixel_size=10.0)  # zoomed out: 50 px is 5 screen px, near enough
    assert tool.busy


def test_preview_shows_the_pending_set(tool: PointsTool) -> None:
    assert tool.preview() is None
    click(tool, 10, 10)
    click(tool, 20, 20, modifiers={"shift"})
    pv = tool.preview()
    assert pv is not None and pv.shape == Points(((10, 10), (20, 20)), (2, 1))
    assert pv.handles == ((10, 10), (20, 20)) and "2 point" in pv.hint


def test_without_a_label_the_set_is_kept(ctx: FakeContext, tool: PointsTool) -> None:
    ctx.label = " "
    click(tool, 10, 10)
    tool.on_key(key("Return"))
    assert len(ctx.document) == 0 and tool.busy
    ctx.label = "person"
    tool.on_key(key("Return"))
    assert len(ctx.document) == 1


def test_two_sets_are_two_steps(ctx: FakeContext, tool: PointsTool) -> None:
    dbl_click(tool, 1, 1)
    dbl_click(tool, 2, 2)
    assert len(ctx.document) == 2 and len(ctx.history.undo_labels()) == 2
