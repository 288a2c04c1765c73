"""`alaya sync` signing with the workspace's wallet (its passphrase from a file descriptor, an
account chosen by address), and with a keystore file when a download finds the disk full: each a
child process against the live coordinator on 127.0.0.1."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient, parse_reply
from app.sync.pull import LeaseListOut
from app.wallet.wallet import Wallet
from tests.sync.conftest import CONTRIBUTOR, Coordinator, queue_work
from tests.sync.test_engine import _keystore
from tests.unit.wallet.conftest import LIGHT_N

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "right horse battery"


def _alaya_sync(ws: Path, url: str, *extra: str, secret: str | None = PASSPHRASE, offline_tasks: int = 0,
                fsize_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """`alaya -w WS sync --once --url URL [extra]`, `secret` on --passphrase-fd (None: no fd)."""
    fds: tuple[int, ...] = ()
    if secret is not None:
        read, write = os.pipe()
        os.write(write, (secret + "\n").encode())
        os.close(write)
        fds, extra = (read,), ("--passphrase-fd", str(read), *extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALAYA_")}
    env.update(ALAYA_SYNC__BACKOFF_BASE_S="0.01", ALAYA_SYNC__BACKOFF_CAP_S="0.05",
               ALAYA_SYNC__OFFLINE_TASKS=str(offline_tasks), ALAYA_WALLET__USE_KEYCHAIN="false")
    limit = (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))) if fsize_limit else None
    try:
        return subprocess.run([sys.executable, "-m", "app", "--workspace", str(ws), "sync", "--once", "--url", url,
                               *extra], cwd=ROOT, env=env, pass_fds=fds, capture_output=True, text=True,
                              timeout=120, preexec_fn=limit)
    finally:
        for fd in fds:
            os.close(fd)


def _workspace_wallet(ws: Path) -> Wallet:
    """The workspace's wallet (<ws>/wallet) holding the contributor's key, behind a passphrase."""
    wallet = Wallet(ws / "wallet", keychain=None, scrypt_n=LIGHT_N)
    wallet.import_private_key(CONTRIBUTOR.key, password=PASSPHRASE)
    wallet.lock()
    return wallet


def test_alaya_sync_once_signs_with_the_workspace_wallet(coordinator: Coordinator, tmp_path: Path,
                                                         client: CoordinatorClient) -> None:
    ws = tmp_path / "ws"
    with Workspace.open(ws) as opened:
        queue_work(coordinator, opened, client, 3)
    _workspace_wallet(ws)
    done = _alaya_sync(ws, coordinator.url, "--account", CONTRIBUTOR.address.lower())
    assert done.returncode == 0, done.stderr
    assert "online, 0 queued" in done.stderr and PASSPHRASE not in done.stderr + done.stdout
    with Workspace.open(ws) as opened:
        assert len(opened.sync.submissions(outcome="sent")) == 3


def test_alaya_sync_refuses_unknown_accounts_and_missing_wallets_in_words(coordinator: Coordinator,
                                                                         tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    nobody = _alaya_sync(ws, coordinator.url, secret=None)
    assert nobody.returncode != 0 and "Traceback" not in nobody.stderr
    assert f"no wallet in {ws / 'wallet'}" in nobody.stderr and "--keystore" in nobody.stderr
    _workspace_wallet(ws)
    other = _alaya_sync(ws, coordinator.url, "--account", "0x" + "ab" * 20)
    assert other.returncode != 0 and "Traceback" not in other.stderr
    assert "0x" + "ab" * 20 in other.stderr.lower() or "account" in other.stderr
    wrong = _alaya_sync(ws, coordinator.url, secret="not the passphrase")
    assert wrong.returncode == 8 and "Traceback" not in wrong.stderr


def test_a_full_disk_stops_the_download_in_words_and_the_next_sync_finishes_it(coordinator: Coordinator,
                                                                              tmp_path: Path,
                                                                              client: CoordinatorClient) -> None:
    coordinator.seed_pictures(1, size=(3200, 2400))  # a PNG larger than the file-size limit below
    ws, keystore = tmp_path / "ws", ("--keystore", str(_keystore(tmp_path, "right horse")))
    Workspace.open(ws).close()
    full = _alaya_sync(ws, coordinator.url, *keystore, secret="right horse", offline_tasks=1, fsize_limit=200_000)
    assert full.returncode == 8 and "Traceback" not in full.stderr
    assert "The disk holding the workspace is full: free some space" in full.stderr, full.stderr
    [held] = parse_reply(client.call("GET", "/v1/leases"), LeaseListOut).root  # the lease is kept
    [part] = (ws / "blobs").rglob("*.part")
    kept = part.stat().st_size
    assert 0 < kept <= 200_000
    done = _alaya_sync(ws, coordinator.url, *keystore, secret="right horse", offline_tasks=1)
    assert done.returncode == 0, done.stderr
    with Workspace.open(ws) as opened:
        [task] = opened.sync.leased_tasks()
        assert task.lease_id == held.lease_id
        assert opened.assets.get(task.asset_id).media_path(ws).stat().st_size > kept
