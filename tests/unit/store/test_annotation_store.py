"""Annotation saves: versioned rows, outbox row in the same transaction, all-or-nothing."""

from __future__ import annotations

import hashlib

import pytest

from app.annotators.annotation import Annotation
from app.annotators.shapes import Box
from app.core.errors import ConflictError, NotFoundError
from app.store.assets import NewAsset
from app.store.records import Asset
from app.store.workspace import Workspace


def _asset(ws: Workspace) -> Asset:
    p = ws.projects.get_or_create("p")
    sha = hashlib.sha256(b"a").hexdigest()
    ws.assets.add_many(p.id, [NewAsset(sha256=sha, modality="image", storage="reference", path="/a.png",
                                       original_name="a.png", size_bytes=1, metadata={})])
    return ws.assets.by_sha256(p.id, [sha])[sha]


def _box(asset: Asset, x: float = 1.0) -> Annotation:
    return Annotation.new(asset_id=asset.id, label="car", shape=Box(x, 2, x + 10, 20), author="ana",
                          attributes={"occluded": False}, confidence=None)


def test_save_appends_versions_and_outbox_rows(workspace: Workspace) -> None:
    asset = _asset(workspace)
    a1 = workspace.annotations.save(_box(asset))
    a2 = workspace.annotations.save(a1.replace(shape=Box(5, 5, 9, 9)))
    assert (a1.version, a2.version) == (1, 2)
    assert a2.updated_at >= a1.updated_at and a2.created_at == a1.created_at
    assert workspace.annotations.for_asset(asset.id) == [a2]
    assert workspace.annotations.get(a1.id) == a2
    assert [v for v, _, _ in workspace.annotations.versions(a1.id)] == [1, 2]
    outbox = workspace.outbox.all()
    assert [(o.entity_id, o.entity_version, o.op) for o in outbox] == [(a1.id, 1, "upsert"), (a1.id, 2, "upsert")]
    assert outbox[1].payload == a2.to_dict()
    assert len({o.idempotency_key for o in outbox}) == 2


def test_delete_is_a_tombstone_version_that_syncs(workspace: Workspace) -> None:
    asset = _asset(workspace)
    a = workspace.annotations.save(_box(asset))
    workspace.annotations.delete(a.id)
    assert workspace.annotations.for_asset(asset.id) == []
    with pytest.raises(NotFoundError):
        workspace.annotations.get(a.id)
    with pytest.raises(NotFoundError):
        workspace.annotations.delete(a.id)
    assert [o.op for o in workspace.outbox.all()] == ["upsert", "delete"]


def test_stale_edit_is_refused_when_the_caller_asks(workspace: Workspace) -> None:
    asset = _asset(workspace)
    a = workspace.annotations.save(_box(asset))
    workspace.annotations.save(a.replace(label="bus"))
    with pytest.raises(ConflictError, match="changed meanwhile"):
        workspace.annotations.save(a.replace(label="van"), expected_version=a.version)


def test_a_failed_batch_writes_nothing(workspace: Workspace) -> None:
    asset = _asset(workspace)
    good = _box(asset)
    orphan = _box(asset).replace(asset_id=asset.id + 999)  # violates the asset foreign key
    with pytest.raises(Exception):
        workspace.annotations.save_many([good, orphan])
    assert workspace.annotations.for_asset(asset.id) == []
    assert workspace.outbox.all() == []
    with pytest.raises(NotFoundError, match="no asset"):
        workspace.annotations.save(orphan)


def test_outbox_drains_in_order_and_records_failures(workspace: Workspace) -> None:
    from datetime import timedelta

    from app.store._rows import utcnow

    asset = _asset(workspace)
    saved = [workspace.annotations.save(_box(asset, x=i)) for i in range(3)]
    pending = workspace.outbox.pending()
    assert [p.entity_id for p in pending] == [s.id for s in saved]
    workspace.outbox.record_failure(pending[0].id, "server said 503", retry_at=utcnow() + timedelta(hours=1))
    assert [p.entity_id for p in workspace.outbox.pending()] == [s.id for s in saved[1:]]
    workspace.outbox.mark_sent([pending[1].id])
    assert workspace.outbox.count_pending() == 2
