"""A seeded crowd simulator (research/03, section 2), for tests and the benchmark.

Truth follows a Zipf-like class prior (proportional to (k+1)^-zipf). Every worker has a
full confusion matrix drawn by kind:

  good               accuracy U(0.70, 0.95); 80 % of errors to the two neighbouring classes
  mediocre           accuracy U(0.35, 0.60); same error shape
  uniform spammer    uniformly random answers
  constant spammer   one fixed class 90 % of the time, otherwise uniform
  confuser           a good worker who answers k+1 for a third of the classes 90 % of the time

Each item goes to `overlap` distinct workers drawn in proportion to a lognormal activity, so a
few workers do much of the work and many do little. Many workers with a small activity
spread (e.g. 4,000 workers for 10,000 items x 5) give the sparse, cold-start regime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

KINDS = ("good", "mediocre", "uniform_spammer", "constant_spammer", "confuser")


@dataclass(frozen=True)
class WorkerMix:
    """Shares of each worker kind (normalised, so they need not add up to 1)."""

    good: float = 0.55
    mediocre: float = 0.20
    uniform_spammer: float = 0.10
    constant_spammer: float = 0.05
    confuser: float = 0.10

    def shares(self) -> np.ndarray:
        raw = np.array([getattr(self, kind) for kind in KINDS], dtype=np.float64)
        if np.any(raw < 0) or raw.sum() <= 0:
            raise ValueError("worker mix shares must be non-negative and not all zero")
        return raw / raw.sum()


SPAMMER_HEAVY = WorkerMix(good=0.30, mediocre=0.15, uniform_spammer=0.25, constant_spammer=0.20,
                          confuser=0.10)


@dataclass(frozen=True)
class Crowd:
    """Simulated answers (parallel index arrays) with the truth and the true worker model."""

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    truth: np.ndarray
    confusion: np.ndarray
    kinds: np.ndarray
    class_prior: np.ndarray
    gold_items: np.ndarray
    gold_labels: np.ndarray

    @property
    def sizes(self) -> dict[str, int]:
        return {"n_items": len(self.truth), "n_workers": len(self.kinds),
                "n_classes": len(self.class_prior)}

    def accuracy(self, predicted: np.ndarray) -> float:
        """Share of non-gold items whose predicted class is the truth."""
        keep = np.ones(len(self.truth), bool)
        keep[self.gold_items] = False
        return float(np.mean(np.asarray(predicted)[keep] == self.truth[keep]))

    def oracle_labels(self) -> np.ndarray:
        """Bayes-optimal labels given the true confusion matrices and class prior."""
        w, k = self.confusion.shape[:2]
        answers = sparse.csr_matrix((np.ones(len(self.items)), (self.items, self.workers * k + self.labels)),
                                    shape=(len(self.truth), w * k))
        log_conf = np.log(np.maximum(self.confusion, 1e-300)).transpose(0, 2, 1).reshape(w * k, k)
        return np.asarray(answers @ log_conf + np.log(self.class_prior)).argmax(axis=1)


def _error_shape(k: int) -> np.ndarray:
    """Row-stochastic error pattern with a zero diagonal: 80 % to the neighbours k-1 and k+1."""
    eye = np.eye(k)
    neighbours = (np.roll(eye, 1, axis=1) + np.roll(eye, -1, axis=1)) / 2.0
    uniform = (1.0 - eye) / (k - 1)
    return 0.8 * neighbours + 0.2 * uniform


def _confusions(kinds: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    eye, errors = np.eye(k), _error_shape(k)
    n = len(kinds)
    acc = np.where(kinds == "mediocre", rng.uniform(0.35, 0.60, n), rng.uniform(0.70, 0.95, n))
    conf = acc[:, None, None] * eye + (1.0 - acc)[:, None, None] * errors
    conf[kinds == "uniform_spammer"] = 1.0 / k
    for w in np.flatnonzero(kinds == "constant_spammer"):
        conf[w] = 0.1 / k + 0.9 * eye[rng.integers(k)][None, :]
    shifted = np.roll(eye, 1, axis=1)  # row c -> class c+1
    for w in np.flatnonzero(kinds == "confuser"):
        rows = rng.choice(k, max(1, k // 3), replace=False)
        conf[w, rows] = 0.9 * shifted[rows] + 0.1 * conf[w, rows]
    return conf


def _assign(n_items: int, overlap: int, activity: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    """(n_items, overlap) distinct workers per item, drawn in proportion to activity.

    Gumbel top-k: the `overlap` largest of log(p) + Gumbel noise are a draw without
    replacement with probabilities p; done in chunks to bound memory.
    """
    log_p = np.log(activity / activity.sum())
    chunk = max(1, 4_000_000 // len(activity))
    out = np.empty((n_items, overlap), np.int64)
    for start in range(0, n_items, chunk):
        stop = min(n_items, start + chunk)
        keys = log_p + rng.gumbel(size=(stop - start, len(activity)))
        out[start:stop] = np.argpartition(-keys, overlap - 1, axis=1)[:, :overlap]
    return out


def _answer(confusion: np.ndarray, workers: np.ndarray, truth: np.ndarray,
            rng: np.random.Generator) -> np.ndarray:
    cdf = confusion.cumsum(axis=2)
    u = rng.random(len(workers))
    labels = np.empty(len(workers), np.int64)
    for start in range(0, len(workers), 200_000):
        sl = slice(start, start + 200_000)
        labels[sl] = (cdf[workers[sl], truth[sl]] < u[sl, None]).sum(axis=1)
    return np.minimum(labels, confusion.shape[2] - 1)  # guards against cdf rounding below u


def simulate_crowd(n_items: int = 10_000, *, n_workers: int = 500, n_classes: int = 20,
                   overlap: int = 5, mix: WorkerMix = WorkerMix(), zipf: float = 0.7,
                   activity_sigma: float = 1.0, gold_share: float = 0.0, seed: int = 0) -> Crowd:
    """Simulate `n_items` x `overlap` answers from `n_workers` workers of the given mix."""
    if n_items < 1 or n_classes < 2 or not 1 <= overlap <= n_workers:
        raise ValueError("need n_items >= 1, n_classes >= 2 and 1 <= overlap <= n_workers")
    if not 0.0 <= gold_share <= 1.0:
        raise ValueError(f"gold_share must lie in [0, 1], got {gold_share}")
    rng = np.random.default_rng(seed)
    prior = np.arange(1, n_classes + 1, dtype=np.float64) ** -zipf
    prior /= prior.sum()
    truth = rng.choice(n_classes, n_items, p=prior)
    kinds = np.asarray(KINDS)[rng.choice(len(KINDS), n_workers, p=mix.shares())]
    confusion = _confusions(kinds, n_classes, rng)
    activity = rng.lognormal(0.0, activity_sigma, n_workers)
    workers = _assign(n_items, overlap, activity, rng).ravel()
    items = np.repeat(np.arange(n_items), overlap)
    labels = _answer(confusion, workers, truth[items], rng)
    gold = np.sort(rng.choice(n_items, int(round(gold_share * n_items)), replace=False))
    return Crowd(items, workers, labels, truth, confusion, kinds, prior, gold, truth[gold])
