"""A real workspace, asset and AssetSession behind a CanvasView, for canvas tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from app.core.tasks import TaskRunner
from app.editing.session import AssetSession
from app.store.assets import NewAsset
from app.store.workspace import Workspace
from app.ui.canvas.view import CanvasView


def make_session(root: Path, width: int = 640, height: int = 480) -> tuple[Workspace, AssetSession]:
    ws = Workspace.open(root)
    p = ws.projects.get_or_create("canvas")
    sha = hashlib.sha256(f"{width}x{height}".encode()).hexdigest()
    ws.assets.add_many(p.id, [NewAsset(sha256=sha, modality="image", storage="reference", path="/x.png",
                                       original_name="x.png", size_bytes=1, metadata={"width": width, "height": height})])
    asset = ws.assets.by_sha256(p.id, [sha])[sha]
    return ws, AssetSession.load(ws, TaskRunner(synchronous=True), asset.id, author="tester")


def make_view(qtbot, session: AssetSession) -> CanvasView:
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_session(session)
    view.actual_size()
    view.centerOn(session.image_size[0] / 2, session.image_size[1] / 2)
    return view


def at(view: CanvasView, x: float, y: float) -> QPoint:
    """The viewport position of image point (x, y)."""
    return view.mapFromScene(QPointF(x, y))


def drag(view: CanvasView, start: tuple[float, float], end: tuple[float, float], steps: int = 6,
         button: Qt.MouseButton = Qt.MouseButton.LeftButton,
         modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    vp = view.viewport()
    QTest.mousePress(vp, button, modifier, at(view, *start))
    for k in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * k / steps
        y = start[1] + (end[1] - start[1]) * k / steps
        QTest.mouseMove(vp, at(view, x, y))
    QTest.mouseRelease(vp, button, modifier, at(view, *end))


def click(view: CanvasView, x: float, y: float, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
          button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    QTest.mouseClick(view.viewport(), button, modifier, at(view, x, y))
