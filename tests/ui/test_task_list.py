"""The virtual task list: pages from the store off the GUI thread, filters, thumbnails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from app.annotators.annotation import Annotation
from app.annotators.shapes import Box
from app.context import AppContext
from app.store.assets import NewAsset
from app.store.task_queries import TaskListRow
from app.ui.panels.task_list import TaskListPanel
from app.ui.panels.task_model import THUMB_COLUMN
from app.ui.workers import Bridge
from tests.unit.store.test_task_queries import insert_tasks


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    context = AppContext.load(workspace=tmp_path / "ws")
    yield context
    context.close()


def panel_for(qtbot, ctx: AppContext, project_id: int, **kwargs) -> TaskListPanel:
    panel = TaskListPanel(ctx, Bridge(), **kwargs)
    qtbot.addWidget(panel)
    panel.resize(420, 600)
    panel.show()
    panel.set_project(project_id)
    return panel


def loaded(panel: TaskListPanel, row: int) -> bool:
    return panel.model.index(row, 1).data() not in (None, "…")


def test_100k_tasks_scroll_to_the_end_fetching_pages_not_rows(qtbot, ctx: AppContext) -> None:
    project = ctx.workspace.projects.create("big")
    insert_tasks(ctx.workspace, project.id, 100_000)
    panel = panel_for(qtbot, ctx, project.id, page_size=100, max_pages=20)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 100_000, timeout=5000)
    qtbot.waitUntil(lambda: loaded(panel, 0), timeout=5000)

    t0 = time.perf_counter()
    bar = panel.view.verticalScrollBar()
    for step in range(1, 41):  # drag the scroll bar down in 40 jumps, repainting as a user would
        bar.setValue(bar.maximum() * step // 40)
        qtbot.wait(5)
    qtbot.waitUntil(lambda: loaded(panel, 99_999), timeout=5000)
    elapsed = time.perf_counter() - t0
    assert panel.model.index(99_999, 1).data() == "frame_099999.jpg"
    assert elapsed < 5.0, elapsed
    assert panel.model.materialized_rows <= 20 * 100  # bounded page cache
    assert panel.model.pages_fetched < 60  # the pages on screen, not the 1,000 on the way
    assert panel.count_label.text() == "100,000 tasks"
    print(f"scrolled 100,000 rows in {elapsed:.2f} s; {panel.model.pages_fetched} pages fetched, "
          f"{panel.model.materialized_rows} rows held")


def test_filter_by_state_label_and_text(qtbot, ctx: AppContext) -> None:
    ws = ctx.workspace
    project = ws.projects.create("p")
    insert_tasks(ws, project.id, 40)
    tasks = ws.tasks.list(project.id)
    for t in tasks[:3]:
        ws.tasks.transition(t.id, "in_progress")
    ws.annotations.save(Annotation.new(asset_id=tasks[5].asset_id, label="car", shape=Box(1, 1, 9, 9), author="a"))
    panel = panel_for(qtbot, ctx, project.id)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 40)
    qtbot.waitUntil(lambda: panel.label_box.findData("car") >= 0)  # labels in use fill the combo

    panel.set_filter(state="in_progress")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3)
    qtbot.waitUntil(lambda: loaded(panel, 2))
    assert [panel.model.index(r, 3).data() for r in range(3)] == ["in progress"] * 3

    panel.set_filter(text="_00003")  # frame_000030 .. frame_000039
    qtbot.waitUntil(lambda: panel.model.rowCount() == 10)
    panel.set_filter(label="car")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    qtbot.waitUntil(lambda: loaded(panel, 0))
    assert panel.model.index(0, 1).data() == "frame_000005.jpg" and panel.model.index(0, 4).data() == 1

    panel.search.setText("frame_00000")  # typing: debounced, then filtered
    panel.set_filter()  # and clearing every filter shows everything again
    qtbot.waitUntil(lambda: panel.model.rowCount() == 40)


def test_selection_emits_the_task_and_moves_by_rows(qtbot, ctx: AppContext) -> None:
    project = ctx.workspace.projects.create("p")
    insert_tasks(ctx.workspace, project.id, 500)
    panel = panel_for(qtbot, ctx, project.id, page_size=50)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 500)
    seen: list[TaskListRow] = []
    panel.task_activated.connect(seen.append)
    assert panel.select_relative(+1)  # nothing selected: the first row
    qtbot.waitUntil(lambda: len(seen) == 1)
    assert seen[0].name == "frame_000000.jpg"
    assert panel.select_row(420)  # a page not loaded yet: emitted when it arrives
    qtbot.waitUntil(lambda: len(seen) == 2)
    assert seen[1].name == "frame_000420.jpg"
    assert panel.select_relative(-1)
    qtbot.waitUntil(lambda: len(seen) == 3)
    assert seen[2].name == "frame_000419.jpg"
    panel.select_row(499)
    qtbot.waitUntil(lambda: len(seen) == 4)
    assert not panel.select_relative(+1)  # the end of the list


def test_thumbnails_arrive_asynchronously_and_are_cached(qtbot, ctx: AppContext, tmp_path: Path) -> None:
    ws = ctx.workspace
    project = ws.projects.create("pics")
    rng = np.random.default_rng(0)
    new = []
    for i in range(3):
        path = tmp_path / f"pic{i}.jpg"
        cv2.imwrite(str(path), rng.integers(0, 255, (600, 800, 3), dtype=np.uint8))
        sha = f"{i:064x}"
        new.append(NewAsset(sha256=sha, modality="image", storage="reference", path=str(path),
                            original_name=path.name, size_bytes=path.stat().st_size,
                            metadata={"width": 800, "height": 600}))
    ws.assets.add_many(project.id, new)
    panel = panel_for(qtbot, ctx, project.id)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3)
    qtbot.waitUntil(lambda: all(panel.model.thumbnail_ready(a.sha256) for a in new), timeout=5000)
    icon = panel.model.index(0, THUMB_COLUMN).data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QPixmap) and 0 < icon.width() <= 64 and 0 < icon.height() <= 48
    assert all((ws.root / "thumbs" / f"{a.sha256}.png").is_file() for a in new)


def test_a_missing_file_gets_no_thumbnail_and_no_error(qtbot, ctx: AppContext) -> None:
    project = ctx.workspace.projects.create("p")
    insert_tasks(ctx.workspace, project.id, 2)  # paths under /nowhere
    panel = panel_for(qtbot, ctx, project.id)
    qtbot.waitUntil(lambda: loaded(panel, 1))
    panel.model.index(0, THUMB_COLUMN).data(Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: not panel.model._thumbs_in_flight and "1" in panel.model._pixmaps)
    assert panel.model.index(0, THUMB_COLUMN).data(Qt.ItemDataRole.DecorationRole) is None

