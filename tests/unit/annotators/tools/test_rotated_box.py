"""Rotated box tool: drag the extent, turn with the pointer, click to place."""

from __future__ import annotations

import math

import pytest

from app.annotators.shapes import Box, RotatedBox
from app.annotators.tools.rotated_box import RotatedBoxTool
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

CENTRE = (150.0, 125.0)  # of the extent the `drawn` fixture drags
RELEASE = (200.0, 150.0)


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(label="ship")


@pytest.fixture
def tool(ctx: FakeContext) -> RotatedBoxTool:
    return RotatedBoxTool(ctx)


@pytest.fixture
def drawn(tool: RotatedBoxTool) -> RotatedBoxTool:
    """The extent (100, 100)-(200, 150) drawn: the tool is now turning the box."""
    drag(tool, (100, 100), RELEASE)
    return tool


def turned(degrees: float, radius_scale: float = 1.0) -> tuple[float, float]:
    """The release point swept `degrees` clockwise (on screen) around the centre."""
    vx, vy = RELEASE[0] - CENTRE[0], RELEASE[1] - CENTRE[1]
    rad = math.radians(degrees)
    cos, sin = math.cos(rad), math.sin(rad)
    return (CENTRE[0] + radius_scale * (vx * cos - vy * sin),
            CENTRE[1] + radius_scale * (vx * sin + vy * cos))


def test_drag_then_click_in_place_gives_an_upright_box(ctx: FakeContext,
                                                       drawn: RotatedBoxTool) -> None:
    assert drawn.busy and len(ctx.document) == 0
    click(drawn, *RELEASE)
    ann = ctx.only
    assert ann.shape == RotatedBox(150, 125, 100, 50, 0.0)
    assert math.copysign(1, ann.shape.angle) == 1  # type: ignore[attr-defined]  # not -0.0
    assert (ann.label, ann.author, ann.source) == ("ship", "tester", "human")
    assert ctx.selection == {ann.id} and not drawn.busy
    assert ctx.history.undo_labels() == ["Draw rotated box"]


@pytest.mark.parametrize("sweep, expected", [
    (90, 90), (-30, -30), (45, 45), (200, -160), (-200, 160), (330, -30)])
def test_angle_is_the_shortest_arc_swept_around_the_centre(
        ctx: FakeContext, drawn: RotatedBoxTool, sweep: float, expected: float) -> None:
    # Sweep in small steps, as a real pointer does, then click where it ends.
    for i in range(1, 11):
        drawn.on_pointer(hover(*turned(sweep * i / 10)))
    click(drawn, *turned(sweep))
    shape = ctx.only.shape
    assert isinstance(shape, RotatedBox)
    assert shape.angle == pytest.approx(expected, abs=1e-9)
    assert -180 <= shape.angle < 180
    assert (shape.cx, shape.cy, shape.w, shape.h) == (150, 125, 100, 50)


def test_preview_follows_both_phases(tool: RotatedBoxTool) -> None:
    assert tool.preview() is None
    tool.on_pointer(press(100, 100))
    tool.on_pointer(move(200, 150))
    pv = tool.preview()
    assert pv is not None and pv.shape == Box(100, 100, 200, 150)
    tool.on_pointer(move(*RELEASE))
    tool.on_pointer(release(*RELEASE))
    tool.on_pointer(hover(*turned(90, 2.0)))  # the distance from the centre does not matter
    pv = tool.preview()
    assert isinstance(pv.shape, RotatedBox)  # type: ignore[union-attr]
    assert pv.shape.angle == pytest.approx(90)  # type: ignore[union-attr]
    assert pv.handles == (CENTRE,) and "turn" in pv.hint  # type: ignore[union-attr]


def test_shift_snaps_the_angle(ctx: FakeContext, drawn: RotatedBoxTool) -> None:
    drawn.on_pointer(hover(*turned(37), modifiers={"shift"}))
    click(drawn, *turned(37), modifiers={"shift"})
    assert ctx.only.shape.angle == pytest.approx(30)  # type: ignore[attr-defined]


def test_pointer_near_the_centre_does_not_turn(ctx: FakeContext, drawn: RotatedBoxTool) -> None:
    drawn.on_pointer(hover(*turned(60)))
    drawn.on_pointer(hover(CENTRE[0] + 2, CENTRE[1] - 1))  # direction here is noise
    assert drawn.preview().shape.angle == pytest.approx(60)  # type: ignore[union-attr]


def test_return_places_the_box(ctx: FakeContext, drawn: RotatedBoxTool) -> None:
    drawn.on_pointer(hover(*turned(-45)))
    assert drawn.on_key(key("Enter"))
    assert ctx.only.shape.angle == pytest.approx(-45)  # type: ignore[attr-defined]


def test_shift_square_extent(ctx: FakeContext, tool: RotatedBoxTool) -> None:
    drag(tool, (100, 100), (140, 120), modifiers={"shift"})
    tool.on_key(key("Return"))
    assert ctx.only.shape == RotatedBox(120, 120, 40, 40, 0.0)


def test_extent_is_clamped_to_the_image(ctx: FakeContext, tool: RotatedBoxTool) -> None:
    drag(tool, (600, 400), (900, 900))
    tool.on_key(key("Return"))
    assert ctx.only.shape == RotatedBox(620, 440, 40, 80, 0.0)


@pytest.mark.parametrize("end", [(101, 101), (300, 101)])
def test_short_or_thin_drag_creates_nothing_and_says_why(
        ctx: FakeContext, tool: RotatedBoxTool, end: tuple[float, float]) -> None:
    drag(tool, (100, 100), end)
    assert not tool.busy and len(ctx.document) == 0
    assert "Drag to draw the box" in ctx.messages[-1]
    click(tool, 300, 300)  # and the next click does not place anything either
    assert len(ctx.document) == 0


def test_double_click_when_idle_creates_nothing(ctx: FakeContext, tool: RotatedBoxTool) -> None:
    dbl_click(tool, 50, 50)
    assert not tool.busy and len(ctx.document) == 0


@pytest.mark.parametrize("how", ["escape", "right_click", "cancel"])
def test_cancel_in_either_phase(ctx: FakeContext, tool: RotatedBoxTool, how: str) -> None:
    def cancel() -> None:
        if how == "escape":
            assert tool.on_key(key("Escape"))
        elif how == "right_click":
            assert tool.on_pointer(press(10, 10, button="right"))
        else:
            tool.cancel()

    tool.on_pointer(press(100, 100))
    tool.on_pointer(move(200, 150))
    cancel()
    assert not tool.busy and tool.preview() is None
    drag(tool, (100, 100), RELEASE)
    cancel()
    assert not tool.busy
    click(tool, *RELEASE)
    assert len(ctx.document) == 0 and not ctx.history.can_undo


def test_escape_when_idle_is_not_consumed(tool: RotatedBoxTool) -> None:
    assert not tool.on_key(key("Escape"))


def test_undo_redo_is_exact_and_one_step(ctx: FakeContext, drawn: RotatedBoxTool) -> None:
    before = ctx.snapshot()
    for deg in range(0, 80, 5):
        drawn.on_pointer(hover(*turned(deg)))
    click(drawn, *turned(80))
    assert_undo_redo_exact(ctx, before)
    assert len(ctx.history.undo_labels()) == 1
