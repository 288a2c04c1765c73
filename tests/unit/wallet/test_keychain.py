"""Only a real OS keychain keeps a wallet password: fail, null, keyrings.alt and an empty
chainer are refused."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import chainer, fail, null

from app.wallet.errors import KeychainError
from app.wallet.keychain import SERVICE, Keychain, is_real, real_backend
from tests.unit.wallet.conftest import MemoryKeyring


class LookalikeAltKeyring(MemoryKeyring):
    """What keyrings.alt's file backends look like to us (it is never installed here)."""

    priority = 5  # type: ignore[assignment]


LookalikeAltKeyring.__module__ = "keyrings.alt.file"


class UnusableKeyring(MemoryKeyring):
    priority = 0.5  # type: ignore[assignment]


def _chainer_of(*members):
    class Chain(chainer.ChainerBackend):
        backends = list(members)  # type: ignore[assignment]

    return Chain()


def test_not_real_backends_are_refused() -> None:
    for backend in (fail.Keyring(), null.Keyring(), LookalikeAltKeyring(), UnusableKeyring(), object()):
        assert not is_real(backend)
        assert real_backend(backend) is None
    assert real_backend(_chainer_of(LookalikeAltKeyring(), null.Keyring())) is None
    with pytest.raises(KeychainError, match="not an OS keychain"):
        Keychain(fail.Keyring())


def test_a_chainer_is_unwrapped_to_its_real_member() -> None:
    memory = MemoryKeyring()
    assert real_backend(_chainer_of(LookalikeAltKeyring(), memory, null.Keyring())) is memory


def test_detect_follows_keyrings_choice(no_keyring: None) -> None:
    assert Keychain.detect() is None
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    detected = Keychain.detect()
    assert detected is not None and detected.backend is memory


def test_store_fetch_forget() -> None:
    memory = MemoryKeyring()
    chain = Keychain(memory)
    chain.store("w1", "secret-password")
    assert memory.entries[(SERVICE, "w1")] == "secret-password" and chain.fetch("w1") == "secret-password"
    chain.forget("w1")
    chain.forget("w1")  # already gone: no error
    with pytest.raises(KeychainError, match="no longer holds") as caught:
        chain.fetch("w1")
    assert "secret-password" not in str(caught.value)
