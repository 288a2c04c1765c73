"""Chain fixtures: one anvil per session, the contract suite deployed once, each test on a snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from app.wallet.contracts import ContractSuite, deploy_suite
from tests.chain.anvil import running_anvil

AGT_UNIT = 10**18
USER_FUNDS = 50_000 * AGT_UNIT


@dataclass(frozen=True)
class Chain:
    """A deployed suite and the actors of a test. Dev accounts are unlocked on the node; the
    coordinator is a local key (it signs vouchers), funded with gas money."""

    w3: Web3
    suite: ContractSuite
    admin: str
    treasury: str
    coordinator: LocalAccount
    alice: str
    bob: str

    def fund(self, account: str, amount: int = USER_FUNDS) -> None:
        self.suite.agt.functions.transfer(account, amount).transact({"from": self.treasury})


@pytest.fixture(scope="session")
def anvil() -> Iterator[Web3]:
    with running_anvil() as w3:
        yield w3


@pytest.fixture(scope="session")
def deployed(anvil: Web3) -> Chain:
    admin, treasury, alice, bob = anvil.eth.accounts[:4]
    coordinator = Account.create()
    anvil.provider.make_request("anvil_setBalance", [coordinator.address, hex(100 * 10**18)])
    suite = deploy_suite(anvil, admin, coordinator=coordinator.address, treasury=treasury)
    chain = Chain(anvil, suite, admin, treasury, coordinator, alice, bob)
    chain.fund(alice)
    chain.fund(bob)
    return chain


@pytest.fixture
def chain(deployed: Chain) -> Iterator[Chain]:
    """The deployed suite, rolled back after the test (anvil's evm_snapshot / evm_revert)."""
    snapshot = deployed.w3.provider.make_request("evm_snapshot", [])["result"]
    yield deployed
    deployed.w3.provider.make_request("evm_revert", [snapshot])
