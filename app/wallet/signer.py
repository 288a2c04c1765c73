"""Signers: what the sync engine and the chain code sign with, without seeing a key.

`Signer` is the protocol: an address and four kinds of signature. `LocalSigner` asks its key
source for the key at each call, so a signer handed out by an unlocked wallet stops working
(`WalletLocked`) the moment the wallet locks. `LocalSigner.from_keystore` opens a keystore v3
file directly, for tools that take `--keystore PATH`. `LocalSigner.sign_text` makes it the sync
engine's signer too (`app.sync.signer.Signer`: an address and `sign_text`).

Message signatures are EIP-191 personal_sign, "0x" + r ‖ s ‖ v (v 27/28): the format of
`app.sync.signing.sign_text` and what `recover_text_signer` and SIWE verification expect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_account.messages import encode_defunct

from app.wallet import keystore as ks


@runtime_checkable
class Signer(Protocol):
    @property
    def address(self) -> str: ...

    def sign_message(self, message: str | bytes) -> str:
        """EIP-191 personal_sign of text (UTF-8) or bytes: "0x" + 130 hex characters."""

    def sign_typed_data(self, full_message: Mapping[str, Any]) -> str:
        """EIP-712 signature of a full typed-data message (types with EIP712Domain, domain,
        primaryType, message): "0x" + 130 hex characters."""

    def sign_transaction(self, transaction: Mapping[str, Any]) -> bytes:
        """The signed raw transaction, ready for eth_sendRawTransaction."""


class LocalSigner:
    def __init__(self, address: str, key_source: Callable[[], bytes]) -> None:
        self._address = address
        self._key_source = key_source

    @classmethod
    def from_keystore(cls, path: Path, password: str) -> LocalSigner:
        key = ks.decrypt_key(ks.read_keystore(Path(path)), password, where=str(path))
        return cls(Account.from_key(key).address, lambda: key)

    @property
    def address(self) -> str:
        return self._address

    def __repr__(self) -> str:  # never the key
        return f"LocalSigner({self._address})"

    def sign_message(self, message: str | bytes) -> str:
        if isinstance(message, str):
            signable = encode_defunct(text=message)
        else:
            signable = encode_defunct(primitive=bytes(message))
        return "0x" + bytes(Account.sign_message(signable, self._key_source()).signature).hex()

    def sign_text(self, text: str) -> str:
        """The sync engine's name for it (`app.sync.signer.Signer`): the same EIP-191 signature."""
        return self.sign_message(text)

    def sign_typed_data(self, full_message: Mapping[str, Any]) -> str:
        signed = Account.sign_typed_data(self._key_source(), full_message=dict(full_message))
        return "0x" + bytes(signed.signature).hex()

    def sign_transaction(self, transaction: Mapping[str, Any]) -> bytes:
        return bytes(Account.sign_transaction(dict(transaction), self._key_source()).raw_transaction)
