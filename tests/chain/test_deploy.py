"""Deploying the suite and opening it again from its addresses."""

from __future__ import annotations

import pytest

from app.core.errors import NotFoundError, ValidationError
from app.wallet.contracts import CONTRACT_NAMES, ContractSuite, contract_at, deploy
from tests.chain.conftest import Chain


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
