"""Every canvas tool driven by real mouse and key events on the view (offscreen), with each edit
checked as one undo step (undo gives back the exact prior document, redo the edited one) and the
store checked against the document after every step.

The view is 800x600 at 100% zoom on a 640x480 image, so one image pixel is one screen pixel.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.annotators.mask_patch import mask_buffer
from app.annotators.shapes import Box, Mask, Points, Polygon, Polyline, RotatedBox, Tag
from app.annotators.tools import registry
from tests.ui.canvas_fixtures import at, click, drag, make_session, make_view

TOL = 1.5  # image pixels
LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture
def canvas(qtbot, tmp_path: Path):
    ws, session = make_session(tmp_path / "ws")
    view = make_view(qtbot, session)
    assert view.zoom == pytest.approx(1.0)
    yield view, session
    ws.close()


# -- driving the view ---------------------------------------------------------------------------

def use(view, session, tool_id: str):
    tool = registry.get(tool_id).create(session)
    view.set_tool(tool)
    return tool


def key(view, k: Qt.Key, modifier: Qt.KeyboardModifier = NONE) -> None:
    view.setFocus()
    QTest.keyClick(view, k, modifier)


def dclick(view, x: float, y: float, modifier: Qt.KeyboardModifier = NONE) -> None:
    """What a real double click delivers: press, release, double-click, release."""
    vp, pos = view.viewport(), at(view, x, y)
    QTest.mouseClick(vp, LEFT, modifier, pos)
    QTest.mouseDClick(vp, LEFT, modifier, pos)
    QTest.mouseRelease(vp, LEFT, modifier, pos)


def move(view, x: float, y: float) -> None:
    QTest.mouseMove(view.viewport(), at(view, x, y))


def draw_box(view, session, a, b) -> str:
    use(view, session, "box")
    drag(view, a, b)
    return session.document.annotations()[-1].id


def draw_polygon(view, session, pts) -> str:
    use(view, session, "polygon")
    for p in pts:
        click(view, *p)
    key(view, Qt.Key.Key_Return)
    return session.document.annotations()[-1].id


# -- checks -------------------------------------------------------------------------------------

def doc(session) -> list:
    return session.document.annotations()


def _content(annotations) -> dict:
    """id -> every field but the two the store stamps itself (its revision count and time)."""
    return {a.id: {f.name: getattr(a, f.name) for f in dataclasses.fields(a)
                   if f.name not in ("updated_at", "version")} for a in annotations}


def check_store(session) -> None:
    assert _content(session.ws.annotations.for_asset(session.asset_id)) == _content(doc(session))


def one_step(session, before: list) -> list:
    """The edit just made changed the document; it is exactly one undo step; the store follows."""
    after = doc(session)
    assert after != before
    check_store(session)
    session.undo()
    assert doc(session) == before
    check_store(session)
    session.redo()
    assert doc(session) == after
    check_store(session)
    return after


def only_new(session, before: list):
    """The one annotation the last edit added."""
    new = [a for a in doc(session) if a.id not in {b.id for b in before}]
    assert len(new) == 1 and len(doc(session)) == len(before) + 1
    return new[0]


def assert_pts(actual, expected) -> None:
    assert len(actual) == len(expected), (actual, expected)
    for (ax, ay), (ex, ey) in zip(actual, expected):
        assert abs(ax - ex) <= TOL and abs(ay - ey) <= TOL, (actual, expected)


def exterior(shape) -> tuple:
    assert isinstance(shape, Polygon) and len(shape.parts) == 1 and not shape.parts[0].holes
    return shape.parts[0].exterior


_YY, _XX = np.mgrid[0:480, 0:640] + 0.5  # pixel centres


def _margin(strokes) -> np.ndarray:
    """Per pixel: distance from its centre to the nearest stroke minus that stroke's radius."""
    out = np.full(_XX.shape, np.inf)
    for (ax, ay), (bx, by), r in strokes:
        dx, dy = bx - ax, by - ay
        t = np.clip(((_XX - ax) * dx + (_YY - ay) * dy) / (dx * dx + dy * dy), 0, 1) if dx or dy else 0.0
        out = np.minimum(out, np.hypot(_XX - ax - t * dx, _YY - ay - t * dy) - r)
    return out


def assert_mask(shape, paint, erase=()) -> None:
    """Pixels well inside the painted capsules (and not erased) are on; well outside are off."""
    assert isinstance(shape, Mask) and (shape.height, shape.width) == (480, 640)
    on = mask_buffer(shape).astype(bool)
    p, e = _margin(paint), _margin(erase)
    assert on[(p <= -TOL) & (e > TOL)].all()
    assert not on[(p > TOL) | (e <= -TOL)].any()


# -- drawing tools ------------------------------------------------------------------------------

def test_rotated_box_drag_then_turn_then_click(canvas) -> None:
    view, session = canvas
    use(view, session, "rotated_box")
    drag(view, (200, 150), (360, 250))
    assert doc(session) == []  # still turning: nothing placed yet
    ref = math.atan2(250 - 200, 360 - 280)  # the pointer's bearing from the centre at the release
    aim = (280 + 100 * math.cos(ref + math.radians(30)), 200 + 100 * math.sin(ref + math.radians(30)))
    move(view, *aim)
    click(view, *aim)
    ann = only_new(session, [])
    box = ann.shape
    assert isinstance(box, RotatedBox) and ann.label == "object" and session.selection == {ann.id}
    assert_pts([(box.cx, box.cy), (box.w, box.h)], [(280, 200), (160, 100)])
    assert box.angle == pytest.approx(30, abs=1.0)
    one_step(session, [])


POLY = [(100, 100), (300, 100), (300, 250)]


@pytest.mark.parametrize("finish", ["first_vertex", "double_click", "return", "backspace_return"])
def test_polygon_click_mode(canvas, finish: str) -> None:
    view, session = canvas
    tool = use(view, session, "polygon")
    for p in POLY:
        click(view, *p)
    expected = POLY
    if finish == "first_vertex":
        click(view, 102, 101)  # within the grab radius of the first vertex
    elif finish == "double_click":
        dclick(view, 150, 250)  # its first click adds the vertex
        expected = [*POLY, (150, 250)]
    elif finish == "return":
        key(view, Qt.Key.Key_Return)
    else:
        click(view, 200, 300)
        assert len(tool.vertices) == 4 and doc(session) == []
        key(view, Qt.Key.Key_Backspace)
        assert_pts(tool.vertices, POLY)
        key(view, Qt.Key.Key_Return)
    ann = only_new(session, [])
    assert_pts(exterior(ann.shape), expected)
    assert not tool.busy and session.selection == {ann.id}
    one_step(session, [])


def test_polygon_press_drag_mode(canvas) -> None:
    view, session = canvas
    use(view, session, "polygon")
    drag(view, (100, 100), (300, 100), steps=4)  # a vertex every 50 px while held
    drag(view, (300, 100), (300, 250), steps=3)  # pressing on the last vertex adds no copy
    assert doc(session) == []  # the path stays open on release
    click(view, 100, 100)  # closes on the first vertex
    ann = only_new(session, [])
    assert_pts(exterior(ann.shape), [(100, 100), (150, 100), (200, 100), (250, 100), (300, 100),
                                     (300, 150), (300, 200), (300, 250)])
    one_step(session, [])


@pytest.mark.parametrize("finish", ["double_click", "return"])
def test_polyline(canvas, finish: str) -> None:
    view, session = canvas
    use(view, session, "polyline")
    click(view, 50, 400)
    click(view, 200, 300)
    if finish == "double_click":
        dclick(view, 400, 420)
    else:
        click(view, 400, 420)
        key(view, Qt.Key.Key_Return)
    ann = only_new(session, [])
    assert isinstance(ann.shape, Polyline)
    assert_pts(ann.shape.points, [(50, 400), (200, 300), (400, 420)])
    one_step(session, [])


def test_points_visible_and_occluded_commit_with_return(canvas) -> None:
    view, session = canvas
    use(view, session, "points")
    click(view, 100, 100)
    click(view, 200, 120, SHIFT)
    click(view, 300, 140)
    assert doc(session) == []
    key(view, Qt.Key.Key_Return)
    ann = only_new(session, [])
    assert isinstance(ann.shape, Points)
    assert_pts(ann.shape.points, [(100, 100), (200, 120), (300, 140)])
    assert ann.shape.visibility == (2, 1, 2)
    one_step(session, [])


def test_brush_paints_extends_the_selected_mask_and_grows(canvas) -> None:
    view, session = canvas
    use(view, session, "brush")
    drag(view, (100, 100), (200, 100), steps=5)
    mask = only_new(session, [])
    first = ((100, 100), (200, 100), 10.0)
    assert_mask(mask.shape, [first])
    before = one_step(session, [])
    use(view, session, "select")  # redo does not restore the selection: click the mask
    click(view, 150, 100)
    assert session.selection == {mask.id}
    brush = use(view, session, "brush")
    drag(view, (150, 100), (150, 250), steps=5)
    second = ((150, 100), (150, 250), 10.0)
    assert [a.id for a in doc(session)] == [mask.id]  # the same mask, extended
    assert_mask(doc(session)[0].shape, [first, second])
    before = one_step(session, before)
    for _ in range(3):
        key(view, Qt.Key.Key_BracketRight)
    assert brush.radius == pytest.approx(10 * 1.25 ** 3)
    click(view, 400, 300)
    assert [a.id for a in doc(session)] == [mask.id]
    assert_mask(doc(session)[0].shape, [first, second, ((400, 300), (400, 300), brush.radius)])
    one_step(session, before)


def test_eraser_erases_part_then_all(canvas) -> None:
    view, session = canvas
    use(view, session, "brush")
    drag(view, (200, 300), (300, 300), steps=5)
    painted = [((200, 300), (300, 300), 10.0)]
    mask = only_new(session, [])
    use(view, session, "eraser")
    before = doc(session)
    click(view, 300, 300)
    assert [a.id for a in doc(session)] == [mask.id]
    assert_mask(doc(session)[0].shape, painted, [((300, 300), (300, 300), 10.0)])
    before = one_step(session, before)
    drag(view, (200, 300), (300, 300), steps=5)  # over every painted pixel
    assert doc(session) == [] and session.selection == frozenset()
    one_step(session, before)


def test_tag_is_added_once(canvas) -> None:
    view, session = canvas
    use(view, session, "tag")
    click(view, 320, 240)
    ann = only_new(session, [])
    assert isinstance(ann.shape, Tag) and ann.label == "object"
    after = one_step(session, [])
    click(view, 100, 100)
    assert doc(session) == after and session.selection == {ann.id}
    session.undo()  # the second click pushed nothing: undo takes back the tag itself
    assert doc(session) == []
    check_store(session)


# -- select tool --------------------------------------------------------------------------------

def test_select_resizes_a_box_by_its_corner(canvas) -> None:
    view, session = canvas
    box = draw_box(view, session, (100, 100), (300, 200))
    use(view, session, "select")
    click(view, 200, 150)
    assert session.selection == {box}
    before = doc(session)
    drag(view, (300, 200), (350, 260))
    shape = session.document.get(box).shape
    assert isinstance(shape, Box)
    assert_pts([(shape.x1, shape.y1), (shape.x2, shape.y2)], [(100, 100), (350, 260)])
    one_step(session, before)


def test_select_turns_a_rotated_box_by_its_rotation_handle(canvas) -> None:
    view, session = canvas
    use(view, session, "rotated_box")
    drag(view, (200, 150), (360, 250))
    click(view, 360, 250)  # place it unturned
    (ann,) = doc(session)
    assert ann.shape == RotatedBox(280, 200, 160, 100, 0.0)
    use(view, session, "select")
    click(view, 280, 200)
    before = doc(session)
    drag(view, (280, 200 - 50 - 24), (380, 200))  # the handle sits 24 px above the top edge
    box = session.document.get(ann.id).shape
    assert_pts([(box.cx, box.cy), (box.w, box.h)], [(280, 200), (160, 100)])
    assert box.angle == pytest.approx(90, abs=1.0)
    one_step(session, before)


def test_select_edits_polygon_vertices(canvas) -> None:
    view, session = canvas
    pid = draw_polygon(view, session, [(100, 300), (250, 300), (250, 420), (100, 420)])
    use(view, session, "select")
    click(view, 175, 360)
    assert session.selection == {pid}
    before = doc(session)
    drag(view, (250, 300), (280, 280))  # move a vertex
    moved = [(100, 300), (280, 280), (250, 420), (100, 420)]
    assert_pts(exterior(session.document.get(pid).shape), moved)
    before = one_step(session, before)
    dclick(view, 140, 421)  # on the bottom edge, away from its midpoint handle
    assert_pts(exterior(session.document.get(pid).shape), [*moved[:3], (140, 420), moved[3]])
    before = one_step(session, before)
    click(view, 140, 420, ALT)  # deletes that vertex again
    assert_pts(exterior(session.document.get(pid).shape), moved)
    one_step(session, before)


def test_select_nudges_deletes_and_escape(canvas) -> None:
    view, session = canvas
    box = draw_box(view, session, (100, 100), (200, 200))
    use(view, session, "select")
    click(view, 150, 150)
    for k, mod, (dx, dy) in ((Qt.Key.Key_Right, NONE, (1, 0)), (Qt.Key.Key_Down, SHIFT, (0, 10))):
        before = doc(session)
        old = session.document.get(box).shape
        key(view, k, mod)
        assert session.document.get(box).shape == old.translated(dx, dy)
        one_step(session, before)
    # Escape in the middle of a drag puts the shape back and leaves no step behind.
    before = doc(session)
    vp = view.viewport()
    QTest.mousePress(vp, LEFT, NONE, at(view, 150, 150))
    move(view, 170, 160)
    move(view, 190, 170)
    assert doc(session) != before
    key(view, Qt.Key.Key_Escape)
    QTest.mouseRelease(vp, LEFT, NONE, at(view, 190, 170))
    assert doc(session) == before
    session.undo()  # the last step is still the Shift+Down nudge
    assert session.document.get(box).shape == Box(101, 100, 201, 200)
    session.redo()
    key(view, Qt.Key.Key_Escape)  # with no drag: clears the selection
    assert session.selection == frozenset()
    click(view, 150, 160)
    key(view, Qt.Key.Key_Delete)
    assert doc(session) == [] and session.selection == frozenset()
    one_step(session, before)


def test_select_rubber_band_and_shift_click_toggle(canvas) -> None:
    view, session = canvas
    a = draw_box(view, session, (50, 50), (100, 100))
    b = draw_box(view, session, (150, 50), (200, 100))
    c = draw_box(view, session, (400, 300), (450, 350))
    use(view, session, "select")
    before = doc(session)
    click(view, 20, 400)  # empty space
    assert session.selection == frozenset()
    drag(view, (30, 30), (250, 150))
    assert session.selection == {a, b}
    click(view, 425, 325, SHIFT)
    assert session.selection == {a, b, c}
    click(view, 75, 75, SHIFT)
    assert session.selection == {b, c}
    drag(view, (30, 30), (120, 120), modifier=SHIFT)  # a Shift band adds to the selection
    assert session.selection == {a, b, c}
    assert doc(session) == before  # selecting edits nothing
    check_store(session)
