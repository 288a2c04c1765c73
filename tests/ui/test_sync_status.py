"""The sync indicator in the main window's status bar: counts from the store, "Sync now"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from app.context import AppContext
from app.store.assets import NewAsset
from app.store.records import Task
from app.store.sync_queue import Lease
from app.store.workspace import Workspace
from app.sync.status import Phase
from app.ui.main_window import MainWindow


def _leased(ws: Workspace, n: int, epoch: int = 1) -> Task:
    """A task holding lease n of data request req1 (its media is not needed here)."""
    project = ws.sync.project_for_request("req1", "leased")
    asset = NewAsset(f"{n:064x}", "image", "managed", f"blobs/{n}.png", f"{n}.png", 10, {})
    return ws.sync.add_leased(project.id, asset, Lease(f"item{n}", f"lease{n}", epoch,
                                                       datetime.now(timezone.utc) + timedelta(hours=1)))


def _queue_one_submission(root: Path, n: int = 1) -> None:
    with Workspace.open(root) as ws:
        ws.sync.submit(_leased(ws, n).id, {"item_id": f"item{n}"}, f"sub-{n}")


def test_the_status_bar_shows_the_queue_and_why_nothing_is_sent(qtbot, tmp_path: Path) -> None:
    _queue_one_submission(tmp_path / "ws")
    ctx = AppContext.load(workspace=tmp_path / "ws")
    window = MainWindow(ctx, author="tester")
    qtbot.addWidget(window)
    try:
        widget = window.sync_status
        assert widget.parent() is not None and widget.isVisibleTo(window.status)
        qtbot.waitUntil(lambda: "1 queued" in widget.label.text(), timeout=5000)
        assert "offline" in widget.label.text()
        assert "no coordinator is set" in widget.label.toolTip()
        # "Sync now" recounts on a worker: a second submission shows up
        _queue_one_submission(tmp_path / "ws", 2)
        widget.button.click()
        qtbot.waitUntil(lambda: "2 queued" in widget.label.text(), timeout=5000)
        assert ctx.sync.board.status.phase is Phase.offline
    finally:
        window.close()
        ctx.close()


def test_submitting_a_leased_task_from_the_window_queues_its_labels(tmp_path: Path) -> None:
    from app.annotators.annotation import Annotation
    from app.annotators.shapes import Box
    from app.ui.operations import finish_task

    with Workspace.open(tmp_path / "ws") as ws:
        task = _leased(ws, 1, epoch=3)
        ws.annotations.save(Annotation.new(asset_id=task.asset_id, label="car", shape=Box(1, 2, 3, 4), author="me"),
                            task_id=task.id)
        done = finish_task(ws, task.id, "submitted", "me")
        assert (done.state, done.sync_state) == ("submitted", "queued")
        [row] = ws.sync.submissions()
        assert (row.payload["item_id"], row.payload["lease_id"], row.payload["epoch"]) == ("item1", "lease1", 3)
        assert row.payload["labels"]["annotations"][0]["shape"] == {"kind": "box", "x1": 1.0, "y1": 2.0,
                                                                    "x2": 3.0, "y2": 4.0}


def test_the_task_list_shows_work_the_coordinator_did_not_take(tmp_path: Path) -> None:
    from app.store.task_queries import TaskQueries
    from app.ui.panels.task_model import _state_text

    with Workspace.open(tmp_path / "ws") as ws:
        task = _leased(ws, 1)
        ws.sync.submit(task.id, {"item_id": "item1"}, "sub-1")
        project = ws.projects.get("leased")
        ws.sync.mark_task(task.id, "late", "the lease ended before the work arrived")
        [row] = TaskQueries(ws.db).page(project.id)
    assert (row.sync_state, row.sync_detail) == ("late", "the lease ended before the work arrived")
    assert _state_text(row) == "submitted · late"
