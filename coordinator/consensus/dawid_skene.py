"""Full-confusion Dawid-Skene EM, vectorised with scipy.sparse.

Model: item i has a hidden true class k ~ class_prior; worker w answers l with probability
confusion[w, k, l]. EM alternates

  M-step  counts[w, k, l] = sum of P(item is k) over w's answers l   (one sparse product)
          confusion = (counts + Dirichlet prior) row-normalised; class_prior likewise
  E-step  log P(item is k) = log class_prior[k] + sum over answers of log confusion[w, k, l]
                                                                     (the transposed product)

Both products go through one (n_workers * n_classes) x n_items answer matrix, so an
iteration costs O(answers x classes) with no Python loop over items or workers.

Why a prior: with ~100 answers a worker's 20x20 confusion has more free parameters than
data, and plain DS overfits (research/03: 0.901 against one-coin's 0.921 at cold start). Each
confusion row gets Dirichlet pseudo-counts shaped like a one-coin worker: `prior_strength`
pseudo-answers (default: one per cell of the row), a share acc_w of them on the diagonal
(acc_w = the worker's own accuracy, shrunk towards the crowd's by `accuracy_prior`
pseudo-answers) and the rest spread over the crowd's pooled error pattern (classes that
everyone mixes up). A sparse worker thus behaves like a one-coin worker; a busy one is ruled
by its own counts and keeps its systematic confusions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from coordinator.consensus._common import as_index_array, positive_weights, same_length
from coordinator.consensus.categorical import CategoricalResult, LabelTable, vote_shares


class _Model:
    """The answer matrix and the Dirichlet hyper-parameters.

    The (n_items x n_workers*n_classes) matrix and the posteriors are float32: EM needs no more
    precision than that, and halving the memory traffic halves the time of an iteration.
    Parameters (confusion, class prior) and the log-likelihood stay float64.
    """

    def __init__(self, table: LabelTable, prior_strength: float, accuracy_prior: float,
                 class_prior_strength: float, prior_confusion: np.ndarray | None) -> None:
        w, k, i = table.n_workers, table.n_classes, table.n_items
        cols = table.workers * k + table.labels
        # duplicates (a worker answering an item twice) add up: each answer is evidence
        self.by_item = sparse.csr_matrix((np.ones(len(cols), np.float32), (table.items, cols)),
                                         shape=(i, w * k))
        self.table = table
        self.labelled = np.bincount(table.items, minlength=i) > 0
        self.unlabelled = np.flatnonzero(~self.labelled)
        self.strength, self.acc_prior = prior_strength, accuracy_prior
        self.class_strength = class_prior_strength
        self.extra = prior_confusion

    def m_step(self, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(confusion [w, k, l], class prior) from the current posteriors."""
        w, k = self.table.n_workers, self.table.n_classes
        # the transpose is a CSC view: it streams through `post` in item order
        flat = np.asarray(self.by_item.T @ post, dtype=np.float64)
        counts = flat.reshape(w, k, k).transpose(0, 2, 1)
        if self.extra is not None:
            counts = counts + self.extra
        confusion = counts + self._one_coin_prior(counts)
        confusion /= confusion.sum(axis=2, keepdims=True)
        mass = post.sum(axis=0, dtype=np.float64) - post[self.unlabelled].sum(axis=0, dtype=np.float64)
        mass += self.class_strength
        return confusion, mass / mass.sum()

    def _one_coin_prior(self, counts: np.ndarray) -> np.ndarray:
        k = counts.shape[1]
        diag = np.einsum("wkk->w", counts)
        total = counts.sum(axis=(1, 2))
        crowd_acc = diag.sum() / max(total.sum(), 1e-12)
        acc = (diag + self.acc_prior * crowd_acc) / np.maximum(total + self.acc_prior, 1e-12)
        # never exactly 0 or 1: every answer must stay possible under every class, or an item
        # whose answers contradict each other would get no posterior at all
        acc = np.clip(acc, 1e-3, 1.0 - 1e-3)
        errors = counts.sum(axis=0)
        np.fill_diagonal(errors, 0.0)
        errors += 1.0 / k  # keeps every error pattern open, even one nobody made yet
        np.fill_diagonal(errors, 0.0)
        errors /= errors.sum(axis=1, keepdims=True)
        eye = np.eye(k)
        return self.strength * (acc[:, None, None] * eye + (1.0 - acc)[:, None, None] * errors)

    def e_step(self, confusion: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, float]:
        """(posteriors, mean log-likelihood per answer) given the parameters."""
        w, k = self.table.n_workers, self.table.n_classes
        log_conf = np.log(confusion).transpose(0, 2, 1).reshape(w * k, k)  # row (w, l), column k
        logp = np.asarray(self.by_item @ log_conf.astype(np.float32))
        logp += np.log(prior).astype(np.float32)
        top = logp.max(axis=1, keepdims=True)
        logp -= top
        np.exp(logp, out=logp)
        norm = logp.sum(axis=1, keepdims=True)
        logp /= norm
        loglik = float(np.sum((top[:, 0] + np.log(norm[:, 0]))[self.labelled], dtype=np.float64))
        return logp, loglik / len(self.table.items)


def _gold(gold_items: Any, gold_labels: Any, table: LabelTable) -> tuple[np.ndarray, np.ndarray]:
    if gold_items is None and gold_labels is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if gold_items is None or gold_labels is None:
        raise ValueError("gold_items and gold_labels must be given together")
    same_length(gold_items=gold_items, gold_labels=gold_labels)
    items, labels = as_index_array(gold_items, "gold_items"), as_index_array(gold_labels, "gold_labels")
    if items.size and items.max() >= table.n_items:
        raise ValueError(f"gold_items holds item {int(items.max())} but n_items={table.n_items}")
    if labels.size and labels.max() >= table.n_classes:
        raise ValueError(f"gold_labels holds class {int(labels.max())} but n_classes={table.n_classes}")
    first = dict(zip(items.tolist(), labels.tolist()))
    if any(first[i] != label for i, label in zip(items.tolist(), labels.tolist())):
        raise ValueError("gold gives one item two different labels")
    return items, labels


def _clamp(post: np.ndarray, gold: tuple[np.ndarray, np.ndarray]) -> None:
    items, labels = gold
    post[items] = 0.0
    post[items, labels] = 1.0


def _initial_posteriors(model: _Model, gold: tuple[np.ndarray, np.ndarray],
                        init_weights: Any) -> np.ndarray:
    """Where EM starts.

    Without gold: the (weighted) majority vote shares. With gold: one E-step from confusions
    estimated on the gold items alone, so that workers are first judged against the truth
    (a crowd that consistently answers k+1 is decoded, which a vote can never do); workers
    with no gold answer start one-coin at the crowd's gold accuracy, i.e. close to a vote.
    """
    table = model.table
    weights = positive_weights(init_weights, table.n_workers, "init_weights")
    if not model.labelled[gold[0]].any():  # no gold, or nobody answered a gold item
        post = vote_shares(table, weights).astype(np.float32)
        post[post.sum(axis=1) == 0] = 1.0 / table.n_classes
        return post
    anchor = np.zeros((table.n_items, table.n_classes), np.float32)
    _clamp(anchor, gold)
    post, _ = model.e_step(*model.m_step(anchor))
    _clamp(post, gold)
    return post


def _check_hyper(prior_strength: float, accuracy_prior: float, class_prior_strength: float,
                 tol: float, max_iter: int) -> None:
    if not prior_strength > 0:  # also refuses NaN
        raise ValueError(f"prior_strength must be > 0, got {prior_strength}")
    if not accuracy_prior >= 0 or not class_prior_strength > 0:
        raise ValueError("accuracy_prior must be >= 0 and class_prior_strength > 0")
    if not tol >= 0 or max_iter < 1:
        raise ValueError(f"need tol >= 0 and max_iter >= 1, got tol={tol}, max_iter={max_iter}")


def _prior_confusion(values: Any, table: LabelTable) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64)
    want = (table.n_workers, table.n_classes, table.n_classes)
    if arr.shape != want:
        raise ValueError(f"prior_confusion must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("prior_confusion must hold finite non-negative pseudo-counts")
    return arr


def dawid_skene(items: Any, workers: Any, labels: Any, *, n_items: int | None = None,
                n_workers: int | None = None, n_classes: int | None = None,
                gold_items: Any = None, gold_labels: Any = None, init_weights: Any = None,
                prior_strength: float | None = None, accuracy_prior: float = 10.0,
                class_prior_strength: float = 1.0, prior_confusion: Any = None,
                tol: float = 1e-6, max_iter: int = 100) -> CategoricalResult:
    """Dawid-Skene aggregation of answers given as parallel index arrays.

    gold_items/gold_labels: items whose truth is known; their posteriors start at and stay
        clamped to it, so they anchor every worker's confusion estimate.
    init_weights: (n_workers,) weights for the majority vote that seeds EM (e.g. reputation);
        unused when answered gold items seed it instead.
    prior_strength: pseudo-answers per confusion row in the one-coin-shaped Dirichlet prior;
        default n_classes, i.e. one pseudo-answer per cell of the row on average.
    accuracy_prior: pseudo-answers pulling each worker's accuracy towards the crowd's.
    class_prior_strength: add-k smoothing of the class prior.
    prior_confusion: optional (n_workers, n_classes, n_classes) pseudo-counts carried over
        from earlier batches (reputation), added to the counts in every M-step.
    tol: stop when the mean log-likelihood per answer changes by less than this.
    Ties between classes go to the lowest class index.
    """
    table = LabelTable.build(items, workers, labels, n_items=n_items, n_workers=n_workers,
                             n_classes=n_classes)
    if prior_strength is None:
        prior_strength = float(table.n_classes)
    _check_hyper(prior_strength, accuracy_prior, class_prior_strength, tol, max_iter)
    gold = _gold(gold_items, gold_labels, table)
    model = _Model(table, prior_strength, accuracy_prior, class_prior_strength,
                   _prior_confusion(prior_confusion, table))
    post = _initial_posteriors(model, gold, init_weights)
    previous, converged, iteration = -np.inf, False, 0
    for iteration in range(1, max_iter + 1):
        post, loglik = model.e_step(*model.m_step(post))
        _clamp(post, gold)
        if abs(loglik - previous) < tol:
            converged = True
            break
        previous = loglik
    confusion, prior = model.m_step(post)  # parameters that match the returned posteriors
    labels_out = np.where(model.labelled, post.argmax(axis=1), -1)
    labels_out[gold[0]] = gold[1]  # a gold item keeps its truth even if nobody answered it
    accuracy = np.einsum("wkk,k->w", confusion, prior)
    return CategoricalResult(labels_out, post.astype(np.float64), prior, accuracy, confusion,
                             table.worker_counts(), iteration, converged)
