"""`wallet.json`: what a wallet folder holds, validated; no secret in it is readable.

A wallet is either `hd` (created, or imported from a recovery phrase: accounts by BIP-44
index) or `key` (one imported private key). `secret` is what unlocking needs, sealed with the
wallet password (scrypt): the 64-byte BIP-39 seed of an hd wallet (so new indices can be
derived after unlock), the private key of a key wallet. Unlocking reads this one file only,
so changing the protection is one atomic write. The recovery phrase itself is never stored,
encrypted or not: the seed is enough to derive accounts, and the phrase is the user's paper
backup. Each account also has a standard keystore v3 file beside it (same password), for any
tool that reads one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import pydantic
from eth_utils import is_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.files import atomic_file
from app.wallet.errors import KeystoreError, WalletError
from app.wallet.keys import MAX_ACCOUNT_INDEX

WALLET_FILE = "wallet.json"
KEYSTORE_DIR = "keystores"
MAX_RECORD_BYTES = 1 << 20
_FILE_NAME = re.compile(r"[0-9a-fA-F]{40}\.json")


class AccountRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int | None = Field(None, ge=0, le=MAX_ACCOUNT_INDEX)
    address: str
    keystore: str  # a file name in keystores/, never a path

    @field_validator("address")
    @classmethod
    def _checksummed(cls, value: str) -> str:
        if not is_checksum_address(value):
            raise ValueError("must be an EIP-55 checksummed address")
        return value

    @field_validator("keystore")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _FILE_NAME.fullmatch(value):
            raise ValueError("must be a keystore file name (40 hex characters + .json)")
        return value


class WalletRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["alaya-wallet"] = "alaya-wallet"
    version: Literal[1] = 1
    id: str = Field(min_length=1, max_length=64)
    kind: Literal["hd", "key"]
    protected_by: Literal["keychain", "passphrase"]
    accounts: list[AccountRecord] = Field(min_length=1)
    secret: dict[str, Any]  # keystore v3 "crypto" section: the sealed seed (hd) or private key (key)

    @model_validator(mode="after")
    def _consistent(self) -> WalletRecord:
        if self.kind == "hd" and any(a.index is None for a in self.accounts):
            raise ValueError("an hd wallet has an index for every account")
        if self.kind == "key" and (len(self.accounts) != 1 or self.accounts[0].index is not None):
            raise ValueError("a key wallet has exactly one account and no index")
        addresses = [a.address for a in self.accounts]
        if len(set(addresses)) != len(addresses) or len({a.index for a in self.accounts}) != len(addresses):
            raise ValueError("an account is listed twice")
        return self

    def account(self, address: str | None = None) -> AccountRecord:
        """The account with this address (any case), or the first one."""
        if address is None:
            return self.accounts[0]
        for account in self.accounts:
            if account.address.lower() == address.lower():
                return account
        raise WalletError(f"the wallet has no account {address}")

    @property
    def secret_bytes(self) -> int:
        return 64 if self.kind == "hd" else 32

    def next_index(self) -> int:
        return max(a.index or 0 for a in self.accounts) + 1


def keystore_name(address: str) -> str:
    return address.removeprefix("0x").lower() + ".json"


def read_record(folder: Path) -> WalletRecord:
    path = folder / WALLET_FILE
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_RECORD_BYTES + 1)
    except FileNotFoundError:
        raise WalletError(f"no wallet in {folder}: create one (alaya wallet create) or import one") from None
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot read the wallet ({exc.strerror})") from None
    try:
        return WalletRecord.model_validate(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        detail = _first_error(exc) if isinstance(exc, pydantic.ValidationError) else "not JSON (truncated?)"
        raise KeystoreError(f"{path}: the wallet file is damaged: {detail}; nothing was changed") from None


def write_record(folder: Path, record: WalletRecord) -> None:
    with atomic_file(folder / WALLET_FILE, private=True) as handle:
        handle.write(record.model_dump_json(indent=2) + "\n")


def _first_error(exc: pydantic.ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "file"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"
