"""An account's standing on chain (stake tier, membership level), cached per block.

Routing asks on every signed-in request, so the latest block number itself is cached for
`block_ttl_s`; within one block the answer cannot change, so (address, block) is the cache key.
The routing tier is the higher of the stake tier and the membership card's level: staking AGT
or burning it for a level both open the higher task tiers.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from app.wallet.contracts import ContractSuite, call

CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Standing:
    address: str
    block: int
    stake_tier: int
    level: int | None  # None: no membership card

    @property
    def tier(self) -> int:
        return max(self.stake_tier, self.level or 0)


class StandingCache:
    def __init__(self, suite: ContractSuite, *, block_ttl_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.suite = suite
        self.block_ttl_s = block_ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._block: tuple[float, int] | None = None  # (read at, number)
        self._cache: OrderedDict[tuple[str, int], Standing] = OrderedDict()
        self.reads = 0  # chain reads made (tests check the cache works)

    def latest_block(self) -> int:
        with self._lock:
            if self._block is not None and self.clock() - self._block[0] < self.block_ttl_s:
                return self._block[1]
        number = self.suite.staking_vault.w3.eth.block_number
        with self._lock:
            self._block = (self.clock(), number)
        return number

    def standing(self, address: str) -> Standing:
        block = self.latest_block()
        with self._lock:
            cached = self._cache.get((address, block))
            if cached is not None:
                self._cache.move_to_end((address, block))
                return cached
        vault = self.suite.staking_vault.functions
        standing = Standing(address, block, call(vault.tierOf(address), block=block),
                            self.suite.membership_level(address, block=block))
        with self._lock:
            self.reads += 1
            self._cache[(address, block)] = standing
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return standing
