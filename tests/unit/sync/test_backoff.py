"""Full-jitter backoff: uniform below the exponential ceiling, never above the cap."""

from __future__ import annotations

import random
import statistics

import pytest

from app.sync.backoff import Backoff


def test_the_ceiling_doubles_from_base_up_to_the_cap() -> None:
    backoff = Backoff(0.5, 10.0)
    assert [backoff.ceiling(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.ceiling(10_000) == 10.0  # no overflow far out
    assert backoff.ceiling(-3) == 0.5


def test_delays_are_uniform_over_zero_to_the_ceiling() -> None:
    backoff = Backoff(1.0, 60.0, random.Random(42))
    for attempt, ceiling in ((0, 1.0), (3, 8.0), (9, 60.0)):
        delays = [backoff.delay(attempt) for _ in range(20_000)]
        assert 0 <= min(delays) and max(delays) <= ceiling
        # uniform(0, c): mean c/2, standard deviation c/sqrt(12); full jitter, not equal jitter
        assert statistics.fmean(delays) == pytest.approx(ceiling / 2, rel=0.03)
        assert statistics.pstdev(delays) == pytest.approx(ceiling / 12 ** 0.5, rel=0.03)
        assert sum(d < ceiling / 10 for d in delays) / len(delays) == pytest.approx(0.1, abs=0.02)


def test_the_first_retry_already_waits() -> None:
    """urllib3's first retry has no delay; ours waits up to `base`, and not always zero."""
    backoff = Backoff(2.0, 30.0, random.Random(1))
    assert statistics.fmean(backoff.delay(0) for _ in range(1000)) > 0.5


def test_the_same_seed_gives_the_same_delays() -> None:
    first = [Backoff(1, 30, random.Random(7)).delay(n) for n in range(10)]
    assert first == [Backoff(1, 30, random.Random(7)).delay(n) for n in range(10)]


@pytest.mark.parametrize(("base", "cap"), [(0, 1), (-1, 1), (5, 1)])
def test_nonsense_settings_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(base, cap)
