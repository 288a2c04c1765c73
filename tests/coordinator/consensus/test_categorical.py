"""Majority vote, weighted vote, the id encoder, and bad categorical input."""

from __future__ import annotations

import numpy as np
import pytest

from coordinator.consensus import encode, majority_vote, weighted_majority_vote


def test_majority_vote_hand_made() -> None:
    # item 0: 2 x class 1, 1 x class 0; item 1: unanimous class 2; item 2: tie 0 vs 2
    items = [0, 0, 0, 1, 1, 2, 2]
    workers = [0, 1, 2, 0, 1, 0, 2]
    labels = [1, 1, 0, 2, 2, 2, 0]
    result = majority_vote(items, workers, labels, n_classes=3)
    assert result.labels.tolist() == [1, 2, 0]  # the tie goes to the lowest class index
    np.testing.assert_allclose(result.posteriors[0], [1 / 3, 2 / 3, 0])
    np.testing.assert_allclose(result.confidence, [2 / 3, 1.0, 0.5])
    # worker 2 agreed on item 2 only; worker 0 on items 0 and 1, not on the tie it lost
    np.testing.assert_allclose(result.worker_accuracy, [2 / 3, 1.0, 0.5])
    assert result.worker_confusion is None and result.worker_counts.tolist() == [3, 2, 2]


def test_weighted_vote_lets_a_trusted_worker_outvote_two() -> None:
    items, workers, labels = [0, 0, 0], [0, 1, 2], [3, 1, 1]
    assert majority_vote(items, workers, labels).labels.tolist() == [1]
    weighted = weighted_majority_vote(items, workers, labels, [2.5, 1.0, 1.0])
    assert weighted.labels.tolist() == [3]
    assert weighted.posteriors[0, 3] == pytest.approx(2.5 / 4.5)


def test_unlabelled_items_get_minus_one() -> None:
    result = majority_vote([0, 2], [0, 0], [1, 1], n_items=4)
    assert result.labels.tolist() == [1, -1, 1, -1]
    assert result.posteriors[1].sum() == 0 and result.confidence[1] == 0


def test_zero_weight_workers_leave_an_item_unlabelled() -> None:
    result = weighted_majority_vote([0, 1], [0, 1], [1, 0], [0.0, 1.0])
    assert result.labels.tolist() == [-1, 0]


def test_encode_round_trip_with_arbitrary_ids() -> None:
    enc = encode(["img-b", "img-a", "img-b"], ["0xB0b", "0xA11ce", "0xA11ce"], ["dog", "cat", "dog"])
    assert enc.item_ids == ("img-a", "img-b") and enc.classes == ("cat", "dog")
    assert enc.items.tolist() == [1, 0, 1] and enc.labels.tolist() == [1, 0, 1]
    result = majority_vote(enc.items, enc.workers, enc.labels, **enc.sizes)
    assert enc.decode(result.labels) == {"img-a": "cat", "img-b": "dog"}
    gold_items, gold_labels = enc.gold({"img-b": "cat"})
    assert gold_items.tolist() == [1] and gold_labels.tolist() == [0]


def test_encode_class_order_sets_the_tie_rule() -> None:
    enc = encode([1, 1], ["u", "v"], ["yes", "no"], classes=["yes", "no", "unsure"])
    result = majority_vote(enc.items, enc.workers, enc.labels, **enc.sizes)
    assert enc.decode(result.labels) == {1: "yes"} and result.posteriors.shape == (1, 3)


def test_encode_mixed_id_types_keep_first_appearance() -> None:
    enc = encode([3, "x", 3], ["w", "w", "v"], ["a", "b", "a"])
    assert enc.item_ids == (3, "x")


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (([], [], []), {}, "no answers"),
    (([0, 1], [0], [1, 1]), {}, "mismatched lengths: items=2, workers=1, labels=2"),
    (([0, -1], [0, 1], [1, 1]), {}, "items must hold non-negative"),
    (([0, 1.5], [0, 1], [1, 1]), {}, "items must hold integer"),
    (([0, np.nan], [0, 1], [1, 1]), {}, "items must hold integer"),
    (([0, 1], [0, 1], [0, 0]), {}, "at least 2 classes"),
    (([0, 5], [0, 1], [0, 1]), {"n_items": 3}, "n_items=3 but the input holds index 5"),
    (([[0, 1]], [[0, 1]], [[0, 1]]), {}, "one-dimensional"),
])
def test_bad_input_is_refused_clearly(args: tuple, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        majority_vote(*args, **kwargs)


def test_bad_weights_and_encoder_input() -> None:
    with pytest.raises(ValueError, match="worker_weights must have shape"):
        weighted_majority_vote([0], [0], [1], [1.0, 2.0], n_classes=2)
    with pytest.raises(ValueError, match="finite and non-negative"):
        weighted_majority_vote([0], [0], [1], [np.nan], n_classes=2)
    with pytest.raises(ValueError, match="does not list the value 'maybe'"):
        encode([1], ["u"], ["maybe"], classes=["yes", "no"])
    with pytest.raises(ValueError, match="mismatched lengths"):
        encode([1, 2], ["u"], ["yes"])
    enc = encode([1], ["u"], ["yes"])
    with pytest.raises(ValueError, match="unknown item"):
        enc.gold({2: "yes"})
