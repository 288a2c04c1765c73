"""Amounts in and out of the CLI, and the perk table: what a user types and reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.wallet.errors import WalletError
from app.wallet.perks import load_perks
from app.wallet.staking import parse_agt
from app.wallet.transactions import format_units


@pytest.mark.parametrize(("text", "wei"), [("1", 10**18), ("12.5", 125 * 10**17), ("0.000000000000000001", 1),
                                           (" 1000 ", 1000 * 10**18)])
def test_amounts_typed_in_agt(text: str, wei: int) -> None:
    assert parse_agt(text) == wei


@pytest.mark.parametrize("text", ["0", "-1", "1,5", "abc", "nan", "inf", "0.0000000000000000001", ""])
def test_amounts_refused_in_one_sentence(text: str) -> None:
    with pytest.raises(WalletError, match="AGT"):
        parse_agt(text)


@pytest.mark.parametrize(("wei", "text"), [(0, "0"), (10**18, "1"), (1234500000000000000, "1.2345"),
                                           (1, "0"), (10**12, "0.000001")])
def test_amounts_shown(wei: int, text: str) -> None:
    assert format_units(wei) == text


def test_the_perk_table_describes_every_step() -> None:
    perks = load_perks()
    assert sorted(perks.stake_tiers) == [0, 1, 2, 3] and sorted(perks.levels) == [0, 1, 2, 3]
    assert all(p.unlocks for p in [*perks.stake_tiers.values(), *perks.levels.values(), *perks.medallions.values()])


def test_a_broken_perk_table_is_named(tmp_path: Path) -> None:
    path = tmp_path / "perks.yaml"
    path.write_text("stake_tiers: {0: {name: A, unlocks: x, extra: 1}}\nlevels: {}\nmedallions: {}\n")
    with pytest.raises(WalletError, match=r"perks.yaml: stake_tiers.0.extra: Extra inputs are not permitted"):
        load_perks(path)
    with pytest.raises(WalletError, match="cannot read the perk table"):
        load_perks(tmp_path / "absent.yaml")
