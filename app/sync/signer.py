"""Who signs: a tiny protocol (an address and personal_sign of a text) that the wallet
(`app/wallet`) implements, and a signer over an eth-account keystore v3 file for now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from eth_account import Account
from eth_keys import keys

from app.core.errors import StorageError, ValidationError
from app.sync.errors import AuthError
from app.sync.signing import personal_hash


class Signer(Protocol):
    @property
    def address(self) -> str: ...

    def sign_text(self, text: str) -> str:
        """EIP-191 personal_sign of `text`: "0x" + 130 hex characters."""
        ...


class KeySigner:
    """A signer over a private key held in memory (never logged, never shown).

    Signs with eth-keys directly (its coincurve backend): the same bytes as eth-account's
    `sign_message` (a test holds them equal) at less than half the cost, which matters when a
    queue of thousands is signed on its way out."""

    def __init__(self, private_key: Any) -> None:
        account = Account.from_key(private_key)
        self._key = keys.PrivateKey(bytes(account.key))
        self._address = account.address

    @property
    def address(self) -> str:
        return self._address

    def sign_text(self, text: str) -> str:
        """EIP-191 personal_sign: r ‖ s ‖ v with v = 27 or 28, as "0x" + 130 hex."""
        signature = self._key.sign_msg_hash(personal_hash(text.encode("utf-8")))
        return "0x" + (signature.r.to_bytes(32, "big") + signature.s.to_bytes(32, "big")
                       + bytes([signature.v + 27])).hex()

    def __repr__(self) -> str:
        return f"KeySigner({self._address})"


def keystore_signer(path: Path, passphrase: str) -> KeySigner:
    """The signer of an eth-account keystore v3 JSON file; clear errors for a missing or
    malformed file and a wrong passphrase."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise StorageError(f"cannot read the keystore {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"not a keystore file (invalid JSON: {exc})", where=str(path)) from None
    if not isinstance(document, dict) or "crypto" not in {k.lower() for k in document}:
        raise ValidationError("not an Ethereum keystore v3 file (no 'crypto' section)", where=str(path))
    try:
        key = Account.decrypt(document, passphrase)
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise AuthError(f"wrong passphrase for the keystore {path}") from None
        raise ValidationError(f"the keystore cannot be read: {exc}", where=str(path)) from None
    except (KeyError, TypeError) as exc:
        raise ValidationError(f"the keystore is incomplete (missing {exc})", where=str(path)) from None
    return KeySigner(key)
