"""The wallet window: its accounts and lock state; unlock, lock, add an account, create, import.

Everything that reads the disk or runs scrypt (reading wallet.json, create, import, unlock,
adding an account: about a second each) runs on the app's executors and comes back through
the bridge; the GUI thread only reads the wallet's in-memory lock state, once at each change
and every few seconds, so an auto-lock shows without the user doing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QStackedWidget,
                               QVBoxLayout, QWidget)

from app.core.tasks import TaskRunner
from app.ui.dialogs.wallet_setup import CreatePage, ImportPage
from app.ui.wallet.chain_window import open_chain_window
from app.ui.guarded import run_parts
from app.ui.workers import Bridge, describe
from app.wallet.chains import get_chain
from app.wallet.errors import WalletError
from app.wallet.keys import confirmation_positions, new_mnemonic
from app.wallet.keystore import MAX_KEYSTORE_BYTES
from app.wallet.record import WalletRecord
from app.wallet.wallet import Wallet

if TYPE_CHECKING:
    from app.context import AppContext

STATUS, CREATE, IMPORT = range(3)
LOCK_POLL_MS = 5000


class WalletDialog(QDialog):
    def __init__(self, wallet: Wallet, runner: TaskRunner, bridge: Bridge, *, chain_name: str,
                 open_chain: Callable[[QWidget], None] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WalletDialog")
        self.setWindowTitle("Wallet")
        self.wallet, self.runner, self.bridge, self.chain_name = wallet, runner, bridge, chain_name
        self.record: WalletRecord | None = None
        self.open_chain = open_chain  # the chain window (balances, staking, level, redemption, verify)
        self.busy = False
        self.summary, self.error = QLabel(), QLabel()
        self.error.setObjectName("wallet-error")
        self.error.setStyleSheet("color: #c0392b")
        self.error.setWordWrap(True)
        self.accounts = QListWidget()
        self.accounts.setObjectName("wallet-accounts")
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("wallet-passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("Wallet passphrase")
        self.passphrase.returnPressed.connect(self.unlock)
        self.buttons = {name: QPushButton(text) for name, text in (
            ("unlock", "Unlock"), ("lock", "Lock"), ("add", "Add account"), ("create", "Create…"),
            ("import", "Import…"), ("chain", "On chain…"))}
        keychain = wallet.keychain is not None
        self.create_page = CreatePage(keychain_available=keychain)
        self.import_page = ImportPage(keychain_available=keychain)
        self.pages = QStackedWidget()
        for page in (self._status_page(), self.create_page, self.import_page):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        layout.addWidget(self.error)
        self._connect()
        self.timer = QTimer(self, interval=LOCK_POLL_MS, timeout=self._show_state)
        self.timer.start()
        self.refresh()

    def _status_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.summary.setObjectName("wallet-summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addWidget(self.accounts)
        unlock_row = QHBoxLayout()
        unlock_row.addWidget(self.passphrase)
        for name in ("unlock", "lock", "add"):
            unlock_row.addWidget(self.buttons[name])
        layout.addLayout(unlock_row)
        setup_row = QHBoxLayout()
        setup_row.addWidget(self.buttons["chain"])
        setup_row.addStretch(1)
        setup_row.addWidget(self.buttons["create"])
        setup_row.addWidget(self.buttons["import"])
        layout.addLayout(setup_row)
        for name, button in self.buttons.items():
            button.setObjectName(f"wallet-{name}")
        return page

    def _connect(self) -> None:
        self.buttons["unlock"].clicked.connect(self.unlock)
        self.buttons["lock"].clicked.connect(self.lock)
        self.buttons["add"].clicked.connect(self.add_account)
        self.buttons["create"].clicked.connect(self.start_create)
        self.buttons["import"].clicked.connect(lambda: self._go(IMPORT))
        self.buttons["chain"].clicked.connect(lambda: self.open_chain and self.open_chain(self))
        self.create_page.create_requested.connect(self.create)
        self.import_page.import_requested.connect(self.import_wallet)
        for page in (self.create_page, self.import_page):
            page.cancelled.connect(lambda: self._go(STATUS))

    # ---- background work -----------------------------------------------------------------

    def _run(self, what: str, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run `work` on the CPU pool (scrypt) and `done` on the GUI thread; errors shown here."""
        if self.busy:
            return
        self._set_busy(what)

        def finished(result: Any) -> None:
            self._set_busy("")
            done(result)

        def failed(exc: BaseException) -> None:
            self._set_busy("")
            self.error.setText(describe(exc))
            self._show_state()

        self.bridge.run(self.runner.submit_cpu(work), finished, failed)

    def _set_busy(self, what: str) -> None:
        self.busy = bool(what)
        self.error.setText(what)
        self.error.setStyleSheet("" if what else "color: #c0392b")
        for page in (self.create_page, self.import_page):
            page.setEnabled(not self.busy)
        self._show_state()

    def refresh(self) -> None:
        """Read wallet.json in the background, then show it."""
        def read() -> WalletRecord | None:
            return self.wallet.record() if self.wallet.exists() else None

        self._run("Reading the wallet…", read, self._loaded)

    def _loaded(self, record: WalletRecord | None) -> None:
        self.record = record
        self.accounts.clear()
        for account in record.accounts if record else ():
            index = "key" if account.index is None else f"#{account.index}"
            self.accounts.addItem(f"{index}  {account.address}")
        self._show_state()

    def _show_state(self) -> None:
        record, locked = self.record, self.wallet.locked  # in memory: no disk
        if record is None:
            self.summary.setText(f"No wallet in {self.wallet.folder} yet. Create one, or import a recovery phrase, "
                                 "a private key or a keystore file.")
        else:
            kind = "recovery phrase" if record.kind == "hd" else "single key"
            protection = "the OS keychain" if record.protected_by == "keychain" else "your passphrase"
            state = "locked" if locked else "unlocked"
            self.summary.setText(f"{state.capitalize()} · {kind} wallet protected by {protection} · "
                                 f"chain {self.chain_name}")
        idle = not self.busy
        needs_passphrase = record is not None and record.protected_by == "passphrase"
        self.passphrase.setVisible(needs_passphrase and locked)
        self.buttons["unlock"].setEnabled(idle and record is not None and locked)
        self.buttons["lock"].setEnabled(idle and not locked)
        self.buttons["add"].setEnabled(idle and not locked and record is not None and record.kind == "hd")
        for name in ("create", "import"):
            self.buttons[name].setEnabled(idle and record is None)
        self.buttons["chain"].setVisible(self.open_chain is not None)
        self.buttons["chain"].setEnabled(record is not None)

    # ---- actions -------------------------------------------------------------------------

    def unlock(self) -> None:
        password = self.passphrase.text() if self.passphrase.isVisible() else None
        self.passphrase.clear()
        self._run("Unlocking…", lambda: self.wallet.unlock(password), self._loaded)

    def lock(self) -> None:
        self.wallet.lock()  # drops keys from memory: no disk, no scrypt
        self._show_state()

    def add_account(self) -> None:
        self._run("Deriving the next account…", self.wallet.add_account, lambda _account: self.refresh())

    def start_create(self) -> None:
        self.create_page.start(new_mnemonic(), confirmation_positions(3))
        self._go(CREATE)

    def create(self) -> None:
        try:
            mnemonic, password = self.create_page.confirmed()
        except WalletError as exc:
            self.error.setText(str(exc))
            return
        self._run("Creating the wallet…", lambda: self.wallet.create_from_mnemonic(mnemonic, password=password),
                  self._created)

    def import_wallet(self) -> None:
        try:
            request = self.import_page.request()
        except WalletError as exc:
            self.error.setText(str(exc))
            return
        self._run("Importing…", lambda: run_import(self.wallet, request), self._created)

    def _created(self, record: WalletRecord) -> None:
        self.create_page.clear()
        self.import_page.clear()
        self._go(STATUS)
        self._loaded(record)

    def _go(self, page: int) -> None:
        if page == STATUS:
            self.create_page.clear()
            self.import_page.clear()
        self.error.clear()
        self.pages.setCurrentIndex(page)

    def done(self, result: int) -> None:  # closing wipes what the pages hold
        run_parts([self.timer.stop, self.create_page.clear, self.import_page.clear])
        super().done(result)


def run_import(wallet: Wallet, request: dict[str, Any]) -> WalletRecord:
    """The import `ImportPage.request()` describes (on a worker thread: it reads files, runs scrypt)."""
    password = request["password"]
    if request["kind"] == "keystore":
        try:
            with open(request["path"], "rb") as handle:
                document = handle.read(MAX_KEYSTORE_BYTES + 1)  # parse_keystore refuses what is larger
        except OSError as exc:
            raise WalletError(f"{request['path']}: cannot read the keystore ({exc.strerror})") from None
        return wallet.import_keystore(document, request["secret"], password=password)
    if request["kind"] == "private_key":
        return wallet.import_private_key(request["secret"], password=password)
    return wallet.create_from_mnemonic(request["secret"], bip39_passphrase=request["bip39_passphrase"],
                                       password=password)


def open_wallet_dialog(ctx: AppContext, bridge: Bridge, parent: QWidget,
                       on_error: Callable[[BaseException], Any]) -> None:
    """Show the wallet window of `parent` (one per window), opening the workspace's wallet and
    detecting the OS keychain on a worker thread first (keychains may answer slowly)."""
    existing = parent.findChild(WalletDialog)
    if existing is not None:
        existing.show()
        existing.raise_()
        return

    def opened(result: tuple[Wallet, str]) -> None:
        wallet, chain_name = result
        dialog = WalletDialog(wallet, ctx.runner, bridge, chain_name=chain_name, parent=parent,
                              open_chain=lambda window: open_chain_window(ctx, bridge, window))
        dialog.show()

    def load() -> tuple[Wallet, str]:
        return ctx.wallet, get_chain(ctx.settings.settings.wallet.chain).name

    bridge.run(ctx.runner.submit_io(load), opened, on_error)
