"""The coordinator's chain side on a real anvil (TestClient): standing cached per block, the stored
tier when the node fails, start-up refusals, and the chain routes' refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from web3 import HTTPProvider

from app.wallet.merkle import epoch_id
from coordinator.chain.config import ChainConfig, ChainConfigError
from coordinator.chain.service import ChainRefused, ChainService
from coordinator.config import CoordinatorConfig
from coordinator.main import create_app
from tests.chain.conftest import Chain
from tests.chain.flow_helpers import Clock
from tests.coordinator.wallets import Wallet, sign_in

ADMIN, USER = Wallet.numbered(0), Wallet.numbered(901)
AGT = 10**18


def _chain_config(chain: Chain, **fields: object) -> ChainConfig:
    values = dict(rpc_url=chain.w3.provider.endpoint_uri, contracts=chain.suite.addresses(),
                  signer_key=SecretStr(chain.coordinator.key.hex()), block_ttl_s=0) | fields
    return ChainConfig(**values)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def client(chain: Chain, tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    config = CoordinatorConfig(db_url=f"sqlite:///{tmp_path / 'c.sqlite3'}", storage_dir=tmp_path / "assets",
                               domain="testserver", uri="http://testserver", clock=clock,
                               admin_addresses=(ADMIN.address,), chain=_chain_config(chain))
    with TestClient(create_app(config)) as test_client:
        yield test_client


def test_standing_is_read_once_per_block(client: TestClient, chain: Chain) -> None:
    ctx = client.app.state.ctx
    headers = sign_in(client, USER)
    assert client.get("/v1/me", headers=headers).json()["tier"] == 0
    reads = ctx.chain.standings.reads
    client.get("/v1/me", headers=headers)
    assert ctx.chain.standings.reads == reads  # same block: from the cache
    vault, agt = chain.suite.staking_vault, chain.suite.agt
    chain.fund(USER.address, 200 * AGT)
    chain.w3.provider.make_request("anvil_setBalance", [USER.address, hex(AGT)])
    chain.w3.provider.make_request("anvil_impersonateAccount", [USER.address])  # send as USER without its key
    agt.functions.approve(vault.address, 150 * AGT).transact({"from": USER.address})
    vault.functions.stake(150 * AGT).transact({"from": USER.address})
    assert client.get("/v1/me", headers=headers).json()["tier"] == 1  # a new block: read again
    assert ctx.chain.standings.reads == reads + 1


def test_the_stored_tier_stands_when_the_node_fails(client: TestClient, chain: Chain,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    headers = sign_in(client, USER)
    admin = sign_in(client, ADMIN)
    client.patch(f"/v1/accounts/{USER.address}", json={"tier": 3}, headers=admin)
    service = client.app.state.ctx.chain
    service.suite.staking_vault.w3.provider = HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 2})
    assert client.get("/v1/me", headers=headers).json()["tier"] == 3
    assert "chain standing of" in caplog.text and "using the stored tier 3" in caplog.text


def test_start_up_refusals(chain: Chain) -> None:
    with pytest.raises(ChainConfigError, match="does not answer"):
        ChainService(_chain_config(chain, rpc_url="http://127.0.0.1:9", rpc_timeout_s=2))
    empty = {name: chain.treasury for name in chain.suite.addresses()}
    with pytest.raises(ChainConfigError, match="no contract at"):
        ChainService(_chain_config(chain, contracts=empty))
    assert chain.coordinator.key.hex()[2:] not in repr(ChainService(_chain_config(chain)))


def test_route_refusals_and_an_epoch_with_no_work(client: TestClient, chain: Chain, clock: Clock) -> None:
    headers, admin = sign_in(client, USER), sign_in(client, ADMIN)
    epoch = "2026-11"
    assert client.get(f"/v1/me/vouchers/{epoch}", headers=headers).json()["error"] == "no_voucher"
    assert client.get("/v1/me/submissions/nope/proof", headers=headers).json()["error"] == "not_found"
    assert client.post(f"/v1/chain/epochs/{epoch}/publish", headers=admin).json()["error"] == "epoch_open"
    assert client.post(f"/v1/epochs/{epoch}/close", headers=admin).status_code == 200
    published = client.post(f"/v1/chain/epochs/{epoch}/publish", headers=admin).json()
    assert published["pool_open"] and published["root"] is None and published["leaf_count"] == 0
    assert chain.suite.epoch(epoch_id(epoch)) is not None and chain.suite.anchor(epoch_id(epoch)) is None
    assert client.post(f"/v1/chain/epochs/{epoch}/publish", headers=headers).status_code == 403  # admins only
    with pytest.raises(ChainRefused, match="epoch 2030-01 is not open on the reward pool yet"):
        client.app.state.ctx.chain.voucher("2030-01", USER.address, 1)
    service = ChainService(_chain_config(chain, open_pool_epochs=False))
    anchored_only = service.publish(client.app.state.ctx.db, "2026-10", clock())
    assert anchored_only.pool is None and anchored_only.anchor is None  # nothing opened, nothing to anchor


def test_an_anchor_sent_before_a_crash_is_found_by_a_windowed_search(chain: Chain) -> None:
    """The anchor went out and the coordinator died before storing its hash: the next publish finds
    the transaction, newest blocks first, a few blocks per request, never before the deployment."""
    service = ChainService(_chain_config(chain, log_window=4))
    chain_epoch = epoch_id("2026-07")
    assert service.anchor_tx(chain_epoch) is None
    receipt = service._send(service.suite.audit_anchor.functions.anchor(chain_epoch, b"\x11" * 32, 3))
    chain.w3.provider.make_request("anvil_mine", [hex(25)])  # the anchor is now several windows back
    assert service.anchor_tx(chain_epoch) == receipt["transactionHash"].to_0x_hex()
    after = ChainService(_chain_config(chain, deployed_at_block=receipt["blockNumber"] + 1))
    assert after.anchor_tx(chain_epoch) is None  # before the first block searched
    with pytest.raises(ValueError, match="log_window"):
        _chain_config(chain, log_window=0)
