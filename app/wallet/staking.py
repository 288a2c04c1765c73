"""Stake, request unstake, withdraw, and upgrade the membership level, each simulated, quoted and
confirmed through `TxSender` (a refusal is shown decoded before anything is paid).

Staking approves by EIP-2612 permit (a signature, no transaction), so a stake is one
transaction whose simulation covers the approval too. A level upgrade burns AGT through the
NFT contract: it may take up to three transactions (join, approve, upgrade), each confirmed.
"""

from __future__ import annotations

from typing import Any

from app.wallet.chain import ChainWallet
from app.wallet.contracts import call
from app.wallet.errors import WalletError
from app.wallet.transactions import Confirm, TxResult, format_units, parse_units

PERMIT_LIFETIME_S = 3600


def _positive(amount: Any, what: str) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise WalletError(f"the amount to {what} must be a positive number of AGT, not {amount!r}")
    return amount


def parse_agt(text: str) -> int:
    """ "12.5" -> 12.5 AGT in wei; a clear error for anything else."""
    return parse_units(text, 18, "AGT")


def _permit_signature(cw: ChainWallet, amount: int, deadline: int) -> tuple[int, bytes, bytes]:
    agt = cw.suite.agt
    _, name, version, chain_id, verifying, _, _ = call(agt.functions.eip712Domain())
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                       {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                       {"name": "deadline", "type": "uint256"}],
        },
        "primaryType": "Permit",
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying},
        "message": {"owner": cw.address, "spender": cw.suite.staking_vault.address, "value": amount,
                    "nonce": call(agt.functions.nonces(cw.address)), "deadline": deadline},
    }
    signature = bytes.fromhex(cw.signer.sign_typed_data(typed)[2:])
    return signature[64], signature[:32], signature[32:64]


def stake(cw: ChainWallet, amount: int, confirm: Confirm) -> TxResult:
    """Stake `amount` AGT (wei) in one transaction (permit + stake)."""
    amount = _positive(amount, "stake")
    held = call(cw.suite.agt.functions.balanceOf(cw.address))
    if held < amount:
        raise WalletError(f"you hold {format_units(held)} AGT; staking {format_units(amount)} needs more")
    deadline = cw.latest_timestamp() + PERMIT_LIFETIME_S
    v, r, s = _permit_signature(cw, amount, deadline)
    function = cw.suite.staking_vault.functions.stakeWithPermit(amount, deadline, v, r, s)
    return cw.tx.send(cw.tx.prepare(function, f"stake {format_units(amount)} AGT"), confirm)


def request_unstake(cw: ChainWallet, amount: int, confirm: Confirm) -> TxResult:
    """Stop `amount` of the stake counting; it is withdrawable after the unbonding delay."""
    amount = _positive(amount, "unstake")
    function = cw.suite.staking_vault.functions.requestUnstake(amount)
    return cw.tx.send(cw.tx.prepare(function, f"request to unstake {format_units(amount)} AGT"), confirm)


def withdraw(cw: ChainWallet, confirm: Confirm) -> TxResult:
    """Withdraw what finished unbonding (the simulation says when, if it has not)."""
    pending = cw.suite.stake_info(cw.address).pending
    function = cw.suite.staking_vault.functions.withdraw()
    return cw.tx.send(cw.tx.prepare(function, f"withdraw {format_units(pending)} unstaked AGT"), confirm)


def upgrade_level(cw: ChainWallet, confirm: Confirm) -> list[TxResult]:
    """Join (if needed) and buy the next membership level, burning its price in AGT."""
    nft, agt = cw.suite.alaya_nft, cw.suite.agt
    done: list[TxResult] = []
    level = cw.suite.membership_level(cw.address)
    if level is None:
        done.append(cw.tx.send(cw.tx.prepare(nft.functions.join(), "join: mint the membership card (free)"), confirm))
        level = 0
    prices = call(nft.functions.upgradePrices())
    if level >= len(prices):
        raise WalletError(f"your card is at level {level}, the highest there is")
    price = prices[level]
    if call(agt.functions.allowance(cw.address, nft.address)) < price:
        approve = agt.functions.approve(nft.address, price)
        done.append(cw.tx.send(cw.tx.prepare(approve, f"allow the card to burn {format_units(price)} AGT"), confirm))
    upgrade = nft.functions.upgrade()
    description = f"upgrade the card to level {level + 1}, burning {format_units(price)} AGT"
    done.append(cw.tx.send(cw.tx.prepare(upgrade, description), confirm))
    return done
