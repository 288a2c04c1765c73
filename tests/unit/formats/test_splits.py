"""--split: ratios parsed strictly; every item in exactly one subset, by content, stably."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ValidationError
from app.formats.base import Item
from app.formats.splits import assign_subsets, parse_split, subset_counts


def _items(n: int, prefix: str = "") -> list[Item]:
    return [Item(name=f"{prefix}{i:05d}.jpg", sha256=hashlib.sha256(f"{prefix}{i}".encode()).hexdigest())
            for i in range(n)]


ratios = st.lists(st.integers(0, 100), min_size=2, max_size=3).filter(any).map(
    lambda w: tuple(x / sum(w) for x in w))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), split=ratios)
def test_every_item_lands_in_exactly_one_subset_with_counts_from_the_ratios(n, split):
    items = _items(n)
    assign_subsets(items, split)
    names = ("train", "val", "test")[:len(split)]
    counts = [sum(1 for i in items if i.subset == name) for name in names]
    assert sum(counts) == n and all(i.subset in names for i in items)
    assert counts == subset_counts(n, split)
    assert all(abs(c - n * r) < 1 for c, r in zip(counts, split))  # largest remainder: off by < 1


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), split=ratios, seed=st.integers(0, 2**32))
def test_the_assignment_depends_on_content_not_on_order(n, split, seed):
    items = _items(n)
    assign_subsets(items, split)
    before = {i.sha256: i.subset for i in items}
    shuffled = _items(n)
    random.Random(seed).shuffle(shuffled)
    for item in shuffled:
        item.name = "renamed-" + item.name[::-1]  # names do not matter when the hash is known
    assign_subsets(shuffled, split)
    assert {i.sha256: i.subset for i in shuffled} == before


def test_a_new_item_moves_at_most_the_items_at_the_boundaries() -> None:
    items = _items(100)
    assign_subsets(items, (0.8, 0.1, 0.1))
    before = {i.sha256: i.subset for i in items}
    grown = _items(100) + _items(1, prefix="new")
    assign_subsets(grown, (0.8, 0.1, 0.1))
    moved = [i for i in grown[:100] if i.subset != before[i.sha256]]
    assert len(moved) <= 2


def test_ten_items_split_eight_one_one() -> None:
    assert subset_counts(10, (0.8, 0.1, 0.1)) == [8, 1, 1]
    assert subset_counts(3, (0.5, 0.5)) in ([2, 1], [1, 2])
    assert subset_counts(0, (0.8, 0.1, 0.1)) == [0, 0, 0]


def test_parse_split() -> None:
    assert parse_split("0.8/0.1/0.1") == (0.8, 0.1, 0.1)
    assert parse_split("0.9/0.1") == (0.9, 0.1)
    assert parse_split("1/0/0") == (1.0, 0.0, 0.0)
    assert parse_split("0.3333333/0.3333333/0.3333334") == (0.3333333, 0.3333333, 0.3333334)


@pytest.mark.parametrize(("text", "message"), [
    ("0.8/0.1/0.2", "sum to 1, they sum to 1.1"),
    ("80/10/10", "sum to 1, they sum to 100"),
    ("0.8/0.1/0.1000011", "sum to 1"),
    ("0.8", "train/val[/test]"),
    ("0.5/0.2/0.2/0.1", "train/val[/test]"),
    ("0.8/x/0.2", "val ratio 'x' is not a number"),
    ("1.2/-0.2", "val ratio must be a number from 0 to 1"),
    ("nan/0.5", "train ratio must be"),
])
def test_bad_splits_are_one_clear_error(text, message):
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("/", "/")) as err:
        parse_split(text)
    assert err.value.where == "--split"
