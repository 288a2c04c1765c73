"""Full-jitter exponential backoff with a cap (AWS Architecture Blog, "Exponential Backoff
and Jitter"): the n-th retry waits uniform(0, min(cap, base * 2**n)).

Our own loop rather than urllib3's Retry: its first retry has no delay, and POST retries must
live where the attempt count is persisted (the outbox row), not inside one HTTP call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base_s: float
    cap_s: float
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if not (self.base_s > 0 and self.cap_s >= self.base_s):
            raise ValueError(f"backoff needs 0 < base ({self.base_s}) <= cap ({self.cap_s})")

    def ceiling(self, attempt: int) -> float:
        """The longest wait before retry number `attempt` (0 = the first retry)."""
        exponent = min(max(attempt, 0), 60)  # 2**60 * base is past any cap: no overflow
        return min(self.cap_s, self.base_s * 2 ** exponent)

    def delay(self, attempt: int) -> float:
        """How long to wait before retry number `attempt`: uniform in [0, ceiling]."""
        return self.rng.uniform(0, self.ceiling(attempt))
