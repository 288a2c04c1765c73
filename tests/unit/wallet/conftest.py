"""Wallet test helpers: a light scrypt cost, an in-memory keychain, a hand-driven clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from app.wallet import keystore
from app.wallet.keychain import Keychain
from app.wallet.wallet import Wallet

LIGHT_N = 2**12  # users always get keystore.SCRYPT_N (2**18); a few tests use it
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_ADDRESSES = ("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                   "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PASSPHRASE = "correct horse battery"


class MemoryKeyring(KeyringBackend):
    """A keychain in a dict: stands in for the desktop's Secret Service (the edge we do not own)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def light_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keystores written during the test use a light scrypt cost (the CLI reads SCRYPT_N)."""
    monkeypatch.setattr(keystore, "SCRYPT_N", LIGHT_N)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """A headless box: keyring's fail backend."""
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_wallet(folder: Path, *, keychain: KeyringBackend | None = None, clock: Clock | None = None,
                auto_lock_s: float | None = 900.0) -> Wallet:
    return Wallet(folder, keychain=Keychain(keychain) if keychain is not None else None, auto_lock_s=auto_lock_s,
                  clock=clock or Clock(), scrypt_n=LIGHT_N)
