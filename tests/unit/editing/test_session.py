"""AssetSession saves every change through the store at once, off the caller's thread."""

from __future__ import annotations

import hashlib

import pytest

from app.annotators.annotation import Annotation
from app.annotators.commands import AddAnnotation, MoveAnnotations, RemoveAnnotations
from app.annotators.shapes import Box
from app.core.errors import StorageError
from app.core.tasks import TaskRunner
from app.editing.session import AssetSession
from app.store.assets import NewAsset
from app.store.workspace import Workspace


def _session(ws: Workspace, runner: TaskRunner) -> AssetSession:
    p = ws.projects.get_or_create("p")
    sha = hashlib.sha256(b"s").hexdigest()
    ws.assets.add_many(p.id, [NewAsset(sha256=sha, modality="image", storage="reference", path="/a.png",
                                       original_name="a.png", size_bytes=1, metadata={"width": 640, "height": 480})])
    asset = ws.assets.by_sha256(p.id, [sha])[sha]
    return AssetSession.load(ws, runner, asset.id, author="ana")


def _box(s: AssetSession, x: float = 10) -> Annotation:
    return Annotation.new(asset_id=s.asset_id, label=s.label, shape=Box(x, 10, x + 50, 60), author=s.author)


def stored(ws: Workspace, s: AssetSession) -> list[Annotation]:
    return sorted(ws.annotations.for_asset(s.asset_id), key=lambda a: a.id)


def current(s: AssetSession) -> list[Annotation]:
    return sorted(s.document.annotations(), key=lambda a: a.id)


def _same(a: list[Annotation], b: list[Annotation]) -> bool:
    strip = lambda xs: [x.replace(version=1, updated_at=x.created_at) for x in xs]  # noqa: E731
    return strip(a) == strip(b)


def test_every_edit_undo_and_redo_is_stored(workspace: Workspace) -> None:
    s = _session(workspace, TaskRunner(synchronous=True))
    assert s.image_size == (640, 480) and s.label == "object"
    box = _box(s)
    s.push(AddAnnotation(box))
    assert _same(stored(workspace, s), current(s)) and s.save_state == "saved"
    s.push(MoveAnnotations([box.id], 5, 5, gesture="g1"))
    assert stored(workspace, s)[0].shape == Box(15, 15, 65, 65)
    s.undo()
    assert stored(workspace, s)[0].shape == Box(10, 10, 60, 60)
    s.undo()
    assert stored(workspace, s) == []
    s.redo()
    s.redo()
    assert _same(stored(workspace, s), current(s))
    assert [o.op for o in workspace.outbox.all()] == ["upsert", "upsert", "upsert", "delete", "upsert", "upsert"]
    assert s.saved_changes == 6


def test_selection_follows_removals(workspace: Workspace) -> None:
    s = _session(workspace, TaskRunner(synchronous=True))
    seen: list[frozenset[str]] = []
    s.events.subscribe("selection_changed", seen.append)
    a, b = _box(s, 10), _box(s, 100)
    s.push(AddAnnotation(a, b))
    s.set_selection([a.id, b.id, "no-such-id"])
    assert s.selection == {a.id, b.id}
    s.push(RemoveAnnotations([a.id]))
    assert s.selection == {b.id} and seen[-1] == {b.id}


def test_a_failed_write_keeps_the_edit_and_retries(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    s = _session(workspace, TaskRunner(synchronous=True))
    real_apply = workspace.annotations.apply

    def disk_full(*_a: object, **_k: object) -> None:  # fault injection at the disk boundary
        raise StorageError("cannot write: database or disk is full")

    monkeypatch.setattr(workspace.annotations, "apply", disk_full)
    box = _box(s)
    s.push(AddAnnotation(box))
    assert s.save_state.startswith("error:") and "disk is full" in s.save_state
    assert box.id in s.document  # the user's work stays on screen
    monkeypatch.setattr(workspace.annotations, "apply", real_apply)
    s.retry_save()
    assert s.save_state == "saved" and _same(stored(workspace, s), current(s))


def test_threaded_saves_keep_order_and_all_land(workspace: Workspace) -> None:
    runner = TaskRunner()
    try:
        s = _session(workspace, runner)
        boxes = [_box(s, x) for x in range(0, 200, 10)]
        for b in boxes:
            s.push(AddAnnotation(b))
        for i, b in enumerate(boxes):
            s.push(MoveAnnotations([b.id], 1, 0, gesture=f"g{i}"))
        for b in boxes[::2]:
            s.push(RemoveAnnotations([b.id]))
        assert s.flush(timeout=30)
        assert _same(stored(workspace, s), current(s)) and len(current(s)) == 10
    finally:
        runner.shutdown()
