"""`ChainService`: the coordinator's connection to its chain, its signing key, and what it does there.

Built once per app from `ChainConfig`; it checks at start that the node answers and every
contract has code, so a wrong RPC URL or address file stops the service with one clear line.
Transactions go out one at a time (one key, one nonce sequence), simulated first.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from eth_account import Account
from sqlalchemy import update
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from app.core.errors import AlayaError
from app.wallet.contracts import ContractSuite, EpochInfo, block_windows, send, voucher_typed_data
from app.wallet.merkle import epoch_id
from coordinator.chain import anchors
from coordinator.chain.config import ChainConfig, ChainConfigError, load_signing_account
from coordinator.chain.standing import Standing, StandingCache
from coordinator.db import CoordinatorDB
from coordinator.security import Principal
from coordinator.tables import accounts

log = logging.getLogger(__name__)
CONFIRMATION_POLL_S = 0.5


class ChainRefused(Exception):
    """The chain refused or could not be reached; the message is for the administrator."""


@dataclass(frozen=True)
class Published:
    epoch: str
    chain_epoch: int
    pool: EpochInfo | None
    anchor: anchors.StoredAnchor | None


def connect(config: ChainConfig) -> Web3:
    w3 = Web3(HTTPProvider(config.rpc_url, request_kwargs={"timeout": config.rpc_timeout_s}))
    if config.poa:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


class ChainService:
    def __init__(self, config: ChainConfig) -> None:
        self.config = config
        self._account = load_signing_account(config)
        self.signer_address = self._account.address
        self.w3 = connect(config)
        try:
            self.chain_id = self.w3.eth.chain_id
            self.suite = ContractSuite.at(self.w3, config.contracts)
        except AlayaError as exc:
            raise ChainConfigError(f"chain {config.rpc_url}: {exc}") from None
        except Exception as exc:  # requests/web3 connection errors, whatever their class
            raise ChainConfigError(f"chain {config.rpc_url} does not answer ({type(exc).__name__})") from None
        self.standings = StandingCache(self.suite, block_ttl_s=config.block_ttl_s)
        self._send_lock = threading.Lock()
        log.info("chain %d at %s; voucher signer %s", self.chain_id, config.rpc_url, self.signer_address)

    def __repr__(self) -> str:  # never the key
        return f"ChainService(chain {self.chain_id}, signer {self.signer_address})"

    # --- routing ---------------------------------------------------------------------------
    def standing(self, address: str) -> Standing:
        return self.standings.standing(address)

    def with_chain_tier(self, db: CoordinatorDB, principal: Principal) -> Principal:
        """`principal` with its tier read from chain; the stored tier follows it (rewards use it).
        If the node fails, the last stored tier stands and a warning is logged."""
        try:
            tier = self.standing(principal.address).tier
        except Exception as exc:
            log.warning("chain standing of %s unavailable (%s); using the stored tier %d",
                        principal.address, type(exc).__name__, principal.tier)
            return principal
        if tier != principal.tier:
            with db.write() as conn:
                conn.execute(update(accounts).where(accounts.c.id == principal.account_id).values(tier=tier))
        return replace(principal, tier=tier)

    # --- vouchers --------------------------------------------------------------------------
    def voucher(self, epoch: str, account: str, amount_micro: int) -> dict[str, Any]:
        """A signed voucher for `account`'s redemption of `epoch`; its deadline is the end of the
        pool epoch's claim window. ChainRefused when the pool epoch is not open."""
        chain_epoch = epoch_id(epoch)
        pool_epoch = self._read(lambda: self.suite.epoch(chain_epoch))
        if pool_epoch is None:
            raise ChainRefused(f"epoch {epoch} is not open on the reward pool yet")
        amount = amount_micro * self.config.wei_per_micro_credit
        typed = voucher_typed_data(self.suite.reward_pool, self.chain_id, epoch=chain_epoch, account=account,
                                   amount=amount, deadline=pool_epoch.closes_at)
        signature = Account.sign_typed_data(self._account.key, full_message=typed).signature
        return {"epoch": epoch, "chain_epoch": chain_epoch, "chain_id": self.chain_id,
                "pool": self.suite.reward_pool.address, "token": pool_epoch.token, "account": typed["message"]["account"],
                "amount": str(amount), "deadline": pool_epoch.closes_at, "signature": "0x" + bytes(signature).hex()}

    # --- epoch close ---------------------------------------------------------------------
    def publish(self, db: CoordinatorDB, epoch: str, now: datetime) -> Published:
        """Open the pool epoch and anchor the epoch's root, each once; safe to call again."""
        chain_epoch = epoch_id(epoch)
        pool_epoch = self._read(lambda: self.suite.epoch(chain_epoch))
        if pool_epoch is None and self.config.open_pool_epochs:
            opens = self._read(lambda: self.w3.eth.get_block("latest")["timestamp"])
            self._send(self.suite.reward_pool.functions.openEpoch(
                chain_epoch, self.suite.agt.address, opens, opens + self.config.claim_window_s))
            pool_epoch = self._read(lambda: self.suite.epoch(chain_epoch))
        with db.write() as conn:
            stored = anchors.build_anchor(conn, epoch, now)
        if stored is not None and stored.tx_hash is None:
            tx_hash = self._anchor(chain_epoch, stored)
            with db.write() as conn:
                anchors.mark_anchored(conn, epoch, tx_hash, now)
                stored = anchors.stored_anchor(conn, epoch)
        return Published(epoch, chain_epoch, pool_epoch, stored)

    def _anchor(self, chain_epoch: int, stored: anchors.StoredAnchor) -> str:
        on_chain = self._read(lambda: self.suite.anchor(chain_epoch))
        if on_chain is None:
            receipt = self._send(self.suite.audit_anchor.functions.anchor(chain_epoch, stored.root, stored.leaf_count))
            return receipt["transactionHash"].to_0x_hex()
        if on_chain.root != stored.root:
            raise ChainRefused(f"epoch {chain_epoch} already has another root on chain (0x{on_chain.root.hex()}); "
                               "the stored tree was left as it is")
        return self.anchor_tx(chain_epoch) or "0x" + "0" * 64

    def anchor_tx(self, chain_epoch: int) -> str | None:
        """The transaction that anchored `chain_epoch` (sent, then a crash before it was stored):
        searched newest blocks first, back to the contracts' deployment, a window at a time."""
        last = self._read(lambda: self.w3.eth.block_number)
        for start, end in block_windows(self.config.deployed_at_block, last, self.config.log_window, newest_first=True):
            found = self._read(lambda start=start, end=end: self.suite.audit_anchor.events.RootAnchored().get_logs(
                from_block=start, to_block=end, argument_filters={"epoch": chain_epoch}))
            if found:
                return found[-1]["transactionHash"].to_0x_hex()
        return None

    # --- plumbing ------------------------------------------------------------------------
    def _read(self, read: Any) -> Any:
        try:
            return read()
        except AlayaError as exc:
            raise ChainRefused(str(exc)) from None
        except Exception as exc:
            raise ChainRefused(f"the chain node does not answer ({type(exc).__name__})") from None

    def _send(self, function: Any) -> Any:
        with self._send_lock:
            receipt = self._read(lambda: send(self.w3, function, self._account))
            target = receipt["blockNumber"] + max(self.config.confirmations - 1, 0)
            while self._read(lambda: self.w3.eth.block_number) < target:
                time.sleep(CONFIRMATION_POLL_S)
        return receipt
