"""The Redemption and Verify pages on a real anvil with a live coordinator on 127.0.0.1: a month of
accepted work closed and funded (through the coordinator's API and the wallet's own code), then
in the window: the month listed with its amount, claimed through the confirmation dialog and
shown claimed; the submission verified here and on AuditAnchor; an unknown one refused in words."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from eth_account import Account
from PySide6.QtWidgets import QPushButton

from app.core.tasks import TaskRunner
from app.ui.wallet.chain_window import ChainWindow
from app.ui.workers import Bridge
from app.wallet import staking
from app.wallet.chains import get_chain
from tests.chain.conftest import Chain, anvil, chain, deployed
from tests.chain.flow_helpers import (PASSPHRASE, Clock, Confirmations, chain_coordinator, contributor_wallet,
                                      gated_request_and_contributor, open_chain_wallet)
from tests.chain.test_whole_flow import ADMIN, AGT, EPOCH, REQUESTER, _close_and_fund, _work_accepted
from tests.coordinator.live import LiveClient
from tests.coordinator.wallets import Wallet
from tests.ui.wallet_fixtures import runner

__all__ = ["anvil", "chain", "deployed", "runner"]  # fixtures shared with the chain and wallet window tests
WAIT_MS = 30_000


def test_redeem_a_month_and_verify_a_submission_in_the_window(qtbot, chain: Chain, tmp_path: Path,
                                                               runner: TaskRunner) -> None:
    key = "0x" + secrets.token_hex(32)
    me = Wallet(key, Account.from_key(key).address)
    chain.w3.provider.make_request("anvil_setBalance", [me.address, hex(10 * AGT)])
    chain.fund(me.address, 5_000 * AGT)
    wallet = contributor_wallet(tmp_path, key)
    wallet.unlock(PASSPHRASE)
    clock = Clock(datetime.now(UTC).replace(microsecond=0))  # sign-in messages carry the real time
    with chain_coordinator(chain, tmp_path, clock, ADMIN.address) as (url, _), LiveClient(url) as client:
        request_id, contributor = gated_request_and_contributor(client, ADMIN, REQUESTER, me)
        staking.stake(open_chain_wallet(chain, wallet), 1_000 * AGT, Confirmations())
        submission_id = _work_accepted(client, me, contributor, request_id, clock)
        _close_and_fund(client, chain, clock)
        clock.now = datetime.now(UTC).replace(microsecond=0)  # the window signs in with the real time

        config = get_chain("local").model_copy(update={"rpc_urls": [chain.w3.provider.endpoint_uri],
                                                       "contracts": chain.suite.addresses()})
        window = ChainWindow(wallet, runner, Bridge(), config, coordinator_url=url)
        qtbot.addWidget(window)
        window.show()
        page = window.redeem
        qtbot.waitUntil(lambda: page.data is not None and not page.loading, timeout=WAIT_MS)
        assert page.months.count() == 1 and page.months.item(0).text().startswith(f"{EPOCH}   ")
        assert "credits   to claim" in page.months.item(0).text()
        assert not page.claim_button.isEnabled()  # nothing selected yet
        page.months.setCurrentRow(0)
        page.claim_button.click()
        qtbot.waitUntil(lambda: page.flow.dialog is not None, timeout=WAIT_MS)
        assert "claim " in page.flow.dialog.text.text() and f"for {EPOCH}" in page.flow.dialog.text.text()
        assert "Fee: at most" in page.flow.dialog.text.text()
        page.flow.dialog.findChild(QPushButton, "wallet-confirm-send").click()
        qtbot.waitUntil(lambda: "confirmed in block" in page.status.text(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: "claimed in 0x" in page.months.item(0).text(), timeout=WAIT_MS)
        page.months.setCurrentRow(0)
        assert not page.claim_button.isEnabled()  # claimed: nothing more to claim

        verify = window.verify
        verify.submission.setText(submission_id)
        verify.verify_button.click()
        qtbot.waitUntil(lambda: not verify.loading, timeout=WAIT_MS)
        assert f"Submission {submission_id} is in the record anchored for {EPOCH}" in verify.answer.text()
        assert "(1 accepted submission)" in verify.answer.text() and "AuditAnchor" in verify.answer.text()
        verify.submission.setText("no-such")
        verify.verify_button.click()
        qtbot.waitUntil(lambda: not verify.loading, timeout=WAIT_MS)
        assert verify.answer.text().startswith("Not verified:") and "no submission 'no-such'" in verify.answer.text()
        window.close()
