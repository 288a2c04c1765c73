"""What the wallet refuses, worded for the user. None of these messages ever holds a secret:
the words, keys and passwords that caused them are never echoed."""

from __future__ import annotations

from app.core.errors import AlayaError


class WalletError(AlayaError):
    """A wallet operation that cannot be done (bad input, missing wallet, wrong state)."""

    exit_code = 8


class WrongPassword(WalletError):
    """The password does not open the keystore (or the encrypted part was altered)."""


class KeystoreError(WalletError):
    """A keystore or wallet file that is missing, truncated, corrupted or tampered with."""


class WalletLocked(WalletError):
    """The wallet must be unlocked first (it may have locked itself after idle time)."""


class KeychainError(WalletError):
    """The OS keychain is missing, refused the request, or lost the wallet's password."""
