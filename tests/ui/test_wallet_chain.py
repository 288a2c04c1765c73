"""The wallet's chain window on a real anvil with the suite deployed, over a real wallet folder and
real executors: stake through the confirmation dialog (gas and fee shown) and tracked to N/M
confirmations while the event loop keeps turning; a refused withdraw shows the decoded reason
and sends nothing; cancel sends nothing; the level upgrade; locked, no-contracts and node-down
states enable nothing; a screenshot of the balances page with real values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eth_account import Account
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from app.core.tasks import TaskRunner
from app.ui.theme import apply_theme
from app.ui.wallet.chain_window import ChainWindow
from app.ui.wallet.tx_flow import ConfirmTxDialog
from app.ui.workers import Bridge
from app.wallet import staking
from app.wallet.chain import ChainWallet
from app.wallet.chains import Chain as ChainConfig
from app.wallet.chains import get_chain
from app.wallet.wallet import Wallet
from tests.chain.anvil import increase_time
from tests.chain.conftest import AGT_UNIT, Chain, anvil, chain, deployed
from tests.ui.wallet_fixtures import runner
from tests.unit.wallet.conftest import PASSPHRASE, make_wallet, no_keyring

__all__ = ["anvil", "chain", "deployed", "no_keyring", "runner"]  # fixtures shared with the chain and unit tests
SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "wallet_balances.png"
WAIT_MS = 30_000


@pytest.fixture
def wallet(tmp_path: Path, chain: Chain, no_keyring: None) -> Wallet:
    """A passphrase wallet holding a fresh key, funded with gas money and 50,000 AGT."""
    key = Account.create()
    wallet = make_wallet(tmp_path / "wallet")
    wallet.import_private_key(key.key.hex(), password=PASSPHRASE)
    chain.w3.provider.make_request("anvil_setBalance", [key.address, hex(10 * 10**18)])
    chain.fund(key.address)
    wallet.lock()
    return wallet


def local(chain: Chain, **changes: object) -> ChainConfig:
    return get_chain("local").model_copy(update={"rpc_urls": [chain.w3.provider.endpoint_uri],
                                                 "contracts": chain.suite.addresses(), **changes})


def open_window(qtbot, wallet: Wallet, runner: TaskRunner, config: ChainConfig,
                coordinator_url: str | None = None) -> ChainWindow:
    window = ChainWindow(wallet, runner, Bridge(), config, coordinator_url=coordinator_url)
    qtbot.addWidget(window)
    window.resize(900, 560)
    window.show()
    return window


def loaded(qtbot, window: ChainWindow) -> None:
    qtbot.waitUntil(lambda: window.balances.data is not None and not window.balances.loading, timeout=WAIT_MS)


def text(window: ChainWindow, name: str) -> str:
    return window.findChild(QLabel, name).text()


def button(window: ChainWindow, name: str) -> QPushButton:
    return window.findChild(QPushButton, name)


def confirm_dialog(qtbot, window: ChainWindow) -> ConfirmTxDialog:
    qtbot.waitUntil(lambda: window.balances.flow.dialog is not None or window.level.flow.dialog is not None,
                    timeout=WAIT_MS)
    return window.balances.flow.dialog or window.level.flow.dialog


def test_stake_confirms_with_gas_and_fee_and_is_tracked_without_blocking(qtbot, chain: Chain, wallet: Wallet,
                                                                      runner: TaskRunner) -> None:
    wallet.unlock(PASSPHRASE)
    window = open_window(qtbot, wallet, runner, local(chain, confirmations=2))
    loaded(qtbot, window)
    assert text(window, "wallet-agt") == "50,000 AGT" and text(window, "wallet-tier").startswith("0")
    window.balances.amount.setText("1000")
    button(window, "wallet-stake").click()
    dialog = confirm_dialog(qtbot, window)
    shown = dialog.findChild(QLabel, "wallet-confirm-text").text()
    assert "stake 1000 AGT" in shown and "Simulated: it would succeed" in shown
    assert "Gas: up to" in shown and "gwei" in shown and "Fee: at most" in shown and "ETH" in shown
    assert not button(window, "wallet-stake").isEnabled()  # one action at a time
    ticks = []
    timer = QTimer(interval=10, timeout=lambda: ticks.append(1))
    timer.start()
    dialog.findChild(QPushButton, "wallet-confirm-send").click()
    status = window.balances.status
    qtbot.waitUntil(lambda: "1/2 confirmations" in status.text(), timeout=WAIT_MS)
    before = len(ticks)
    qtbot.wait(300)  # the transaction waits for a second block: the event loop keeps turning
    assert len(ticks) > before + 5 and "1/2 confirmations" in status.text()
    chain.w3.provider.make_request("evm_mine", [])
    qtbot.waitUntil(lambda: "confirmed in block" in status.text(), timeout=WAIT_MS)
    timer.stop()
    qtbot.waitUntil(lambda: text(window, "wallet-staked") == "1,000 AGT", timeout=WAIT_MS)
    assert text(window, "wallet-agt") == "49,000 AGT" and text(window, "wallet-tier") == "2 · Specialist"
    assert chain.suite.stake_info(window.source.read.address).active == 1000 * AGT_UNIT


def test_a_refused_withdraw_shows_the_reason_and_sends_nothing(qtbot, chain: Chain, wallet: Wallet,
                                                                runner: TaskRunner) -> None:
    wallet.unlock(PASSPHRASE)
    setup = ChainWallet.open(local(chain), wallet.signer())
    staking.stake(setup, 500 * AGT_UNIT, lambda _: True)
    staking.request_unstake(setup, 200 * AGT_UNIT, lambda _: True)
    sent = chain.w3.eth.get_transaction_count(setup.address)
    window = open_window(qtbot, wallet, runner, local(chain))
    loaded(qtbot, window)
    assert "200 AGT, withdrawable from" in text(window, "wallet-unbonding")
    assert "in 7.0 days" in text(window, "wallet-unbonding")
    button(window, "wallet-withdraw").click()
    status = window.balances.status
    qtbot.waitUntil(lambda: "Refused by the contract" in status.text(), timeout=WAIT_MS)
    assert "still bonding until" in status.text() and "UTC. Nothing" in status.text() and "Nothing was sent, nothing was paid" in status.text()
    assert window.balances.flow.dialog is None and chain.w3.eth.get_transaction_count(setup.address) == sent
    increase_time(chain.w3, 7 * 24 * 3600 + 1)
    button(window, "wallet-refresh").click()
    qtbot.waitUntil(lambda: "withdrawable now" in text(window, "wallet-unbonding"), timeout=WAIT_MS)
    button(window, "wallet-withdraw").click()
    dialog = confirm_dialog(qtbot, window)
    dialog.findChild(QPushButton, "wallet-confirm-cancel").click()
    qtbot.waitUntil(lambda: "Cancelled: nothing was sent" in status.text(), timeout=WAIT_MS)
    assert chain.w3.eth.get_transaction_count(setup.address) == sent


def test_the_account_box_switches_what_the_pages_read_and_send_from(qtbot, chain: Chain, runner: TaskRunner,
                                                                   tmp_path: Path, no_keyring: None) -> None:
    from app.wallet.keys import new_mnemonic

    hd = make_wallet(tmp_path / "hd")
    first = hd.create_from_mnemonic(new_mnemonic(), password=PASSPHRASE).accounts[0].address
    second = hd.add_account().address
    chain.fund(first, 3_000 * AGT_UNIT)
    chain.fund(second, 7_000 * AGT_UNIT)
    hd.lock()  # reading needs no key
    window = open_window(qtbot, hd, runner, local(chain))
    loaded(qtbot, window)
    box = window.account_box
    assert box.count() == 2 and box.isEnabled() and box.isVisible() and box.currentData() == first
    assert box.currentText() == f"{first[:8]}…{first[-6:]}"
    assert text(window, "wallet-agt") == "3,000 AGT"
    box.setCurrentIndex(1)
    box.activated.emit(1)  # what a user's choice sends
    qtbot.waitUntil(lambda: window.source.read is not None and window.source.read.address == second, timeout=WAIT_MS)
    loaded(qtbot, window)
    qtbot.waitUntil(lambda: text(window, "wallet-agt") == "7,000 AGT", timeout=WAIT_MS)
    assert box.currentData() == second
    hd.unlock(PASSPHRASE)
    assert window.source.signing().address == second  # actions sign with the chosen account
    button(window, "wallet-refresh").click()  # a reconnect keeps the choice
    window.connect_chain()
    qtbot.waitUntil(lambda: window.source.read is not None, timeout=WAIT_MS)
    assert box.currentData() == second and window.source.read.address == second


@pytest.mark.parametrize("fate", ["dropped", "replaced"])
def test_a_dropped_or_replaced_stake_is_shown_so(qtbot, chain: Chain, wallet: Wallet, runner: TaskRunner,
                                                  fate: str) -> None:
    wallet.unlock(PASSPHRASE)
    window = open_window(qtbot, wallet, runner, local(chain))
    loaded(qtbot, window)
    w3, me, status = chain.w3, window.source.read.address, window.balances.status
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        window.balances.amount.setText("100")
        button(window, "wallet-stake").click()
        confirm_dialog(qtbot, window).findChild(QPushButton, "wallet-confirm-send").click()
        qtbot.waitUntil(lambda: "pending" in status.text(), timeout=WAIT_MS)
        [pending] = w3.eth.get_block("pending")["transactions"]
        if fate == "dropped":
            w3.provider.make_request("anvil_dropTransaction", [pending.to_0x_hex()])
        else:  # the same nonce, a higher fee: what a wallet's "speed up" or "cancel" sends
            nonce = w3.eth.get_transaction(pending)["nonce"]
            other = {"to": me, "value": 0, "gas": 21_000, "nonce": nonce, "chainId": 31337, "type": 2,
                     "maxFeePerGas": 10**12, "maxPriorityFeePerGas": 10**11}
            w3.eth.send_raw_transaction(wallet.signer().sign_transaction(other))
            w3.provider.make_request("evm_mine", [])
        expected = "Dropped:" if fate == "dropped" else "Replaced:"
        qtbot.waitUntil(lambda: status.text().startswith(expected), timeout=WAIT_MS)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    assert ("nothing was spent" if fate == "dropped" else "it will not be mined") in status.text()
    assert chain.suite.stake_info(me).active == 0 and button(window, "wallet-stake").isEnabled()
    button(window, "wallet-stake").click()  # sent again (a dropped nonce is reused: no gap), it goes through
    confirm_dialog(qtbot, window).findChild(QPushButton, "wallet-confirm-send").click()
    qtbot.waitUntil(lambda: "confirmed in block" in status.text(), timeout=WAIT_MS)
    assert chain.suite.stake_info(me).active == 100 * AGT_UNIT


def test_closing_the_app_stops_tracking_so_no_worker_keeps_the_exit_waiting(qtbot, chain: Chain, wallet: Wallet,
                                                                             runner: TaskRunner) -> None:
    wallet.unlock(PASSPHRASE)
    window = open_window(qtbot, wallet, runner, local(chain, confirmations=3))
    loaded(qtbot, window)
    window.balances.amount.setText("100")
    button(window, "wallet-stake").click()
    confirm_dialog(qtbot, window).findChild(QPushButton, "wallet-confirm-send").click()
    qtbot.waitUntil(lambda: "1/3 confirmations" in window.balances.status.text(), timeout=WAIT_MS)
    window.close()  # the window alone: still tracked
    qtbot.wait(1200)
    assert window.balances.flow.busy
    window.shut_down()  # what the main window does when it closes
    qtbot.waitUntil(lambda: not window.balances.flow.busy, timeout=5_000)
    assert "stopped watching transaction" in window.balances.status.text()
    assert chain.suite.stake_info(window.source.read.address).active == 100 * AGT_UNIT  # it was mined all the same


def test_level_upgrade_joins_approves_and_upgrades(qtbot, chain: Chain, wallet: Wallet, runner: TaskRunner) -> None:
    wallet.unlock(PASSPHRASE)
    window = open_window(qtbot, wallet, runner, local(chain))
    qtbot.waitUntil(lambda: window.level.data is not None, timeout=WAIT_MS)
    assert "no membership card yet" in text(window, "wallet-standing")
    assert "No coordinator is set" in window.redeem.notice.text()  # no coordinator: nothing to claim, no proofs
    assert "No coordinator is set" in window.verify.notice.text()
    assert not window.redeem.claim_button.isEnabled() and not window.verify.verify_button.isEnabled()
    assert "First light" in text(window, "wallet-standing")  # every medallion, with what it unlocks
    upgrade = button(window, "wallet-upgrade")
    assert "level 1 · Bronze: burns 50 AGT" in upgrade.text()
    upgrade.click()
    for expected in ("join", "allow the card to burn 50 AGT", "upgrade the card to level 1"):
        dialog = confirm_dialog(qtbot, window)
        assert expected in dialog.text.text()
        dialog.findChild(QPushButton, "wallet-confirm-send").click()
        qtbot.waitUntil(lambda: window.level.flow.dialog is not dialog, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "card at level 1 (Bronze)" in text(window, "wallet-standing"), timeout=WAIT_MS)
    assert "level 2 · Silver: burns 200 AGT" in upgrade.text()


def test_locked_wallet_reads_balances_and_enables_no_action(qtbot, chain: Chain, wallet: Wallet,
                                                             runner: TaskRunner) -> None:
    window = open_window(qtbot, wallet, runner, local(chain), coordinator_url="http://127.0.0.1:9")
    loaded(qtbot, window)
    assert wallet.locked and "The wallet is locked" in window.balances.notice.text()
    assert "unlock it in the Wallet window to list and claim" in window.redeem.notice.text()
    assert text(window, "wallet-agt") == "50,000 AGT"
    assert not any(b.isEnabled() for b in window.balances.actions + window.level.actions + window.verify.actions)
    assert window.account_box.count() == 1 and window.account_box.isHidden()  # one account: nothing to choose
    wallet.unlock(PASSPHRASE)
    window.close()  # closed and opened again (File > Wallet… > On chain…): the lock poll resumes
    window.show()
    assert window.timer.isActive()
    qtbot.waitUntil(lambda: button(window, "wallet-stake").isEnabled(), timeout=WAIT_MS)
    assert not window.balances.notice.isVisible()
    qtbot.waitUntil(lambda: "Could not read" in window.redeem.status.text(), timeout=WAIT_MS)  # the coordinator
    assert not window.redeem.claim_button.isEnabled() and window.verify.verify_button.isEnabled()


@pytest.mark.parametrize("case", ["no contracts", "node down"])
def test_no_chain_or_no_node_says_so_and_enables_nothing(qtbot, chain: Chain, wallet: Wallet, runner: TaskRunner,
                                                         case: str) -> None:
    wallet.unlock(PASSPHRASE)
    config = local(chain, contracts={}) if case == "no contracts" else local(chain, rpc_urls=["http://127.0.0.1:9"])
    window = open_window(qtbot, wallet, runner, config)
    qtbot.waitUntil(lambda: not window.connecting, timeout=WAIT_MS)
    expected = "not deployed on Local anvil" if case == "no contracts" else "does not answer"
    for page in window.pages:
        assert expected in page.notice.text() and not page.notice.isHidden()
        assert not any(b.isEnabled() for b in page.actions)
    assert button(window, "wallet-reconnect").isEnabled()


def test_balances_page_screenshot(qtbot, chain: Chain, wallet: Wallet, runner: TaskRunner, tmp_path: Path) -> None:
    """The README's picture: its address is new each run, so docs/ is rewritten only when asked
    (`UPDATE_SCREENSHOTS=1`); otherwise it is rendered to a temporary file."""
    wallet.unlock(PASSPHRASE)
    setup = ChainWallet.open(local(chain), wallet.signer())
    staking.stake(setup, 1_500 * AGT_UNIT, lambda _: True)
    staking.request_unstake(setup, 250 * AGT_UNIT, lambda _: True)
    apply_theme(QApplication.instance(), "dark")
    window = open_window(qtbot, wallet, runner, local(chain))
    window.resize(820, 330)
    loaded(qtbot, window)
    window.balances.amount.setText("1000")
    qtbot.wait(50)
    shot = SHOT if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path / SHOT.name
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(shot))
    assert shot.stat().st_size > 10_000  # a real picture, not an empty grab


def test_a_page_that_reads_must_say_how() -> None:
    from app.ui.wallet.chain_page import ChainPage

    with pytest.raises(TypeError, match="Half must define show_data"):
        type("Half", (ChainPage,), {"read_data": lambda self, cw: None})
