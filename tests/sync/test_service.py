"""The window's sync service: a wallet attaches, the loop runs, open tasks' leases are renewed."""

from __future__ import annotations

import time

from app.core.settings_schema import SyncSettings
from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient
from app.sync.service import SyncService
from app.sync.signer import KeySigner
from app.sync.status import Phase
from tests.sync.conftest import Coordinator, label_and_submit, lease_locally


def _settings(url: str) -> SyncSettings:
    return SyncSettings(coordinator_url=url, offline_tasks=0, lease_hours=0.1, backoff_base_s=0.01, backoff_cap_s=0.05,
                        poll_s=3600)


def test_attached_it_sends_in_the_background_and_renews_open_leases(coordinator: Coordinator,
                                                                   workspace: Workspace, signer: KeySigner,
                                                                   client: CoordinatorClient) -> None:
    coordinator.seed(2)
    open_task, done_task = lease_locally(workspace, client, 2, duration_s=600)
    label_and_submit(workspace, done_task)
    service = SyncService(workspace, _settings(coordinator.url))
    assert service.beat(open_task.id) is None  # no wallet yet: nothing to renew with
    try:
        service.attach(signer)
        deadline = time.monotonic() + 20
        while service.board.status.phase is not Phase.online or service.board.status.queued:
            assert time.monotonic() < deadline, service.board.status
            time.sleep(0.02)
        coordinator.clock.advance(seconds=300)
        assert service.beat(open_task.id).alive
        assert workspace.tasks.get(open_task.id).lease_expires_at > open_task.lease_expires_at
        assert service.beat(done_task.id) is None  # submitted: its lease is not renewed
        coordinator.clock.advance(seconds=400)  # past the renewed lease (6 min), within the session
        beat = service.beat(open_task.id)
        assert beat is not None and beat.mark == "late"
        assert service.board.status.attention == 1 and "kept" in (service.board.status.last_error or "")
    finally:
        service.close()
