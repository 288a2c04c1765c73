"""The `wallet` settings section: typed, validated, lockable by policy, and what
`open_wallet` makes of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import LockedSettingError, ValidationError
from app.core.settings import load_settings
from app.wallet.wallet import open_wallet, wallet_folder
from tests.unit.wallet.conftest import MemoryKeyring


def test_defaults_and_folder(tmp_path: Path, no_keyring: None) -> None:
    loaded = load_settings(workspace=tmp_path / "ws", policy_file=False, env={})
    wallet = open_wallet(loaded.settings)
    assert wallet.folder == tmp_path / "ws" / "wallet" == wallet_folder(loaded.settings)
    assert wallet.auto_lock_s == 15 * 60 and wallet.keychain is None
    moved = load_settings(workspace=tmp_path / "ws", policy_file=False,
                          env={"ALAYA_WALLET__KEYSTORE_DIR": str(tmp_path / "keys"),
                               "ALAYA_WALLET__AUTO_LOCK_MINUTES": "0"})
    assert open_wallet(moved.settings).folder == tmp_path / "keys"
    assert not open_wallet(moved.settings).auto_lock_s


def test_keychain_detected_unless_turned_off(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    loaded = load_settings(workspace=tmp_path / "ws", policy_file=False, env={})
    assert open_wallet(loaded.settings).keychain.backend is memory_keyring
    off = loaded.update("wallet.use_keychain", False)
    assert open_wallet(off.settings).keychain is None


@pytest.mark.parametrize(("key", "value", "message"), [
    ("wallet.auto_lock_minutes", -1, "between 0 and 1440"),
    ("wallet.auto_lock_minutes", True, "not true/false"),
    ("wallet.keystore_dir", "relative/dir", "absolute path"),
    ("wallet.chain", "", "at least 1 character"),
])
def test_bad_values(tmp_path: Path, key: str, value: object, message: str) -> None:
    loaded = load_settings(workspace=tmp_path / "ws", policy_file=False, env={})
    with pytest.raises(ValidationError, match=message):
        loaded.update(key, value)


def test_policy_locks_the_chain(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nreason = "Company testnet only"\n[locked.wallet]\nchain = "arbitrum-sepolia"\n')
    loaded = load_settings(workspace=tmp_path / "ws", policy_file=policy, env={})
    assert loaded.is_locked("wallet.chain") and loaded.settings.wallet.chain == "arbitrum-sepolia"
    with pytest.raises(LockedSettingError, match="Company testnet only"):
        loaded.update("wallet.chain", "arbitrum-one")
