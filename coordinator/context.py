"""What every route needs, built once per app: settings, database, limiter, the lease path's memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from coordinator.config import CoordinatorConfig
from coordinator.db import CoordinatorDB
from coordinator.limits import RateLimiter
from coordinator.tasks.memo import LeaseMemo


@dataclass
class Ctx:
    config: CoordinatorConfig
    db: CoordinatorDB
    limiter: RateLimiter = field(init=False)
    leasing: LeaseMemo = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.rate_limit)
        self.leasing = LeaseMemo()
        self.config.storage_dir.mkdir(parents=True, exist_ok=True)

    def now(self) -> datetime:
        return self.config.clock()
