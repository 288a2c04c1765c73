"""Dawid-Skene: known answers, simulated crowds, sparse workers, gold, and crowd-kit as oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from coordinator.consensus import SPAMMER_HEAVY, dawid_skene, majority_vote, simulate_crowd


def _shifting_crowd(n: int = 90, k: int = 3) -> tuple[np.ndarray, ...]:
    """Workers 0 and 1 are always right; worker 2 always answers (truth + 1) % k.

    Items 0..n-1 are answered by all three; items n..n+5 by worker 2 alone.
    """
    truth = np.arange(n + 6) % k
    items = np.concatenate([np.repeat(np.arange(n), 3), np.arange(n, n + 6)])
    workers = np.concatenate([np.tile([0, 1, 2], n), np.full(6, 2)])
    labels = np.where(workers == 2, (truth[items] + 1) % k, truth[items])
    return items, workers, labels, truth


def test_learns_a_consistent_swap_that_majority_vote_cannot_use() -> None:
    items, workers, labels, truth = _shifting_crowd()
    ds = dawid_skene(items, workers, labels)
    mv = majority_vote(items, workers, labels)
    assert ds.converged and ds.iterations >= 2
    assert np.array_equal(ds.labels, truth)  # the lone answers of worker 2 are decoded
    assert np.array_equal(mv.labels[-6:], (truth[-6:] + 1) % 3)
    assert ds.worker_confusion is not None
    assert ds.worker_confusion[2, 0, 1] > 0.9 and ds.worker_accuracy[2] < 0.1
    assert ds.worker_accuracy[0] > 0.9
    np.testing.assert_allclose(ds.worker_confusion.sum(axis=2), 1.0)
    np.testing.assert_allclose(ds.posteriors.sum(axis=1), 1.0)


def test_ties_go_to_the_lowest_class() -> None:
    ds = dawid_skene([0, 0], [0, 1], [1, 0], n_classes=2)
    assert ds.posteriors[0, 0] == pytest.approx(ds.posteriors[0, 1])
    assert ds.labels.tolist() == [0]


def test_unlabelled_item_gets_the_class_prior() -> None:
    ds = dawid_skene([0, 0, 2], [0, 1, 0], [1, 1, 1], n_items=3, n_classes=3)
    assert ds.labels.tolist() == [1, -1, 1]
    np.testing.assert_allclose(ds.posteriors[1], ds.class_prior, atol=1e-3)


def test_beats_majority_vote_on_a_crowd_with_confusers_and_spammers() -> None:
    crowd = simulate_crowd(6000, n_workers=60, n_classes=10, seed=3)
    ds = dawid_skene(crowd.items, crowd.workers, crowd.labels, **crowd.sizes)
    mv = majority_vote(crowd.items, crowd.workers, crowd.labels, **crowd.sizes)
    assert crowd.accuracy(ds.labels) > crowd.accuracy(mv.labels) + 0.03
    # the estimated skills rank workers as the true ones do
    true_acc = np.einsum("wkk,k->w", crowd.confusion, crowd.class_prior)
    assert np.corrcoef(true_acc, ds.worker_accuracy)[0, 1] > 0.95


@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_workers_do_not_collapse(seed: int) -> None:
    # ~12 answers per worker: far fewer than the 100 parameters of a 10x10 confusion
    crowd = simulate_crowd(4000, n_workers=1600, n_classes=10, activity_sigma=0.4, seed=seed)
    assert np.median(np.bincount(crowd.workers)) <= 20
    ds = dawid_skene(crowd.items, crowd.workers, crowd.labels, **crowd.sizes)
    mv = majority_vote(crowd.items, crowd.workers, crowd.labels, **crowd.sizes)
    assert crowd.accuracy(ds.labels) >= crowd.accuracy(mv.labels) - 0.01


def test_gold_is_clamped_even_against_the_crowd() -> None:
    items, workers, labels, truth = _shifting_crowd()
    ds = dawid_skene(items, workers, labels, gold_items=[0, 4], gold_labels=[2, 2])
    assert ds.labels[0] == 2 and ds.labels[4] == 2
    np.testing.assert_array_equal(ds.posteriors[[0, 4]], [[0, 0, 1], [0, 0, 1]])


def test_gold_anchors_a_crowd_that_is_consistently_wrong() -> None:
    # every worker answers truth + 1: a vote is always wrong; 5 % gold reveals the shift
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 400)
    items = np.repeat(np.arange(400), 3)
    workers = np.tile([0, 1, 2], 400)
    labels = (truth[items] + 1) % 4
    gold = np.arange(0, 400, 20)
    assert np.mean(dawid_skene(items, workers, labels).labels == truth) == 0
    anchored = dawid_skene(items, workers, labels, gold_items=gold, gold_labels=truth[gold])
    assert np.array_equal(anchored.labels, truth)


def test_gold_on_unanswered_items_still_counts() -> None:
    ds = dawid_skene([0, 0], [0, 1], [1, 1], n_items=2, n_classes=2, gold_items=[1], gold_labels=[0])
    assert ds.labels.tolist() == [1, 0]


def test_prior_confusion_carries_reputation_over() -> None:
    # one answer only; history says worker 0 always answers 1 when the truth is 0
    history = np.zeros((1, 2, 2))
    history[0] = [[0, 500], [5, 0]]
    ds = dawid_skene([0], [0], [1], n_classes=2, prior_confusion=history)
    assert ds.labels.tolist() == [0]


def test_iteration_limits() -> None:
    crowd = simulate_crowd(500, n_workers=20, n_classes=5, seed=1)
    one = dawid_skene(crowd.items, crowd.workers, crowd.labels, max_iter=1)
    assert one.iterations == 1 and not one.converged
    fixed = dawid_skene(crowd.items, crowd.workers, crowd.labels, tol=0.0, max_iter=7)
    assert fixed.iterations == 7


def test_deterministic() -> None:
    crowd = simulate_crowd(2000, n_workers=40, n_classes=6, seed=5)
    a = dawid_skene(crowd.items, crowd.workers, crowd.labels)
    b = dawid_skene(crowd.items, crowd.workers, crowd.labels)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.posteriors, b.posteriors)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"gold_items": [0]}, "given together"),
    ({"gold_items": [0, 1], "gold_labels": [0]}, "mismatched lengths"),
    ({"gold_items": [9], "gold_labels": [0]}, "gold_items holds item 9"),
    ({"gold_items": [0], "gold_labels": [7]}, "gold_labels holds class 7"),
    ({"gold_items": [0, 0], "gold_labels": [0, 1]}, "two different labels"),
    ({"prior_strength": 0.0}, "prior_strength must be > 0"),
    ({"prior_strength": float("nan")}, "prior_strength must be > 0"),
    ({"max_iter": 0}, "max_iter >= 1"),
    ({"prior_confusion": np.ones((1, 2, 2))}, "prior_confusion must have shape"),
    ({"init_weights": [1.0]}, "init_weights must have shape"),
])
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dawid_skene([0, 0, 1], [0, 1, 1], [0, 1, 1], **kwargs)


# -- crowd-kit as an accuracy oracle --------------------------------------------------------------

@pytest.fixture(scope="module")
def crowdkit_ds() -> Any:
    pytest.importorskip("crowdkit")
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    def run(crowd: Any) -> np.ndarray:
        frame = pd.DataFrame({"task": crowd.items, "worker": crowd.workers, "label": crowd.labels})
        gold = None
        if len(crowd.gold_items):
            gold = pd.Series(crowd.gold_labels, index=crowd.gold_items)
        predicted = DawidSkene(n_iter=100, tol=1e-5).fit_predict(frame, true_labels=gold)
        out = np.full(len(crowd.truth), -1)
        out[predicted.index.to_numpy(dtype=np.int64)] = predicted.to_numpy(dtype=np.int64)
        return out
    return run


@pytest.mark.parametrize(("name", "kwargs"), [
    ("dense", {"n_items": 3000, "n_workers": 30, "n_classes": 8, "seed": 0}),
    ("spammer-heavy", {"n_items": 3000, "n_workers": 30, "n_classes": 8, "mix": SPAMMER_HEAVY,
                       "seed": 1}),
    ("cold-start", {"n_items": 2000, "n_workers": 200, "n_classes": 8, "seed": 2}),
    ("gold", {"n_items": 3000, "n_workers": 30, "n_classes": 8, "gold_share": 0.02, "seed": 3}),
])
def test_at_least_as_accurate_as_crowdkit(crowdkit_ds: Any, name: str, kwargs: dict[str, Any]) -> None:
    n_items = kwargs.pop("n_items")
    crowd = simulate_crowd(n_items, **kwargs)
    ours = dawid_skene(crowd.items, crowd.workers, crowd.labels, gold_items=crowd.gold_items,
                       gold_labels=crowd.gold_labels, **crowd.sizes)
    assert crowd.accuracy(ours.labels) >= crowd.accuracy(crowdkit_ds(crowd)), name
