"""The wallet on its chain: a window of four tabs (Balances & staking, Level & medallions,
Redemption, Verify), opened from the wallet window.

It connects on an I/O worker (`ChainWallet.open` asks the node its chain id and checks the
contracts) with one of the wallet's accounts read-only (the first, until another is chosen in
the account box), so balances show while the wallet is locked; a timer reads the lock state
(memory only) and switches the actions on or off. A chain without our contracts, an
unreachable node or no wallet yet is said on every page, with nothing enabled; Reconnect tries
again.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.tasks import TaskRunner
from app.ui.wallet.balances_page import BalancesPage
from app.ui.wallet.chain_page import ChainPage, ChainSource
from app.ui.wallet.level_page import LevelPage
from app.ui.wallet.redeem_page import RedeemPage
from app.ui.wallet.verify_page import VerifyPage
from app.ui.guarded import run_parts
from app.ui.workers import Bridge, describe
from app.wallet.chain import ChainWallet, WatchOnly
from app.wallet.chains import Chain, get_chain
from app.wallet.errors import WalletError
from app.wallet.wallet import Wallet

if TYPE_CHECKING:
    from app.context import AppContext

STATE_POLL_MS = 2000


class ChainWindow(QDialog):
    def __init__(self, wallet: Wallet, runner: TaskRunner, bridge: Bridge, chain: Chain, *,
                 coordinator_url: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WalletChainWindow")
        self.setWindowTitle(f"Wallet on {chain.name}")
        self.chain = chain
        self.source = ChainSource(wallet, runner, bridge, coordinator_url=coordinator_url)
        self.balances, self.level = BalancesPage(self.source), LevelPage(self.source)
        self.redeem, self.verify = RedeemPage(self.source), VerifyPage(self.source)
        self.pages: list[ChainPage] = [self.balances, self.level, self.redeem, self.verify]
        self.tabs = QTabWidget()
        self.tabs.setObjectName("wallet-chain-tabs")
        for page, title in zip(self.pages, ("Balances && staking", "Level && medallions", "Redemption", "Verify"),
                               strict=True):
            self.tabs.addTab(page, title)  # "&&": a literal ampersand, not a mnemonic
        self.account_box = QComboBox()  # the wallet's accounts; the pages show the chosen one
        self.account_box.setObjectName("wallet-account")
        self.account_box.setToolTip("The account these pages read and send from")
        self.account_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.account_box.setEnabled(False)
        self.account_box.hide()  # shown once the wallet has more than one account
        self.account_box.activated.connect(lambda _i: self.connect_chain())
        self.connection = QLabel()
        self.connection.setObjectName("wallet-connection")
        self.connection.setWordWrap(True)
        self.reconnect_button = QPushButton("Reconnect")
        self.reconnect_button.setObjectName("wallet-reconnect")
        self.reconnect_button.clicked.connect(self.connect_chain)
        top = QHBoxLayout()
        top.addWidget(self.account_box)
        top.addWidget(self.connection, 1)
        top.addWidget(self.reconnect_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs)
        self.connecting = False
        self.was_locked = self.source.locked
        self.timer = QTimer(self, interval=STATE_POLL_MS, timeout=self._poll)
        self.timer.start()
        self.connect_chain()

    def connect_chain(self) -> None:
        if self.connecting:
            return
        self.connecting = True
        self.source.read, self.source.problem = None, f"Connecting to {self.chain.name}…"
        self._show()
        wallet, chain, wanted = self.source.wallet, self.chain, self.account_box.currentData()

        def open_read_only() -> tuple[ChainWallet, list[str]]:  # on a worker: wallet.json, then the node
            if not wallet.exists():
                raise WalletError("There is no wallet yet: create or import one in the Wallet window.")
            addresses = [account.address for account in wallet.record().accounts]
            chosen = wanted if wanted in addresses else addresses[0]  # the chosen one, unless it is gone
            return ChainWallet.open(chain, WatchOnly(chosen)), addresses

        self.source.bridge.run(self.source.runner.submit_io(open_read_only), self._connected, self._not_connected)

    def _connected(self, opened: tuple[ChainWallet, list[str]]) -> None:
        cw, addresses = opened
        self.connecting = False
        self.source.read, self.source.problem = cw, ""
        self.account_box.clear()
        for address in addresses:
            self.account_box.addItem(f"{address[:8]}…{address[-6:]}", address)
        self.account_box.setCurrentIndex(addresses.index(cw.address))
        self._show()
        for page in self.pages:
            page.reload()

    def _not_connected(self, exc: BaseException) -> None:
        self.connecting = False
        self.source.problem = f"{describe(exc)}. Nothing can be read or sent until this is fixed."
        self._show()

    def _show(self) -> None:
        read = self.source.read
        wait = f"{self.chain.confirmations} confirmations" if self.chain.confirmations else "final once mined"
        where = f"{self.chain.name} (chain {self.chain.chain_id}, {wait})"
        self.connection.setText(f"{where} · connected" if read else f"{where} · not connected")
        self.reconnect_button.setEnabled(not self.connecting)
        self.account_box.setEnabled(not self.connecting and self.account_box.count() > 1)
        self.account_box.setVisible(self.account_box.count() > 1)
        for page in self.pages:
            page.show_state()

    def _poll(self) -> None:
        """The lock state (memory only); a page that needs the wallet unlocked to read reads on unlock."""
        locked = self.source.locked
        if locked != self.was_locked:
            self.was_locked = locked
            if not locked:
                self.redeem.reload()
        self._show()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Shown again after a close: the lock poll resumes and the pages read afresh."""
        super().showEvent(event)
        if not self.timer.isActive():
            self.timer.start()
            self._poll()
            for page in self.pages:
                page.reload()

    def done(self, result: int) -> None:
        """Closed: an open confirmation is declined; a transaction being tracked is still followed
        (its result shows when the window opens again)."""
        run_parts([self.timer.stop, *[page.close_page for page in self.pages]])
        super().done(result)

    def shut_down(self) -> None:
        """The app exits: also stop tracking, so that no worker keeps the exit waiting."""
        run_parts([functools.partial(page.close_page, stop_tracking=True) for page in self.pages])
        self.reject()


def open_chain_window(ctx: AppContext, bridge: Bridge, parent: QWidget) -> None:
    """The chain window of `parent` (one per parent): the workspace's chain and coordinator, read on
    a worker (the chain list is a file)."""
    existing = parent.findChild(ChainWindow)
    if existing is not None:
        existing.show()
        existing.raise_()
        return
    settings = ctx.settings.settings

    def opened(result: tuple[Wallet, Chain]) -> None:
        url = str(settings.sync.coordinator_url) if settings.sync.coordinator_url else None
        ChainWindow(result[0], ctx.runner, bridge, result[1], coordinator_url=url, parent=parent).show()

    def failed(exc: BaseException) -> None:
        bridge.error.emit(describe(exc))

    bridge.run(ctx.runner.submit_io(lambda: (ctx.wallet, get_chain(settings.wallet.chain))), opened, failed)
