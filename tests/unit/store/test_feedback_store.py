"""Proposal outcomes: migration 0002 on an existing workspace, recording, and statistics."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from alembic import command

from app.annotators.annotation import Annotation
from app.annotators.shapes import Box
from app.core.errors import ValidationError
from app.store.assets import NewAsset
from app.store.db import Database
from app.store.migrate import _config, current_revision, head_revision
from app.store.records import Asset
from app.store.workspace import DB_NAME, Workspace


def _asset(ws: Workspace, name: str = "a") -> Asset:
    p = ws.projects.get_or_create("p")
    sha = hashlib.sha256(name.encode()).hexdigest()
    ws.assets.add_many(p.id, [NewAsset(sha256=sha, modality="image", storage="reference", path=f"/{name}.png",
                                       original_name=f"{name}.png", size_bytes=1, metadata={})])
    return ws.assets.by_sha256(p.id, [sha])[sha]


def test_migration_0002_upgrades_a_0001_workspace_after_a_backup(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    db = Database(root / DB_NAME)
    cfg = _config()
    with db.write_connection() as conn:  # a workspace as the previous release left it
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql("INSERT INTO projects (name, created_at, options) "
                             "VALUES ('birds', '2026-11-24 10:00:00', '{}')")
    db.close()
    with Workspace.open(root) as ws:
        assert current_revision(ws.db) == head_revision()
        assert ws.last_backup is not None and ws.last_backup.exists()
        assert [p.name for p in ws.projects.list()] == ["birds"]
        assert ws.feedback.stats(ws.projects.get("birds").id) == []
    backup = sqlite3.connect(ws.last_backup)
    assert backup.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    assert backup.execute("SELECT name FROM projects").fetchall() == [("birds",)]
    backup.close()


def test_stats_aggregate_per_label_and_model(workspace: Workspace) -> None:
    asset = _asset(workspace)
    pid = asset.project_id
    outcomes = [("cat", "grabcut", "accepted", 1.0), ("cat", "grabcut", "accepted", 1.0),
                ("cat", "grabcut", "edited", 0.7), ("cat", "grabcut", "deleted", None),
                ("cat", "sam", "accepted", 1.0), ("dog", "grabcut", "deleted", None)]
    for i, (label, model, outcome, iou) in enumerate(outcomes):
        workspace.feedback.record(annotation_id=f"a{i}", asset_id=asset.id, project_id=pid, label=label,
                                  model=model, outcome=outcome, iou=iou, vertices_changed=None, seconds=2.0)
    rows = {(r.label, r.model): r for r in workspace.feedback.stats(pid)}
    cat = rows["cat", "grabcut"]
    assert (cat.proposals, cat.accepted, cat.edited, cat.deleted) == (4, 2, 1, 1)
    assert cat.accept_rate == 0.5 and cat.mean_iou == pytest.approx(2.7 / 3)
    assert rows["cat", "sam"].accept_rate == 1.0
    assert rows["dog", "grabcut"].mean_iou is None
    # a proposal judged again (its task reopened) keeps only the latest verdict
    workspace.feedback.record(annotation_id="a3", asset_id=asset.id, project_id=pid, label="cat",
                              model="grabcut", outcome="accepted", iou=1.0)
    cat = {(r.label, r.model): r for r in workspace.feedback.stats(pid)}["cat", "grabcut"]
    assert (cat.proposals, cat.accepted, cat.deleted) == (4, 3, 0)
    with pytest.raises(ValidationError):
        workspace.feedback.record(annotation_id="x", asset_id=asset.id, project_id=pid, label="cat",
                                  model="grabcut", outcome="ignored")


def test_decided_lists_proposals_of_submitted_tasks_with_their_heads(workspace: Workspace) -> None:
    asset, other = _asset(workspace, "a"), _asset(workspace, "b")
    pid = asset.project_id

    def propose(a: Asset, x: float) -> Annotation:
        return Annotation.new(asset_id=a.id, label="car", shape=Box(x, 0, x + 5, 5), author="grabcut",
                              source="model", confidence=0.8)

    kept, moved, gone = (workspace.annotations.save(propose(asset, x)) for x in (0, 10, 20))
    workspace.annotations.save(propose(other, 0))  # its task is still pending: not decided yet
    workspace.annotations.save(moved.replace(shape=Box(11, 0, 16, 5), author="ana"))
    workspace.annotations.delete(gone.id)
    task = next(t for t in workspace.tasks.list(pid) if t.asset_id == asset.id)
    workspace.tasks.transition(task.id, "in_progress")
    workspace.tasks.transition(task.id, "submitted")
    decided = {d.proposal.id: d for d in workspace.feedback.decided(pid)}
    assert set(decided) == {kept.id, moved.id, gone.id}
    assert decided[kept.id].head == kept and not decided[kept.id].deleted
    assert decided[moved.id].head.shape == Box(11, 0, 16, 5) and decided[moved.id].proposal.version == 1
    assert decided[gone.id].deleted
