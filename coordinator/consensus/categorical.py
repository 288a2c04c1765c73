"""Categorical labels: input encoding, the result type, and (weighted) majority vote.

Labels come in as three parallel integer arrays (item, worker, label), one entry per answer.
`encode` maps arbitrary hashable ids onto those indices and back. Dawid-Skene lives in
`dawid_skene.py` and returns the same `CategoricalResult`.

Tie rule (everywhere in this package for categorical labels): the lowest class index wins.
With `encode`, classes are indexed in the order given, else in sorted order (or first
appearance when the labels are not mutually comparable), so ties are reproducible.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from coordinator.consensus._common import as_index_array, positive_weights, same_length, size_at_least


@dataclass(frozen=True)
class CategoricalResult:
    """The aggregate of one batch of categorical answers.

    labels: (n_items,) winning class index; -1 for an item nobody labelled.
    posteriors: (n_items, n_classes) probability (DS) or weighted vote share (MV) per class;
        an unlabelled item gets the class prior (DS) or zeros (MV).
    class_prior: (n_classes,) estimated class frequencies.
    worker_accuracy: (n_workers,) estimated probability that a worker answers correctly
        (DS: prior-weighted diagonal of its confusion; MV: share of its answers that agree with
        the result). NaN for a worker with no answers in the batch (MV only).
    worker_confusion: (n_workers, n_classes, n_classes) P(answer = l | truth = k), row k; None
        for majority vote.
    worker_counts: (n_workers,) number of answers per worker.
    iterations: EM iterations run (0 for majority vote); converged: whether tol was reached.
    """

    labels: np.ndarray
    posteriors: np.ndarray
    class_prior: np.ndarray
    worker_accuracy: np.ndarray
    worker_confusion: np.ndarray | None
    worker_counts: np.ndarray
    iterations: int = 0
    converged: bool = True

    @property
    def confidence(self) -> np.ndarray:
        """Per-item agreement score in [0, 1]: the largest posterior (or vote share)."""
        return self.posteriors.max(axis=1) if self.posteriors.size else np.zeros(len(self.labels))


@dataclass(frozen=True)
class LabelTable:
    """Validated answers: parallel int64 index arrays plus the sizes they index into."""

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    n_items: int
    n_workers: int
    n_classes: int

    @classmethod
    def build(cls, items: Any, workers: Any, labels: Any, *, n_items: int | None = None,
              n_workers: int | None = None, n_classes: int | None = None) -> LabelTable:
        same_length(items=items, workers=workers, labels=labels)
        it = as_index_array(items, "items")
        wk = as_index_array(workers, "workers")
        lb = as_index_array(labels, "labels")
        if it.size == 0:
            raise ValueError("no answers: items, workers and labels are empty")
        n_classes = size_at_least(n_classes, lb, "n_classes")
        if n_classes < 2:
            raise ValueError(f"need at least 2 classes, got n_classes={n_classes}")
        return cls(it, wk, lb, size_at_least(n_items, it, "n_items"),
                   size_at_least(n_workers, wk, "n_workers"), n_classes)

    def vote_matrix(self, answer_weights: np.ndarray) -> np.ndarray:
        """Dense (n_items, n_classes) sum of answer weights per item and class."""
        return sparse.csr_matrix((answer_weights, (self.items, self.labels)),
                                 shape=(self.n_items, self.n_classes)).toarray()

    def worker_counts(self) -> np.ndarray:
        return np.bincount(self.workers, minlength=self.n_workers).astype(np.int64)


def vote_shares(table: LabelTable, worker_weights: np.ndarray) -> np.ndarray:
    """Per-item weighted vote shares; rows of items without (positive-weight) votes are zero."""
    votes = table.vote_matrix(worker_weights[table.workers])
    totals = votes.sum(axis=1, keepdims=True)
    return np.divide(votes, totals, out=np.zeros_like(votes), where=totals > 0)


def _from_shares(table: LabelTable, shares: np.ndarray) -> CategoricalResult:
    labelled = shares.sum(axis=1) > 0
    labels = np.where(labelled, shares.argmax(axis=1), -1)  # argmax: lowest index on ties
    counts = table.worker_counts()
    hits = np.bincount(table.workers, weights=(labels[table.items] == table.labels).astype(float),
                       minlength=table.n_workers)
    accuracy = np.divide(hits, counts, out=np.full(table.n_workers, np.nan), where=counts > 0)
    prior = shares[labelled].mean(axis=0) if labelled.any() else np.full(table.n_classes, np.nan)
    return CategoricalResult(labels, shares, prior, accuracy, None, counts)


def majority_vote(items: Any, workers: Any, labels: Any, *, n_items: int | None = None,
                  n_workers: int | None = None, n_classes: int | None = None) -> CategoricalResult:
    """Plain majority vote; ties go to the lowest class index."""
    return weighted_majority_vote(items, workers, labels, None, n_items=n_items,
                                  n_workers=n_workers, n_classes=n_classes)


def weighted_majority_vote(items: Any, workers: Any, labels: Any, worker_weights: Any, *,
                           n_items: int | None = None, n_workers: int | None = None,
                           n_classes: int | None = None) -> CategoricalResult:
    """Majority vote where each worker's answer counts `worker_weights[worker]` (e.g. reputation).

    `worker_weights` is an (n_workers,) array of finite non-negative weights, or None for
    equal weights. Ties go to the lowest class index.
    """
    table = LabelTable.build(items, workers, labels, n_items=n_items, n_workers=n_workers,
                             n_classes=n_classes)
    weights = positive_weights(worker_weights, table.n_workers, "worker_weights")
    return _from_shares(table, vote_shares(table, weights))


@dataclass(frozen=True)
class Encoded:
    """Answers mapped to indices, with the ids to map results back."""

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    item_ids: tuple[Hashable, ...]
    worker_ids: tuple[Hashable, ...]
    classes: tuple[Hashable, ...]

    @property
    def sizes(self) -> dict[str, int]:
        """n_items, n_workers, n_classes, to pass on: `dawid_skene(e.items, ..., **e.sizes)`."""
        return {"n_items": len(self.item_ids), "n_workers": len(self.worker_ids),
                "n_classes": len(self.classes)}

    def decode(self, labels: np.ndarray) -> dict[Hashable, Hashable | None]:
        """{item id: class} from a result's `labels` (None for an unlabelled item)."""
        return {item: (self.classes[k] if k >= 0 else None) for item, k in zip(self.item_ids, labels)}

    def gold(self, truth: Mapping[Hashable, Hashable]) -> tuple[np.ndarray, np.ndarray]:
        """(gold_items, gold_labels) index arrays for `dawid_skene` from {item id: class}."""
        item_index = {v: i for i, v in enumerate(self.item_ids)}
        class_index = {v: i for i, v in enumerate(self.classes)}
        unknown = [k for k in truth if k not in item_index] + \
                  [v for v in truth.values() if v not in class_index]
        if unknown:
            raise ValueError(f"gold refers to unknown item(s) or class(es): {unknown[:5]!r}")
        return (np.fromiter((item_index[k] for k in truth), np.int64, len(truth)),
                np.fromiter((class_index[v] for v in truth.values()), np.int64, len(truth)))


def _index(values: Sequence[Hashable], known: Sequence[Hashable] | None,
           name: str) -> tuple[np.ndarray, tuple[Hashable, ...]]:
    if known is None:
        distinct = list(dict.fromkeys(values))
        try:
            known = sorted(distinct)  # type: ignore[type-var]
        except TypeError:
            known = distinct  # ids of mixed types: first-appearance order, still deterministic
    lookup = {v: i for i, v in enumerate(known)}
    if len(lookup) != len(known):
        raise ValueError(f"{name} lists a value twice")
    try:
        codes = np.fromiter((lookup[v] for v in values), np.int64, len(values))
    except KeyError as exc:
        raise ValueError(f"{name} does not list the value {exc.args[0]!r}") from None
    return codes, tuple(known)


def encode(item_ids: Sequence[Hashable], worker_ids: Sequence[Hashable],
           labels: Sequence[Hashable], *, classes: Sequence[Hashable] | None = None) -> Encoded:
    """Map parallel sequences of arbitrary hashable ids onto index arrays.

    Items and workers are indexed in sorted order (first appearance if not sortable); classes
    in the order of `classes` when given (which then sets the tie rule), else sorted.
    """
    same_length(item_ids=item_ids, worker_ids=worker_ids, labels=labels)
    items, item_index = _index(item_ids, None, "item_ids")
    workers, worker_index = _index(worker_ids, None, "worker_ids")
    codes, class_index = _index(labels, classes, "classes")
    return Encoded(items, workers, codes, item_index, worker_index, class_index)
