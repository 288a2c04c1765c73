"""Heartbeats: a live lease is renewed; an ended one marks the task, and its work stays."""

from __future__ import annotations

from app.annotators.annotation import Annotation
from app.annotators.shapes import Tag
from app.store.assets import NewAsset
from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient
from app.sync.leases import LeaseKeeper
from tests.sync.conftest import Coordinator, lease_locally


def test_a_heartbeat_renews_the_lease_by_the_servers_clock(coordinator: Coordinator, workspace: Workspace,
                                                           client: CoordinatorClient) -> None:
    coordinator.seed(1)
    [task] = lease_locally(workspace, client, 1, duration_s=600)
    coordinator.clock.advance(seconds=300)
    beat = LeaseKeeper(workspace, client, lease_s=3600).beat(task.id)
    assert beat.alive
    renewed = workspace.tasks.get(task.id).lease_expires_at
    assert (renewed - task.lease_expires_at).total_seconds() == 300 + 3600 - 600


def test_an_expired_lease_marks_the_task_late_and_keeps_the_work(coordinator: Coordinator, workspace: Workspace,
                                                                 client: CoordinatorClient) -> None:
    coordinator.seed(1)
    [task] = lease_locally(workspace, client, 1, duration_s=60)
    workspace.annotations.save(Annotation.new(asset_id=task.asset_id, label="car", shape=Tag(), author="me"),
                               task_id=task.id)
    coordinator.clock.advance(seconds=61)
    beat = LeaseKeeper(workspace, client, lease_s=3600).beat(task.id)
    assert (beat.alive, beat.mark) == (False, "late")
    after = workspace.tasks.get(task.id)
    assert after.sync_state == "late" and "expired" in (after.sync_detail or "")
    assert len(workspace.annotations.for_asset(task.asset_id)) == 1
    assert workspace.sync.stats().attention == 1


def test_a_newer_epoch_marks_the_task_conflicted(coordinator: Coordinator, workspace: Workspace,
                                                 client: CoordinatorClient) -> None:
    coordinator.seed(1)
    [task] = lease_locally(workspace, client, 1)
    workspace.tasks.set_lease(task.id, lease_id=task.lease_id, epoch=task.lease_epoch - 1,
                              expires_at=task.lease_expires_at)
    beat = LeaseKeeper(workspace, client, lease_s=3600).beat(task.id)
    assert (beat.alive, beat.mark) == (False, "conflicted")
    assert workspace.tasks.get(task.id).sync_state == "conflicted"


def test_a_local_task_has_no_lease_to_renew(workspace: Workspace, client: CoordinatorClient) -> None:
    project = workspace.projects.create("local")
    workspace.assets.add_many(project.id, [NewAsset("ab" * 32, "image", "managed", "x.png", "x.png", 1, {})])
    [task] = workspace.tasks.list(project.id)
    assert not LeaseKeeper(workspace, client, lease_s=3600).beat(task.id).alive
