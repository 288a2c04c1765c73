"""Keystore v3 files: readable by eth-account, private, atomic; bad files refused clearly."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from app.wallet import keystore as ks
from app.wallet.errors import KeystoreError, WalletError, WrongPassword
from tests.unit.wallet.conftest import ANVIL_ADDRESSES, ANVIL_KEY_0, LIGHT_N

KEY = bytes.fromhex(ANVIL_KEY_0[2:])


@pytest.fixture
def keystore_file(tmp_path: Path) -> Path:
    path = tmp_path / "k.json"
    ks.write_keystore(path, ks.encrypt_key(KEY, "pw-12345678", scrypt_n=LIGHT_N))
    return path


def test_round_trip_private_and_readable_by_eth_account(keystore_file: Path) -> None:
    assert stat.S_IMODE(os.stat(keystore_file).st_mode) == 0o600
    document = json.loads(keystore_file.read_text())
    assert document["crypto"]["kdf"] == "scrypt" and document["version"] == 3
    assert bytes(Account.decrypt(document, "pw-12345678")) == KEY
    assert ks.decrypt_key(ks.read_keystore(keystore_file), "pw-12345678") == KEY


def test_users_get_the_full_scrypt_cost() -> None:
    document = ks.encrypt_key(KEY, "pw-12345678")
    assert document["crypto"]["kdfparams"]["n"] == 2**18 == ks.SCRYPT_N


def test_never_written_over(keystore_file: Path) -> None:
    before = keystore_file.read_bytes()
    with pytest.raises(KeystoreError, match="already exists"):
        ks.write_keystore(keystore_file, ks.encrypt_key(KEY, "other-password", scrypt_n=LIGHT_N))
    assert keystore_file.read_bytes() == before


def test_wrong_password(keystore_file: Path) -> None:
    with pytest.raises(WrongPassword, match="wrong password"):
        ks.decrypt_key(ks.read_keystore(keystore_file), "not-the-password")


def test_truncated_and_garbage(keystore_file: Path, tmp_path: Path) -> None:
    raw = keystore_file.read_bytes()
    for n, content in enumerate([raw[: len(raw) // 2], b"", b"\xff\xfe garbage", b"[1, 2]", b"x" * 70_000]):
        path = tmp_path / f"bad{n}.json"
        path.write_bytes(content)
        with pytest.raises(KeystoreError):
            ks.read_keystore(path)
    with pytest.raises(KeystoreError, match="missing"):
        ks.read_keystore(tmp_path / "nope.json")


def _altered(path: Path, change) -> dict:
    document = json.loads(path.read_text())
    change(document)
    return document


@pytest.mark.parametrize(("change", "error", "message"), [
    (lambda d: d["crypto"].update(ciphertext=d["crypto"]["ciphertext"][:-2]), KeystoreError, "ciphertext"),
    (lambda d: d["crypto"].update(ciphertext="00" + d["crypto"]["ciphertext"][2:]), WrongPassword, "altered"),
    (lambda d: d["crypto"].update(mac="zz"), KeystoreError, "MAC"),
    (lambda d: d["crypto"].update(cipher="aes-256-cbc"), KeystoreError, "cipher"),
    (lambda d: d["crypto"]["kdfparams"].update(n=2**30), KeystoreError, "scrypt parameters"),
    (lambda d: d["crypto"]["kdfparams"].update(n=1000), KeystoreError, "power of two"),
    (lambda d: d["crypto"].update(kdf="argon2"), KeystoreError, "key derivation"),
    (lambda d: d.update(version=4), KeystoreError, "version 3"),
    (lambda d: d.update(address=ANVIL_ADDRESSES[1][2:].lower()), KeystoreError, "does not match its key"),
])
def test_tampered_keystores_are_refused(keystore_file: Path, change, error: type, message: str) -> None:
    document = _altered(keystore_file, change)
    with pytest.raises(error, match=message):
        ks.decrypt_key(ks.parse_keystore(json.dumps(document)), "pw-12345678")


def test_pbkdf2_keystores_from_other_wallets_are_read() -> None:
    document = dict(Account.encrypt(KEY, "pw-12345678", kdf="pbkdf2", iterations=1000))
    assert ks.decrypt_key(ks.parse_keystore(json.dumps(document)), "pw-12345678") == KEY


def test_sealed_blob() -> None:
    sealed = ks.seal(bytes(range(64)), "pw-12345678", scrypt_n=LIGHT_N)
    assert ks.unseal(sealed, "pw-12345678", plaintext_bytes=64, where="w") == bytes(range(64))
    with pytest.raises(WrongPassword):
        ks.unseal(sealed, "pw-wrong", plaintext_bytes=64, where="w")
    with pytest.raises(KeystoreError, match="64 bytes"):
        ks.unseal({**sealed, "ciphertext": sealed["ciphertext"][:64]}, "pw-12345678", plaintext_bytes=64, where="w")
    assert issubclass(KeystoreError, WalletError)
