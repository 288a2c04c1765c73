"""Pull: lease the offline amount, download and check each asset, register leased tasks."""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient, parse_reply
from app.sync.pull import Puller
from app.sync.wire import LeaseOut
from tests.sync.conftest import Coordinator


def _puller(ws: Workspace, client: CoordinatorClient, n: int) -> Puller:
    return Puller(ws, client, offline_tasks=n, lease_s=3600)


def test_pull_leases_the_offline_amount_and_registers_each_task(coordinator: Coordinator, workspace: Workspace,
                                                                client: CoordinatorClient) -> None:
    coordinator.seed_pictures(6)
    report = _puller(workspace, client, 4).pull()
    assert (report.leased, report.registered, report.failed) == (4, 4, [])
    tasks = workspace.sync.leased_tasks()
    assert len(tasks) == 4 and all(t.remote_id and t.lease_id and t.lease_epoch == 1 for t in tasks)
    [project] = workspace.projects.list()
    assert project.remote_request_id is not None
    assert workspace.schemas.current_schema(project.id).class_names == ["car", "person"]
    for task in tasks:
        asset = workspace.assets.get(task.asset_id)
        data = asset.media_path(workspace.root).read_bytes()
        assert hashlib.sha256(data).hexdigest() == asset.sha256 and (asset.width, asset.height) == (64, 48)
    assert _puller(workspace, client, 4).pull().leased == 0  # the amount is in hand already


def test_leases_held_but_not_registered_are_adopted(coordinator: Coordinator, workspace: Workspace,
                                                    client: CoordinatorClient) -> None:
    coordinator.seed_pictures(3)
    # as if the last process died between lease and register
    held = parse_reply(client.call("POST", "/v1/leases", json={"count": 2}), LeaseOut).tasks
    report = _puller(workspace, client, 2).pull()
    assert (report.leased, report.registered) == (0, 2)
    assert {t.lease_id for t in workspace.sync.leased_tasks()} == {t.lease_id for t in held}


def test_a_damaged_download_leaves_no_file_and_keeps_its_lease(coordinator: Coordinator, workspace: Workspace,
                                                       client: CoordinatorClient) -> None:
    coordinator.seed_pictures(3, damaged=1)
    report = _puller(workspace, client, 3).pull()
    assert report.registered == 2 and len(report.failed) == 1 and "damaged" in report.failed[0]
    assert len(workspace.sync.leased_tasks()) == 2
    files = [p for p in Path(workspace.blobs_dir).rglob("*") if p.is_file()]
    assert len(files) == 2  # no partial or damaged file anywhere
    again = _puller(workspace, client, 3).pull()  # the lease is kept: the next pull tries again
    assert (again.leased, again.registered, len(again.failed)) == (0, 0, 1)


def test_a_task_submitted_from_pulled_work_reaches_the_coordinator(coordinator: Coordinator,
                                                                  workspace: Workspace,
                                                                  client: CoordinatorClient) -> None:
    from app.sync.backoff import Backoff
    from app.sync.push import Pusher
    from tests.sync.conftest import label_and_submit

    coordinator.seed_pictures(1)
    _puller(workspace, client, 1).pull()
    [task] = workspace.sync.leased_tasks()
    label_and_submit(workspace, task)
    assert Pusher(workspace.sync, client, batch_size=10, backoff=Backoff(0.01, 0.1)).drain().sent == 1
