"""The canvas driven by real mouse and key events on the view (offscreen)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.annotators.shapes import Box
from app.annotators.tools import registry
from tests.ui.canvas_fixtures import at, click, drag, make_session, make_view


@pytest.fixture
def canvas(qtbot, tmp_path: Path):
    ws, session = make_session(tmp_path / "ws")
    view = make_view(qtbot, session)
    yield view, session, ws
    ws.close()


def _wheel(view, pos: QPoint, steps: int) -> None:
    ev = QWheelEvent(QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * steps),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), ev)


def test_wheel_zooms_to_the_cursor(canvas) -> None:
    view, _, _ = canvas
    target = (200.0, 150.0)
    pos = at(view, *target)
    _wheel(view, pos, 3)
    assert view.zoom == pytest.approx(1.2 ** 3, rel=1e-3)
    under = view.mapToScene(pos)
    assert abs(under.x() - target[0]) < 1.0 and abs(under.y() - target[1]) < 1.0  # the point stayed put


def test_fit_and_actual_size(canvas) -> None:
    view, _, _ = canvas
    view.fit()
    assert view.zoom == pytest.approx(min(800 / 640, 600 / 480), rel=0.05)
    view.actual_size()
    assert view.zoom == pytest.approx(1.0)


def test_middle_button_pans_without_drawing(canvas) -> None:
    view, session, _ = canvas
    view.set_zoom(4.0)
    view.set_tool(registry.get("box").create(session))
    before = view.mapToScene(QPoint(400, 300))
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 300))
    QTest.mouseMove(vp, QPoint(300, 250))
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 250))
    after = view.mapToScene(QPoint(400, 300))
    assert after.x() > before.x() and after.y() > before.y()
    assert len(session.document) == 0


def test_box_tool_draws_with_real_mouse_events_and_undo_redo(canvas) -> None:
    view, session, ws = canvas
    view.set_tool(registry.get("box").create(session))
    drag(view, (100, 80), (300, 240))
    (ann,) = session.document.annotations()
    assert isinstance(ann.shape, Box)
    assert ann.shape.x1 == pytest.approx(100, abs=1.5) and ann.shape.y2 == pytest.approx(240, abs=1.5)
    assert view.layer.items[ann.id].isVisible()
    assert [a.id for a in ws.annotations.for_asset(session.asset_id)] == [ann.id]  # saved at once
    session.undo()
    assert len(session.document) == 0 and ann.id not in view.layer.items
    assert ws.annotations.for_asset(session.asset_id) == []
    session.redo()
    assert ann.id in view.layer.items and session.document.get(ann.id) == ann


def test_select_tool_click_selects_and_drag_moves(canvas) -> None:
    view, session, _ = canvas
    view.set_tool(registry.get("box").create(session))
    drag(view, (100, 100), (200, 200))
    (ann,) = session.document.annotations()
    view.set_tool(registry.get("select").create(session))
    click(view, 10, 10)
    assert session.selection == frozenset()
    click(view, 150, 150)
    assert session.selection == {ann.id}
    drag(view, (150, 150), (170, 160))
    moved = session.document.get(ann.id).shape
    assert moved.x1 == pytest.approx(ann.shape.x1 + 20, abs=1.5)
    assert moved.y1 == pytest.approx(ann.shape.y1 + 10, abs=1.5)
    session.undo()
    assert session.document.get(ann.id).shape == ann.shape


def test_space_drag_pans(canvas) -> None:
    view, session, _ = canvas
    view.set_zoom(4.0)
    view.set_tool(registry.get("box").create(session))
    view.setFocus()
    before = view.mapToScene(QPoint(400, 300))
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(view, (before.x(), before.y()), (before.x() - 20, before.y() - 10))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert len(session.document) == 0
    assert view.mapToScene(QPoint(400, 300)).x() > before.x()


def test_cursor_position_is_reported_in_image_pixels(canvas, qtbot) -> None:
    view, _, _ = canvas
    seen = []
    view.cursor_moved.connect(lambda x, y: seen.append((x, y)))
    QTest.mouseMove(view.viewport(), at(view, 123.0, 45.0))
    assert seen and abs(seen[-1][0] - 123.0) < 1.0 and abs(seen[-1][1] - 45.0) < 1.0


def test_open_image_fits_and_reports_pixels(qtbot, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    img = np.zeros((300, 400, 3), np.uint8)
    img[100:200, 150:250] = (0, 0, 255)  # a red block (BGR)
    path = tmp_path / "red.png"
    cv2.imwrite(str(path), img)
    ws, session = make_session(tmp_path / "ws", 400, 300)
    view = make_view(qtbot, session)
    item = view.open_image(str(path))
    qtbot.waitUntil(lambda: not item.boundingRect().isEmpty(), timeout=5000)
    assert view.scene().sceneRect().width() == 400
    assert view.zoom == pytest.approx(min(800 / 400, 600 / 300), rel=0.1)  # fitted
    qtbot.waitUntil(lambda: view.image_pixel(200, 150) is not None, timeout=5000)
    assert tuple(view.image_pixel(200, 150)) == (255, 0, 0)  # R, G, B
    view.set_pixel_grid(True)
    assert item.show_pixel_grid
    view.set_image_item(None)
    ws.close()


def test_ctrl_right_drag_sets_window_level_of_a_16_bit_image(qtbot, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    deep = (np.arange(300 * 400, dtype=np.uint32).reshape(300, 400) % 4000 + 1000).astype(np.uint16)
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), deep)
    ws, session = make_session(tmp_path / "ws", 400, 300)
    view = make_view(qtbot, session)
    item = view.open_image(str(path))
    qtbot.waitUntil(lambda: item.window is not None, timeout=5000)
    auto = item.window
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.ControlModifier, QPoint(300, 300))
    QTest.mouseMove(vp, QPoint(200, 250))  # left: narrower window; up: brighter level
    QTest.mouseRelease(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.ControlModifier, QPoint(200, 250))
    assert item.window.width < auto.width and item.window.center > auto.center
    assert len(session.document) == 0  # the gesture never reached a tool
    view.reset_window()
    assert item.window == auto
    ws.close()


def test_mask_image_is_the_translucent_label_colour_inside_and_clear_outside(qtbot) -> None:
    import numpy as np
    from PySide6.QtGui import QColor

    from app.annotators.masks import encode
    from app.ui.canvas.shape_paths import mask_image

    bits = np.zeros((40, 60), bool)
    bits[10:20, 5:30] = True
    bits[12, 7] = False  # a hole
    image, where = mask_image(encode(bits), QColor(200, 100, 50), alpha=110)
    assert (where.x(), where.y(), where.width(), where.height()) == (5, 10, 25, 10)
    inside, hole = image.pixelColor(0, 0), image.pixelColor(2, 2)
    got = (inside.red(), inside.green(), inside.blue())
    assert inside.alpha() == 110 and max(abs(a - b) for a, b in zip(got, (200, 100, 50))) <= 1  # premultiplied
    assert hole.alpha() == 0
