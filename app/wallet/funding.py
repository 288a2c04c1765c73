"""Fund a RewardPool epoch: a requester (or the treasury) puts the epoch's tokens in the pool.

The epoch must be open: the coordinator opens it when it closes the month, and it names the
ERC-20 it pays in (AGT, or a requester's own token). The amount is read in that token's
decimals. When the pool may not yet take that much of the funder's tokens, an `approve` goes
first. Each transaction is simulated (a refusal is shown decoded, nothing paid), quoted and
confirmed through `TxSender`, like every other wallet transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.wallet.chain import ChainWallet
from app.wallet.contracts import call
from app.wallet.errors import WalletError
from app.wallet.merkle import epoch_id
from app.wallet.transactions import Confirm, TxResult, format_units, parse_units


@dataclass(frozen=True)
class Funded:
    results: list[TxResult]  # the approval (when one was needed), then the funding
    pool_total: str  # what the epoch's pool has received in all, e.g. "15,000 AGT"


def fund_pool(cw: ChainWallet, month: str, amount_text: str, confirm: Confirm) -> Funded:
    """Put `amount_text` of the epoch's token into `month`'s reward pool (approve first if needed)."""
    chain_epoch = epoch_id(month)
    epoch = cw.suite.epoch(chain_epoch)
    if epoch is None:
        raise WalletError(f"{month} is not open on the reward pool yet: it opens when the coordinator closes "
                          "the month")
    token = cw.erc20(epoch.token)
    symbol, decimals = call(token.functions.symbol()), call(token.functions.decimals())
    amount = parse_units(amount_text, decimals, symbol)
    shown = f"{format_units(amount, decimals)} {symbol}"
    held = call(token.functions.balanceOf(cw.address))
    if held < amount:
        raise WalletError(f"you hold {format_units(held, decimals)} {symbol}; funding {shown} needs more")
    pool, done = cw.suite.reward_pool, []
    if call(token.functions.allowance(cw.address, pool.address)) < amount:
        approve = token.functions.approve(pool.address, amount)
        done.append(cw.tx.send(cw.tx.prepare(approve, f"allow the reward pool to take {shown}"), confirm))
    fund = pool.functions.fund(chain_epoch, amount)
    done.append(cw.tx.send(cw.tx.prepare(fund, f"fund the {month} reward pool with {shown}"), confirm))
    after = cw.suite.epoch(chain_epoch)
    return Funded(done, f"{format_units(after.funded if after else 0, decimals)} {symbol}")
