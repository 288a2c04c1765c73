"""The keystore signer: eth-account's exact signatures, and clear errors for bad keystores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from app.core.errors import StorageError, ValidationError
from app.sync.errors import AuthError
from app.sync.signer import KeySigner, keystore_signer
from app.sync.signing import recover_text_signer, sign_text

KEY = "0x" + "4c" * 32


@pytest.mark.parametrize("text", ["", "a", "Alaya submission sha256:" + "ab" * 32, "é ünïcode ✓", "x" * 5000])
def test_signatures_equal_eth_account_s_and_recover_the_address(text: str) -> None:
    signer = KeySigner(KEY)
    assert signer.sign_text(text) == sign_text(text, KEY)
    assert recover_text_signer(text, signer.sign_text(text)) == signer.address == Account.from_key(KEY).address


def test_a_keystore_opens_with_its_passphrase_only(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(KEY, "right", kdf="pbkdf2", iterations=1000)))
    assert keystore_signer(path, "right").address == Account.from_key(KEY).address
    with pytest.raises(AuthError, match="wrong passphrase"):
        keystore_signer(path, "wrong")


@pytest.mark.parametrize(("content", "error", "words"), [
    (None, StorageError, "cannot read the keystore"),
    ("{not json", ValidationError, "invalid JSON"),
    ('{"address": "00"}', ValidationError, "no 'crypto' section"),
    ('{"crypto": {"cipher": "aes-128-ctr"}, "version": 3}', ValidationError, "keystore"),
])
def test_bad_keystores_are_clear_errors(tmp_path: Path, content: str | None, error: type[Exception],
                                        words: str) -> None:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(error, match=words):
        keystore_signer(path, "pw")
    assert "4c4c" not in repr(KeySigner(KEY))  # the key never shows
