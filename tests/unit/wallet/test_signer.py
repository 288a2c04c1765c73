"""Signatures from a wallet's signer verify with the sync module's own checks (EIP-191,
SIWE), with eth-account (EIP-712) and as a raw transaction; a secret never reaches a log."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from app.sync.signing import recover_text_signer, sign_text
from app.sync.siwe import SiweMessage, new_nonce, verify
from app.wallet.signer import LocalSigner, Signer
from tests.unit.wallet.conftest import ANVIL_ADDRESSES, ANVIL_KEY_0, ANVIL_MNEMONIC, PASSPHRASE, make_wallet

VOUCHER = {
    "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                               {"name": "chainId", "type": "uint256"},
                               {"name": "verifyingContract", "type": "address"}],
              "Voucher": [{"name": "account", "type": "address"}, {"name": "epoch", "type": "uint256"},
                          {"name": "amount", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]},
    "primaryType": "Voucher",
    "domain": {"name": "AGTRedemption", "version": "1", "chainId": 31337,
               "verifyingContract": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
    "message": {"account": ANVIL_ADDRESSES[0], "epoch": 3, "amount": 10**18, "deadline": 2**40},
}


@pytest.fixture
def signer(tmp_path: Path) -> LocalSigner:
    wallet = make_wallet(tmp_path / "w")
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    return wallet.signer()


def test_it_is_a_signer(signer: LocalSigner) -> None:
    assert isinstance(signer, Signer) and signer.address == ANVIL_ADDRESSES[0]
    assert ANVIL_KEY_0[2:] not in repr(signer)


def test_personal_sign_matches_the_sync_module(signer: LocalSigner) -> None:
    signature = signer.sign_message("Alaya submission sha256:" + "ab" * 32)
    assert signature == sign_text("Alaya submission sha256:" + "ab" * 32, ANVIL_KEY_0)
    assert recover_text_signer("Alaya submission sha256:" + "ab" * 32, signature) == signer.address
    raw = signer.sign_message(b"\x00\x01 bytes")
    assert Account.recover_message(encode_defunct(primitive=b"\x00\x01 bytes"), signature=raw) == signer.address


def test_sign_in_with_ethereum(signer: LocalSigner) -> None:
    now = datetime.now(timezone.utc)
    message = SiweMessage.create(domain="coordinator.example", address=signer.address,
                                 uri="https://coordinator.example", chain_id=31337, nonce=new_nonce(),
                                 statement="Sign in to Alaya", issued_at=now,
                                 expiration_time=now + timedelta(minutes=5))
    signature = signer.sign_message(message.to_text())
    verified = verify(message.to_text(), signature, domain="coordinator.example", nonce=message.nonce, now=now)
    assert verified.address == signer.address


def test_typed_data_voucher(signer: LocalSigner) -> None:
    signature = signer.sign_typed_data(VOUCHER)
    assert Account.recover_message(encode_typed_data(full_message=VOUCHER), signature=signature) == signer.address


def test_transaction(signer: LocalSigner) -> None:
    tx = {"to": ANVIL_ADDRESSES[1], "value": 1, "gas": 21000, "maxFeePerGas": 2 * 10**9,
          "maxPriorityFeePerGas": 10**9, "nonce": 0, "chainId": 31337, "type": 2}
    raw = signer.sign_transaction(tx)
    assert Account.recover_transaction(raw) == signer.address


def test_signer_from_a_keystore_file(tmp_path: Path) -> None:
    wallet = make_wallet(tmp_path / "w")
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, password=PASSPHRASE)
    from_file = LocalSigner.from_keystore(wallet.keystore_path(), PASSPHRASE)
    assert from_file.address == ANVIL_ADDRESSES[0]
    assert from_file.sign_message("x") == wallet.signer().sign_message("x")


def test_no_secret_in_debug_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wallet = make_wallet(tmp_path / "w")
    wallet.create_from_mnemonic(ANVIL_MNEMONIC, bip39_passphrase="extra words", password=PASSPHRASE)
    wallet.add_account()
    wallet.lock()
    wallet.unlock(PASSPHRASE)
    wallet.signer().sign_message("hello")
    wallet.signer().sign_typed_data(VOUCHER)
    with pytest.raises(Exception):
        wallet.unlock("wrong " + PASSPHRASE)
    other = make_wallet(tmp_path / "k")
    other.import_private_key(ANVIL_KEY_0, password=PASSPHRASE)
    keystore_doc = json.dumps(dict(Account.encrypt(ANVIL_KEY_0, "keystore-pass", kdf="pbkdf2", iterations=1000)))
    make_wallet(tmp_path / "j").import_keystore(keystore_doc, "keystore-pass", password=PASSPHRASE)
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "wallet" in text  # something was logged
    for secret in ("test test", "junk", "extra words", PASSPHRASE, ANVIL_KEY_0[2:], ANVIL_KEY_0[2:].upper(),
                   "keystore-pass"):
        assert secret not in text


def test_it_signs_for_sync_with_the_same_eip191_signature(signer: LocalSigner) -> None:
    from app.sync.signer import KeySigner, Signer as SyncSigner

    text = "Sign in to the Alaya coordinator.\nNonce: 0123456789abcdef ünïcode"
    as_sync: SyncSigner = signer  # the sync engine's protocol: an address and sign_text
    signature = as_sync.sign_text(text)
    assert signature == signer.sign_message(text) == KeySigner(ANVIL_KEY_0).sign_text(text) == sign_text(
        text, ANVIL_KEY_0)
    assert recover_text_signer(text, signature) == as_sync.address == ANVIL_ADDRESSES[0]
