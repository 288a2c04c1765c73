"""Signatures over submission payloads: canonical JSON, its SHA-256, EIP-191 personal_sign.

The workstation and the coordinator hash identical bytes for the same payload because both
use `canonical_json`. What the wallet signs is not the bare digest but one short line of text
that names it (`submission_text`), so a wallet that shows the message shows what is signed.

Also the EIP-191 primitives that `siwe` builds on: `sign_text` and `recover_text_signer`.
Depends only on the standard library, eth-account (signing), and for recovery coincurve (C
libsecp256k1) and pycryptodome's keccak, called directly: ~0.3 ms per recovery.
Only externally owned accounts: contract wallets (EIP-1271) are out of scope.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from coincurve import PublicKey
from Crypto.Hash import keccak as keccak_hash
from eth_account import Account
from eth_account.messages import encode_defunct

SUBMISSION_PREFIX = "Alaya submission sha256:"
_PERSONAL_PREFIX = b"\x19Ethereum Signed Message:\n"
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SIGNATURE = re.compile(r"(?:0x)?([0-9a-fA-F]{130})")


class SignatureError(ValueError):
    """A signature that is malformed or does not recover to a public key."""


def canonical_json(obj: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no spaces, no NaN or infinity (ValueError)."""
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate in a string
        raise ValueError(f"not representable as UTF-8 JSON: {exc.reason}") from None
    except ValueError as exc:
        raise ValueError(f"not representable as canonical JSON: {exc}") from None


def payload_digest(obj: Any) -> str:
    """Lowercase hex SHA-256 of `canonical_json(obj)`."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def submission_text(digest_hex: str) -> str:
    """The human-readable line that the wallet signs for one submission digest."""
    if not isinstance(digest_hex, str) or _DIGEST.fullmatch(digest_hex) is None:
        raise ValueError("a submission digest is 64 lowercase hex characters (SHA-256)")
    return SUBMISSION_PREFIX + digest_hex


def sign_digest(digest_hex: str, private_key: Any) -> str:
    """EIP-191 personal_sign of `submission_text(digest_hex)`: "0x" + 130 hex characters."""
    return sign_text(submission_text(digest_hex), private_key)


def recover_digest_signer(digest_hex: str, signature: str | bytes) -> str:
    """The EIP-55 address that signed this digest; SignatureError when the signature is bad."""
    return recover_text_signer(submission_text(digest_hex), signature)


def recover_digest_address(digest_hex: str, signature: str | bytes) -> bytes:
    """`recover_digest_signer` as 20 raw bytes (no checksum: for comparing)."""
    return recover_text_address(submission_text(digest_hex), signature)


def sign_text(text: str, private_key: Any) -> str:
    """EIP-191 personal_sign (version 0x45) of `text`, as "0x" + r + s + v (v is 27 or 28)."""
    signed = Account.sign_message(encode_defunct(text=text), private_key)
    return "0x" + bytes(signed.signature).hex()


def personal_hash(data: bytes) -> bytes:
    """keccak256("\\x19Ethereum Signed Message:\\n" + len(data) + data): what personal_sign signs."""
    return _keccak256(_PERSONAL_PREFIX + str(len(data)).encode("ascii") + data)


def recover_text_signer(text: str, signature: str | bytes) -> str:
    """The EIP-55 address whose key made this personal_sign signature over `text`.

    A valid signature over another text recovers another (random) address: compare the result
    with the expected signer. Malformed input raises SignatureError, never an eth-keys error.
    """
    return checksum_address(recover_text_address(text, signature))


def recover_text_address(text: str, signature: str | bytes) -> bytes:
    """`recover_text_signer` as the 20 raw bytes of the address: what a server compares, without
    spending a third keccak on the checksum."""
    v, r, s = decode_signature(signature)
    digest = personal_hash(text.encode("utf-8"))
    try:  # coincurve straight, not through eth-keys' objects: half the time per recovery (the ingest path)
        point = PublicKey.from_signature_and_message(
            r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v]), digest, hasher=None)
    except Exception as exc:  # coincurve raises several unrelated types
        raise SignatureError(f"the signature does not recover to a public key ({type(exc).__name__})") from None
    return _keccak256(point.format(compressed=False)[1:])[-20:]


def checksum_address(address: bytes) -> str:
    """EIP-55: the hex letters whose nibble in keccak256(lowercase hex) is >= 8 are upper case."""
    lower = address.hex()
    mask = _keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(m, 16) >= 8 else c for c, m in zip(lower, mask))


def _keccak256(data: bytes) -> bytes:
    return keccak_hash.new(digest_bits=256, data=data).digest()


def decode_signature(signature: str | bytes) -> tuple[int, int, int]:
    """(v in {0, 1}, r, s) from 65 bytes r ‖ s ‖ v, given as bytes or hex with or without "0x".

    v may be 27/28 (personal_sign) or 0/1 (raw). r and s must lie in [1, n-1] and s in the
    lower half of the curve order (EIP-2), so each signature has exactly one accepted form.
    """
    if isinstance(signature, str):
        match = _SIGNATURE.fullmatch(signature)
        if match is None:
            raise SignatureError("a signature is 65 bytes written as 130 hex characters (optionally 0x-prefixed)")
        raw = bytes.fromhex(match.group(1))
    elif isinstance(signature, (bytes, bytearray, memoryview)):
        raw = bytes(signature)
        if len(raw) != 65:
            raise SignatureError(f"a signature is 65 bytes, got {len(raw)}")
    else:
        raise SignatureError(f"a signature is hex text or bytes, got {type(signature).__name__}")
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise SignatureError(f"the signature's recovery byte v must be 27, 28, 0 or 1, got {raw[64]}")
    if not (0 < r < _SECP256K1_N and 0 < s < _SECP256K1_N):
        raise SignatureError("the signature's r or s lies outside the curve order")
    if s > _SECP256K1_N // 2:
        raise SignatureError("the signature's s is in the upper half of the curve order (not EIP-2 canonical)")
    return v, r, s
