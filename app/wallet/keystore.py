"""Keystore v3 files (scrypt, AES-128-CTR, keccak MAC) and a sealed blob in the same format.

Every file we write uses scrypt with `SCRYPT_N` (2**18, r=8, p=1: what eth-account and geth
use; ~0.7 s and 256 MiB per operation), mode 0600, written atomically. Files we read may come
from other wallets, so their parameters are checked first: a corrupted or hostile file must not
make scrypt allocate gigabytes or run for minutes. Decryption of key files is eth-account's
(`Account.decrypt`), so what we write stays readable by any v3 tool (and by the sync engine's
`--keystore PATH`).

`seal`/`unseal` encrypt bytes that are not a private key (the 64-byte BIP-39 seed) with the
same scheme; `unseal` decrypts through eth-keyfile, which accepts any plaintext length.

Tests pass a light `scrypt_n` (2**12) to keep runs short; users always get `SCRYPT_N`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from Crypto.Cipher import AES
from eth_account import Account
from eth_keyfile import decode_keyfile_json
from eth_utils import keccak, to_checksum_address

from app.core.files import atomic_file
from app.wallet.errors import KeystoreError, WrongPassword

SCRYPT_N = 2**18
SCRYPT_R, SCRYPT_P, DKLEN = 8, 1, 32
MAX_KEYSTORE_BYTES = 64 * 1024
_MAX_SCRYPT_MEMORY = 1 << 30  # 128 * n * r bytes
_MAX_PBKDF2_ROUNDS = 10_000_000


def encrypt_key(private_key: bytes, password: str, *, scrypt_n: int = SCRYPT_N) -> dict[str, Any]:
    """A keystore v3 document for `private_key` (scrypt, always)."""
    return dict(Account.encrypt(private_key, password, kdf="scrypt", iterations=scrypt_n))


def write_keystore(path: Path, document: dict[str, Any], *, replace: bool = False) -> None:
    """Write a keystore document atomically, readable by the owner only; over an existing
    file only when `replace` (re-encrypting our own file under a new password)."""
    if path.exists() and not replace:
        raise KeystoreError(f"{path} already exists; it is left as it is")
    with atomic_file(path, private=True) as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    os.chmod(path, 0o600)


def read_keystore(path: Path) -> dict[str, Any]:
    """A keystore v3 document from a file, its structure checked (not its password)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_KEYSTORE_BYTES + 1)
    except FileNotFoundError:
        raise KeystoreError(f"{path}: the keystore file is missing") from None
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot read the keystore ({exc.strerror})") from None
    return parse_keystore(raw, where=str(path))


def parse_keystore(raw: bytes | str, *, where: str = "keystore") -> dict[str, Any]:
    if len(raw) > MAX_KEYSTORE_BYTES:
        raise KeystoreError(f"{where}: larger than a keystore can be ({MAX_KEYSTORE_BYTES // 1024} KiB)")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise KeystoreError(f"{where}: not a keystore (not JSON: truncated or corrupted?)") from None
    if not isinstance(document, dict) or document.get("version") != 3:
        raise KeystoreError(f"{where}: not a version 3 keystore")
    check_crypto(document.get("crypto"), plaintext_bytes=32, where=where)
    address = document.get("address")
    if address is not None and not _is_hex(address, 20):
        raise KeystoreError(f"{where}: the address field is not 20 bytes of hex")
    return document


def decrypt_key(document: dict[str, Any], password: str, *, where: str = "keystore") -> bytes:
    """The private key in a checked keystore document.

    A wrong password and an altered ciphertext look the same (the MAC does not match); an
    address field that does not match the decrypted key means the file was tampered with.
    """
    try:
        key = bytes(Account.decrypt(document, password))
    except ValueError:
        raise WrongPassword(f"{where}: wrong password (or the keystore's encrypted part was altered)") from None
    address = document.get("address")
    if address is not None and to_checksum_address("0x" + address.removeprefix("0x")) != Account.from_key(key).address:
        raise KeystoreError(f"{where}: the keystore's address does not match its key (the file was altered)")
    return key


def seal(plaintext: bytes, password: str, *, scrypt_n: int = SCRYPT_N) -> dict[str, Any]:
    """`plaintext` encrypted as a keystore v3 "crypto" section (scrypt, AES-128-CTR, MAC)."""
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    derived = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=scrypt_n, r=SCRYPT_R, p=SCRYPT_P,
                             maxmem=_MAX_SCRYPT_MEMORY + (1 << 20), dklen=DKLEN)
    cipher = AES.new(derived[:16], AES.MODE_CTR, nonce=b"", initial_value=iv)
    ciphertext = cipher.encrypt(plaintext)
    return {"cipher": "aes-128-ctr", "cipherparams": {"iv": iv.hex()}, "ciphertext": ciphertext.hex(),
            "kdf": "scrypt",
            "kdfparams": {"dklen": DKLEN, "n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()},
            "mac": keccak(derived[16:32] + ciphertext).hex()}


def unseal(crypto: Any, password: str, *, plaintext_bytes: int, where: str) -> bytes:
    check_crypto(crypto, plaintext_bytes=plaintext_bytes, where=where)
    try:
        return bytes(decode_keyfile_json({"version": 3, "crypto": crypto}, password.encode("utf-8")))
    except ValueError:
        raise WrongPassword(f"{where}: wrong password (or its encrypted part was altered)") from None


def check_crypto(crypto: Any, *, plaintext_bytes: int, where: str) -> None:
    """Refuse a crypto section that is malformed or whose KDF would be unreasonably costly."""
    if not isinstance(crypto, dict):
        raise KeystoreError(f"{where}: the crypto section is missing")
    if crypto.get("cipher") != "aes-128-ctr":
        raise KeystoreError(f"{where}: unsupported cipher {str(crypto.get('cipher'))[:40]!r} (need aes-128-ctr)")
    params = crypto.get("cipherparams")
    if not isinstance(params, dict) or not _is_hex(params.get("iv"), 16):
        raise KeystoreError(f"{where}: the cipher's iv is not 16 bytes of hex")
    if not _is_hex(crypto.get("ciphertext"), plaintext_bytes):
        raise KeystoreError(f"{where}: the ciphertext is not {plaintext_bytes} bytes (truncated or altered)")
    if not _is_hex(crypto.get("mac"), 32):
        raise KeystoreError(f"{where}: the MAC is not 32 bytes of hex")
    _check_kdf(crypto.get("kdf"), crypto.get("kdfparams"), where)


def _check_kdf(kdf: Any, params: Any, where: str) -> None:
    if not isinstance(params, dict) or not _is_hex(params.get("salt")):
        raise KeystoreError(f"{where}: the key derivation parameters are missing or have no salt")
    if params.get("dklen") != DKLEN:
        raise KeystoreError(f"{where}: the derived key length must be {DKLEN}")
    if kdf == "scrypt":
        n, r, p = (params.get(k) for k in ("n", "r", "p"))
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (n, r, p)):
            raise KeystoreError(f"{where}: scrypt's n, r and p must be positive whole numbers")
        if n < 2 or n & (n - 1) or 128 * n * r > _MAX_SCRYPT_MEMORY or n * r * p > 2**24:
            raise KeystoreError(f"{where}: scrypt parameters out of range (n a power of two, at most 1 GiB of work)")
    elif kdf == "pbkdf2":
        rounds = params.get("c")
        if params.get("prf") != "hmac-sha256" or not isinstance(rounds, int) or not 0 < rounds <= _MAX_PBKDF2_ROUNDS:
            raise KeystoreError(f"{where}: pbkdf2 needs prf hmac-sha256 and 1 to {_MAX_PBKDF2_ROUNDS} rounds")
    else:
        raise KeystoreError(f"{where}: unsupported key derivation {str(kdf)[:40]!r} (need scrypt or pbkdf2)")


def _is_hex(value: Any, length: int | None = None) -> bool:
    if not isinstance(value, str):
        return False
    text = value.removeprefix("0x")
    try:
        data = bytes.fromhex(text)
    except ValueError:
        return False
    return len(text) % 2 == 0 and bool(data) and (length is None or len(data) == length)

