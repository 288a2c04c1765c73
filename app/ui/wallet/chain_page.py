"""What the chain pages share: the connection (`ChainSource`) and the page frame (`ChainPage`).

`ChainSource` holds the read-only view of the chosen account on its chain (a `WatchOnly`
signer: balances read while the wallet is locked) and, on a worker, makes the signing one from
the unlocked wallet. `ChainPage` reads its data on an I/O worker, shows it on the GUI thread,
says plainly why its actions are off (no wallet, no chain, node down, wallet locked, busy), and
runs its actions through `TxFlow`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.tasks import TaskRunner
from app.ui.wallet.tx_flow import TxFlow, outcome_text
from app.ui.workers import Bridge, describe
from app.wallet.chain import ChainWallet
from app.wallet.transactions import PreparedTx, TxResult, format_units
from app.wallet.wallet import Wallet

ERROR_STYLE = "color: #e5737a"
OK_STYLE = "color: #7bc96f"
Action = Callable[[ChainWallet, Callable[[PreparedTx], bool]], Any]


def grouped(amount: int, decimals: int = 18) -> str:
    """`format_units` with thousands grouped for reading: 48500 AGT -> "48,500"."""
    whole, _, fraction = format_units(amount, decimals).partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


class ChainSource:
    """The wallet, the executors, and the read-only chain connection the pages share."""

    def __init__(self, wallet: Wallet, runner: TaskRunner, bridge: Bridge, *, coordinator_url: str | None) -> None:
        self.wallet, self.runner, self.bridge = wallet, runner, bridge
        self.coordinator_url = coordinator_url
        self.read: ChainWallet | None = None
        self.problem = "Connecting to the chain…"

    @property
    def locked(self) -> bool:
        return self.wallet.locked  # memory only

    def signing(self) -> ChainWallet:
        """On a worker (reads wallet.json): the connected account, able to sign while unlocked."""
        read = self.read
        if read is None:
            raise RuntimeError("not connected to the chain")
        return ChainWallet(read.w3, read.chain, read.suite, self.wallet.signer(read.address))


class ChainPage(QWidget):
    """A page: a notice (why actions are off), the page's body, a status line (the last action)."""

    def __init__(self, source: ChainSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.loading = False
        self.data: Any = None
        self.actions: list[QPushButton] = []
        self.notice, self.status = QLabel(), QLabel()
        for label, name in ((self.notice, "wallet-notice"), (self.status, "wallet-tx-status")):
            label.setObjectName(name)
            label.setWordWrap(True)
        self.flow = TxFlow(source.runner, source.bridge, self, self.status.setText)
        self.body = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(self.body)
        layout.addWidget(self.status)  # under the controls it is about
        layout.addStretch(1)

    # ---- what a page that reads provides: both, checked when its class is made ------------

    read_data: Callable[[ChainWallet], Any]  # on a worker
    show_data: Callable[[Any], None]  # on the GUI thread

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.reload is ChainPage.reload:  # a page with its own reload (Verify) reads nothing first
            missing = [name for name in ("read_data", "show_data") if not callable(getattr(cls, name, None))]
            if missing:
                raise TypeError(f"{cls.__name__} must define {' and '.join(missing)}")

    def action_enabled(self, button: QPushButton) -> bool:
        return True

    # ---- shared --------------------------------------------------------------------------

    def button(self, name: str, text: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        self.actions.append(button)
        return button

    def reload(self) -> None:
        read = self.source.read
        if read is None or self.loading:
            self.show_state()
            return
        self.loading = True
        self.show_state()
        self.source.bridge.run(self.source.runner.submit_io(self.read_data, read), self._loaded, self._load_failed)

    def _loaded(self, data: Any) -> None:
        self.loading, self.data = False, data
        self.show_data(data)
        self.show_state()

    def _load_failed(self, exc: BaseException) -> None:
        self.loading = False
        self._say(f"Could not read: {describe(exc)}", ERROR_STYLE)
        self.show_state()

    def show_state(self) -> None:
        """The notice and which actions are on; memory only (called on a timer)."""
        source = self.source
        if source.read is None:
            notice = source.problem
        elif source.locked:
            notice = "The wallet is locked: unlock it in the Wallet window to send transactions."
        else:
            notice = ""
        self.notice.setText(notice)
        self.notice.setVisible(bool(notice))
        ready = source.read is not None and not source.locked and not self.flow.busy and self.data is not None
        for button in self.actions:
            button.setEnabled(ready and self.action_enabled(button))

    def run_action(self, what: str, action: Action) -> None:
        read = self.source.read
        if read is None or self.flow.busy:
            return
        self.status.setStyleSheet("")
        self.flow.start(self.source.signing, read.chain.native_symbol, what, action, self._sent, self._failed)
        self.show_state()

    def _sent(self, results: list[TxResult]) -> None:
        symbol = self.source.read.chain.native_symbol if self.source.read else ""
        lines = [f"{r.description}: confirmed in block {r.block_number} ({r.gas_used:,} gas, fee "
                 f"{format_units(r.fee_wei)} {symbol}; {r.tx_hash})" for r in results]
        self._say("\n".join(lines), OK_STYLE)
        self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._say(outcome_text(exc), ERROR_STYLE)
        self.reload()

    def _say(self, text: str, style: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(style)

    def close_page(self, *, stop_tracking: bool = False) -> None:
        self.flow.close(stop_tracking=stop_tracking)
