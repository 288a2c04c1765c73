"""Deploying the suite and opening it again from its addresses."""

from __future__ import annotations

import pytest

from app.core.errors import NotFoundError, ValidationError
from app.wallet.contracts import (CONTRACT_NAMES, AnchorInfo, ContractSuite, EpochInfo, StakeInfo, SuiteConfig,
                                  contract_at, deploy, replay_failed_transaction, send)
from app.wallet.revert import ContractReverted
from tests.chain.anvil import ANVIL_BINARY, latest_timestamp, require_node_modules
from tests.chain.conftest import Chain
from tests.chain.helpers import refused

ZERO = "0x" + "00" * 20


def test_suite_addresses_round_trip(chain: Chain) -> None:
    addresses = chain.suite.addresses()
    assert list(addresses) == list(CONTRACT_NAMES)
    reopened = ContractSuite.at(chain.w3, addresses)
    assert reopened.addresses() == addresses
    assert reopened.staking_vault.functions.token().call() == chain.suite.agt.address
    assert reopened.alaya_nft.functions.agt().call() == chain.suite.agt.address


def test_suite_wiring_and_roles(chain: Chain) -> None:
    suite = chain.suite
    assert suite.agt.functions.balanceOf(chain.treasury).call() > 0
    assert suite.staking_vault.functions.owner().call() == chain.admin
    minter = suite.medallion.functions.MINTER_ROLE().call()
    assert suite.medallion.functions.hasRole(minter, chain.coordinator.address).call()
    signer_role = suite.reward_pool.functions.VOUCHER_SIGNER_ROLE().call()
    assert suite.reward_pool.functions.hasRole(signer_role, chain.coordinator.address).call()
    anchor_role = suite.audit_anchor.functions.ANCHOR_ROLE().call()
    assert suite.audit_anchor.functions.hasRole(anchor_role, chain.coordinator.address).call()


def test_opening_a_suite_refuses_bad_addresses(chain: Chain) -> None:
    addresses = chain.suite.addresses()
    with pytest.raises(ValidationError, match="no address for AuditAnchor"):
        ContractSuite.at(chain.w3, {k: v for k, v in addresses.items() if k != "AuditAnchor"})
    with pytest.raises(ValidationError, match="not an address"):
        ContractSuite.at(chain.w3, {**addresses, "AGT": "0x1234"})
    with pytest.raises(NotFoundError, match="no contract at"):
        contract_at(chain.w3, "AGT", chain.alice)
    with pytest.raises(ValidationError, match="must map"):
        ContractSuite.at(chain.w3, list(addresses.values()))


def test_deploy_refuses_unknown_contract_and_bad_constructor(chain: Chain) -> None:
    with pytest.raises(NotFoundError, match="no compiled contract 'Nope'"):
        deploy(chain.w3, "Nope", sender=chain.admin)
    with pytest.raises(ValidationError, match="not a contract name"):
        deploy(chain.w3, "../AGT", sender=chain.admin)


def test_constructor_refusals_are_decoded(chain: Chain) -> None:
    with refused("ZeroInitialHolder"):
        deploy(chain.w3, "AGT", ZERO, 1, sender=chain.admin)
    with refused("ZeroToken"):
        deploy(chain.w3, "StakingVault", ZERO, 60, [], chain.admin, sender=chain.admin)
    with refused("OwnableInvalidOwner", owner=ZERO):
        deploy(chain.w3, "AlayaNFT", chain.suite.agt.address, [], ZERO, sender=chain.admin)


def test_replay_explains_out_of_gas_and_refuses_a_success(chain: Chain) -> None:
    vault = chain.suite.staking_vault
    with pytest.raises(ContractReverted, match=r"ran out of gas \(limit 25000\)") as caught:
        send(chain.w3, vault.functions.setTierThresholds([1, 2, 3]), chain.admin, gas=25_000, simulate=False)
    assert caught.value.revert.kind == "out-of-gas"
    receipt = send(chain.w3, vault.functions.setTierThresholds([1]), chain.admin)
    with pytest.raises(ValidationError, match="succeeded"):
        replay_failed_transaction(chain.w3, receipt["transactionHash"])


def test_missing_node_modules_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = ANVIL_BINARY.with_name("not-there")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm ci"):
        require_node_modules(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the chain tests"):
        require_node_modules(missing)


def test_send_refuses_bad_amounts_and_senders(chain: Chain) -> None:
    join = chain.suite.alaya_nft.functions.join()
    with pytest.raises(ValidationError, match="value: must be a non-negative integer"):
        send(chain.w3, join, chain.alice, value=-1)
    with pytest.raises(ValidationError, match="gas: must be a non-negative integer"):
        send(chain.w3, join, chain.alice, gas=1.5)
    with pytest.raises(ValidationError, match="sender: not an address"):
        send(chain.w3, join, "alice")


def test_typed_reads(chain: Chain) -> None:
    suite, w3 = chain.suite, chain.w3
    assert suite.stake_info(chain.alice) == StakeInfo(0, 0, 0, 0)
    assert suite.membership_level(chain.alice) is None
    assert suite.epoch(1) is None and suite.anchor(1) is None
    send(w3, suite.agt.functions.approve(suite.staking_vault.address, 500 * 10**18), chain.alice)
    send(w3, suite.staking_vault.functions.stake(500 * 10**18), chain.alice)
    staked_block = w3.eth.block_number
    send(w3, suite.staking_vault.functions.requestUnstake(450 * 10**18), chain.alice)
    unlock_at = latest_timestamp(w3) + SuiteConfig().unbonding_delay_s
    assert suite.stake_info(chain.alice) == StakeInfo(50 * 10**18, 450 * 10**18, unlock_at, 0)
    assert suite.stake_info(chain.alice, block=staked_block) == StakeInfo(500 * 10**18, 0, 0, 1)
    send(w3, suite.alaya_nft.functions.join(), chain.alice)
    assert suite.membership_level(chain.alice) == 0
    now = latest_timestamp(w3)
    send(w3, suite.reward_pool.functions.openEpoch(1, suite.agt.address, now, now + 60), chain.coordinator)
    assert suite.epoch(1) == EpochInfo(suite.agt.address, now, now + 60, 0, 0)
    assert suite.has_claimed(1, chain.alice) is False
    send(w3, suite.audit_anchor.functions.anchor(1, b"\x01" * 32, 3), chain.coordinator)
    assert suite.anchor(1) == AnchorInfo(b"\x01" * 32, 3, latest_timestamp(w3))
    with pytest.raises(ValidationError, match="epoch: must be a non-negative integer"):
        suite.epoch(-1)
    with pytest.raises(ValidationError, match="account: not an address"):
        suite.stake_info("nobody")
