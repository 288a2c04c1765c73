"""Pieces of the whole-flow test: a coordinator wired to the test chain, a contributor's wallet."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from eth_account import Account
import pytest
from pydantic import SecretStr

from app import cli

from app.wallet.chain import ChainWallet
from app.wallet.chains import get_chain
from app.wallet.contracts import voucher_typed_data
from app.wallet.transactions import NonceManager, PreparedTx
from app.wallet.wallet import Wallet as AppWallet
from coordinator.chain.config import ChainConfig
from coordinator.config import CoordinatorConfig
from coordinator.main import create_app
from tests.chain.conftest import Chain
from tests.coordinator.live import LiveClient, bound_socket, serve_in_thread
from tests.coordinator.requester import declare, put_chunk
from tests.coordinator.wallets import sign_in

PASSPHRASE = "correct horse battery staple 8"
LIGHT_SCRYPT_N = 2**4


class Clock:
    """The coordinator's clock, moved by the test (the chain keeps its own)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextmanager
def chain_coordinator(chain: Chain, tmp_path: Path, clock: Clock, admin: str) -> Iterator[tuple[str, Any]]:
    """A live coordinator on 127.0.0.1 using `chain` (voucher key from the 'environment')."""
    chain_config = ChainConfig(rpc_url=chain.w3.provider.endpoint_uri, contracts=chain.suite.addresses(),
                               signer_key=SecretStr(chain.coordinator.key.hex()), block_ttl_s=0)
    with closing(bound_socket()) as sock:
        where = "127.0.0.1:%d" % sock.getsockname()[1]
        config = CoordinatorConfig(db_url=f"sqlite:///{tmp_path / 'coordinator.sqlite3'}",
                                   storage_dir=tmp_path / "assets", domain=where, uri=f"http://{where}",
                                   chain_id=31337, clock=clock, admin_addresses=(admin,), chain=chain_config)
        app = create_app(config)
        with serve_in_thread(app, sock) as url:
            yield url, app.state.ctx


def contributor_wallet(tmp_path: Path, key: str) -> AppWallet:
    """The contributor's real wallet: the key imported, passphrase-protected (light scrypt)."""
    wallet = AppWallet(tmp_path / "wallet", keychain=None, scrypt_n=LIGHT_SCRYPT_N)
    wallet.import_private_key(key, password=PASSPHRASE)
    wallet.lock()
    return wallet


def open_chain_wallet(chain: Chain, wallet: AppWallet) -> ChainWallet:
    local = get_chain("local").model_copy(update={"rpc_urls": [chain.w3.provider.endpoint_uri],
                                                  "contracts": chain.suite.addresses()})
    return ChainWallet.open(local, wallet.signer(), nonces=NonceManager(), poll_s=0.05)


class Confirmations:
    """The confirmation callback: says yes and keeps what the user was shown."""

    def __init__(self) -> None:
        self.shown: list[PreparedTx] = []

    def __call__(self, prepared: PreparedTx) -> bool:
        self.shown.append(prepared)
        return True


def tier_gated_request(client: LiveClient, requester: dict[str, str], min_tier: int) -> str:
    """A request for tier `min_tier` and up with one uploaded image; its id."""
    schema = {"name": "gated", "version": 1, "classes": [{"name": "car", "colour": "#1f77b4"}]}
    body = {"name": "gated scenes", "modality": "image", "label_schema": schema, "redundancy": 1,
            "gold_rate": 0.0, "reward": "2.5", "requirements": {"min_tier": min_tier}}
    created = client.post("/v1/requests", json=body, headers=requester)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    data = hashlib.sha256(b"gated").digest() * 64
    declared = declare(client, requester, request_id, data)
    assert declared.status_code == 201, declared.text
    assert put_chunk(client, requester, declared.json()["id"], data, 0, len(data)).status_code == 200
    return request_id


def gated_request_and_contributor(client: LiveClient, admin: Any, requester: Any,
                                  me: Any) -> tuple[str, dict[str, str]]:
    """Signed in as the administrator, `requester` made a requester who posts a tier-2 request;
    then `me` signed in: (the request's id, my headers)."""
    admin_headers = sign_in(client, admin)
    sign_in(client, requester)
    client.patch(f"/v1/accounts/{requester.address}", json={"roles": ["requester"]}, headers=admin_headers)
    request_id = tier_gated_request(client, sign_in(client, requester), min_tier=2)
    return request_id, sign_in(client, me)


def other_key_voucher(chain: Chain, voucher: Any, **changes: Any) -> Any:
    """`voucher` re-signed by a random key, or by the coordinator's key over changed fields
    (`chain_id`, `deadline`, `pool`), as a hostile coordinator or a replay would make it."""
    key = changes.pop("key", chain.coordinator.key)
    fields = voucher.model_dump() | changes
    pool = chain.w3.eth.contract(address=fields["pool"], abi=chain.suite.reward_pool.abi)
    typed = voucher_typed_data(pool, fields["chain_id"], epoch=fields["chain_epoch"], account=fields["account"],
                               amount=int(fields["amount"]), deadline=fields["deadline"])
    signature = Account.sign_typed_data(key, full_message=typed).signature
    return voucher.model_copy(update={**changes, "signature": "0x" + bytes(signature).hex()})


def secrets_of(*values: Any) -> list[str]:
    """The texts a leak would show: each secret as given, in hex with and without 0x."""
    found = []
    for value in values:
        text = value.hex() if isinstance(value, bytes) else str(value)
        found += [text, text.removeprefix("0x")] + (["0x" + text] if not text.startswith("0x") else [])
    return [t for t in set(found) if len(t) >= 8]



def alaya_wallet(ws: Path, *args: str, capsys: pytest.CaptureFixture[str] | None = None) -> tuple[int, str, str]:
    """`alaya -w ws wallet ARGS` in this process; a secret after a `*-fd` option goes through a pipe."""
    argv, pipes = ["-w", str(ws), "wallet"], []
    for arg in args:
        if argv[-1].endswith("-fd"):
            read, write = os.pipe()
            os.write(write, arg.encode() + b"\n")
            os.close(write)
            pipes.append(read)
            arg = str(read)
        argv.append(arg)
    try:
        code = cli.main(argv)
    finally:
        for fd in pipes:
            os.close(fd)
    out, err = capsys.readouterr() if capsys else ("", "")
    return code, out, err
