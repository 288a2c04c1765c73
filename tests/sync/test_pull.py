"""Pull: lease the offline amount, download and check each asset, register leased tasks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient, parse_reply
from app.sync.download import download
from app.sync.engine import SyncConfig, Syncer
from app.sync.pull import LeaseListOut, Puller
from app.sync.signer import KeySigner
from app.sync.status import Phase
from app.sync.wire import LeaseOut
from tests.reliability.fault_proxy import Fault, FaultKind, FaultProxy
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
    # kept, not given back: the bytes were damaged on the way (the server announced the right
    # SHA-256), so fetching again can succeed; its part was discarded, so it starts over
    coordinator.seed_pictures(3, damaged=1)
    report = _puller(workspace, client, 3).pull()
    assert report.registered == 2 and len(report.failed) == 1
    assert "arrived damaged and is fetched again at the next sync" in report.failed[0]
    assert len(workspace.sync.leased_tasks()) == 2
    assert len(parse_reply(client.call("GET", "/v1/leases"), LeaseListOut).root) == 3  # held on the server
    files = [p for p in Path(workspace.blobs_dir).rglob("*") if p.is_file()]
    assert len(files) == 2  # no partial or damaged file anywhere
    again = _puller(workspace, client, 3).pull()  # the lease is kept: the next pull tries again
    assert (again.leased, again.registered, len(again.failed)) == (0, 0, 1)


def test_an_item_damaged_at_every_arrival_is_given_back_after_a_few_tries(
        coordinator: Coordinator, workspace: Workspace, client: CoordinatorClient) -> None:
    """The server's copy is bad: the item must not sit with us, fetched in vain, until the lease ends."""
    from app.sync.pull import DAMAGED_TRIES

    coordinator.seed_pictures(2, damaged=1)
    puller = _puller(workspace, client, 2)  # one syncer's puller, cycle after cycle
    reports = [puller.pull() for _ in range(DAMAGED_TRIES)]
    assert reports[0].registered == 1
    assert all("fetched again at the next sync" in r.failed[0] for r in reports[:-1])
    assert f"arrived damaged {DAMAGED_TRIES} times" in reports[-1].failed[0]
    assert "its lease was given back" in reports[-1].failed[0]
    held = parse_reply(client.call("GET", "/v1/leases"), LeaseListOut).root
    assert len(held) == 1 and len(workspace.sync.leased_tasks()) == 1  # only the good one
    after = puller.pull()  # the coordinator does not lease a given-back item to the same account again
    assert (after.leased, after.failed) == (0, [])


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


def test_the_default_download_is_the_resumable_one(workspace: Workspace, client: CoordinatorClient) -> None:
    assert _puller(workspace, client, 1).download is download


def _through(proxy: FaultProxy, coordinator: Coordinator) -> Callable[..., Path]:
    """The real download, its connection made through the fault proxy in front of the coordinator."""
    def fetch(session: requests.Session, url: str, dest: Path, **options: Any) -> Path:
        return download(session, url.replace(coordinator.url, proxy.url), dest, **options)
    return fetch


def test_a_download_cut_mid_file_keeps_its_lease_and_the_next_cycle_resumes_it(
        coordinator: Coordinator, workspace: Workspace, signer: KeySigner, client: CoordinatorClient) -> None:
    coordinator.seed_pictures(1, size=(640, 480))
    with FaultProxy(urlsplit(coordinator.url).port, seed=1) as proxy:
        config = SyncConfig(url=coordinator.url, offline_tasks=1, backoff_base_s=0.01, backoff_cap_s=0.05)
        syncer = Syncer(workspace, signer, config, download=_through(proxy, coordinator))
        proxy.script(Fault(FaultKind.CUT_RESPONSE, offset=20_000, in_body=True))
        cut = syncer.run_once()
        assert cut.phase is Phase.offline and "resumes at the next sync" in (cut.last_error or ""), cut
        assert workspace.sync.leased_tasks() == []  # not registered: no task points at a partial file
        [held] = parse_reply(client.call("GET", "/v1/leases"), LeaseListOut).root  # the lease is kept
        [part] = Path(workspace.blobs_dir).rglob("*.part")
        kept = part.stat().st_size
        assert 0 < kept <= 20_000
        before = proxy.counters().bytes_down
        done = syncer.run_once()
        refetched = proxy.counters().bytes_down - before
    assert done.phase is Phase.online and done.last_error is None, done
    [task] = workspace.sync.leased_tasks()
    assert task.lease_id == held.lease_id  # the same lease, adopted
    asset = workspace.assets.get(task.asset_id)
    data = asset.media_path(workspace.root).read_bytes()
    assert hashlib.sha256(data).hexdigest() == asset.sha256 and (asset.width, asset.height) == (640, 480)
    assert len(data) - kept <= refetched < len(data) - kept + 1024  # the rest and its headers, not it all
    assert list(Path(workspace.blobs_dir).rglob("*.part*")) == []


def test_a_download_refused_because_the_session_ended_signs_in_again(
        coordinator: Coordinator, workspace: Workspace, client: CoordinatorClient) -> None:
    coordinator.seed_pictures(1)
    [task] = parse_reply(client.call("POST", "/v1/leases", json={"count": 1}), LeaseOut).tasks
    # the server ends the session; the client still holds its token as live
    assert client.http.post(coordinator.url + "/v1/auth/sign-out", timeout=10).status_code == 204
    registered = _puller(workspace, client, 1).register(task)
    asset = workspace.assets.get(registered.asset_id)
    assert hashlib.sha256(asset.media_path(workspace.root).read_bytes()).hexdigest() == asset.sha256
