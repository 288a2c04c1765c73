"""The coordinator without a chain answers the chain routes with one clear refusal; its chain
settings refuse bad keys, keystores and address files in words that never hold the secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from pydantic import SecretStr

from coordinator.chain.config import (
    KEY_ENV, ChainConfig, ChainConfigError, check_contracts, load_signing_account, read_contracts_file,
)
from coordinator.server import chain_settings

ADDRESSES = {name: "0x" + f"{i + 1:040x}" for i, name in
             enumerate(("AGT", "StakingVault", "AlayaNFT", "Medallion", "RewardPool", "AuditAnchor"))}
KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def _config(**fields: object) -> ChainConfig:
    return ChainConfig(rpc_url="http://127.0.0.1:1", contracts=ADDRESSES, **fields)


@pytest.mark.parametrize("path", ["/v1/chain", "/v1/me/vouchers/2026-11", "/v1/me/submissions/s1/proof"])
def test_without_a_chain_the_chain_routes_say_so(client: TestClient, admin: dict[str, str], path: str) -> None:
    response = client.get(path, headers=admin)
    assert response.status_code == 409 and response.json()["error"] == "no_chain", response.text


def test_publish_without_a_chain_says_so(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post("/v1/chain/epochs/2026-11/publish", headers=admin)
    assert response.status_code == 409 and response.json()["error"] == "no_chain"


def test_the_key_from_the_environment_is_never_shown() -> None:
    config = _config(signer_key=SecretStr(KEY))
    assert load_signing_account(config).address == Account.from_key(KEY).address
    assert KEY[2:] not in repr(config) and KEY[2:] not in str(config.model_dump())
    with pytest.raises(ChainConfigError, match=f"{KEY_ENV} is not a private key") as caught:
        load_signing_account(_config(signer_key=SecretStr(KEY[:-2] + "zz")))
    assert KEY[2:-2] not in str(caught.value)


def test_exactly_one_key_source(tmp_path: Path) -> None:
    for fields in ({}, {"signer_key": SecretStr(KEY), "signer_keystore": tmp_path / "k.json"}):
        with pytest.raises(ChainConfigError, match="either as a keystore file or as"):
            load_signing_account(_config(**fields))


def test_keystore_refusals(tmp_path: Path) -> None:
    path = tmp_path / "signer.json"
    path.write_text(json.dumps(Account.encrypt(KEY, "right password", kdf="scrypt", iterations=2**4)))
    ok = load_signing_account(_config(signer_keystore=path, signer_password=SecretStr("right password")))
    assert ok.address == Account.from_key(KEY).address
    cases = {
        "wrong password, or the keystore is damaged": _config(signer_keystore=path, signer_password=SecretStr("no")),
        "its password is missing": _config(signer_keystore=path),
        "cannot read the keystore": _config(signer_keystore=tmp_path / "absent.json", signer_password=SecretStr("x")),
    }
    for message, config in cases.items():
        with pytest.raises(ChainConfigError, match=message) as caught:
            load_signing_account(config)
        assert "right password" not in str(caught.value) and KEY[2:] not in str(caught.value)
    path.write_text("{not json")
    with pytest.raises(ChainConfigError, match="the keystore is not JSON"):
        load_signing_account(_config(signer_keystore=path, signer_password=SecretStr("x")))
    path.write_text("{}")
    with pytest.raises(ChainConfigError, match="not a keystore v3 file"):
        load_signing_account(_config(signer_keystore=path, signer_password=SecretStr("x")))


def test_contract_address_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "contracts.json"
    path.write_text(json.dumps(ADDRESSES))
    assert read_contracts_file(path)["AGT"] == "0x0000000000000000000000000000000000000001"
    with pytest.raises(ChainConfigError, match="no address for AuditAnchor"):
        check_contracts({k: v for k, v in ADDRESSES.items() if k != "AuditAnchor"}, where="f")
    with pytest.raises(ChainConfigError, match="AGT: 'nope' is not an address"):
        check_contracts({**ADDRESSES, "AGT": "nope"}, where="f")
    with pytest.raises(ChainConfigError, match="not JSON"):
        path.write_text("[")
        read_contracts_file(path)
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ChainConfigError, match="needs --contracts FILE"):
        chain_settings("http://127.0.0.1:1", None, None, None)
    with pytest.raises(ChainConfigError, match="needs the voucher key"):
        chain_settings("http://127.0.0.1:1", tmp_path / "contracts.json", None, None)
