"""Alaya's contracts from Python: compiled artifacts, deployment, and sending with decoded reverts.

Artifacts are the committed JSON files in `resources/contracts/` (rebuilt by `make contracts`):
`{contractName, sourceName, abi, bytecode, deployedBytecode, userdoc, devdoc,
compiler: {version, settings}, sourcesSha256}`.

`deploy_suite` puts all six contracts on a chain (a local anvil, a testnet) wired together and
returns a `ContractSuite`; `suite.addresses()` is the data a chain entry keeps:
`{"AGT": "0x...", "StakingVault": "0x...", "AlayaNFT": ..., "Medallion": ..., "RewardPool": ...,
"AuditAnchor": ...}`, and `ContractSuite.at(w3, addresses)` opens them again. Its typed reads
(`stake_info`, `membership_level`, `epoch`, `has_claimed`, `anchor`) take a `block` so that a
caller can cache them per block.

`send` simulates a call first (so a revert is shown, decoded, before any gas is paid), then
sends it from a node-managed account (an address) or a local key (a `LocalAccount`), waits for
the receipt, and decodes a transaction that failed on chain by replaying it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import TxReceipt

from app.core.errors import NotFoundError, StorageError, ValidationError
from app.wallet.revert import ContractReverted, DecodedRevert, RevertDecoder

ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "resources" / "contracts"
CONTRACT_NAMES = ("AGT", "StakingVault", "AlayaNFT", "Medallion", "RewardPool", "AuditAnchor")
Sender = str | LocalAccount
RECEIPT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    settings: dict[str, Any]
    sources_sha256: str
    userdoc: dict[str, Any]
    devdoc: dict[str, Any]


def load_artifact(name: str, directory: Path = ARTIFACTS_DIR) -> Artifact:
    """The artifact of contract `name` (one of CONTRACT_NAMES, or any JSON file in `directory`)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValidationError(f"not a contract name: {name!r}", where="contract")
    return _load_artifact(name, Path(directory))


@cache
def _load_artifact(name: str, directory: Path) -> Artifact:
    path = directory / f"{name}.json"
    if not path.is_file():
        raise NotFoundError(f"no compiled contract {name!r} in {directory} (known: {', '.join(CONTRACT_NAMES)})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        compiler = raw["compiler"]
        return Artifact(name=raw["contractName"], abi=raw["abi"], bytecode=raw["bytecode"],
                        deployed_bytecode=raw["deployedBytecode"], compiler_version=compiler["version"],
                        settings=compiler["settings"], sources_sha256=raw["sourcesSha256"],
                        userdoc=raw.get("userdoc", {}), devdoc=raw.get("devdoc", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"contract artifact {path} is unreadable ({exc!s}): run `make contracts`") from exc


@cache
def revert_decoder() -> RevertDecoder:
    """A decoder that knows the custom errors of every Alaya contract."""
    decoder = RevertDecoder()
    for name in CONTRACT_NAMES:
        artifact = load_artifact(name)
        decoder.add_abi(artifact.abi, artifact.userdoc, artifact.devdoc)
    return decoder


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object for `name` at `address`, checked to have code on this chain."""
    checksummed = _checksum(address, name)
    if not w3.eth.get_code(checksummed):
        raise NotFoundError(f"no contract at {checksummed} on chain {w3.eth.chain_id} (expected {name})")
    return w3.eth.contract(address=checksummed, abi=load_artifact(name).abi)


def call(function: ContractFunction, sender: Sender | None = None, *, block: int | str = "latest") -> Any:
    """Run a read-only call (or simulate a transaction); a revert raises ContractReverted, decoded."""
    params = {} if sender is None else {"from": _sender_address(sender)}
    with revert_decoder().reverts_decoded():
        return function.call(params, block_identifier=block)


# --- sending ---------------------------------------------------------------------------------
def send(w3: Web3, transaction: ContractFunction | ContractConstructor, sender: Sender, *, value: int = 0,
         gas: int | None = None, simulate: bool = True) -> TxReceipt:
    """Send `transaction` from `sender` and return its successful receipt; refusals raise ContractReverted.

    Without `gas`, estimating it simulates the call too (constructors included). `simulate=False`
    with a fixed `gas` sends even a call that would revert (tests use it to see an on-chain
    failure decoded)."""
    address = _sender_address(sender)
    _non_negative_int(value, "value")
    if gas is not None:
        _non_negative_int(gas, "gas")
    params: dict[str, Any] = {"from": address, "value": value}
    if gas is not None:
        params["gas"] = gas
    with revert_decoder().reverts_decoded():
        if simulate and isinstance(transaction, ContractFunction):
            transaction.call(dict(params))  # a revert here costs the user nothing
        if isinstance(sender, LocalAccount):
            params["nonce"] = w3.eth.get_transaction_count(address, "pending")
            signed = sender.sign_transaction(transaction.build_transaction(params))
            tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        else:
            tx_hash = transaction.transact(params)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
    if receipt["status"] != 1:
        raise ContractReverted(replay_failed_transaction(w3, tx_hash))
    return receipt


def replay_failed_transaction(w3: Web3, tx_hash: bytes | str) -> DecodedRevert:
    """Why a mined transaction failed: it is replayed as a call on the state before its block."""
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    if receipt["status"] == 1:
        raise ValidationError(f"transaction {Web3.to_hex(tx_hash)} succeeded; there is no failure to explain",
                              where="transaction")
    tx = w3.eth.get_transaction(tx_hash)
    replay = {"from": tx["from"], "to": tx.get("to"), "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
    decoder = revert_decoder()
    out_of_gas = DecodedRevert("out-of-gas", "", {}, f"The transaction ran out of gas (limit {tx['gas']}).", b"")
    ran_out = receipt["gasUsed"] >= tx["gas"]
    try:
        w3.eth.call(replay, block_identifier=receipt["blockNumber"] - 1)
    except Exception as exc:
        decoded = decoder.decode_exception(exc)
        if decoded is not None:
            return decoded
        if ran_out:  # nodes answer the replay with an RPC error ("EVM error OutOfGas"), not a revert
            return out_of_gas
        raise
    # The replay passed: the state moved since, or the limit was too low for what the call does.
    return out_of_gas if ran_out else decoder.decode(b"")


def block_windows(first: int, last: int, window: int, *, newest_first: bool = False) -> Iterator[tuple[int, int]]:
    """Inclusive (from, to) block ranges of at most `window` blocks covering first..last: how an
    event search asks a node that refuses wide eth_getLogs ranges (public RPCs: ~10,000 blocks)."""
    if window < 1:
        raise ValueError("a block window holds at least one block")
    starts = range(first, last + 1, window)
    for start in reversed(starts) if newest_first else starts:
        yield start, min(start + window - 1, last)


def deploy(w3: Web3, name: str, *args: Any, sender: Sender) -> Contract:
    """Deploy contract `name` with constructor `args` from `sender`; returns the deployed contract."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(w3, factory.constructor(*args), sender)
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


# --- the whole suite -----------------------------------------------------------------------
@dataclass(frozen=True)
class SuiteConfig:
    """Deployment parameters. Amounts are in AGT's smallest unit (18 decimals)."""

    initial_supply: int = 100_000_000 * 10**18
    unbonding_delay_s: int = 7 * 24 * 3600
    tier_thresholds: tuple[int, ...] = (100 * 10**18, 1_000 * 10**18, 10_000 * 10**18)
    upgrade_prices: tuple[int, ...] = (50 * 10**18, 200 * 10**18, 1_000 * 10**18)


@dataclass(frozen=True)
class StakeInfo:
    """An account's position in the StakingVault. Amounts in AGT's smallest unit."""

    active: int  # counts for the tier
    pending: int  # asked to unstake, withdrawable from unlock_at
    unlock_at: int  # unix time; 0 when nothing is pending
    tier: int


@dataclass(frozen=True)
class EpochInfo:
    """One RewardPool epoch."""

    token: str
    opens_at: int
    closes_at: int
    funded: int
    claimed: int


@dataclass(frozen=True)
class AnchorInfo:
    """One AuditAnchor entry."""

    root: bytes
    leaf_count: int
    anchored_at: int


@dataclass(frozen=True)
class ContractSuite:
    """The six deployed contracts of one chain, as web3 contract objects."""

    agt: Contract
    staking_vault: Contract
    alaya_nft: Contract
    medallion: Contract
    reward_pool: Contract
    audit_anchor: Contract

    @classmethod
    def at(cls, w3: Web3, addresses: Mapping[str, str]) -> ContractSuite:
        """Open a deployed suite from its addresses (the output of `addresses()`)."""
        if not isinstance(addresses, Mapping):
            raise ValidationError("addresses must map contract names to addresses", where="addresses")
        missing = [name for name in CONTRACT_NAMES if name not in addresses]
        if missing:
            raise ValidationError(f"no address for {', '.join(missing)}", where="addresses")
        opened = [contract_at(w3, name, addresses[name]) for name in CONTRACT_NAMES]
        return cls(*opened)

    def addresses(self) -> dict[str, str]:
        """{contract name: checksummed address}, in CONTRACT_NAMES order."""
        contracts = [getattr(self, item.name) for item in fields(self)]
        return {name: contract.address for name, contract in zip(CONTRACT_NAMES, contracts)}

    # Typed reads. `block` pins them to one block (a number or hash), so a caller can cache per block.
    def stake_info(self, account: str, block: int | str = "latest") -> StakeInfo:
        vault, who = self.staking_vault.functions, _checksum(account, "account")
        pending, unlock_at = call(vault.pendingUnstakeOf(who), block=block)
        return StakeInfo(call(vault.stakeOf(who), block=block), pending, unlock_at,
                         call(vault.tierOf(who), block=block))

    def membership_level(self, account: str, block: int | str = "latest") -> int | None:
        """The level of `account`'s membership card, or None when it holds none."""
        nft, who = self.alaya_nft.functions, _checksum(account, "account")
        token_id = call(nft.membershipOf(who), block=block)
        return None if token_id == 0 else call(nft.levelOfToken(token_id), block=block)

    def epoch(self, epoch_id: int, block: int | str = "latest") -> EpochInfo | None:
        """RewardPool epoch `epoch_id`, or None when it was never opened."""
        epochs = self.reward_pool.functions.epochs(_non_negative_int(epoch_id, "epoch"))
        token, opens_at, closes_at, funded, claimed = call(epochs, block=block)
        return None if int(token, 16) == 0 else EpochInfo(token, opens_at, closes_at, funded, claimed)

    def has_claimed(self, epoch_id: int, account: str, block: int | str = "latest") -> bool:
        claimed = self.reward_pool.functions.claimed(_non_negative_int(epoch_id, "epoch"), _checksum(account, "account"))
        return call(claimed, block=block)

    def anchor(self, epoch_id: int, block: int | str = "latest") -> AnchorInfo | None:
        """The root anchored for `epoch_id`, or None when there is none yet."""
        anchors = self.audit_anchor.functions.anchors(_non_negative_int(epoch_id, "epoch"))
        root, leaf_count, anchored_at = call(anchors, block=block)
        return None if root == bytes(32) else AnchorInfo(root, leaf_count, anchored_at)


def deploy_suite(w3: Web3, deployer: Sender, *, coordinator: str, treasury: str,
                 config: SuiteConfig = SuiteConfig()) -> ContractSuite:
    """Deploy all six contracts. `deployer` owns and administers them; `coordinator` may mint
    medallions, open epochs, sign vouchers and anchor roots; `treasury` receives the AGT supply."""
    admin = _sender_address(deployer)
    coordinator, treasury = _checksum(coordinator, "coordinator"), _checksum(treasury, "treasury")
    agt = deploy(w3, "AGT", treasury, config.initial_supply, sender=deployer)
    vault = deploy(w3, "StakingVault", agt.address, config.unbonding_delay_s, list(config.tier_thresholds), admin,
                   sender=deployer)
    nft = deploy(w3, "AlayaNFT", agt.address, list(config.upgrade_prices), admin, sender=deployer)
    medallion = deploy(w3, "Medallion", admin, coordinator, sender=deployer)
    pool = deploy(w3, "RewardPool", admin, coordinator, sender=deployer)
    anchor = deploy(w3, "AuditAnchor", admin, coordinator, sender=deployer)
    return ContractSuite(agt, vault, nft, medallion, pool, anchor)


def voucher_typed_data(pool: Contract, chain_id: int, *, epoch: int, account: str, amount: int,
                       deadline: int) -> dict[str, Any]:
    """The EIP-712 message a RewardPool voucher is, for `Account.sign_typed_data(full_message=...)`."""
    for label, number in (("chain_id", chain_id), ("epoch", epoch), ("amount", amount), ("deadline", deadline)):
        _non_negative_int(number, label)
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Voucher": [{"name": "epoch", "type": "uint256"}, {"name": "account", "type": "address"},
                        {"name": "amount", "type": "uint256"}, {"name": "deadline", "type": "uint256"}],
        },
        "primaryType": "Voucher",
        "domain": {"name": "Alaya RewardPool", "version": "1", "chainId": chain_id,
                   "verifyingContract": _checksum(pool.address, "pool")},
        "message": {"epoch": epoch, "account": _checksum(account, "account"), "amount": amount, "deadline": deadline},
    }


def _sender_address(sender: Sender) -> str:
    if isinstance(sender, LocalAccount):
        return sender.address
    return _checksum(sender, "sender")


def _checksum(address: Any, where: str) -> str:
    # eth-account signs typed data with a wrongly checksummed address without complaint: normalise.
    if not isinstance(address, str) or not is_address(address):
        raise ValidationError(f"not an address: {address!r}", where=where)
    return to_checksum_address(address)


def _non_negative_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"must be a non-negative integer, not {value!r}", where=where)
    return value
