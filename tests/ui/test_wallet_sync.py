"""The wallet signs for sync in the window: opened through the OS keychain at start it sends the
queue; locked by hand or after idle time the syncer stops, the status bar says the wallet is
locked, and work queued meanwhile waits, then goes out at the next unlock. Against a live
coordinator on 127.0.0.1 (pytest-qt, offscreen)."""

from __future__ import annotations

from pathlib import Path

from app.context import AppContext
from app.sync.client import CoordinatorClient
from app.sync.signer import KeySigner
from app.sync.status import Phase
from app.ui.main_window import MainWindow
from app.wallet.keychain import Keychain
from app.wallet.wallet import Wallet
from tests.sync.conftest import CONTRIBUTOR, label_and_submit, lease_locally, running_coordinator
from tests.unit.wallet.conftest import LIGHT_N, Clock, MemoryKeyring, memory_keyring

__all__ = ["memory_keyring"]  # a fixture shared with the wallet's unit tests


def _settings(url: str) -> dict[str, object]:
    return {"sync.coordinator_url": url, "sync.offline_tasks": 0, "sync.backoff_base_s": 0.01,
            "sync.backoff_cap_s": 0.05, "sync.poll_s": 3600}


def test_the_wallet_signs_for_sync_until_it_locks_and_nothing_queued_is_lost(
        qtbot, tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    clock = Clock()
    wallet = Wallet(tmp_path / "ws" / "wallet", keychain=Keychain(memory_keyring), auto_lock_s=600, clock=clock,
                    scrypt_n=LIGHT_N)
    wallet.import_private_key(CONTRIBUTOR.key)  # its password in the keychain: no prompt to open it
    wallet.lock()
    (tmp_path / "coordinator").mkdir()
    with running_coordinator(tmp_path / "coordinator") as coordinator:
        coordinator.seed(2)
        ctx = AppContext.load(workspace=tmp_path / "ws", overrides=_settings(coordinator.url))
        ctx._wallet = wallet
        first, second = lease_locally(ctx.workspace, CoordinatorClient(coordinator.url, KeySigner(CONTRIBUTOR.key)), 2)
        label_and_submit(ctx.workspace, first)
        window = MainWindow(ctx, author="tester")
        qtbot.addWidget(window)
        label, board = window.sync_status.label, ctx.sync.board
        try:
            # at start the keychain opens the wallet without a prompt, and the queue goes out
            qtbot.waitUntil(lambda: board.status.phase is Phase.online and "0 queued" in label.text(), timeout=20_000)
            wallet.lock()  # by hand, on the GUI thread, as the wallet window does
            qtbot.waitUntil(lambda: "the wallet is locked" in label.text(), timeout=10_000)
            assert ctx.sync.syncer is None and "unlock it" in label.toolTip()
            label_and_submit(ctx.workspace, second)
            window.sync_status.button.click()  # "Sync now" while locked: counted, kept, not sent
            qtbot.waitUntil(lambda: "1 queued" in label.text(), timeout=10_000)
            assert "the wallet is locked" in label.text()
            assert [s.outcome for s in ctx.workspace.sync.submissions()].count("sent") == 1
            ctx.runner.submit_cpu(wallet.unlock)  # unlocked again (scrypt on a worker): it goes out
            qtbot.waitUntil(lambda: board.status.phase is Phase.online and board.status.queued == 0, timeout=20_000)
            assert [s.outcome for s in ctx.workspace.sync.submissions()] == ["sent", "sent"]
            clock.now += 600  # idle: the window's lock poll applies the auto-lock
            window.wallet_sync.poll()
            qtbot.waitUntil(lambda: "the wallet is locked" in label.text(), timeout=10_000)
            assert ctx.sync.syncer is None and board.status.phase is Phase.offline
        finally:
            window.close()
            ctx.close()
