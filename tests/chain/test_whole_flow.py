"""The whole flow on a real anvil with a real coordinator on 127.0.0.1 and the wallet's own code:
stake -> tier -> lease of a tier-gated task -> accepted work -> epoch close -> voucher -> claim
-> anchored root -> proof; then the hostile vouchers, a wrong password, and no secret in any log."""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account

from app.wallet import redeem, staking
from app.wallet.chain import ChainWallet
from app.wallet.coordinator_api import CoordinatorApi
from app.wallet.errors import WalletError, WrongPassword
from app.wallet.merkle import epoch_id
from app.wallet.revert import ContractReverted
from app.wallet.verify import verify_inclusion
from tests.chain.conftest import Chain
from tests.chain.flow_helpers import (
    PASSPHRASE, Clock, Confirmations, alaya_wallet, chain_coordinator, contributor_wallet, gated_request_and_contributor,
    open_chain_wallet, other_key_voucher, secrets_of,
)
from tests.coordinator.contributor import lease, submission
from tests.coordinator.live import LiveClient
from tests.coordinator.wallets import Wallet, sign_in

ADMIN, REQUESTER = Wallet.numbered(0), Wallet.numbered(800)
AGT = 10**18
START = datetime.now(UTC).replace(microsecond=0)
EPOCH = f"{START.year:04d}-{START.month:02d}"
AFTER_EPOCH = datetime(START.year + START.month // 12, START.month % 12 + 1, 2, tzinfo=UTC)


def _stake_to_tier_two(cw: ChainWallet, confirm: Confirmations) -> int:
    result = staking.stake(cw, 1_000 * AGT, confirm)
    assert result.gas_used > 0 and result.fee_wei > 0
    shown = confirm.shown[-1]
    assert shown.description == "stake 1000 AGT" and shown.quote.eip1559  # anvil (cancun) has a base fee
    assert "ETH" in shown.quote.describe("ETH")
    assert cw.suite.stake_info(cw.address).tier == 2
    return result.gas_used


def _work_accepted(client: LiveClient, me: Wallet, headers: dict[str, str], request_id: str, clock: Clock) -> str:
    [task] = lease(client, headers, 5, request_id=request_id)
    clock.advance(seconds=40)  # a human's pace
    body = submission(me, task, ["car"], "flow-1")
    sent = client.post("/v1/submissions", json=body, headers={**headers, "Idempotency-Key": "flow-1"})
    assert sent.status_code == 201, sent.text
    assert client.get("/v1/me/balance", headers=headers).json()["balance"] != "0.000000"
    return body["submission_id"]


def _close_and_fund(client: LiveClient, chain: Chain, clock: Clock) -> dict:
    clock.now = AFTER_EPOCH
    admin = sign_in(client, ADMIN, issued_at=clock.now)
    closed = client.post(f"/v1/epochs/{EPOCH}/close", json={}, headers=admin)
    assert closed.status_code == 200 and closed.json()["accounts"] == 1, closed.text
    published = client.post(f"/v1/chain/epochs/{EPOCH}/publish", headers=admin)  # again: nothing new
    assert published.status_code == 200, published.text
    out = published.json()
    assert out["pool_open"] and out["leaf_count"] == 1 and out["anchor_tx"], out
    pool, agt, amount = chain.suite.reward_pool, chain.suite.agt, 1_000 * AGT
    agt.functions.approve(pool.address, amount).transact({"from": chain.treasury})
    pool.functions.fund(epoch_id(EPOCH), amount).transact({"from": chain.treasury})
    return out


def _claim(cw: ChainWallet, api: CoordinatorApi, confirm: Confirmations) -> int:
    voucher = api.voucher(EPOCH)
    assert voucher.credits > 0 and int(voucher.amount) == int(voucher.credits * 10**6) * 10**12
    before = cw.suite.agt.functions.balanceOf(cw.address).call()
    gas_used = redeem.claim(cw, voucher, confirm).gas_used
    assert cw.suite.agt.functions.balanceOf(cw.address).call() == before + int(voucher.amount)
    [claimed] = redeem.history(cw)
    assert (claimed.epoch, claimed.amount) == (epoch_id(EPOCH), int(voucher.amount))
    with pytest.raises(WalletError, match=f"already claimed epoch {EPOCH}"):
        redeem.claim(cw, voucher, confirm)
    args = (voucher.chain_epoch, voucher.account, int(voucher.amount), voucher.deadline)
    again = cw.suite.reward_pool.functions.claim(args, bytes.fromhex(voucher.signature[2:]))
    with pytest.raises(ContractReverted, match=f"already claimed epoch {epoch_id(EPOCH)}"):
        cw.tx.prepare(again, "claim again")  # the chain's own refusal, decoded, before any fee
    return gas_used


def _hostile_vouchers(cw: ChainWallet, api: CoordinatorApi, chain: Chain) -> None:
    voucher = api.voucher(EPOCH)
    cases = {
        "for chain 1; your wallet is on Local anvil": voucher.model_copy(update={"chain_id": 1}),
        "for the reward pool": voucher.model_copy(update={"pool": chain.suite.agt.address}),
        "not signed by the pool's coordinator": other_key_voucher(chain, voucher, key=Account.create().key),
        "expired on": other_key_voucher(chain, voucher, deadline=cw.latest_timestamp() - 1),
    }
    for message, hostile in cases.items():
        with pytest.raises(WalletError, match=message):
            redeem.check_voucher(cw, hostile)
    # signed by the coordinator's key for another chain: it recovers to a stranger on this one
    replayed = other_key_voucher(chain, voucher, chain_id=1).model_copy(update={"chain_id": voucher.chain_id})
    with pytest.raises(WalletError, match="not signed by the pool's coordinator"):
        redeem.check_voucher(cw, replayed)
    # past the wallet's checks (for an account that has not claimed): the pool's own refusals, decoded
    for message, hostile in {
        "not signed by the coordinator for this chain and pool": other_key_voucher(
            chain, voucher, key=Account.create().key, account=chain.bob),
        "This voucher expired at": other_key_voucher(chain, voucher, account=chain.bob,
                                                     deadline=cw.latest_timestamp() - 1),
    }.items():
        args = (hostile.chain_epoch, hostile.account, int(hostile.amount), hostile.deadline)
        claim = cw.suite.reward_pool.functions.claim(args, bytes.fromhex(hostile.signature[2:]))
        with pytest.raises(ContractReverted, match=message):
            cw.tx.prepare(claim, "hostile claim")


def _from_the_command_line(ws: Path, url: str, chain: Chain, clock: Clock, submission_id: str,
                           capsys: pytest.CaptureFixture[str]) -> str:
    """`alaya wallet redeem` (list, then a second claim) and `verify` on the same wallet and coordinator."""
    clock.now = datetime.now(UTC).replace(microsecond=0)  # the CLI signs in with the real time
    contracts = ws / "contracts.json"
    contracts.write_text(json.dumps(chain.suite.addresses()))
    common = ("--coordinator", url, "--rpc-url", chain.w3.provider.endpoint_uri, "--contracts", str(contracts),
              "--passphrase-fd", PASSPHRASE)
    capsys.readouterr()
    code, listed, err = alaya_wallet(ws, "redeem", *common, capsys=capsys)
    assert code == 0 and f"{EPOCH}  " in listed and "claimed in 0x" in listed, err
    code, _, refused = alaya_wallet(ws, "redeem", EPOCH, *common, "--yes", capsys=capsys)
    assert code == 8 and refused.strip() == f"alaya: error: you already claimed epoch {EPOCH}"
    code, verified, err = alaya_wallet(ws, "verify", submission_id, *common, capsys=capsys)
    assert code == 0 and "checked here and on chain" in verified, err
    code, _, err = alaya_wallet(ws, "verify", "no-such", *common, capsys=capsys)
    assert code == 8 and "you have no submission 'no-such'" in err and len(err.strip().splitlines()) == 1
    return listed + refused + verified + err


def test_stake_lease_work_close_claim_verify(chain: Chain, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALAYA_WALLET__CHAIN", "local")
    monkeypatch.setenv("ALAYA_WALLET__USE_KEYCHAIN", "false")
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    key = "0x" + secrets.token_hex(32)
    me = Wallet(key, Account.from_key(key).address)
    chain.w3.provider.make_request("anvil_setBalance", [me.address, hex(10 * AGT)])
    chain.fund(me.address, 5_000 * AGT)
    wallet = contributor_wallet(tmp_path, key)
    with pytest.raises(WrongPassword):
        wallet.unlock("not the passphrase")
    wallet.unlock(PASSPHRASE)
    cw, confirm = open_chain_wallet(chain, wallet), Confirmations()
    clock = Clock(datetime.now(UTC).replace(microsecond=0))  # not START: the suite may have run for a while

    with chain_coordinator(chain, tmp_path, clock, ADMIN.address) as (url, ctx), LiveClient(url) as client:
        request_id, contributor = gated_request_and_contributor(client, ADMIN, REQUESTER, me)
        assert lease(client, contributor, 5, request_id=request_id) == []  # tier 0: nothing routed
        stake_gas = _stake_to_tier_two(cw, confirm)
        assert client.get("/v1/me", headers=contributor).json()["tier"] == 2  # read from chain
        submission_id = _work_accepted(client, me, contributor, request_id, clock)
        _close_and_fund(client, chain, clock)
        api = CoordinatorApi(url, wallet.signer(), clock=clock)
        assert api.chain_info().voucher_signer == chain.coordinator.address
        claim_gas = _claim(cw, api, confirm)
        verified = verify_inclusion(cw, api.proof(submission_id))
        assert verified.checked_locally and verified.checked_on_chain and verified.leaf_count == 1
        _hostile_vouchers(cw, api, chain)
        reads = ctx.chain.standings.reads
        elapsed = time.perf_counter() - started
        printed = _from_the_command_line(tmp_path, url, chain, clock, submission_id, capsys)
    assert reads >= 2  # tier 0 before staking, tier 2 after
    leaked = [s for s in secrets_of(key, chain.coordinator.key, PASSPHRASE) if s in caplog.text + printed]
    assert caplog.text and leaked == [], "a secret reached the logs"
    print(f"\nwhole flow (anvil + live coordinator + wallet): {elapsed:.2f} s; gas used: stakeWithPermit "
          f"{stake_gas}, claim {claim_gas}")
