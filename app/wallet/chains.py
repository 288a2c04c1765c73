"""The chains the wallet knows, as data: `resources/wallet/chains.yaml`, validated here.

Each chain has an id (the key, e.g. "arbitrum-sepolia"), its EIP-155 chain id, RPC URLs, an
explorer, the native token's symbol, the PoA flag (web3 needs `ExtraDataToPOAMiddleware` on
BSC and Polygon), the confirmations to wait, and the addresses of our contracts there (empty
until deployed). The chain a workspace uses is the setting `wallet.chain`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pydantic
import yaml
from eth_utils import is_checksum_address
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from app.wallet.errors import WalletError

CHAINS_FILE = Path(__file__).resolve().parents[2] / "resources" / "wallet" / "chains.yaml"
_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_CONTRACT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,39}")


class Chain(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = ""  # filled from the mapping key
    chain_id: int = Field(gt=0, lt=2**53)
    name: str = Field(min_length=1, max_length=60)
    rpc_urls: list[AnyHttpUrl] = Field(min_length=1)
    explorer: AnyHttpUrl | None = None
    native_symbol: str = Field(pattern=r"^[A-Z0-9]{2,10}$")
    testnet: bool
    poa: bool
    confirmations: int = Field(ge=0, le=1000)
    contracts: dict[str, str] = Field(default_factory=dict)  # contract name -> EIP-55 address
    # event searches (claim history) start at the contracts' deployment, not at block 0, and ask
    # for at most `log_window` blocks at a time: public RPC nodes refuse wider eth_getLogs ranges
    deployed_at_block: int = Field(default=0, ge=0, lt=2**53)
    log_window: int = Field(default=10_000, ge=1, le=10_000_000)

    @field_validator("chain_id", "confirmations", "deployed_at_block", "log_window", mode="before")
    @classmethod
    def _not_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a whole number, not true/false")
        return value

    @field_validator("contracts")
    @classmethod
    def _addresses(cls, contracts: dict[str, str]) -> dict[str, str]:
        for name, address in contracts.items():
            if not _CONTRACT_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a contract name (letters and digits)")
            if not isinstance(address, str) or not is_checksum_address(address):
                raise ValueError(f"{name}: {address!r} is not an EIP-55 checksummed address")
        return contracts

    def contract(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            raise WalletError(f"{name} is not deployed on {self.name} yet (no address in the chain list)") from None


class ChainList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    chains: dict[str, Chain] = Field(min_length=1)

    @model_validator(mode="after")
    def _keys_and_ids(self) -> ChainList:
        seen: dict[int, str] = {}
        for key, chain in self.chains.items():
            if not _KEY.fullmatch(key):
                raise ValueError(f"chain key {key!r}: lower-case letters, digits and dashes")
            if chain.chain_id in seen:
                raise ValueError(f"{key} and {seen[chain.chain_id]} have the same chain id {chain.chain_id}")
            seen[chain.chain_id] = key
        return self


def parse_chains(text: str, *, where: str) -> dict[str, Chain]:
    """Chains from YAML text; a `WalletError` naming the file and the field otherwise."""
    try:
        data = yaml.safe_load(text)
        parsed = ChainList.model_validate(data)
    except yaml.YAMLError as exc:
        raise WalletError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise WalletError(f"{where}: {field}: {error['msg'].removeprefix('Value error, ')}") from None
    return {key: chain.model_copy(update={"key": key}) for key, chain in parsed.chains.items()}


@cache
def _load(path: Path) -> dict[str, Chain]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WalletError(f"{path}: cannot read the chain list ({exc.strerror})") from None
    return parse_chains(text, where=str(path))


def load_chains(path: Path = CHAINS_FILE) -> dict[str, Chain]:
    return dict(_load(Path(path)))


def get_chain(key: str, path: Path = CHAINS_FILE) -> Chain:
    chains = load_chains(path)
    if key not in chains:
        raise WalletError(f"unknown chain {key!r}; known chains: {', '.join(chains)}")
    return chains[key]
