"""`alaya wallet balances|level|stake|unstake|withdraw|redeem|fund-pool|verify`: the wallet on its chain.

The chain is the workspace's (`wallet.chain`); `--rpc-url` and `--contracts FILE` override its
node and addresses (a local anvil). Every transaction is simulated first (a refusal is printed
decoded, nothing is paid), then its gas and fee are shown and confirmed (`--yes` confirms for
scripts), then tracked until the chain's confirmations. The passphrase comes from a hidden
prompt or `--passphrase-fd`, never argv; every refusal is one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Optional

import typer

from app.cli_wallet import PassphraseFd, _unlock, _wallet
from app.core.errors import ValidationError
from app.wallet import funding, perks, redeem as redemption, staking
from app.wallet.chain import ChainWallet, WatchOnly, read_addresses
from app.wallet.chains import get_chain
from app.wallet.coordinator_api import CoordinatorApi
from app.wallet.merkle import epoch_id
from app.wallet.transactions import PreparedTx, TxResult, format_units
from app.wallet.verify import verify_inclusion

RpcUrl = Annotated[Optional[str], typer.Option("--rpc-url", help="Use this node instead of the chain list's.")]
Contracts = Annotated[Optional[str], typer.Option("--contracts", help="JSON file of contract addresses "
                                                  "(overrides the chain list's).")]
Account = Annotated[Optional[str], typer.Option("--account", help="Which account (default: the first).")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Send without asking (after the simulation passed).")]
CoordinatorUrl = Annotated[Optional[str], typer.Option("--coordinator", help="Coordinator URL (default: the "
                                                       "setting sync.coordinator_url).")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@contextmanager
def _chain_wallet(ctx: typer.Context, rpc_url: str | None, contracts: str | None, account: str | None, *,
                  unlock: bool = True, passphrase_fd: int | None = None) -> Iterator[tuple[ChainWallet, Any]]:
    """The workspace's wallet on its chain; unlocked for the command only when it must sign."""
    wallet, settings = _wallet(ctx)
    chain = get_chain(settings.wallet.chain)
    if contracts is not None:
        chain = chain.model_copy(update={"contracts": read_addresses(contracts)})
    if unlock:
        _unlock(wallet, passphrase_fd)
    try:
        signer = wallet.signer(account) if unlock else WatchOnly(wallet.record().account(account).address)
        yield ChainWallet.open(chain, signer, rpc_url=rpc_url), settings
    finally:
        wallet.lock()


def _confirm(cw: ChainWallet, yes: bool) -> Any:
    """The confirmation step: what will be sent, that its simulation passed, gas and fee; then ask."""
    def confirm(prepared: PreparedTx) -> bool:
        typer.echo(f"{prepared.description}\n  simulated: OK; {prepared.quote.describe(cw.chain.native_symbol)}",
                   err=True)
        return yes or typer.confirm("Send it?", default=False, err=True)
    return confirm


def _report(cw: ChainWallet, results: TxResult | list[TxResult]) -> None:
    for result in results if isinstance(results, list) else [results]:
        typer.echo(f"{result.description}: confirmed in block {result.block_number} ({result.tx_hash}, "
                   f"{result.gas_used:,} gas, fee {format_units(result.fee_wei)} {cw.chain.native_symbol})")


def balances(ctx: typer.Context, rpc_url: RpcUrl = None, contracts: Contracts = None, account: Account = None,
             token: Annotated[Optional[list[str]], typer.Option("--token", help="Also a reward token (ERC-20 "
                              "address) of a requester's pool; repeatable.")] = None,
             as_json: AsJson = False) -> None:
    """Gas token, AGT, stake (active, unbonding) and reward tokens of an account; no unlock needed."""
    with _chain_wallet(ctx, rpc_url, contracts, account, unlock=False) as (cw, _):
        held = cw.balances(token or ())
    info = {"account": held.account, held.native_symbol: format_units(held.native), "AGT": format_units(held.agt),
            "staked": format_units(held.stake.active), "unbonding": format_units(held.stake.pending),
            "unlock_at": held.stake.unlock_at or None, "tier": held.stake.tier}
    info |= {f"{t.symbol}@{t.address}": format_units(t.amount, t.decimals) for t in held.tokens}
    typer.echo(json.dumps(info, indent=2) if as_json else "\n".join(f"{k:>10}: {v}" for k, v in info.items()))


def level(ctx: typer.Context, upgrade: Annotated[bool, typer.Option("--upgrade", help="Buy the next level.")] = False,
          rpc_url: RpcUrl = None, contracts: Contracts = None, account: Account = None,
          passphrase_fd: PassphraseFd = None, yes: Yes = False) -> None:
    """Stake tier, membership level and medallions, with what each unlocks; `--upgrade` buys a level."""
    with _chain_wallet(ctx, rpc_url, contracts, account, unlock=upgrade, passphrase_fd=passphrase_fd) as (cw, _):
        if upgrade:
            _report(cw, staking.upgrade_level(cw, _confirm(cw, yes)))
        standing = perks.standing(cw.suite, cw.address)
    typer.echo(f"routing tier {standing.routing_tier} (stake tier {standing.stake_tier}, "
               f"level {'none: no card' if standing.level is None else standing.level})")
    for title, steps in (("stake tiers", standing.tiers), ("levels", standing.levels),
                         ("medallions", standing.medallions)):
        typer.echo(f"{title}:")
        for step in steps:
            price = f" ({format_units(step.price)} AGT)" if step.price else ""
            typer.echo(f"  {'*' if step.held else ' '} {step.number} {step.name}{price}: {step.unlocks}")


def stake(ctx: typer.Context, amount: Annotated[str, typer.Argument(help="AGT to stake, e.g. 1000 or 12.5")],
          rpc_url: RpcUrl = None, contracts: Contracts = None, account: Account = None,
          passphrase_fd: PassphraseFd = None, yes: Yes = False) -> None:
    """Stake AGT (approved by permit: one transaction)."""
    wei = staking.parse_agt(amount)
    with _chain_wallet(ctx, rpc_url, contracts, account, passphrase_fd=passphrase_fd) as (cw, _):
        _report(cw, staking.stake(cw, wei, _confirm(cw, yes)))
        typer.echo(f"tier now {cw.suite.stake_info(cw.address).tier}")


def unstake(ctx: typer.Context, amount: Annotated[str, typer.Argument(help="AGT to stop staking")],
            rpc_url: RpcUrl = None, contracts: Contracts = None, account: Account = None,
            passphrase_fd: PassphraseFd = None, yes: Yes = False) -> None:
    """Ask to unstake: the amount stops counting now and is withdrawable after the unbonding delay."""
    wei = staking.parse_agt(amount)
    with _chain_wallet(ctx, rpc_url, contracts, account, passphrase_fd=passphrase_fd) as (cw, _):
        _report(cw, staking.request_unstake(cw, wei, _confirm(cw, yes)))


def withdraw(ctx: typer.Context, rpc_url: RpcUrl = None, contracts: Contracts = None, account: Account = None,
             passphrase_fd: PassphraseFd = None, yes: Yes = False) -> None:
    """Withdraw unstaked AGT whose unbonding delay is over."""
    with _chain_wallet(ctx, rpc_url, contracts, account, passphrase_fd=passphrase_fd) as (cw, _):
        _report(cw, staking.withdraw(cw, _confirm(cw, yes)))


def _api(cw: ChainWallet, settings: Any, url: str | None) -> CoordinatorApi:
    base = url or (str(settings.sync.coordinator_url) if settings.sync.coordinator_url else None)
    if base is None:
        raise ValidationError("no coordinator: pass --coordinator URL or set sync.coordinator_url")
    return CoordinatorApi(base, cw.signer)


def redeem(ctx: typer.Context, epoch: Annotated[Optional[str], typer.Argument(help="Month to claim, YYYY-MM; "
           "without it: list what there is to redeem and what was claimed")] = None,
           coordinator: CoordinatorUrl = None, rpc_url: RpcUrl = None, contracts: Contracts = None,
           account: Account = None, passphrase_fd: PassphraseFd = None, yes: Yes = False) -> None:
    """Fetch a month's voucher from the coordinator and claim it; or list redemptions and claims."""
    with _chain_wallet(ctx, rpc_url, contracts, account, passphrase_fd=passphrase_fd) as (cw, settings):
        api = _api(cw, settings, coordinator)
        if epoch is not None:
            _report(cw, redemption.claim(cw, api.voucher(epoch), _confirm(cw, yes)))
            return
        claimed = {c.epoch: c for c in redemption.history(cw)}
        for row in api.redemptions():
            done = claimed.get(epoch_id(row.epoch))
            state = f"claimed in {done.tx_hash}" if done else "to claim: alaya wallet redeem " + row.epoch
            typer.echo(f"{row.epoch}  {row.amount} credits  {state}")


def verify(ctx: typer.Context, submission_id: Annotated[str, typer.Argument(help="Your submission's id")],
           payload_sha256: Annotated[Optional[str], typer.Option("--payload-sha256", help="Your own copy's "
                                     "SHA-256, to be sure the proof is about it.")] = None,
           coordinator: CoordinatorUrl = None, rpc_url: RpcUrl = None, contracts: Contracts = None,
           account: Account = None, passphrase_fd: PassphraseFd = None) -> None:
    """Check that an accepted submission is in its month's anchored root, locally and on chain."""
    with _chain_wallet(ctx, rpc_url, contracts, account, passphrase_fd=passphrase_fd) as (cw, settings):
        verified = verify_inclusion(cw, _api(cw, settings, coordinator).proof(submission_id),
                                    payload_sha256=payload_sha256)
    typer.echo(f"submission {verified.submission_id} is in the root anchored for {verified.epoch} "
               f"({verified.root}, {verified.leaf_count} submissions): checked here and on chain")


def fund_pool(ctx: typer.Context, epoch: Annotated[str, typer.Argument(help="Month whose pool to fund, YYYY-MM")],
              amount: Annotated[str, typer.Argument(help="How much of the epoch's token, e.g. 5000 or 12.5")],
              rpc_url: RpcUrl = None, contracts: Contracts = None, account: Account = None,
              passphrase_fd: PassphraseFd = None, yes: Yes = False) -> None:
    """Fund a month's reward pool in the token it pays (a requester's or the treasury's transaction)."""
    with _chain_wallet(ctx, rpc_url, contracts, account, passphrase_fd=passphrase_fd) as (cw, _):
        funded = funding.fund_pool(cw, epoch, amount, _confirm(cw, yes))
        _report(cw, funded.results)
        typer.echo(f"the {epoch} pool has received {funded.pool_total} in all")


COMMANDS = {"balances": balances, "level": level, "stake": stake, "unstake": unstake, "withdraw": withdraw,
            "redeem": redeem, "fund-pool": fund_pool, "verify": verify}


def register(group: typer.Typer) -> None:
    for name, command in COMMANDS.items():
        group.command(name)(command)
