"""Create, import, unlock, lock, auto-lock, accounts; wrong passwords and tampered files
refused with nothing overwritten."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from app.wallet.errors import KeychainError, KeystoreError, WalletError, WalletLocked, WrongPassword
from app.wallet.keychain import SERVICE
from app.wallet.record import WALLET_FILE
from app.wallet.wallet import Wallet
from tests.unit.wallet.conftest import (ANVIL_ADDRESSES, ANVIL_KEY_0, ANVIL_MNEMONIC, LIGHT_N, PASSPHRASE, Clock,
                                        MemoryKeyring, make_wallet)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_create_with_passphrase_unlock_lock(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    record = wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    assert record.kind == "hd" and record.protected_by == "passphrase"
    assert [a.address for a in record.accounts] == [ANVIL_ADDRESSES[0]] and not wallet.locked
    wallet.lock()
    assert wallet.locked
    with pytest.raises(WalletLocked):
        wallet.signer()
    again = make_wallet(tmp_path / "w")
    assert again.unlock(PASSPHRASE).id == record.id and not again.locked
    for path in [tmp_path / "w" / WALLET_FILE, again.keystore_path()]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "w").st_mode) == 0o700
    text = (tmp_path / "w" / WALLET_FILE).read_text()
    assert "junk" not in text and "test test" not in text  # the phrase is not stored


def test_keystore_files_open_with_eth_account(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    document = json.loads(wallet.keystore_path().read_text())
    assert "0x" + bytes(Account.decrypt(document, PASSPHRASE)).hex() == ANVIL_KEY_0


def test_more_accounts_by_index(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    assert [wallet.add_account().address for _ in range(2)] == list(ANVIL_ADDRESSES[1:])
    wallet.lock()
    with pytest.raises(WalletLocked):
        wallet.add_account()
    reopened = make_wallet(tmp_path / "w")
    reopened.unlock(PASSPHRASE)
    assert reopened.signer(ANVIL_ADDRESSES[2].lower()).address == ANVIL_ADDRESSES[2]
    assert [a.index for a in reopened.record().accounts] == [0, 1, 2]


def test_bip39_passphrase_gives_other_accounts(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    record = wallet.create_from_mnemonic(ANVIL_MNEMONIC, bip39_passphrase="TREZOR", password=PASSPHRASE)
    assert record.accounts[0].address not in ANVIL_ADDRESSES
    wallet.lock()
    wallet.unlock(PASSPHRASE)
    assert wallet.signer().address == record.accounts[0].address


def test_auto_lock_after_idle(tmp_path: Path, clock: Clock) -> None:
    wallet = make_wallet(tmp_path / "w", clock=clock, auto_lock_s=60)
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    signer = wallet.signer()
    clock.now += 59
    signer.sign_message("still here")  # use resets the idle time
    clock.now += 59
    assert not wallet.locked
    clock.now += 1
    assert wallet.locked
    with pytest.raises(WalletLocked, match="unlock it first"):
        signer.sign_message("too late")


def test_each_change_of_the_lock_state_is_told(tmp_path: Path, clock: Clock) -> None:
    wallet = make_wallet(tmp_path / "w", clock=clock, auto_lock_s=60)
    told: list[bool] = []
    wallet.lock_changed.subscribe(told.append)
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    wallet.lock()
    wallet.lock()  # already locked: nothing to tell
    wallet.unlock(PASSPHRASE)
    clock.now += 60
    assert wallet.locked  # the idle auto-lock is told like a lock by hand
    assert told == [False, True, False, True]


def test_auto_lock_off(tmp_path: Path, clock: Clock) -> None:
    wallet = make_wallet(tmp_path / "w", clock=clock, auto_lock_s=0)
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    clock.now += 10**7
    assert not wallet.locked


def test_wrong_password_changes_nothing(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    wallet.lock()
    before = _snapshot(tmp_path / "w")
    with pytest.raises(WrongPassword, match="wrong password"):
        wallet.unlock("not the passphrase")
    assert wallet.locked and _snapshot(tmp_path / "w") == before


def test_create_never_overwrites(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    wallet.import_private_key(ANVIL_KEY_0, password=PASSPHRASE)
    before = _snapshot(tmp_path / "w")
    with pytest.raises(WalletError, match="already holds a wallet"):
        make_wallet(tmp_path / "w").create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    assert _snapshot(tmp_path / "w") == before


@pytest.mark.parametrize("damage", ["truncate", "garbage", "edit-address", "drop-secret", "hd-to-key", "empty"])
def test_damaged_wallet_file_is_refused(tmp_path: Path, damage: str) -> None:
    wallet = make_wallet(tmp_path / "w")
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    wallet.add_account()
    path = tmp_path / "w" / WALLET_FILE
    raw = path.read_text()
    data = json.loads(raw)
    if damage == "truncate":
        path.write_text(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff" * 10)
    elif damage == "edit-address":  # someone swaps in their own address to receive payments
        data["accounts"][1]["address"] = ANVIL_ADDRESSES[2]
        path.write_text(json.dumps(data))
    elif damage in ("drop-secret", "hd-to-key"):
        data.update(secret=None) if damage == "drop-secret" else data.update(kind="key", accounts=data["accounts"][:1])
        for account in data["accounts"]:
            account["index"] = None if damage == "hd-to-key" else account["index"]
        path.write_text(json.dumps(data))
    else:
        path.write_text("")
    before = _snapshot(tmp_path / "w")
    with pytest.raises((KeystoreError, WrongPassword), match="altered|damaged") as caught:
        make_wallet(tmp_path / "w").unlock(PASSPHRASE)
    assert PASSPHRASE not in str(caught.value)
    assert _snapshot(tmp_path / "w") == before


def test_tampered_seed_is_refused(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    path = tmp_path / "w" / WALLET_FILE
    data = json.loads(path.read_text())
    data["secret"]["ciphertext"] = "ff" + data["secret"]["ciphertext"][2:]
    path.write_text(json.dumps(data))
    with pytest.raises(WrongPassword, match="altered"):
        make_wallet(tmp_path / "w").unlock(PASSPHRASE)


def test_missing_wallet(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="no wallet in"):
        make_wallet(tmp_path / "none").unlock(PASSPHRASE)


def test_import_private_key_and_keystore(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "a")
    record = wallet.import_private_key(ANVIL_KEY_0, password=PASSPHRASE)
    assert record.kind == "key" and record.accounts[0].address == ANVIL_ADDRESSES[0]
    with pytest.raises(WalletError, match="recovery phrase"):
        wallet.add_account()
    foreign = json.dumps(dict(Account.encrypt(ANVIL_KEY_0, "their-password", kdf="pbkdf2", iterations=1000)))
    other = make_wallet(tmp_path / "b")
    with pytest.raises(WrongPassword):
        other.import_keystore(foreign, "wrong", password=PASSPHRASE)
    assert not other.exists()
    record = other.import_keystore(foreign, "their-password", password=PASSPHRASE)
    rewritten = json.loads(other.keystore_path().read_text())
    assert rewritten["crypto"]["kdf"] == "scrypt" and record.accounts[0].address == ANVIL_ADDRESSES[0]
    other.lock()
    other.unlock(PASSPHRASE)
    assert other.signer().address == ANVIL_ADDRESSES[0]


def test_short_passphrase_and_no_keychain(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    with pytest.raises(WalletError, match="at least 8"):
        wallet.create_from_mnemonic(ANVIL_MNEMONIC, password="short")
    with pytest.raises(WalletError, match="no OS keychain"):
        wallet.create_from_mnemonic(ANVIL_MNEMONIC)
    assert not wallet.exists()


def test_keychain_protection(tmp_path: Path) -> None:
    memory = MemoryKeyring()
    wallet = make_wallet(tmp_path / "w", keychain=memory)
    record = wallet.create_from_mnemonic(ANVIL_MNEMONIC)
    assert record.protected_by == "keychain"
    password = memory.entries[(SERVICE, record.id)]
    assert len(password) >= 40
    wallet.lock()
    wallet.unlock()  # no passphrase: the keychain holds the password
    assert not wallet.locked
    document = json.loads(wallet.keystore_path().read_text())
    assert bytes(Account.decrypt(document, password)).hex() == ANVIL_KEY_0[2:]
    with pytest.raises(WalletError, match="not available here"):
        make_wallet(tmp_path / "w").unlock()
    memory.entries.clear()
    with pytest.raises(KeychainError, match="no longer holds"):
        make_wallet(tmp_path / "w", keychain=memory).unlock()


def test_a_keychain_wallet_can_be_moved_to_a_passphrase(tmp_path: Path) -> None:
    memory = MemoryKeyring()
    wallet = make_wallet(tmp_path / "w", keychain=memory)
    wallet.create_from_mnemonic(ANVIL_MNEMONIC)
    wallet.add_account()
    record = wallet.require_passphrase(PASSPHRASE)
    assert record.protected_by == "passphrase" and not memory.entries
    assert wallet.signer().address == ANVIL_ADDRESSES[0]  # still unlocked
    with pytest.raises(WalletError, match="already protected"):
        wallet.require_passphrase(PASSPHRASE)
    reopened = make_wallet(tmp_path / "w", keychain=memory)
    with pytest.raises(WalletError, match="enter it"):
        reopened.unlock()
    reopened.unlock(PASSPHRASE)
    assert reopened.add_account().address == ANVIL_ADDRESSES[2]
    for address in ANVIL_ADDRESSES[:2]:
        document = json.loads(reopened.keystore_path(address).read_text())
        assert Account.from_key(Account.decrypt(document, PASSPHRASE)).address == address
    reopened.lock()
    with pytest.raises(WalletLocked):
        reopened.require_passphrase(PASSPHRASE)


def test_key_wallet_moved_to_a_passphrase(tmp_path: Path) -> None:
    memory = MemoryKeyring()
    wallet = make_wallet(tmp_path / "w", keychain=memory)
    wallet.import_private_key(ANVIL_KEY_0)
    wallet.require_passphrase(PASSPHRASE)
    reopened = make_wallet(tmp_path / "w")
    reopened.unlock(PASSPHRASE)
    assert reopened.signer().address == ANVIL_ADDRESSES[0]


def test_passphrase_wallet_asks_for_it(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w", keychain=MemoryKeyring())
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)  # a passphrase even with a keychain
    with pytest.raises(WalletError, match="enter it"):
        wallet.unlock()


def test_failed_create_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = MemoryKeyring()
    wallet = make_wallet(tmp_path / "w", keychain=memory)

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("app.wallet.wallet.write_record", disk_full)
    with pytest.raises(OSError):
        wallet.create_from_mnemonic(ANVIL_MNEMONIC)
    assert not wallet.exists() and not list((tmp_path / "w").rglob("*.json")) and not memory.entries


def test_real_scrypt_cost(tmp_path: Path) -> None:
    """What users get: n = 2**18 on the keystore and the sealed seed, and it opens again."""
    wallet = Wallet(tmp_path / "w")
    record = wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    assert record.secret["kdfparams"]["n"] == 2**18
    assert json.loads(wallet.keystore_path().read_text())["crypto"]["kdfparams"]["n"] == 2**18
    wallet.lock()
    wallet.unlock(PASSPHRASE)
    assert wallet.signer().address == ANVIL_ADDRESSES[0]
    assert LIGHT_N < 2**18


def test_lock_state_answers_while_a_slow_write_runs(tmp_path: Path) -> None:
    """The GUI thread asks `locked` every few seconds: a create (scrypt, disk, keychain) running
    on a worker must not make it wait."""
    import threading

    entered, release = threading.Event(), threading.Event()

    class SlowKeychain(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            entered.set()
            release.wait(10)
            super().set_password(service, username, password)

    wallet = make_wallet(tmp_path / "w", keychain=SlowKeychain())
    worker = threading.Thread(target=wallet.create_from_mnemonic, args=(ANVIL_MNEMONIC,))
    worker.start()
    try:
        assert entered.wait(10)
        answered = []
        probe = threading.Thread(target=lambda: answered.append(wallet.locked))
        probe.start()
        probe.join(2)
        assert answered == [True]
    finally:
        release.set()
        worker.join(10)
    assert not wallet.locked
