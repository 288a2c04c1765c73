"""Stake tiers, membership levels and medallions described as data (`resources/wallet/perks.yaml`),
joined with what the contracts say (thresholds, prices) and what an account holds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.wallet.contracts import ContractSuite, call
from app.wallet.errors import WalletError

PERKS_FILE = Path(__file__).resolve().parents[2] / "resources" / "wallet" / "perks.yaml"


class Perk(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=40)
    unlocks: str = Field(min_length=1, max_length=200)


class PerkTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    stake_tiers: dict[int, Perk]
    levels: dict[int, Perk]
    medallions: dict[int, Perk]


@cache
def load_perks(path: Path = PERKS_FILE) -> PerkTable:
    try:
        return PerkTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise WalletError(f"{path}: {where}: {error['msg']}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise WalletError(f"{path}: cannot read the perk table ({type(exc).__name__})") from None


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    unlocks: str
    price: int | None  # AGT (wei) to reach it: stake threshold or upgrade price; None for step 0
    held: bool  # the account is at or beyond this step


@dataclass(frozen=True)
class Standing:
    stake_tier: int
    level: int | None  # None: no membership card yet
    tiers: tuple[Step, ...]
    levels: tuple[Step, ...]
    medallions: tuple[Step, ...]  # the kinds the account holds

    @property
    def routing_tier(self) -> int:
        return max(self.stake_tier, self.level or 0)


def _named(table: dict[int, Perk], number: int) -> Perk:
    return table.get(number) or Perk(name=f"step {number}", unlocks="(not described)")


def standing(suite: ContractSuite, account: str, perks: PerkTable | None = None) -> Standing:
    """The account's tier, level and medallions, each step named with what it unlocks."""
    perks = perks or load_perks()
    block = suite.agt.w3.eth.block_number
    info = suite.stake_info(account, block=block)
    level = suite.membership_level(account, block=block)
    thresholds = call(suite.staking_vault.functions.tierThresholds(), block=block)
    prices = call(suite.alaya_nft.functions.upgradePrices(), block=block)
    tiers = tuple(Step(n, _named(perks.stake_tiers, n).name, _named(perks.stake_tiers, n).unlocks,
                       thresholds[n - 1] if n else None, info.tier >= n) for n in range(len(thresholds) + 1))
    levels = tuple(Step(n, _named(perks.levels, n).name, _named(perks.levels, n).unlocks,
                        prices[n - 1] if n else None, level is not None and level >= n) for n in range(len(prices) + 1))
    held = []
    for kind, perk in sorted(perks.medallions.items()):
        if call(suite.medallion.functions.medallionOf(account, kind), block=block):
            held.append(Step(kind, perk.name, perk.unlocks, None, True))
    return Standing(info.tier, level, tiers, levels, tuple(held))
