"""What every route needs, built once per app: settings, database, limiter, the lease path's memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from coordinator.config import CoordinatorConfig
from coordinator.db import CoordinatorDB
from coordinator.limits import RateLimiter
from coordinator.tasks.memo import LeaseMemo

if TYPE_CHECKING:
    from coordinator.chain.service import ChainService


@dataclass
class Ctx:
    config: CoordinatorConfig
    db: CoordinatorDB
    chain: ChainService | None = None  # with --chain-rpc: tiers from chain, vouchers, anchors
    limiter: RateLimiter = field(init=False)
    # set by ingest after it queued items for the quality step: wakes the quality worker
    quality_wakeup: threading.Event = field(init=False, default_factory=threading.Event)
    leasing: LeaseMemo = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.rate_limit)
        self.leasing = LeaseMemo()
        self.config.storage_dir.mkdir(parents=True, exist_ok=True)

    def now(self) -> datetime:
        return self.config.clock()
