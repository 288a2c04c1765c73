"""The wallet window over a real wallet folder and real executors: create (words shown once,
asked back), import, add an account, lock and unlock, auto-lock shown, errors in the window."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

from app.context import AppContext
from app.core.tasks import TaskRunner
from app.ui.dialogs.wallet_dialog import WalletDialog
from app.ui.workers import Bridge
from app.wallet.wallet import Wallet
from tests.unit.wallet.conftest import (ANVIL_ADDRESSES, ANVIL_MNEMONIC, PASSPHRASE, Clock, MemoryKeyring,
                                        make_wallet, no_keyring)

__all__ = ["no_keyring"]  # a fixture shared with the unit tests


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    runner = TaskRunner(io_workers=1, cpu_workers=1)
    yield runner
    runner.shutdown()


def _dialog(qtbot, wallet: Wallet, runner: TaskRunner) -> WalletDialog:
    dialog = WalletDialog(wallet, runner, Bridge(), chain_name="Local anvil")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.busy)
    return dialog


def _button(dialog: WalletDialog, name: str) -> QPushButton:
    return dialog.findChild(QPushButton, name)


def _type(dialog: WalletDialog, name: str, text: str) -> None:
    dialog.findChild(QLineEdit, name).setText(text)


def _import_anvil(qtbot, dialog: WalletDialog) -> None:
    _button(dialog, "wallet-import").click()
    _type(dialog, "wallet-import-secret", ANVIL_MNEMONIC)
    _type(dialog, "wallet-import-passphrase", PASSPHRASE)
    _type(dialog, "wallet-import-passphrase-again", PASSPHRASE)
    dialog.findChild(QPushButton, "wallet-import-confirm").click()
    qtbot.waitUntil(lambda: dialog.record is not None and not dialog.busy, timeout=10_000)


def test_an_empty_folder_offers_create_and_import(qtbot, tmp_path: Path, runner: TaskRunner) -> None:
    dialog = _dialog(qtbot, make_wallet(tmp_path / "w"), runner)
    assert "No wallet" in dialog.summary.text()
    assert _button(dialog, "wallet-create").isEnabled() and _button(dialog, "wallet-import").isEnabled()
    assert not _button(dialog, "wallet-unlock").isEnabled() and not _button(dialog, "wallet-lock").isEnabled()


def test_create_shows_the_words_once_and_asks_for_some_back(qtbot, tmp_path: Path, runner: TaskRunner) -> None:
    wallet = make_wallet(tmp_path / "w")
    dialog = _dialog(qtbot, wallet, runner)
    _button(dialog, "wallet-create").click()
    words = [dialog.findChild(QLabel, f"wallet-word-{n}").text().split(". ")[1] for n in range(1, 25)]
    assert len(set(words)) > 1
    _button(dialog, "wallet-words-written").click()
    positions = [int(f.objectName().rsplit("-", 1)[1]) for f in dialog.create_page.answers]
    assert len(positions) == 3
    for position in positions:
        _type(dialog, f"wallet-confirm-{position}", words[position - 1])
    _type(dialog, "wallet-create-passphrase", PASSPHRASE)
    _type(dialog, "wallet-create-passphrase-again", PASSPHRASE)
    _button(dialog, "wallet-create-confirm").click()
    assert dialog.busy and not dialog.create_page.isEnabled()  # scrypt runs on a worker thread
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.record is not None, dialog.error.text()
    assert dialog.accounts.count() == 1 and "Unlocked" in dialog.summary.text()
    assert all(not dialog.findChild(QLabel, f"wallet-word-{n}").text() for n in range(1, 25))  # wiped
    assert dialog.pages.currentIndex() == 0 and wallet.exists()


def test_wrong_words_or_passphrases_write_nothing(qtbot, tmp_path: Path, runner: TaskRunner) -> None:
    wallet = make_wallet(tmp_path / "w")
    dialog = _dialog(qtbot, wallet, runner)
    _button(dialog, "wallet-create").click()
    _button(dialog, "wallet-words-written").click()
    for field in dialog.create_page.answers:
        field.setText("zzz")
    _button(dialog, "wallet-create-confirm").click()
    assert "does not match" in dialog.error.text() and not dialog.busy
    words = dialog.create_page._mnemonic.split()
    for position, field in zip(dialog.create_page._positions, dialog.create_page.answers):
        field.setText(words[position - 1])
    _type(dialog, "wallet-create-passphrase", PASSPHRASE)
    _type(dialog, "wallet-create-passphrase-again", PASSPHRASE + "x")
    _button(dialog, "wallet-create-confirm").click()
    assert "differ" in dialog.error.text()
    _type(dialog, "wallet-create-passphrase-again", "short")
    _type(dialog, "wallet-create-passphrase", "short")
    _button(dialog, "wallet-create-confirm").click()
    qtbot.waitUntil(lambda: "at least 8" in dialog.error.text(), timeout=10_000)
    assert not wallet.exists()


def test_import_add_lock_unlock(qtbot, tmp_path: Path, runner: TaskRunner) -> None:
    dialog = _dialog(qtbot, make_wallet(tmp_path / "w"), runner)
    _import_anvil(qtbot, dialog)
    assert ANVIL_ADDRESSES[0] in dialog.accounts.item(0).text()
    _button(dialog, "wallet-add").click()
    qtbot.waitUntil(lambda: dialog.accounts.count() == 2, timeout=10_000)
    assert ANVIL_ADDRESSES[1] in dialog.accounts.item(1).text()
    _button(dialog, "wallet-lock").click()
    assert "Locked" in dialog.summary.text() and dialog.passphrase.isVisible()
    dialog.passphrase.setText("not the passphrase")
    _button(dialog, "wallet-unlock").click()
    qtbot.waitUntil(lambda: "wrong password" in dialog.error.text(), timeout=10_000)
    assert "Locked" in dialog.summary.text() and not dialog.passphrase.text()
    dialog.passphrase.setText(PASSPHRASE)
    _button(dialog, "wallet-unlock").click()
    qtbot.waitUntil(lambda: "Unlocked" in dialog.summary.text() and not dialog.busy, timeout=10_000)


def test_import_a_keystore_file_into_the_keychain(qtbot, tmp_path: Path, runner: TaskRunner) -> None:
    from eth_account import Account

    source = tmp_path / "key.json"
    source.write_text(json.dumps(dict(Account.encrypt("0x" + "11" * 32, "their-password", iterations=2**12))))
    memory = MemoryKeyring()
    dialog = _dialog(qtbot, make_wallet(tmp_path / "w", keychain=memory), runner)
    _button(dialog, "wallet-import").click()
    dialog.import_page.source.setCurrentIndex(2)
    _type(dialog, "wallet-import-keystore", str(tmp_path / "missing.json"))
    _type(dialog, "wallet-import-keystore-password", "their-password")
    dialog.findChild(QPushButton, "wallet-import-confirm").click()
    qtbot.waitUntil(lambda: "cannot read the keystore" in dialog.error.text(), timeout=10_000)
    _type(dialog, "wallet-import-keystore", str(source))
    _type(dialog, "wallet-import-keystore-password", "their-password")
    dialog.findChild(QPushButton, "wallet-import-confirm").click()
    qtbot.waitUntil(lambda: dialog.record is not None and not dialog.busy, timeout=10_000)
    assert "OS keychain" in dialog.summary.text() and len(memory.entries) == 1
    assert not dialog.passphrase.isVisible()


def test_auto_lock_shows_by_itself(qtbot, tmp_path: Path, runner: TaskRunner) -> None:
    clock = Clock()
    dialog = _dialog(qtbot, make_wallet(tmp_path / "w", clock=clock, auto_lock_s=60), runner)
    _import_anvil(qtbot, dialog)
    assert "Unlocked" in dialog.summary.text()
    clock.now += 61
    dialog.timer.timeout.emit()  # what the poll timer does every few seconds
    assert "Locked" in dialog.summary.text() and _button(dialog, "wallet-unlock").isEnabled()


def _from_the_main_window(qtbot, tmp_path: Path) -> tuple[AppContext, Any, WalletDialog]:
    """A main window on a new workspace, and its wallet window opened by File > Wallet…"""
    from app.ui.main_window import MainWindow

    ctx = AppContext.load(workspace=tmp_path / "ws")
    window = MainWindow(ctx, author="tester")
    qtbot.addWidget(window)
    window.action_set["file.wallet"].trigger()
    qtbot.waitUntil(lambda: window.findChild(WalletDialog) is not None, timeout=10_000)
    dialog = window.findChild(WalletDialog)
    qtbot.waitUntil(lambda: not dialog.busy)
    return ctx, window, dialog


def test_the_main_window_opens_it(qtbot, tmp_path: Path, no_keyring: None) -> None:
    ctx, window, dialog = _from_the_main_window(qtbot, tmp_path)
    assert dialog.wallet is ctx.wallet and dialog.wallet.folder == tmp_path / "ws" / "wallet"
    assert "No wallet" in dialog.summary.text()
    window.action_set["file.wallet"].trigger()  # a second time: the same window
    assert len(window.findChildren(WalletDialog)) == 1
    window.close()
    ctx.close()


def test_on_chain_opens_the_chain_window_of_the_workspace_chain(qtbot, tmp_path: Path, no_keyring: None,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ui.wallet.chain_window import ChainWindow

    monkeypatch.setenv("ALAYA_WALLET__CHAIN", "local")  # no contracts listed for it: the pages must say so
    ctx, window, dialog = _from_the_main_window(qtbot, tmp_path)
    assert not _button(dialog, "wallet-chain").isEnabled()  # no wallet yet
    _import_anvil(qtbot, dialog)
    _button(dialog, "wallet-chain").click()
    qtbot.waitUntil(lambda: dialog.findChild(ChainWindow) is not None, timeout=10_000)
    chain_window = dialog.findChild(ChainWindow)
    assert chain_window.windowTitle() == "Wallet on Local anvil"
    qtbot.waitUntil(lambda: not chain_window.connecting, timeout=40_000)
    # whatever listens on the chain list's port, if anything: not reachable or not ours, said, nothing on
    assert chain_window.source.read is None and chain_window.balances.notice.text()
    assert not any(b.isEnabled() for page in chain_window.pages for b in page.actions)
    _button(dialog, "wallet-chain").click()  # a second time: the same window
    assert len(dialog.findChildren(ChainWindow)) == 1
    window.close()
    ctx.close()
