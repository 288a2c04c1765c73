"""Train/val/test splits: `--split 0.8/0.1/0.1`, assigned the same way on every export.

Items are ranked by a hash of their content hash (SHA-256), not by name or import order, so
re-exporting an unchanged project gives the same subsets on any machine, and a new asset moves
at most the few items next to a subset boundary. Counts follow the ratios exactly (largest
remainder), so 10 items at 0.8/0.1/0.1 are always 8/1/1.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from app.core.errors import ValidationError
from app.formats.base import Item

SUBSETS = ("train", "val", "test")
TOLERANCE = 1e-6


def parse_split(text: str) -> tuple[float, ...]:
    """"0.8/0.1/0.1" (train/val/test) or "0.9/0.1" (train/val): ratios that sum to 1."""
    parts = text.split("/")
    if not 2 <= len(parts) <= len(SUBSETS):
        raise ValidationError(f"expected train/val[/test] ratios such as 0.8/0.1/0.1, got {text!r}",
                              where="--split")
    ratios = []
    for name, part in zip(SUBSETS, parts):
        try:
            ratio = float(part)
        except ValueError:
            raise ValidationError(f"the {name} ratio {part.strip()!r} is not a number", where="--split") from None
        if not math.isfinite(ratio) or ratio < 0:
            raise ValidationError(f"the {name} ratio must be a number from 0 to 1, got {part.strip()}",
                                  where="--split")
        ratios.append(ratio)
    return check_ratios(ratios)


def check_ratios(ratios: Sequence[float]) -> tuple[float, ...]:
    total = math.fsum(ratios)
    if abs(total - 1.0) > TOLERANCE:
        raise ValidationError(f"the ratios must sum to 1, they sum to {total:g}", where="--split")
    return tuple(ratios)


def subset_counts(n: int, ratios: Sequence[float]) -> list[int]:
    """How many of `n` items go to each subset: floors, then the largest remainders."""
    total = math.fsum(ratios)  # within 1e-6 of 1: normalized so the counts sum to n exactly
    exact = [n * r / total for r in ratios]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(ratios)), key=lambda i: (counts[i] - exact[i], i))  # largest remainder first
    for i in order[:n - sum(counts)]:
        counts[i] += 1
    return counts


def assign_subsets(items: Sequence[Item], ratios: Sequence[float]) -> None:
    """Set `subset` on every item (exactly one each) by the ratios, in a content-seeded order."""
    check_ratios(ratios)
    ranked = sorted(items, key=_rank)
    start = 0
    for name, count in zip(SUBSETS, subset_counts(len(ranked), ratios)):
        for item in ranked[start:start + count]:
            item.subset = name
        start += count


def _rank(item: Item) -> tuple[str, str]:
    key = item.sha256 or item.name  # an item without a hash (not from the store) by its name
    return hashlib.sha256(f"alaya-split:{key}".encode()).hexdigest(), item.name
