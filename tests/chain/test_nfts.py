"""AlayaNFT (membership level upgrades burn AGT) and Medallion (soulbound, minted by the coordinator)."""

from __future__ import annotations

from app.wallet.contracts import SuiteConfig, call, send
from tests.chain.conftest import Chain
from tests.chain.helpers import event_args, refused

PRICES = SuiteConfig().upgrade_prices


def test_join_and_upgrade_burn_the_price(chain: Chain) -> None:
    nft, agt = chain.suite.alaya_nft, chain.suite.agt
    send(chain.w3, nft.functions.join(), chain.alice)
    token_id = nft.functions.membershipOf(chain.alice).call()
    assert token_id == 1 and nft.functions.levelOf(chain.alice).call() == 0
    supply, balance = agt.functions.totalSupply().call(), agt.functions.balanceOf(chain.alice).call()
    send(chain.w3, agt.functions.approve(nft.address, sum(PRICES)), chain.alice)
    receipt = send(chain.w3, nft.functions.upgrade(), chain.alice)
    event = event_args(nft, "LevelUpgraded", receipt)
    assert (event["tokenId"], event["level"], event["pricePaid"]) == (token_id, 1, PRICES[0])
    assert agt.functions.balanceOf(chain.alice).call() == balance - PRICES[0]
    assert agt.functions.totalSupply().call() == supply - PRICES[0]  # burned, not moved
    for _ in PRICES[1:]:
        send(chain.w3, nft.functions.upgrade(), chain.alice)
    assert nft.functions.levelOf(chain.alice).call() == len(PRICES)
    assert agt.functions.totalSupply().call() == supply - sum(PRICES)
    with refused("MaxLevelReached", tokenId=token_id, level=len(PRICES)):
        send(chain.w3, nft.functions.upgrade(), chain.alice)


def test_upgrade_refusals(chain: Chain) -> None:
    nft = chain.suite.alaya_nft
    with refused("NotMember", account=chain.alice):
        send(chain.w3, nft.functions.upgrade(), chain.alice)
    send(chain.w3, nft.functions.join(), chain.alice)
    with refused("ERC20InsufficientAllowance", spender=nft.address, needed=PRICES[0]):
        send(chain.w3, nft.functions.upgrade(), chain.alice)
    with refused("AlreadyMember", account=chain.alice, tokenId=1):
        send(chain.w3, nft.functions.join(), chain.alice)
    with refused("OwnableUnauthorizedAccount", account=chain.alice):
        send(chain.w3, nft.functions.setUpgradePrices([1]), chain.alice)
    with refused("TooManyLevels", count=33, max=32):
        send(chain.w3, nft.functions.setUpgradePrices([1] * 33), chain.admin)


def test_membership_moves_with_its_level_but_one_card_per_account(chain: Chain) -> None:
    nft, agt = chain.suite.alaya_nft, chain.suite.agt
    send(chain.w3, nft.functions.join(), chain.alice)
    send(chain.w3, agt.functions.approve(nft.address, PRICES[0]), chain.alice)
    send(chain.w3, nft.functions.upgrade(), chain.alice)
    send(chain.w3, nft.functions.join(), chain.bob)
    with refused("AlreadyMember", account=chain.bob, tokenId=2):
        send(chain.w3, nft.functions.transferFrom(chain.alice, chain.bob, 1), chain.alice)
    carol = chain.w3.eth.accounts[5]
    send(chain.w3, nft.functions.transferFrom(chain.alice, carol, 1), chain.alice)
    assert nft.functions.levelOf(carol).call() == 1
    assert nft.functions.membershipOf(chain.alice).call() == 0


def test_medallion_is_minted_by_the_coordinator_and_cannot_move(chain: Chain) -> None:
    medallion = chain.suite.medallion
    receipt = send(chain.w3, medallion.functions.award(chain.alice, 7), chain.coordinator)
    token_id = event_args(medallion, "MedallionAwarded", receipt)["tokenId"]
    assert medallion.functions.ownerOf(token_id).call() == chain.alice
    assert medallion.functions.kindOf(token_id).call() == 7
    assert medallion.functions.locked(token_id).call() is True
    assert medallion.functions.supportsInterface(bytes.fromhex("b45a3c0e")).call() is True
    with refused("Soulbound", tokenId=token_id):
        send(chain.w3, medallion.functions.transferFrom(chain.alice, chain.bob, token_id), chain.alice)
    send(chain.w3, medallion.functions.approve(chain.bob, token_id), chain.alice)
    with refused("Soulbound", tokenId=token_id):  # approval does not open a way around it
        send(chain.w3, medallion.functions.safeTransferFrom(chain.alice, chain.bob, token_id), chain.bob)
    with refused("AlreadyAwarded", account=chain.alice, kind=7, tokenId=token_id):
        send(chain.w3, medallion.functions.award(chain.alice, 7), chain.coordinator)


def test_only_the_minter_role_awards_medallions(chain: Chain) -> None:
    medallion = chain.suite.medallion
    role = medallion.functions.MINTER_ROLE().call()
    with refused("AccessControlUnauthorizedAccount", account=chain.alice, neededRole=role):
        send(chain.w3, medallion.functions.award(chain.alice, 1), chain.alice)
    with refused("ERC721NonexistentToken", tokenId=99):
        call(medallion.functions.locked(99))
