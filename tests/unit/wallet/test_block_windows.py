"""The block ranges of a windowed event search: contiguous, inclusive, none wider than asked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.wallet.contracts import block_windows


def test_examples() -> None:
    assert list(block_windows(0, 9, 4)) == [(0, 3), (4, 7), (8, 9)]
    assert list(block_windows(0, 7, 4, newest_first=True)) == [(4, 7), (0, 3)]
    assert list(block_windows(5, 5, 10_000)) == [(5, 5)]
    assert list(block_windows(6, 5, 10)) == []  # deployed after the tip (a node behind): nothing to ask
    with pytest.raises(ValueError, match="at least one block"):
        list(block_windows(0, 9, 0))


@given(st.integers(0, 10**6), st.integers(0, 5_000), st.integers(1, 700), st.booleans())
def test_windows_cover_the_range_exactly(first: int, span: int, window: int, newest_first: bool) -> None:
    last = first + span
    ranges = sorted(block_windows(first, last, window, newest_first=newest_first))
    assert ranges[0][0] == first and ranges[-1][1] == last
    assert all(a <= b and b - a + 1 <= window for a, b in ranges)
    assert all(b + 1 == c for (_, b), (c, _) in zip(ranges, ranges[1:]))
