"""The OS keychain (via `keyring`), used only when it is a real one.

A real keychain is the desktop's own store (Secret Service or KWallet on Linux, the macOS
Keychain, the Windows Credential Locker). `keyring` also offers backends that are not: the
fail and null backends (headless boxes), a chainer with nothing real behind it, and
keyrings.alt, whose "encrypted" file uses 1000 PBKDF2 rounds and prompts on a terminal (a GUI
would hang) and whose plaintext file is base64. With none of those a wallet is protected by a
passphrase the user sets instead; we never fall back silently.
"""

from __future__ import annotations

import logging
from typing import Any

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringError

from app.wallet.errors import KeychainError

SERVICE = "alaya-wallet"
log = logging.getLogger(__name__)


def _priority(backend: KeyringBackend) -> float:
    try:
        return float(backend.priority)
    except Exception:  # a backend reports "not usable here" by raising from its priority
        return -1.0


def is_real(backend: Any) -> bool:
    """Whether `backend` is an OS keychain worth a wallet password."""
    if not isinstance(backend, KeyringBackend):
        return False
    if isinstance(backend, (chainer.ChainerBackend, fail.Keyring, null.Keyring)):
        return False
    if type(backend).__module__.startswith("keyrings.alt"):
        return False
    return _priority(backend) >= 1


def real_backend(backend: KeyringBackend | None = None) -> KeyringBackend | None:
    """The real keychain behind `backend` (default: keyring's choice), else None.

    A chainer is unwrapped and its best real member used directly, so a write can never land
    in a non-real backend that the chainer happens to rank first.
    """
    backend = keyring.get_keyring() if backend is None else backend
    members = list(backend.backends) if isinstance(backend, chainer.ChainerBackend) else [backend]
    real = [member for member in members if is_real(member)]
    return max(real, key=_priority) if real else None


class Keychain:
    """One wallet password per wallet id, under the service name `alaya-wallet`."""

    def __init__(self, backend: KeyringBackend) -> None:
        if not is_real(backend):
            raise KeychainError(f"{type(backend).__module__}.{type(backend).__name__} is not an OS keychain")
        self.backend = backend

    @classmethod
    def detect(cls) -> Keychain | None:
        backend = real_backend()
        if backend is None:
            log.info("no OS keychain: wallets are protected by a passphrase")
            return None
        return cls(backend)

    @property
    def name(self) -> str:
        return type(self.backend).__name__

    def store(self, wallet_id: str, password: str) -> None:
        try:
            self.backend.set_password(SERVICE, wallet_id, password)
        except KeyringError as exc:
            raise KeychainError(f"the OS keychain refused to store the wallet password: {type(exc).__name__}") from None

    def fetch(self, wallet_id: str) -> str:
        try:
            password = self.backend.get_password(SERVICE, wallet_id)
        except KeyringError as exc:
            raise KeychainError(f"the OS keychain could not be read: {type(exc).__name__} (is it locked?)") from None
        if password is None:
            raise KeychainError("the OS keychain no longer holds this wallet's password; restore the wallet "
                                "from its recovery phrase (alaya wallet import)")
        return password

    def forget(self, wallet_id: str) -> None:
        try:
            self.backend.delete_password(SERVICE, wallet_id)
        except KeyringError:  # already gone: nothing to forget
            log.info("the keychain held no password for wallet %s", wallet_id)
