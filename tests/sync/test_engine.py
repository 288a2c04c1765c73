"""The syncer's cycle and status, and `alaya sync --once` in a child process."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from collections.abc import Callable
from pathlib import Path

from eth_account import Account

from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient
from app.sync.engine import SyncConfig, Syncer
from app.sync.signer import KeySigner
from app.sync.status import Phase
from tests.sync.conftest import CONTRIBUTOR, Coordinator, queue_work

ROOT = Path(__file__).resolve().parents[2]


def _syncer(ws: Workspace, signer: KeySigner, url: str, **config: object) -> Syncer:
    settings = SyncConfig(url=url, offline_tasks=0, backoff_base_s=0.01, backoff_cap_s=0.05, **config)
    return Syncer(ws, signer, settings, rng=random.Random(3))


def test_a_cycle_sends_the_queue_and_reports_online(coordinator: Coordinator, workspace: Workspace,
                                                    client: CoordinatorClient, signer: KeySigner) -> None:
    queue_work(coordinator, workspace, client, 3)
    syncer = _syncer(workspace, signer, coordinator.url)
    seen: list[Phase] = []
    syncer.board.changed.subscribe(lambda status: seen.append(status.phase))
    status = syncer.run_once()
    assert (status.phase, status.queued, status.last_error) == (Phase.online, 0, None)
    assert status.last_success is not None and seen == [Phase.syncing, Phase.online]
    assert syncer.wait_after(status) == syncer.config.poll_s


def test_with_no_network_the_status_says_offline_and_backs_off(workspace: Workspace, signer: KeySigner) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d" % sock.getsockname()[1]
    syncer = _syncer(workspace, signer, url, timeout_s=2)
    status = syncer.run_once()
    assert status.phase is Phase.offline and "cannot reach the coordinator" in (status.last_error or "")
    assert 0 <= syncer.wait_after(status) <= 0.01  # first failure: up to `base`
    syncer.run_once()
    assert syncer.failures == 2 and syncer.wait_after(syncer.board.status) <= 0.02
    assert "offline" in status.summary()
    syncer.start()  # the loop announces when it tries again: never more than the cap away
    try:
        _wait_for(lambda: syncer.board.status.next_retry is not None)
        left = (syncer.board.status.next_retry - datetime.now(timezone.utc)).total_seconds()
        assert left <= syncer.config.backoff_cap_s
    finally:
        syncer.stop()


def test_the_background_loop_stops_and_sync_now_wakes_it(coordinator: Coordinator, workspace: Workspace,
                                                         signer: KeySigner) -> None:
    syncer = _syncer(workspace, signer, coordinator.url, poll_s=3600)
    cycles: list[Phase] = []
    syncer.board.changed.subscribe(lambda status: cycles.append(status.phase))
    syncer.start()
    try:
        _wait_for(lambda: cycles.count(Phase.online) >= 1)
        syncer.sync_now()  # without it the loop would sleep an hour
        _wait_for(lambda: cycles.count(Phase.online) >= 2)
    finally:
        syncer.stop()
    assert syncer._thread is None


def _wait_for(condition: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _keystore(tmp_path: Path, passphrase: str) -> Path:
    # pbkdf2 with few rounds: a test keystore must not cost seconds of scrypt
    document = Account.encrypt(CONTRIBUTOR.key, passphrase, kdf="pbkdf2", iterations=1000)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(document))
    return path


def _alaya_sync(tmp_path: Path, url: str, passphrase: str, *extra: str) -> subprocess.CompletedProcess[str]:
    read, write = os.pipe()
    os.write(write, (passphrase + "\n").encode())
    os.close(write)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALAYA_")}
    env.update(ALAYA_SYNC__BACKOFF_BASE_S="0.01", ALAYA_SYNC__BACKOFF_CAP_S="0.05", ALAYA_SYNC__OFFLINE_TASKS="0")
    try:
        return subprocess.run(
            [sys.executable, "-m", "app", "--workspace", str(tmp_path / "ws"), "sync", "--once", "--url", url,
             "--keystore", str(_keystore(tmp_path, "right horse")), "--passphrase-fd", str(read), *extra],
            cwd=ROOT, env=env, pass_fds=(read,), capture_output=True, text=True, timeout=120)
    finally:
        os.close(read)


def test_alaya_sync_once_drains_the_queue_in_a_child_process(coordinator: Coordinator, tmp_path: Path,
                                                             client: CoordinatorClient) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        queue_work(coordinator, ws, client, 4)
    done = _alaya_sync(tmp_path, coordinator.url, "right horse")
    assert done.returncode == 0, done.stderr
    assert "online, 0 queued" in done.stderr
    with Workspace.open(tmp_path / "ws") as ws:
        assert len(ws.sync.submissions(outcome="sent")) == 4


def test_alaya_sync_with_a_wrong_passphrase_says_so(coordinator: Coordinator, tmp_path: Path) -> None:
    done = _alaya_sync(tmp_path, coordinator.url, "wrong horse")
    assert done.returncode == 8
    assert "wrong passphrase" in done.stderr and "Traceback" not in done.stderr


def test_a_child_process_can_sync_a_workspace_by_its_path(coordinator: Coordinator, tmp_path: Path,
                                                          client: CoordinatorClient) -> None:
    from multiprocessing import get_context

    with Workspace.open(tmp_path / "ws") as ws:
        queue_work(coordinator, ws, client, 2)
    child = get_context("spawn").Process(target=_child_sync, args=(tmp_path / "ws", coordinator.url))
    child.start()
    child.join(120)
    assert child.exitcode == 0
    with Workspace.open(tmp_path / "ws") as ws:
        assert len(ws.sync.submissions(outcome="sent")) == 2


def _child_sync(root: Path, url: str) -> None:
    from app.sync.engine import sync_workspace

    status = sync_workspace(root, KeySigner(CONTRIBUTOR.key), SyncConfig(url=url, offline_tasks=0),
                            rng=random.Random(0))
    raise SystemExit(0 if status.phase is Phase.online else 1)
