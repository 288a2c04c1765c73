"""Balances & staking: gas token, AGT, stake (active, unbonding and when it unlocks), tier; Stake,
Request unstake and Withdraw, each through `app.wallet.staking` (simulated, confirmed, tracked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.ui.wallet.chain_page import ERROR_STYLE, ChainPage, ChainSource, grouped
from app.wallet import staking
from app.wallet.chain import Balances, ChainWallet
from app.wallet.errors import WalletError
from app.wallet.perks import load_perks
from app.wallet.transactions import format_units


@dataclass(frozen=True)
class BalancesView:
    balances: Balances
    chain_time: int  # the latest block's timestamp: when "unlocks in" is counted from
    tier_name: str


def unbonding_text(amount: int, unlock_at: int, chain_time: int) -> str:
    if amount == 0:
        return "none"
    when = datetime.fromtimestamp(unlock_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = unlock_at - chain_time
    if left <= 0:
        return f"{grouped(amount)} AGT, withdrawable now (since {when})"
    hours = left / 3600
    wait = f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
    return f"{grouped(amount)} AGT, withdrawable from {when} (in {wait})"


class BalancesPage(ChainPage):
    def __init__(self, source: ChainSource, parent: QWidget | None = None) -> None:
        super().__init__(source, parent)
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, title in (("account", "Account"), ("native", "Gas token"), ("agt", "AGT"),
                           ("staked", "Staked"), ("unbonding", "Unbonding"), ("tier", "Tier")):
            label = QLabel("–")
            label.setObjectName(f"wallet-{key}")
            label.setWordWrap(True)
            self.values[key] = label
            form.addRow(title, label)
        self.body.addLayout(form)
        self.amount = QLineEdit()
        self.amount.setObjectName("wallet-amount")
        self.amount.setPlaceholderText("AGT, e.g. 1000 or 12.5")
        row = QHBoxLayout()
        row.addWidget(self.amount, 1)
        self.stake_button = self.button("wallet-stake", "Stake", self.stake)
        self.unstake_button = self.button("wallet-unstake", "Request unstake", self.unstake)
        self.withdraw_button = self.button("wallet-withdraw", "Withdraw", self.withdraw)
        for button in (self.stake_button, self.unstake_button, self.withdraw_button):
            row.addWidget(button)
        refresh = QPushButton("Refresh")
        refresh.setObjectName("wallet-refresh")
        refresh.clicked.connect(self.reload)
        row.addWidget(refresh)
        self.body.addLayout(row)

    def read_data(self, cw: ChainWallet) -> BalancesView:
        held = cw.balances()
        names = load_perks().stake_tiers
        tier = names.get(held.stake.tier)
        return BalancesView(held, cw.latest_timestamp(), tier.name if tier else "")

    def show_data(self, data: BalancesView) -> None:
        held, stake = data.balances, data.balances.stake
        self.values["account"].setText(held.account)
        self.values["native"].setText(f"{grouped(held.native)} {held.native_symbol}")
        self.values["agt"].setText(f"{grouped(held.agt)} AGT")
        self.values["staked"].setText(f"{grouped(stake.active)} AGT")
        self.values["unbonding"].setText(unbonding_text(stake.pending, stake.unlock_at, data.chain_time))
        self.values["tier"].setText(f"{stake.tier}" + (f" · {data.tier_name}" if data.tier_name else ""))

    def action_enabled(self, button: QPushButton) -> bool:
        stake = self.data.balances.stake
        if button is self.withdraw_button:
            return stake.pending > 0  # before the unlock time the simulation says why it is refused
        if button is self.unstake_button:
            return stake.active > 0
        return self.data.balances.agt > 0

    def _amount(self) -> int | None:
        try:
            return staking.parse_agt(self.amount.text())
        except WalletError as exc:
            self._say(str(exc), ERROR_STYLE)
            return None

    def stake(self) -> None:
        amount = self._amount()
        if amount is not None:
            self.run_action(f"Stake {format_units(amount)} AGT", lambda cw, ok: staking.stake(cw, amount, ok))

    def unstake(self) -> None:
        amount = self._amount()
        if amount is not None:
            self.run_action(f"Unstake {format_units(amount)} AGT",
                            lambda cw, ok: staking.request_unstake(cw, amount, ok))

    def withdraw(self) -> None:
        self.run_action("Withdraw", lambda cw, ok: staking.withdraw(cw, ok))
