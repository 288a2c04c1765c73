"""A scene with 5,000 polygons of 50 vertices: repaint after a pan, and select one by click.

Targets (issue 3): median repaint after a pan <= 16 ms; selecting one by click <= 16 ms
(press + release through the select tool, selection applied, viewport repainted).
Baselines, same run: the anchors' way (labelme, X-AnyLabeling) of painting every shape of
the list into the widget on each repaint, with no spatial index, onto the same viewport size;
and of selecting by testing the click against every shape in a Python loop.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import Measurement

VIEW_W, VIEW_H = 1600, 900
IMAGE = 20_000  # polygons spread over a 20k x 20k image


def _polygons(n: int, vertices: int) -> list:
    from app.annotators.shapes import Polygon, PolygonPart

    rng = random.Random(5)
    out = []
    for _ in range(n):
        cx, cy, r = rng.uniform(100, IMAGE - 100), rng.uniform(100, IMAGE - 100), rng.uniform(20, 80)
        ring = tuple((cx + r * (0.7 + 0.3 * math.sin(5 * k)) * math.cos(2 * math.pi * k / vertices),
                      cy + r * (0.7 + 0.3 * math.sin(5 * k)) * math.sin(2 * math.pi * k / vertices))
                     for k in range(vertices))
        out.append(Polygon(parts=(PolygonPart(exterior=ring, holes=()),)))
    return out


def _session(root: Path, shapes: list):
    from app.annotators.annotation import Annotation
    from app.core.tasks import TaskRunner
    from app.editing.session import AssetSession
    from app.store.assets import NewAsset
    from app.store.workspace import Workspace

    ws = Workspace.open(root)
    p = ws.projects.create("bench")
    (asset,) = ws.assets.add_many(p.id, [NewAsset(sha256=hashlib.sha256(b"c").hexdigest(), modality="image",
                                                  storage="reference", path="/x", original_name="x", size_bytes=1,
                                                  metadata={"width": IMAGE, "height": IMAGE})])
    anns = [Annotation.new(asset_id=asset.id, label="car", shape=s, author="bench") for s in shapes]
    return AssetSession(ws, TaskRunner(synchronous=True), asset, anns, author="bench"), ws


def _pan_frames(view, steps: int) -> list[float]:
    times = []
    bar = view.horizontalScrollBar()
    for i in range(steps):
        bar.setValue(bar.value() + (40 if (i // 25) % 2 == 0 else -40))
        t0 = time.perf_counter()
        view.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _baseline_frames(shapes: list, steps: int) -> list[float]:
    """Every shape painted on every frame, like a single-widget canvas with a shape list."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF

    image = QImage(VIEW_W, VIEW_H, QImage.Format.Format_ARGB32_Premultiplied)
    polys = [QPolygonF([QPointF(x, y) for x, y in s.parts[0].exterior]) for s in shapes]
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.translate(-8000 - 40 * i, -8000)
        pen = QPen(QColor(30, 120, 220), 1.6)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for poly in polys:
            painter.drawPolygon(poly)
        painter.end()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _click_select(view, session, steps: int) -> list[float]:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from app.annotators.geometry import bounds
    from app.annotators.tools import registry

    view.set_tool(registry.get("select").create(session))
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    candidates = [a for a in session.document.annotations()
                  if visible.contains(*((bounds(a.shape)[0] + bounds(a.shape)[2]) / 2,
                                        (bounds(a.shape)[1] + bounds(a.shape)[3]) / 2))]
    times = []
    for k in range(steps):
        a = candidates[k % len(candidates)]
        b = bounds(a.shape)
        pos = view.mapFromScene((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        t0 = time.perf_counter()
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(pos))
        view.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1000)
        assert session.selection == {a.id}, "the click did not select the polygon under it"
    return times


def _baseline_click(view, session, steps: int) -> list[float]:
    """The anchors' selection: test the point against every shape in a Python loop, then repaint."""
    from PySide6.QtCore import QPointF

    from app.annotators.geometry import bounds
    from app.ui.canvas.shape_paths import shape_path

    paths = [(a.id, shape_path(a.shape)) for a in session.document.annotations()]
    targets = [a for a in session.document.annotations()][:steps]
    times = []
    for a in targets:
        b = bounds(a.shape)
        point = QPointF((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        t0 = time.perf_counter()
        hit = next((ann_id for ann_id, path in reversed(paths) if path.contains(point)), None)
        view.viewport().repaint()
        times.append((time.perf_counter() - t0) * 1000)
        assert hit is not None
    return times


def run(quick: bool = False) -> list[Measurement]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.ui.canvas.view import CanvasView

    app = QApplication.instance() or QApplication([])
    n = 1000 if quick else 5000
    shapes = _polygons(n, 50)
    with tempfile.TemporaryDirectory(prefix="alaya-bench-canvas-") as tmp:
        session, ws = _session(Path(tmp) / "ws", shapes)
        view = CanvasView()
        view.resize(VIEW_W, VIEW_H)
        view.show()
        view.set_session(session)
        view.set_zoom(1.0)
        view.centerOn(8000 + VIEW_W / 2, 8000 + VIEW_H / 2)
        app.processEvents()
        steps = 30 if quick else 100
        ours = _pan_frames(view, steps)
        base = _baseline_frames(shapes, steps // 2)
        clicks = _click_select(view, session, 20 if quick else 50)
        base_clicks = _baseline_click(view, session, 20 if quick else 50)
        view.close()
        ws.close()
    details = {"polygons": n, "vertices": 50, "viewport": f"{VIEW_W}x{VIEW_H}"}
    return [
        Measurement("repaint after pan (median)", "ms", statistics.median(ours), 16.0, statistics.median(base),
                    "paint every shape each frame", higher_is_better=False, details=details),
        Measurement("select one by click (median)", "ms", statistics.median(clicks), 16.0,
                    statistics.median(base_clicks), "test every shape in a loop, then repaint",
                    higher_is_better=False, details=details | {"p90_ms": sorted(clicks)[int(len(clicks) * 0.9)]}),
    ]
