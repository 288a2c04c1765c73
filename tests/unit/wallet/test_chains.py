"""The chain list is data, validated with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.settings import load_settings
from app.wallet.chains import get_chain, load_chains, parse_chains
from app.wallet.errors import WalletError

GOOD = """
chains:
  dev:
    chain_id: 1337
    name: Dev
    rpc_urls: [http://127.0.0.1:8545]
    native_symbol: ETH
    testnet: true
    poa: false
    confirmations: 0
    contracts: {StakingVault: "0x5FbDB2315678afecb367f032d93F642f64180aa3"}
"""


def test_shipped_chains() -> None:
    chains = load_chains()
    expected = {"arbitrum-one": 42161, "arbitrum-sepolia": 421614, "opbnb": 204, "polygon": 137,
                "polygon-amoy": 80002, "bsc": 56, "local": 31337}
    assert {key: chain.chain_id for key, chain in chains.items()} == expected
    assert [k for k, c in chains.items() if c.poa] == ["polygon", "polygon-amoy", "bsc"]
    assert all(chain.key == key for key, chain in chains.items())
    default = load_settings(policy_file=False, env={}).settings.wallet.chain
    assert get_chain(default).testnet


def test_contract_addresses() -> None:
    dev = parse_chains(GOOD, where="c.yaml")["dev"]
    assert dev.contract("StakingVault") == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    with pytest.raises(WalletError, match="AGT is not deployed on Dev"):
        dev.contract("AGT")


@pytest.mark.parametrize(("change", "message"), [
    (("chain_id: 1337", "chain_id: -1"), "chains.dev.chain_id"),
    (("chain_id: 1337", "chain_id: true"), "not true/false"),
    (("rpc_urls: [http://127.0.0.1:8545]", "rpc_urls: []"), "chains.dev.rpc_urls"),
    (("rpc_urls: [http://127.0.0.1:8545]", "rpc_urls: [ftp://x]"), "chains.dev.rpc_urls.0"),
    (("aa3", "AA3"), "not an EIP-55 checksummed address"),
    (("poa: false", "poa: maybe"), "chains.dev.poa"),
    (("    confirmations: 0\n", ""), "chains.dev.confirmations"),
    (("  dev:", "  Dev Chain:"), "chain key"),
    (("name: Dev", "name: Dev\n    colour: red"), "chains.dev.colour"),
    (("chains:", "chains: ["), "not valid YAML"),
    (("    confirmations: 0\n", "    confirmations: 0\n    deployed_at_block: -5\n"), "chains.dev.deployed_at_block"),
    (("    confirmations: 0\n", "    confirmations: 0\n    log_window: 0\n"), "chains.dev.log_window"),
    (("    confirmations: 0\n", "    confirmations: 0\n    log_window: true\n"), "not true/false"),
])
def test_bad_chain_lists_are_refused_clearly(change: tuple[str, str], message: str) -> None:
    with pytest.raises(WalletError, match=message) as caught:
        parse_chains(GOOD.replace(*change), where="c.yaml")
    assert str(caught.value).startswith("c.yaml: ")


def test_duplicate_chain_ids_and_unknown_chain(tmp_path: Path) -> None:
    twice = GOOD + GOOD.replace("chains:\n", "").replace("  dev:", "  dev2:")
    with pytest.raises(WalletError, match="same chain id 1337"):
        parse_chains(twice, where="c.yaml")
    path = tmp_path / "chains.yaml"
    path.write_text(GOOD)
    with pytest.raises(WalletError, match="unknown chain 'mainnet'; known chains: dev"):
        get_chain("mainnet", path)
    with pytest.raises(WalletError, match="cannot read"):
        load_chains(tmp_path / "missing.yaml")
