"""Sending a transaction from the wallet: simulate, quote gas and fee, confirm, sign, track.

`TxSender.prepare` simulates the call (a revert is raised decoded, before anything is paid),
estimates gas (plus a margin) and quotes the fee: EIP-1559 (base fee x 2 + tip) where the latest
block has a base fee, a legacy gas price elsewhere. `TxSender.send` asks the `confirm` callback
(the CLI's prompt, the UI's dialog) with the quote, takes a nonce from the process-wide
`NonceManager` (two sends from one process never share a nonce), signs with the wallet's signer
and tracks the transaction until it has the chain's confirmations, or is found dropped or
replaced (its nonce used by another transaction).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import TransactionNotFound

from app.wallet.contracts import call, replay_failed_transaction, revert_decoder
from app.wallet.errors import WalletError
from app.wallet.revert import ContractReverted
from app.wallet.signer import Signer

log = logging.getLogger(__name__)
GAS_MARGIN = Decimal("1.2")  # estimates miss storage-slot warmups and refunds; unused gas is not paid
VERDICT_POLLS = 3  # polls in a row that must agree before a transaction is called replaced or dropped


class Cancelled(WalletError):
    """The user declined the confirmation; nothing was sent."""


class TxDropped(WalletError):
    """The node no longer knows the transaction and its nonce is unused: it will not be mined."""


class TxReplaced(WalletError):
    """Another transaction with the same nonce was mined instead."""


class TxTimeout(WalletError):
    """Not confirmed in time; it may still be mined."""


@dataclass(frozen=True)
class FeeQuote:
    gas_limit: int
    max_fee_per_gas: int  # the gas price on a legacy chain
    max_priority_fee_per_gas: int | None  # None: a legacy (pre EIP-1559) chain

    @property
    def eip1559(self) -> bool:
        return self.max_priority_fee_per_gas is not None

    @property
    def max_cost_wei(self) -> int:
        return self.gas_limit * self.max_fee_per_gas

    def describe(self, native_symbol: str) -> str:
        price = f"max {self.max_fee_per_gas / 1e9:.3f} gwei" + (
            f" (tip {self.max_priority_fee_per_gas / 1e9:.3f})" if self.eip1559 else " (legacy)")
        return f"gas up to {self.gas_limit:,} at {price}: at most {format_units(self.max_cost_wei)} {native_symbol}"


@dataclass(frozen=True)
class PreparedTx:
    description: str  # what the user is asked to confirm, e.g. "stake 1,000 AGT"
    sender: str
    transaction: dict[str, Any]  # everything but the nonce
    quote: FeeQuote


@dataclass(frozen=True)
class TxResult:
    description: str
    tx_hash: str
    nonce: int
    block_number: int
    gas_used: int
    fee_wei: int  # what was actually paid
    receipt: Any


Confirm = Callable[[PreparedTx], bool]
Progress = Callable[[str, int, int], None]  # (tx hash, confirmations so far, confirmations wanted)


def parse_units(text: str, decimals: int, symbol: str) -> int:
    """ "12.5" of a token with `decimals` -> its smallest units; a clear error for anything else."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise WalletError(f"not an amount of {symbol}: {text!r}") from None
    units = value * 10**decimals
    if not value.is_finite() or value <= 0 or units != units.to_integral_value():
        raise WalletError(f"an amount of {symbol} is positive with at most {decimals} decimals, not {text!r}")
    return int(units)


def format_units(amount: int, decimals: int = 18, places: int = 6) -> str:
    """10**18 -> "1"; 1234500000000000000 -> "1.2345" (trailing zeros dropped)."""
    text = f"{Decimal(amount) / Decimal(10) ** decimals:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


class NonceManager:
    """Hands out nonces per (chain, address), never the same twice in this process, even while
    earlier transactions are still pending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[int, str], int] = {}

    def reserve(self, w3: Web3, chain_id: int, address: str) -> int:
        with self._lock:
            pending = w3.eth.get_transaction_count(address, "pending")
            last = self._last.get((chain_id, address))
            nonce = pending if last is None else max(pending, last + 1)
            self._last[(chain_id, address)] = nonce
            return nonce

    def release(self, chain_id: int, address: str, nonce: int) -> None:
        """A nonce that was never broadcast goes back (only the last one, so no gap appears)."""
        with self._lock:
            if self._last.get((chain_id, address)) == nonce:
                self._last[(chain_id, address)] = nonce - 1


NONCES = NonceManager()


class TxSender:
    def __init__(self, w3: Web3, signer: Signer, *, confirmations: int, native_symbol: str,
                 nonces: NonceManager = NONCES, poll_s: float = 0.5, timeout_s: float = 300.0) -> None:
        self.w3, self.signer = w3, signer
        self.confirmations, self.native_symbol = confirmations, native_symbol
        self.on_progress: Progress | None = None  # told after the send and at each new confirmation (the UI)
        self.stop_tracking = threading.Event()  # set: stop waiting (the window closes); the chain goes on
        self.nonces, self.poll_s, self.timeout_s = nonces, poll_s, timeout_s
        self.chain_id = w3.eth.chain_id

    def quote_fees(self, gas_limit: int) -> FeeQuote:
        base = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base is None:
            return FeeQuote(gas_limit, self.w3.eth.gas_price, None)
        tip = self.w3.eth.max_priority_fee
        return FeeQuote(gas_limit, 2 * base + tip, tip)

    def prepare(self, function: ContractFunction, description: str, *, value: int = 0) -> PreparedTx:
        """Simulated and quoted; raises ContractReverted (decoded) when the call would fail."""
        sender = self.signer.address
        call(function, sender)  # the reason, decoded, before any fee
        with revert_decoder().reverts_decoded():
            estimate = function.estimate_gas({"from": sender, "value": value})
        quote = self.quote_fees(int(Decimal(estimate) * GAS_MARGIN))
        fees = ({"maxFeePerGas": quote.max_fee_per_gas, "maxPriorityFeePerGas": quote.max_priority_fee_per_gas}
                if quote.eip1559 else {"gasPrice": quote.max_fee_per_gas})
        transaction = function.build_transaction({"from": sender, "value": value, "gas": quote.gas_limit,
                                                  "chainId": self.chain_id, "nonce": 0, **fees})
        return PreparedTx(description, sender, dict(transaction), quote)

    def send(self, prepared: PreparedTx, confirm: Confirm) -> TxResult:
        if prepared.sender != self.signer.address:
            raise WalletError(f"this transaction was prepared for {prepared.sender}, not {self.signer.address}")
        if not confirm(prepared):
            raise Cancelled(f"{prepared.description}: cancelled, nothing was sent")
        nonce = self.nonces.reserve(self.w3, self.chain_id, prepared.sender)
        try:
            raw = self.signer.sign_transaction({**prepared.transaction, "nonce": nonce})
            tx_hash = self.w3.eth.send_raw_transaction(raw).to_0x_hex()
        except BaseException:
            self.nonces.release(self.chain_id, prepared.sender, nonce)
            raise
        log.info("%s: sent %s (nonce %d)", prepared.description, tx_hash, nonce)
        self._progress(tx_hash, 0)
        return self.track(prepared.description, tx_hash, nonce)

    def track(self, description: str, tx_hash: str, nonce: int) -> TxResult:
        """Wait for the receipt and the confirmations, or find the transaction dropped or replaced."""
        # A verdict of "replaced" or "dropped" needs the same answer several polls in a row: a node
        # can count a mined nonce a moment before it serves the receipt (seen on anvil), and a
        # load-balanced RPC can ask a node that has not seen the transaction yet.
        deadline, replaced, missing = time.monotonic() + self.timeout_s, 0, 0
        while time.monotonic() < deadline and not self.stop_tracking.is_set():
            receipt = self._receipt(tx_hash)
            if receipt is not None:
                replaced = missing = 0
                if receipt["status"] != 1:
                    raise ContractReverted(replay_failed_transaction(self.w3, tx_hash))
                depth = self.w3.eth.block_number - receipt["blockNumber"] + 1
                self._progress(tx_hash, depth)
                if depth >= self.confirmations:
                    again = self._receipt(tx_hash)  # still there after the wait: not reorganised away
                    if again is not None and again["blockHash"] == receipt["blockHash"]:
                        return self._result(description, tx_hash, nonce, again)
            elif self.w3.eth.get_transaction_count(self.signer.address, "latest") > nonce:
                replaced += 1
                if replaced >= VERDICT_POLLS:
                    raise TxReplaced(f"{description}: transaction {tx_hash} was replaced by another one with "
                                     f"nonce {nonce}; it will not be mined")
            elif self._known(tx_hash):
                replaced = missing = 0
            else:
                missing += 1
                if missing >= VERDICT_POLLS:
                    self.nonces.release(self.chain_id, self.signer.address, nonce)  # sending again reuses it
                    raise TxDropped(f"{description}: transaction {tx_hash} was dropped by the network; "
                                    "nothing was spent, you can send it again")
            self.stop_tracking.wait(self.poll_s)
        if self.stop_tracking.is_set():
            raise TxTimeout(f"{description}: stopped watching transaction {tx_hash}; it may still be mined: "
                            "check it before sending again")
        raise TxTimeout(f"{description}: transaction {tx_hash} is not confirmed after {self.timeout_s:.0f} s; "
                        "it may still be mined: check it before sending again")

    def _progress(self, tx_hash: str, depth: int) -> None:
        if self.on_progress is not None:
            self.on_progress(tx_hash, min(depth, self.confirmations), self.confirmations)

    def _receipt(self, tx_hash: str) -> Any:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def _known(self, tx_hash: str) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            return False

    def _result(self, description: str, tx_hash: str, nonce: int, receipt: Any) -> TxResult:
        fee = receipt["gasUsed"] * receipt.get("effectiveGasPrice", 0)
        log.info("%s: confirmed in block %d (%d gas)", description, receipt["blockNumber"], receipt["gasUsed"])
        return TxResult(description, tx_hash, nonce, receipt["blockNumber"], receipt["gasUsed"], fee, receipt)
