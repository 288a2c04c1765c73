"""TxSender on a real anvil: the quote, the confirmation step, nonces under concurrency, the
chain's confirmation count, and transactions dropped or replaced before they were mined."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account

from app.wallet.chain import ChainWallet
from app.wallet.chains import get_chain
from app.wallet.signer import LocalSigner
from app.wallet.transactions import Cancelled, FeeQuote, NonceManager, TxDropped, TxReplaced
from app.wallet.revert import ContractReverted
from tests.chain.conftest import Chain

AGT = 10**18


def _wallet(chain: Chain, confirmations: int = 0) -> tuple[ChainWallet, bytes]:
    account = Account.create()
    chain.w3.provider.make_request("anvil_setBalance", [account.address, hex(10 * AGT)])
    chain.fund(account.address, 1_000 * AGT)
    local = get_chain("local").model_copy(update={"rpc_urls": [chain.w3.provider.endpoint_uri],
                                                  "contracts": chain.suite.addresses(),
                                                  "confirmations": confirmations})
    signer = LocalSigner(account.address, lambda: bytes(account.key))
    cw = ChainWallet.open(local, signer, nonces=NonceManager(), poll_s=0.05)
    cw.tx.timeout_s = 20  # a bug here fails in seconds, not minutes
    return cw, bytes(account.key)


def _approve(cw: ChainWallet, amount: int = 1):
    return cw.tx.prepare(cw.suite.agt.functions.approve(cw.suite.staking_vault.address, amount), f"approve {amount}")


def test_a_refusal_is_decoded_before_anything_is_paid(chain: Chain) -> None:
    cw, _ = _wallet(chain)
    before = chain.w3.eth.get_balance(cw.address)
    with pytest.raises(ContractReverted, match="Nothing is waiting to be withdrawn|nothing"):
        cw.tx.prepare(cw.suite.staking_vault.functions.withdraw(), "withdraw")
    assert chain.w3.eth.get_balance(cw.address) == before


def test_declined_confirmation_sends_nothing_and_keeps_the_nonce(chain: Chain) -> None:
    cw, _ = _wallet(chain)
    prepared = _approve(cw)
    assert prepared.quote.eip1559 and prepared.quote.max_cost_wei == prepared.quote.gas_limit * prepared.quote.max_fee_per_gas
    with pytest.raises(Cancelled, match="cancelled, nothing was sent"):
        cw.tx.send(prepared, lambda p: False)
    assert chain.w3.eth.get_transaction_count(cw.address) == 0
    result = cw.tx.send(prepared, lambda p: True)
    assert result.nonce == 0 and result.fee_wei > 0


def test_concurrent_sends_from_one_process_never_share_a_nonce(chain: Chain) -> None:
    cw, _ = _wallet(chain)
    prepared = [_approve(cw, n) for n in range(1, 7)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda p: cw.tx.send(p, lambda _: True), prepared))
    assert sorted(r.nonce for r in results) == list(range(6))
    assert chain.suite.agt.functions.allowance(cw.address, chain.suite.staking_vault.address).call() in range(1, 7)


def test_waits_for_the_chains_confirmations(chain: Chain) -> None:
    cw, _ = _wallet(chain, confirmations=3)
    mined: list[int] = []

    def mine_two_later() -> None:
        for _ in range(2):
            time.sleep(0.3)
            chain.w3.provider.make_request("evm_mine", [])
            mined.append(chain.w3.eth.block_number)

    miner = threading.Thread(target=mine_two_later)
    miner.start()
    result = cw.tx.send(_approve(cw), lambda p: True)
    miner.join()
    assert len(mined) == 2 and chain.w3.eth.block_number >= result.block_number + 2


def _without_automine(chain: Chain):
    chain.w3.provider.make_request("evm_setAutomine", [False])
    return lambda: chain.w3.provider.make_request("evm_setAutomine", [True])


def test_a_replaced_transaction_is_reported(chain: Chain) -> None:
    cw, key = _wallet(chain)
    restore = _without_automine(chain)
    try:
        prepared = _approve(cw)
        replacement = {**prepared.transaction, "nonce": 0, "maxFeePerGas": prepared.quote.max_fee_per_gas * 3,
                       "maxPriorityFeePerGas": prepared.quote.max_priority_fee_per_gas * 3,
                       "data": cw.suite.agt.functions.approve(cw.suite.staking_vault.address, 99)._encode_transaction_data()}

        def replace_then_mine() -> None:
            time.sleep(0.3)
            chain.w3.eth.send_raw_transaction(Account.sign_transaction(replacement, key).raw_transaction)
            chain.w3.provider.make_request("evm_mine", [])

        racer = threading.Thread(target=replace_then_mine)
        racer.start()
        with pytest.raises(TxReplaced, match="replaced by another one with nonce 0"):
            cw.tx.send(prepared, lambda p: True)
        racer.join()
    finally:
        restore()


def test_a_dropped_transaction_is_reported(chain: Chain) -> None:
    cw, _ = _wallet(chain)
    restore = _without_automine(chain)
    try:
        prepared = _approve(cw)

        def drop_it() -> None:
            time.sleep(0.3)
            chain.w3.provider.make_request("anvil_dropAllTransactions", [])

        dropper = threading.Thread(target=drop_it)
        dropper.start()
        with pytest.raises(TxDropped, match="dropped by the network; nothing was spent"):
            cw.tx.send(prepared, lambda p: True)
        dropper.join()
    finally:
        restore()


def test_legacy_quote_reads_as_such() -> None:
    quote = FeeQuote(21_000, 5 * 10**9, None)
    assert not quote.eip1559
    assert quote.describe("BNB") == "gas up to 21,000 at max 5.000 gwei (legacy): at most 0.000105 BNB"
