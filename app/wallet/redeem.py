"""Redeem credits: check a coordinator voucher locally, claim it on the RewardPool, list claims.

Before any fee is paid, a voucher is checked against this wallet's chain: the account, the
chain id, the pool address, the deadline, the signer (recovered from the EIP-712 signature and
checked to hold the pool's VOUCHER_SIGNER_ROLE) and whether the epoch was already claimed; then
the claim is simulated like every transaction. Each refusal is one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_typed_data

from app.sync.wire import VoucherOut
from app.wallet.chain import ChainWallet
from app.wallet.contracts import call, voucher_typed_data
from app.wallet.errors import WalletError
from app.wallet.transactions import Confirm, TxResult, format_units


@dataclass(frozen=True)
class Claim:
    epoch: int
    amount: int
    tx_hash: str
    block_number: int


def _when(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_voucher(cw: ChainWallet, voucher: VoucherOut) -> None:
    """Raise WalletError naming what makes `voucher` unclaimable by this wallet on this chain."""
    pool = cw.suite.reward_pool
    if voucher.account.lower() != cw.address.lower():
        raise WalletError(f"this voucher is for {voucher.account}, not for your account {cw.address}")
    if voucher.chain_id != cw.chain.chain_id:
        raise WalletError(f"this voucher is for chain {voucher.chain_id}; your wallet is on {cw.chain.name} "
                          f"({cw.chain.chain_id})")
    if voucher.pool.lower() != pool.address.lower():
        raise WalletError(f"this voucher is for the reward pool {voucher.pool}, not {cw.chain.name}'s pool {pool.address}")
    if voucher.deadline < cw.latest_timestamp():
        raise WalletError(f"this voucher expired on {_when(voucher.deadline)}")
    typed = voucher_typed_data(pool, cw.chain.chain_id, epoch=voucher.chain_epoch, account=voucher.account,
                               amount=int(voucher.amount), deadline=voucher.deadline)
    try:
        signer = Account.recover_message(encode_typed_data(full_message=typed), signature=voucher.signature)
    except Exception:  # eth-keys raises several classes for a malformed signature
        raise WalletError("this voucher's signature is malformed") from None
    role = call(pool.functions.VOUCHER_SIGNER_ROLE())
    if not call(pool.functions.hasRole(role, signer)):
        raise WalletError(f"this voucher was not signed by the pool's coordinator (it was signed by {signer})")
    if cw.suite.has_claimed(voucher.chain_epoch, cw.address):
        raise WalletError(f"you already claimed epoch {voucher.epoch}")


def claim(cw: ChainWallet, voucher: VoucherOut, confirm: Confirm) -> TxResult:
    check_voucher(cw, voucher)
    args = (voucher.chain_epoch, voucher.account, int(voucher.amount), voucher.deadline)
    function = cw.suite.reward_pool.functions.claim(args, bytes.fromhex(voucher.signature.removeprefix("0x")))
    return cw.tx.send(cw.tx.prepare(function, f"claim {format_units(int(voucher.amount))} tokens for {voucher.epoch}"),
                      confirm)


def history(cw: ChainWallet) -> list[Claim]:
    """My claims on this chain's pool, oldest first."""
    logs = cw.events(cw.suite.reward_pool.events.Claimed(), account=cw.address)
    return [Claim(log["args"]["epoch"], log["args"]["amount"], log["transactionHash"].to_0x_hex(), log["blockNumber"])
            for log in logs]
