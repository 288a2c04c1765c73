"""Input checks and small helpers shared by every modality.

Bad input is refused with a `ValueError` that names the argument and the reason (rule 9), so
that a caller's bug never turns into a silently wrong consensus.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np


def as_index_array(values: Any, name: str) -> np.ndarray:
    """A 1-D int64 array of non-negative indices, or a ValueError saying what is wrong."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.isfinite(arr)) \
                or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold non-negative indices, found {int(arr.min())}")
    return arr


def same_length(**arrays: Sequence[Any] | np.ndarray) -> int:
    """The common length of the named arrays, or a ValueError listing every length."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"mismatched lengths: {listed}")
    return next(iter(lengths.values()), 0)


def size_at_least(given: int | None, arr: np.ndarray, name: str) -> int:
    """`given` (checked to cover every index in `arr`) or max index + 1."""
    needed = int(arr.max()) + 1 if arr.size else 0
    if given is None:
        return needed
    if given < needed:
        raise ValueError(f"{name}={given} but the input holds index {needed - 1}")
    return int(given)


def finite_array(values: Any, name: str, shape_tail: tuple[int, ...] = ()) -> np.ndarray:
    """A float64 array whose trailing dimensions are `shape_tail`, with no NaN or infinity."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        want = "(n, " + ", ".join(map(str, shape_tail)) + ")" if shape_tail else "(n,)"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def positive_weights(values: Any, n: int, name: str = "weights") -> np.ndarray:
    """Per-index weights (default all ones): finite, non-negative, not all zero."""
    if values is None:
        return np.ones(n)
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    if n and arr.sum() <= 0:
        raise ValueError(f"{name} are all zero")
    return arr


def annotator_weights(annotators: Sequence[Hashable],
                      weights: Mapping[Hashable, float] | None) -> np.ndarray:
    """One weight per shape from a per-annotator mapping (e.g. reputation); default 1.

    A mapping that lacks an annotator is an error, not a silent default: a missing reputation
    usually means the caller looked up the wrong id.
    """
    if weights is None:
        return np.ones(len(annotators))
    missing = sorted({repr(a) for a in annotators if a not in weights})
    if missing:
        raise ValueError(f"weights has no entry for annotator(s) {', '.join(missing[:5])}")
    return positive_weights([weights[a] for a in annotators], len(annotators))


def first_appearance_codes(values: Sequence[Hashable]) -> tuple[np.ndarray, list[Hashable]]:
    """Integer codes in order of first appearance, and the distinct values in that order."""
    order: dict[Hashable, int] = {}
    codes = np.fromiter((order.setdefault(v, len(order)) for v in values), dtype=np.int64,
                        count=len(values))
    return codes, list(order)


def weighted_vote(values: Sequence[Hashable], weights: np.ndarray) -> tuple[Hashable, float]:
    """The value with the most weight and its weight share.

    Ties go to the value that appears first in `values` (input order), so the result never
    depends on hashing or on the sort order of arbitrary label types.
    """
    codes, distinct = first_appearance_codes(values)
    totals = np.bincount(codes, weights=weights, minlength=len(distinct))
    best = int(np.argmax(totals))  # argmax takes the first maximum = first appearance
    total = float(totals.sum())
    return distinct[best], (float(totals[best]) / total if total > 0 else 0.0)


def check_unit_interval(value: float, name: str) -> float:
    """A float in [0, 1] (NaN refused)."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value
