"""Agreement scores, the accept / more / review decision, and the crowd simulator."""

from __future__ import annotations

import numpy as np
import pytest

from coordinator.consensus import (
    SPAMMER_HEAVY, WorkerMix, agreement, dawid_skene, decide, majority_vote, medoid_transcript,
    merge_boxes, merge_segments, simulate_crowd,
)


@pytest.mark.parametrize(("score", "extra_used", "want"), [
    (0.9, 0, "accept"), (0.7, 2, "accept"), (0.69, 0, "more"), (0.69, 1, "more"), (0.2, 2, "review"),
])
def test_decide(score: float, extra_used: int, want: str) -> None:
    assert decide(score, 0.7, extra_used, max_extra=2) == want


@pytest.mark.parametrize(("args", "message"), [
    ((float("nan"), 0.7, 0, 2), "score must lie in"),
    ((1.2, 0.7, 0, 2), "score must lie in"),
    ((0.5, -0.1, 0, 2), "threshold must lie in"),
    ((0.5, 0.7, -1, 2), "must be >= 0"),
])
def test_decide_refuses_bad_input(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decide(*args)


def test_agreement_for_every_modality() -> None:
    cat = majority_vote([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [1, 1, 0, 2, 2])
    np.testing.assert_allclose(agreement(cat), [2 / 3, 1.0])
    ds = dawid_skene([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [1, 1, 0, 2, 2])
    assert np.all((agreement(ds) > 0) & (agreement(ds) <= 1))
    boxes = merge_boxes([[0, 0, 10, 10], [0, 0, 10, 10]], ["a", "b"])
    assert agreement(boxes) == pytest.approx(1.0)
    segs = merge_segments([0.0], [1.0], ["x"], ["a"], n_annotators=1)
    assert agreement(segs) == pytest.approx(1.0)
    assert agreement(medoid_transcript(["abcd", "abce"])) == pytest.approx(0.75)
    with pytest.raises(TypeError):
        agreement("not a result")  # type: ignore[arg-type]


def test_dynamic_overlap_flow_on_a_categorical_batch() -> None:
    crowd = simulate_crowd(2000, n_workers=40, n_classes=5, overlap=3, seed=4)
    ds = dawid_skene(crowd.items, crowd.workers, crowd.labels, **crowd.sizes)
    routes = np.array([decide(float(s), 0.9, 0, 2) for s in agreement(ds)])
    accepted = routes == "accept"
    assert set(routes) <= {"accept", "more"} and 0.3 < accepted.mean() < 1.0
    # confident items are right far more often than the rest: the score is worth routing on
    right = ds.labels == crowd.truth
    assert right[accepted].mean() > right[~accepted].mean() + 0.1


def test_simulator_is_seeded_and_shaped_as_asked() -> None:
    a = simulate_crowd(1000, n_workers=50, n_classes=6, overlap=4, gold_share=0.05, seed=9)
    b = simulate_crowd(1000, n_workers=50, n_classes=6, overlap=4, gold_share=0.05, seed=9)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.workers, b.workers)
    assert len(a.items) == 4000 and a.sizes == {"n_items": 1000, "n_workers": 50, "n_classes": 6}
    per_item = a.workers.reshape(1000, 4)
    assert all(len(set(row)) == 4 for row in per_item.tolist())  # distinct workers per item
    assert len(a.gold_items) == 50 and np.array_equal(a.gold_labels, a.truth[a.gold_items])
    np.testing.assert_allclose(a.confusion.sum(axis=2), 1.0)
    assert a.class_prior[0] > a.class_prior[-1]  # Zipf-like
    assert a.accuracy(a.oracle_labels()) >= a.accuracy(majority_vote(a.items, a.workers, a.labels,
                                                                     **a.sizes).labels)


def test_simulator_worker_kinds() -> None:
    crowd = simulate_crowd(200, n_workers=400, n_classes=10, mix=SPAMMER_HEAVY, seed=2)
    kinds, counts = np.unique(crowd.kinds, return_counts=True)
    share = dict(zip(kinds.tolist(), (counts / 400).tolist()))
    assert share["uniform_spammer"] == pytest.approx(0.25, abs=0.07)
    spam = crowd.confusion[crowd.kinds == "uniform_spammer"]
    np.testing.assert_allclose(spam, 0.1)
    constant = crowd.confusion[crowd.kinds == "constant_spammer"]
    assert np.all(constant.max(axis=2) > 0.9)
    with pytest.raises(ValueError, match="non-negative"):
        simulate_crowd(10, mix=WorkerMix(good=-1))
    with pytest.raises(ValueError, match="overlap"):
        simulate_crowd(10, n_workers=3, overlap=5)
