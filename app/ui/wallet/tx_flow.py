"""One wallet transaction from a page: simulate, confirm with gas and fee, send, track; never on the GUI thread.

The wallet's own functions (`app.wallet.staking`, `app.wallet.redeem`) do the work on an I/O
worker. Their `confirm` callback runs on that worker: it asks the GUI thread (through the bridge)
to show `ConfirmTxDialog`, window-modal but not a nested event loop, and waits on a future for
the answer, so only the worker waits. The sender's progress (sent, N/M confirmations) is posted
back to a status line. A refusal found by the simulation arrives as a decoded `ContractReverted`
before any confirmation: nothing was asked, nothing was paid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.core.tasks import TaskRunner
from app.ui.workers import Bridge, describe
from app.wallet.chain import ChainWallet
from app.wallet.revert import ContractReverted
from app.wallet.transactions import Cancelled, PreparedTx, TxDropped, TxReplaced, TxResult, format_units

log = logging.getLogger(__name__)
CONFIRM_WAIT_S = 900.0  # an unanswered confirmation counts as declined after this


class ConfirmTxDialog(QDialog):
    """What will be sent, that its simulation passed, and the gas and fee it may cost."""

    def __init__(self, prepared: PreparedTx, native_symbol: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wallet-confirm-tx")
        self.setWindowTitle("Confirm transaction")
        self.setMinimumWidth(480)
        quote = prepared.quote
        price = quote.max_fee_per_gas / 1e9
        tip = "" if quote.max_priority_fee_per_gas is None else f", tip {quote.max_priority_fee_per_gas / 1e9:.3f} gwei"
        self.text = QLabel(
            f"<b>{prepared.description}</b><br>from {prepared.sender}<br><br>"
            f"Simulated: it would succeed.<br>"
            f"Gas: up to {quote.gas_limit:,} at most {price:.3f} gwei{tip}<br>"
            f"Fee: at most {format_units(quote.max_cost_wei)} {native_symbol} (unused gas is not paid)")
        self.text.setObjectName("wallet-confirm-text")
        self.text.setWordWrap(True)
        buttons = QDialogButtonBox()
        send = buttons.addButton("Send", QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        send.setObjectName("wallet-confirm-send")
        cancel.setObjectName("wallet-confirm-cancel")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


def outcome_text(exc: BaseException) -> str:
    """A failed flow in plain words; says whether anything was paid."""
    if isinstance(exc, ContractReverted):
        return f"Refused by the contract: {str(exc).rstrip('.')}. Nothing was sent, nothing was paid."
    if isinstance(exc, Cancelled):
        return "Cancelled: nothing was sent."
    if isinstance(exc, TxDropped):
        return f"Dropped: {exc}"
    if isinstance(exc, TxReplaced):
        return f"Replaced: {exc}"
    return describe(exc)


class TxFlow:
    """Runs wallet actions for one page, one at a time; `busy` while one is under way."""

    def __init__(self, runner: TaskRunner, bridge: Bridge, parent: QWidget,
                 on_status: Callable[[str], None]) -> None:
        self.runner, self.bridge, self.parent, self.on_status = runner, bridge, parent, on_status
        self.busy = False
        self.dialog: ConfirmTxDialog | None = None
        self._answer: Future[bool] | None = None
        self._symbol = "ETH"
        self._sending: ChainWallet | None = None  # the wallet of the flow under way (its sender is tracking)
        self._shut = False  # the app exits: every later question is declined without being shown

    def start(self, make_cw: Callable[[], ChainWallet], symbol: str, what: str,
              action: Callable[[ChainWallet, Callable[[PreparedTx], bool]], Any],
              done: Callable[[list[TxResult]], None], failed: Callable[[BaseException], None]) -> None:
        """On a worker: `make_cw()` (the signing wallet: it reads the disk), then `action(cw, confirm)`,
        e.g. `lambda cw, confirm: staking.stake(cw, amount, confirm)`."""
        if self.busy:
            return
        self.busy, self._symbol = True, symbol
        self.on_status(f"{what}: simulating…")

        def progress(tx_hash: str, depth: int, wanted: int) -> None:
            state = "pending" if depth == 0 else f"{depth}/{wanted} confirmations"
            self.bridge.post(lambda: self.on_status(f"{what}: {state} ({tx_hash[:10]}…)"))

        def work() -> list[TxResult]:
            cw = self._sending = make_cw()
            cw.tx.on_progress = progress
            try:
                result = action(cw, self._confirm)
            finally:
                cw.tx.on_progress, self._sending = None, None
            return result if isinstance(result, list) else [result]

        def finished(results: list[TxResult]) -> None:
            self.busy = False
            done(results)

        def error(exc: BaseException) -> None:
            self.busy = False
            failed(exc)

        self.bridge.run(self.runner.submit_io(work), finished, error)

    def _confirm(self, prepared: PreparedTx) -> bool:
        """On the worker: ask on the GUI thread and wait for the answer (the worker waits, not the GUI)."""
        answer: Future[bool] = Future()
        self.bridge.post(lambda: self._ask(prepared, answer))
        try:
            return answer.result(timeout=CONFIRM_WAIT_S)
        except FutureTimeout:
            return False

    def _ask(self, prepared: PreparedTx, answer: Future[bool]) -> None:
        if self._shut:
            answer.set_result(False)
            return
        self.on_status(f"{prepared.description}: simulated, waiting for your confirmation")
        self._answer = answer
        self.dialog = ConfirmTxDialog(prepared, self._symbol, self.parent)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.finished.connect(lambda code: self._answered(code == QDialog.DialogCode.Accepted))
        self.dialog.open()

    def _answered(self, accepted: bool) -> None:
        answer, self._answer, self.dialog = self._answer, None, None
        if answer is not None and not answer.done():
            answer.set_result(accepted)

    def close(self, *, stop_tracking: bool = False) -> None:
        """The page goes away: a question still open counts as declined; with `stop_tracking` (the
        app exits, and waits for its workers) the tracking ends too; a sent transaction goes on."""
        if self.dialog is not None:
            self.dialog.reject()
        self._answered(False)
        sending = self._sending
        if stop_tracking:
            self._shut = True
            if sending is not None:
                sending.tx.stop_tracking.set()
