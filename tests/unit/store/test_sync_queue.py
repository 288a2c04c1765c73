"""The store's side of sync: migration 0004, the submission queue and its one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command

from app.annotators.annotation import Annotation
from app.annotators.shapes import Tag
from app.core.errors import ConflictError
from app.store.assets import NewAsset
from app.store.migrate import _config
from app.store.records import Task
from app.store.sync_queue import Answer, Lease
from app.store.workspace import Workspace

HOUR = timedelta(hours=1)


def _leased(ws: Workspace, n: int = 1) -> list[Task]:
    project = ws.sync.project_for_request("req-1", "street scenes")
    now = datetime.now(timezone.utc)
    return ws.sync.add_leased_many(project.id, [
        (NewAsset(f"{i:064x}", "image", "managed", f"blobs/{i}.png", f"{i}.png", 10, {}),
         Lease(f"item-{i}", f"lease-{i}", 1, now + HOUR)) for i in range(n)])


def test_submitting_moves_the_task_and_queues_its_submission_together(workspace: Workspace) -> None:
    [task] = _leased(workspace)
    submitted = workspace.sync.submit(task.id, {"item_id": "item-0"}, "sub-1", author="ana")
    assert (submitted.state, submitted.sync_state, submitted.assignee) == ("submitted", "queued", "ana")
    [row] = workspace.sync.submissions()
    assert (row.entity_id, row.entity_version, row.idempotency_key, row.outcome) == (str(task.id), 1, "sub-1", None)
    assert workspace.sync.stats().waiting == 1


def test_a_failed_submit_changes_nothing(workspace: Workspace) -> None:
    one, two = _leased(workspace, 2)
    workspace.sync.submit(one.id, {}, "sub-1")
    with pytest.raises(Exception):
        workspace.sync.submit_many([(two.id, {}, "sub-2"), (two.id, {}, "sub-1")])  # the key is taken
    assert workspace.tasks.get(two.id).state == "pending"
    assert len(workspace.sync.submissions()) == 1


def test_a_local_task_is_not_queued_and_its_edit_journal_is_not_counted(workspace: Workspace) -> None:
    project = workspace.projects.create("local only")
    [asset] = workspace.assets.add_many(project.id, [NewAsset("ab" * 32, "image", "managed", "a", "a.png", 1, {})])
    [task] = workspace.tasks.list(project.id)
    workspace.annotations.save(Annotation.new(asset_id=asset.id, label="car", shape=Tag(), author="x"))
    with pytest.raises(ConflictError, match="no coordinator lease"):
        workspace.sync.submit(task.id, {}, "sub-1")
    assert workspace.sync.stats().waiting == 0  # the annotation's outbox row is the journal, not the queue
    assert workspace.outbox.count_pending() == 1


def test_answers_mark_rows_and_tasks_and_attention_counts_them(workspace: Workspace) -> None:
    tasks = _leased(workspace, 3)
    workspace.sync.submit_many([(t.id, {}, f"sub-{t.id}") for t in tasks])
    rows = workspace.sync.submissions()
    workspace.sync.record([Answer(rows[0].id, "sent", {"ok": True}, None, "0xsig"),
                           Answer(rows[1].id, "late", {"error": "lease_expired"}, "the lease ended")])
    assert [workspace.tasks.get(t.id).sync_state for t in tasks] == ["sent", "late", "queued"]
    assert workspace.tasks.get(tasks[1].id).sync_detail == "the lease ended"
    sent = workspace.sync.submissions(outcome="sent")[0]
    assert (sent.response, sent.signature, sent.sent_at is not None) == ({"ok": True}, "0xsig", True)
    stats = workspace.sync.stats()
    assert (stats.waiting, stats.attention) == (1, 1)


def test_a_new_lease_of_a_known_item_keeps_its_task_and_work(workspace: Workspace) -> None:
    [task] = _leased(workspace)
    workspace.sync.mark_task(task.id, "late", "expired")
    project = workspace.projects.get("street scenes")
    again = workspace.sync.add_leased(project.id, NewAsset(f"{0:064x}", "image", "managed", "b", "b", 10, {}),
                                      Lease("item-0", "lease-9", 2, datetime.now(timezone.utc) + HOUR))
    assert (again.id, again.lease_id, again.lease_epoch, again.sync_state) == (task.id, "lease-9", 2, None)


def test_a_project_per_data_request_even_when_the_name_is_taken(workspace: Workspace) -> None:
    workspace.projects.create("street scenes")
    mirrored = workspace.sync.project_for_request("req-7", "street scenes")
    assert mirrored.name == "street scenes (req-7)" and mirrored.remote_request_id == "req-7"
    assert workspace.sync.project_for_request("req-7", "other").id == mirrored.id


def test_migration_0004_upgrades_a_0003_workspace_and_goes_back(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        cfg = _config()
        with ws.db.write_connection() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        with ws.db.write_connection() as conn:  # a 0003 row, written as 0003 knew the table
            conn.exec_driver_sql("INSERT INTO projects (name, created_at, options) "
                                 "VALUES ('kept', '2026-01-01 00:00:00', '{}')")
        with ws.db.write_connection() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        assert [p.name for p in ws.projects.list()] == ["kept"]
        with ws.db.engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE project_id = 1 ORDER BY priority DESC, id LIMIT 5"))
        assert "TEMP B-TREE" not in plan
        assert ws.db.integrity_check() == ["ok"]
