"""Render the main window on the sample project, labelled through the real tools, to a PNG.

The picture (docs/screenshots/main_window.png) is the one the README shows. The boxes are
drawn with the box tool by mouse drags on the canvas, each around an object the sample
drew, and checked against that ground truth, so the screenshot shows real work.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.annotators.shapes import Box
from app.context import AppContext
from app.sample import SAMPLE_SIZE, ensure_sample_project, scene_objects
from app.store.workspace import Workspace
from app.ui.main_window import MainWindow
from app.ui.theme import apply_theme
from tests.ui.canvas_fixtures import click, drag

SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "main_window.png"


@pytest.fixture
def window(qtbot, tmp_path: Path):
    root = tmp_path / "ws"
    with Workspace.open(root) as ws:
        ensure_sample_project(ws, count=4)
    ctx = AppContext.load(workspace=root)
    win = MainWindow(ctx, author="ana")
    qtbot.addWidget(win)
    apply_theme(QApplication.instance(), "dark")
    win.resize(1680, 1000)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    ctx.close()


def test_main_window_labelled_sample_screenshot(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.task_list.model.rowCount() == 4, timeout=10000)
    window.action_set["task.next"].trigger()
    qtbot.waitUntil(lambda: window.session is not None, timeout=10000)
    session, view = window.session, window.canvas
    qtbot.waitUntil(lambda: not view.scene().sceneRect().isEmpty() and view.image_item is not None
                    and not view.image_item.boundingRect().isEmpty(), timeout=10000)
    view.fit()
    window.view.set_tool("box")
    truth = scene_objects(0, SAMPLE_SIZE)
    for label, (x1, y1, x2, y2) in truth:
        session.set_selection(())  # with a selection, choosing a label relabels it instead
        window.panels["label_palette"].choose(label)
        drag(view, (x1, y1), (x2, y2))
    drawn = [(a.label, a.shape) for a in session.document.annotations()]
    assert len(drawn) == len(truth) and all(isinstance(shape, Box) for _, shape in drawn)

    def error(shape: Box, box: tuple[int, int, int, int]) -> float:
        return max(abs(a - b) for a, b in zip((shape.x1, shape.y1, shape.x2, shape.y2), box))

    for label, box in truth:  # each object has its box, with its label, within a screen pixel or two
        assert min(error(s, box) for lb, s in drawn if lb == label) < 2.5, (label, box)
    window.view.set_tool("select")
    car = next(box for label, box in truth if label == "car")
    click(view, (car[0] + car[2]) / 2, (car[1] + car[3]) / 2)
    assert len(session.selection) == 1
    qtbot.waitUntil(lambda: session.save_state == "saved", timeout=10000)
    qtbot.wait(300)  # sharper tiles and thumbnails settle
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SHOT))
    assert SHOT.stat().st_size > 50_000
