"""Redemption: the closed months and their amounts (from the coordinator), which were claimed on
this chain (the RewardPool's Claimed events), and Claim for a month: its voucher fetched and
checked by `app.wallet.redeem.claim`, then simulated, confirmed and tracked.

Listing needs the coordinator's sign-in (the wallet signs it), so the page reads only while the
wallet is unlocked and a coordinator is set (setting sync.coordinator_url)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QWidget

from app.sync.wire import RedemptionOut
from app.ui.wallet.chain_page import ChainPage, ChainSource
from app.wallet import redeem
from app.wallet.chain import ChainWallet
from app.wallet.coordinator_api import CoordinatorApi
from app.wallet.merkle import epoch_id

NO_COORDINATOR = "No coordinator is set (Settings > sync.coordinator_url): there is nothing to redeem from."


@dataclass(frozen=True)
class Month:
    epoch: str  # YYYY-MM
    amount: str  # credits, as the coordinator states them
    claimed_in: str | None  # the claim's transaction, when claimed


class RedeemPage(ChainPage):
    def __init__(self, source: ChainSource, parent: QWidget | None = None) -> None:
        super().__init__(source, parent)
        self.months = QListWidget()
        self.months.setObjectName("wallet-months")
        self.months.currentItemChanged.connect(lambda *_: self.show_state())
        self.body.addWidget(self.months)
        self.claim_button: QPushButton = self.button("wallet-claim", "Claim the selected month", self.claim)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("wallet-redeem-refresh")
        self.refresh_button.clicked.connect(self.reload)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.claim_button)
        self.body.addLayout(row)

    def reload(self) -> None:
        if self.source.coordinator_url is None or self.source.locked:
            self.show_state()  # the notice says why; listing would need both
            return
        super().reload()

    def read_data(self, cw: ChainWallet) -> list[Month]:
        signing = self.source.signing()
        rows: list[RedemptionOut] = CoordinatorApi(self.source.coordinator_url or "", signing.signer).redemptions()
        claimed = {c.epoch: c.tx_hash for c in redeem.history(cw)}
        return [Month(row.epoch, str(row.amount), claimed.get(epoch_id(row.epoch))) for row in rows]

    def show_data(self, data: list[Month]) -> None:
        self.months.clear()
        for month in data:
            state = f"claimed in {month.claimed_in}" if month.claimed_in else "to claim"
            item = QListWidgetItem(f"{month.epoch}   {month.amount} credits   {state}")
            item.setData(Qt.ItemDataRole.UserRole, month)
            self.months.addItem(item)
        if not data:
            self.months.addItem("No closed month with credits of yours yet.")

    def show_state(self) -> None:
        super().show_state()
        if self.source.read is not None and self.source.coordinator_url is None:
            self.notice.setText(NO_COORDINATOR)
            self.notice.setVisible(True)
        elif self.source.read is not None and self.source.locked:
            self.notice.setText("The wallet is locked: unlock it in the Wallet window to list and claim months "
                                "(the coordinator asks the wallet to sign in).")
        self.refresh_button.setEnabled(self.source.read is not None and not self.source.locked
                                       and self.source.coordinator_url is not None and not self.loading)

    def _selected(self) -> Month | None:
        item = self.months.currentItem()
        month = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return month if isinstance(month, Month) else None

    def action_enabled(self, button: QPushButton) -> bool:
        month = self._selected()
        return self.source.coordinator_url is not None and month is not None and month.claimed_in is None

    def claim(self) -> None:
        month, url = self._selected(), self.source.coordinator_url
        if month is None or url is None:
            return
        self.run_action(f"Claim {month.epoch}", lambda cw, ok: redeem.claim(
            cw, CoordinatorApi(url, cw.signer).voucher(month.epoch), ok))

