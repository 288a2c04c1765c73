"""Box consensus: matching, the one-box-per-annotator rule, quorum, fusion, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.consensus import box_iou, cluster_by_similarity, merge_boxes


def _scene(rng: np.random.Generator, n: int = 6) -> np.ndarray:
    """n well separated 40x40 boxes on a 1000 px wide strip."""
    x = np.arange(n) * 150.0 + 20
    return np.column_stack([x, np.full(n, 30.0), x + 40, np.full(n, 70.0)])


def test_box_iou() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0], [0, 0]])


def test_two_annotators_jittered_boxes_cluster_correctly() -> None:
    rng = np.random.default_rng(0)
    truth = _scene(rng)
    ann_a = truth + rng.normal(0, 1.5, truth.shape)
    ann_b = (truth + rng.normal(0, 1.5, truth.shape))[::-1]  # another order
    boxes = np.vstack([ann_a, ann_b])
    who = ["alice"] * 6 + ["bob"] * 6
    result = merge_boxes(boxes, who, ["car"] * 12)
    assert len(result.clusters) == 6 and not result.rejected
    for cluster in result.clusters:
        a, b = cluster.members
        assert b == 11 - a  # box i of alice with the reversed box of bob
        assert cluster.label == "car" and cluster.label_share == 1.0
        np.testing.assert_allclose(cluster.shape, (boxes[a] + boxes[b]) / 2)
    assert 0.8 < result.agreement <= 1.0


def test_quorum_drops_a_lone_box_and_lowers_agreement() -> None:
    boxes = [[0, 0, 10, 10], [1, 0, 11, 10], [0, 1, 10, 11], [100, 100, 110, 110]]
    who = ["a", "b", "c", "c"]
    result = merge_boxes(boxes, who, quorum=2)
    assert [c.members for c in result.clusters] == [(0, 1, 2)]
    assert [c.members for c in result.rejected] == [(3,)] and not result.rejected[0].accepted
    assert result.rejected[0].agreement == pytest.approx(1 / 3)  # 1 of 3 annotators, IoU 1
    default = merge_boxes(boxes, who)  # default quorum: strict majority of 3 = 2
    assert len(default.clusters) == 1


def test_annotator_who_drew_nothing_counts_as_disagreement() -> None:
    boxes = [[0, 0, 10, 10], [0, 0, 10, 10]]
    two = merge_boxes(boxes, ["a", "b"])
    four = merge_boxes(boxes, ["a", "b"], n_annotators=4)
    assert two.agreement == pytest.approx(1.0) and len(two.clusters) == 1
    assert four.agreement == pytest.approx(0.5)
    assert len(four.clusters) == 0 and len(four.rejected) == 1  # quorum 3 of 4 not reached
    nobody = merge_boxes(np.zeros((0, 4)), [], n_annotators=3)
    assert nobody.clusters == () and nobody.agreement == 1.0


def test_label_vote_is_weighted_by_reputation() -> None:
    boxes = [[0, 0, 10, 10]] * 3
    who = ["novice1", "novice2", "expert"]
    labels = ["cat", "cat", "dog"]
    plain = merge_boxes(boxes, who, labels)
    assert plain.clusters[0].label == "cat"
    weighted = merge_boxes(boxes, who, labels, weights={"novice1": 0.2, "novice2": 0.2, "expert": 1.0})
    assert weighted.clusters[0].label == "dog"
    assert weighted.clusters[0].label_share == pytest.approx(1.0 / 1.4)


def test_label_tie_goes_to_the_first_label_in_input_order() -> None:
    result = merge_boxes([[0, 0, 10, 10]] * 2, ["a", "b"], ["zebra", "ant"])
    assert result.clusters[0].label == "zebra"


def test_same_label_only_keeps_different_labels_apart() -> None:
    boxes = [[0, 0, 10, 10], [0, 0, 10, 10]]
    result = merge_boxes(boxes, ["a", "b"], ["cat", "dog"], same_label_only=True, quorum=1)
    assert len(result.clusters) == 2


def test_wbf_versus_medoid() -> None:
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [1, 0, 11, 10]], float)
    who = ["a", "b", "c"]
    wbf = merge_boxes(boxes, who, weights={"a": 1.0, "b": 3.0, "c": 1.0})
    np.testing.assert_allclose(wbf.clusters[0].shape, [1.4, 0, 11.4, 10])  # (0 + 6 + 1) / 5
    medoid = merge_boxes(boxes, who, fusion="medoid")
    np.testing.assert_allclose(medoid.clusters[0].shape, boxes[2])  # the middle box
    assert medoid.clusters[0].agreement < 1.0  # its own IoU is 1, the others less


def test_chained_matches_are_not_merged() -> None:
    # a~b and b~c reach the threshold, a~c does not: complete linkage keeps a and c apart
    boxes = [[0, 0, 10, 10], [2.5, 0, 12.5, 10], [5, 0, 15, 10]]
    sim = box_iou(np.array(boxes), np.array(boxes))
    assert sim[0, 1] >= 0.6 and sim[1, 2] >= 0.6 and sim[0, 2] < 0.6
    clusters = cluster_by_similarity(sim, np.array([0, 1, 2]), 0.6)
    assert all(not ({0, 2} <= set(c)) for c in clusters)


@st.composite
def crowded_boxes(draw: st.DrawFn) -> tuple[np.ndarray, list[int]]:
    n = draw(st.integers(1, 25))
    xy = draw(st.lists(st.tuples(st.floats(0, 50), st.floats(0, 50), st.floats(0.5, 30),
                                 st.floats(0.5, 30)), min_size=n, max_size=n))
    who = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in xy])
    return boxes, who


@settings(max_examples=150, deadline=None)
@given(crowded_boxes(), st.floats(0.05, 0.95))
def test_a_cluster_never_holds_two_boxes_of_one_annotator(data: tuple[np.ndarray, list[int]],
                                                         threshold: float) -> None:
    boxes, who = data
    result = merge_boxes(boxes, who, iou_threshold=threshold, quorum=1)
    seen = sorted(i for c in result.clusters for i in c.members)
    assert seen == list(range(len(boxes)))  # every box in exactly one cluster
    iou = box_iou(boxes, boxes)
    for cluster in result.clusters:
        assert len(set(cluster.annotators)) == len(cluster.annotators)
        members = list(cluster.members)
        block = iou[np.ix_(members, members)]
        assert block.min() >= threshold - 1e-12  # every pair matches
        assert 0.0 <= cluster.agreement <= 1.0


@pytest.mark.parametrize(("boxes", "who", "kwargs", "message"), [
    ([[0, 0, 1, 1]], ["a", "b"], {}, "mismatched lengths: boxes=1, annotators=2"),
    ([[0, 0, np.nan, 1]], ["a"], {}, "NaN or infinite"),
    ([[5, 0, 1, 1]], ["a"], {}, r"boxes\[0\] has a negative size"),
    ([[0, 0, 1]], ["a"], {}, r"must have shape \(n, 4\)"),
    ([], [], {}, "no shapes and no n_annotators"),
    ([[0, 0, 1, 1]], ["a"], {"iou_threshold": 1.5}, "threshold must lie in"),
    ([[0, 0, 1, 1]], ["a"], {"quorum": 0}, "quorum must be at least 1"),
    ([[0, 0, 1, 1]], ["a"], {"fusion": "mean"}, "fusion must be"),
    ([[0, 0, 1, 1]], ["a"], {"weights": {"b": 1.0}}, "no entry for annotator"),
    ([[0, 0, 1, 1]] * 2, ["a", "b"], {"n_annotators": 1}, "n_annotators=1"),
])
def test_bad_input(boxes: list, who: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_boxes(boxes, who, **kwargs)
