"""Child process for the GUI crash test: a real CanvasView edited with real mouse events.

Usage: python gui_edit_child.py WORKSPACE SEED
Draws boxes with the box tool and moves them with the select tool, forever. Whenever the
session reports that everything is on disk, prints `ACK <annotation id> <shape json>` for
each annotation state not acknowledged before. The parent kills it with SIGKILL.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.annotators.tools import registry  # noqa: E402
from app.core.tasks import TaskRunner  # noqa: E402
from app.editing.session import SAVE_STATE_CHANGED, AssetSession  # noqa: E402
from app.store.assets import NewAsset  # noqa: E402
from app.store.workspace import Workspace  # noqa: E402
from app.ui.canvas.view import CanvasView  # noqa: E402
from app.ui.workers import Bridge  # noqa: E402

W, H = 800, 600


def _asset_id(ws: Workspace) -> int:
    project = ws.projects.get_or_create("gui-crash")
    sha = hashlib.sha256(b"gui-crash").hexdigest()
    ws.assets.add_many(project.id, [NewAsset(sha256=sha, modality="image", storage="reference", path="/x.png",
                                             original_name="x.png", size_bytes=1, metadata={"width": W, "height": H})])
    return ws.assets.by_sha256(project.id, [sha])[sha].id


def main() -> None:
    root, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    app = QApplication([])
    ws = Workspace.open(root)
    bridge = Bridge()
    session = AssetSession.load(ws, TaskRunner(), _asset_id(ws), author="gui", post=bridge.post)
    view = CanvasView()
    view.resize(W + 40, H + 40)
    view.show()
    view.set_session(session)
    view.actual_size()
    view.centerOn(W / 2, H / 2)
    # what was loaded is already on disk: acknowledge only this process's edits
    acked = {(a.id, json.dumps(a.shape.to_dict(), sort_keys=True)) for a in session.document.annotations()}

    def on_saved(state: str) -> None:
        if state != "saved":
            return
        for ann in session.document.annotations():
            key = (ann.id, json.dumps(ann.shape.to_dict(), sort_keys=True))
            if key not in acked:
                acked.add(key)
                print(f"ACK {key[0]} {key[1]}", flush=True)

    session.events.subscribe(SAVE_STATE_CHANGED, on_saved)

    def drag(a: tuple[float, float], b: tuple[float, float]) -> None:
        vp = view.viewport()
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(QPointF(*a)))
        QTest.mouseMove(vp, view.mapFromScene(QPointF((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)))
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(QPointF(*b)))

    def step() -> None:
        boxes = session.document.annotations()
        if boxes and rng.random() < 0.4:  # move one: select tool, drag from its centre
            shape = rng.choice(boxes).shape
            cx, cy = (shape.x1 + shape.x2) / 2, (shape.y1 + shape.y2) / 2
            view.set_tool(registry.get("select").create(session))
            drag((cx, cy), (min(W - 40, max(40, cx + rng.uniform(-20, 20))), min(H - 40, max(40, cy + rng.uniform(-20, 20)))))
        else:
            x, y = rng.uniform(20, W - 120), rng.uniform(20, H - 120)
            view.set_tool(registry.get("box").create(session))
            drag((x, y), (x + rng.uniform(20, 100), y + rng.uniform(20, 100)))

    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(5)
    app.exec()


if __name__ == "__main__":
    main()
