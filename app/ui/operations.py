"""What the window's commands do to the workspace, as plain functions for worker threads.

No Qt here: each function reads or writes the store (or the disk) and returns a value; the
window submits it to the right executor and gets the result back through the `Bridge`.
Task state changes go to the database executor, reads and imports to the I/O pool.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.context import AppContext
from app.core.settings import LoadedSettings
from app.core.tasks import TaskRunner
from app.editing.outcomes import record_outcomes
from app.editing.session import AssetSession
from app.intake import ImportOptions, ImportReport, import_paths
from app.store.records import Project, Task
from app.store.workspace import Workspace
from app.sync.submission import submit_leased_task

Progress = Callable[[str, int, int], None]


def import_options(loaded: LoadedSettings, project: Project) -> ImportOptions:
    """Policy lock > project option > settings (as `alaya import` without flags)."""

    def effective(key: str) -> Any:
        if loaded.is_locked(key):
            return loaded.get(key)
        return project.options.get(key.split(".", 1)[1], loaded.get(key))

    s = loaded.settings.intake
    return ImportOptions(copy_mode=effective("intake.copy_mode"),
                         strip_private_metadata=effective("intake.strip_private_metadata"),
                         near_duplicate_threshold=s.near_duplicate_threshold, workers=s.workers,
                         max_image_pixels=s.max_image_pixels)


def import_folder(ctx: AppContext, folder: Path, project_name: str | None = None,
                  progress: Progress | None = None) -> tuple[Project, ImportReport]:
    """Import a folder into `project_name` (default: a project named after the folder)."""
    ws = ctx.workspace
    project = ws.projects.get_or_create(project_name or Path(folder).name or "Imported")
    report = import_paths(ws, project, [Path(folder)], import_options(ctx.settings, project), progress=progress)
    return project, report




def load_session(ws: Workspace, runner: TaskRunner, asset_id: int, task_id: int | None, *, author: str,
                 undo_budget_bytes: int, post: Callable[[Callable[[], None]], None]) -> AssetSession:
    """Read an asset, its annotations and its project's schema (I/O pool)."""
    asset = ws.assets.get(asset_id)
    return AssetSession.load(ws, runner, asset_id, author=author, schema=ws.schemas.current_schema(asset.project_id),
                             task_id=task_id, undo_budget_bytes=undo_budget_bytes, post=post)


def start_task(ws: Workspace, task_id: int, author: str) -> Task | None:
    """Opening a pending (or rejected) task puts it in progress; None when nothing changed."""
    task = ws.tasks.get(task_id)
    if task.state in ("pending", "rejected"):
        return ws.tasks.transition(task_id, "in_progress", assignee=author)
    return None


def finish_task(ws: Workspace, task_id: int, target: str, author: str) -> Task:
    """Submit or skip a task from wherever the user left it (database executor)."""
    task = ws.tasks.get(task_id)
    if task.state == target:
        return task
    if target == "submitted" and task.lease_id is not None:  # leased: the submission is queued with it
        task = submit_leased_task(ws, task_id, author=author)
        record_outcomes(ws, task.project_id, task.asset_id)
        return task
    if target == "submitted" and task.state in ("pending", "rejected", "skipped"):
        if task.state == "skipped":
            ws.tasks.transition(task_id, "pending")
        task = ws.tasks.transition(task_id, "in_progress", assignee=author)
    task = ws.tasks.transition(task_id, target, assignee=author)
    if target == "submitted":  # the human is done: what they did with each proposal is final
        record_outcomes(ws, task.project_id, task.asset_id)
    return task
