"""Polyline consensus: resampling, the curve similarity, matching, fusion, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.consensus import curve_length, curve_similarity, merge_polylines, resample
from coordinator.consensus.polylines import MIN_SCALE_PX, SAMPLES, SIGMA

LANE = np.array([[100.0, 700.0], [260.0, 420.0], [500.0, 100.0]])


def _sim(a: np.ndarray, b: np.ndarray) -> float:
    return float(curve_similarity(resample(a)[None], resample(b)[None], np.array([curve_length(a)]),
                                  np.array([curve_length(b)]))[0, 0])


def test_resample_keeps_the_ends_at_equal_steps() -> None:
    out = resample(np.array([[0.0, 0.0], [0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]))  # a repeated vertex
    assert out.shape == (SAMPLES, 2) and out[0].tolist() == [0, 0] and out[-1].tolist() == [10, 10]
    steps = np.linalg.norm(np.diff(out, axis=0), axis=1)
    assert steps.max() - steps.min() < 0.3  # equal arc length, up to the corner cut
    assert resample(np.array([[4.0, 4.0], [4.0, 4.0]])).tolist() == [[4.0, 4.0]] * SAMPLES


def test_similarity_ignores_direction_and_vertex_count() -> None:
    assert _sim(LANE, LANE) == pytest.approx(1.0)
    assert _sim(LANE, LANE[::-1]) == pytest.approx(1.0)
    densified = resample(LANE, 200)  # the same course, many more vertices
    assert _sim(LANE, densified) > 0.999


def test_similarity_is_scale_aware_like_oks() -> None:
    length = curve_length(LANE)
    offset = SIGMA * length * np.sqrt(2 * np.log(2))  # the gap at which similarity is one half
    assert _sim(LANE, LANE + [offset, 0]) == pytest.approx(0.5, abs=0.01)
    assert _sim(LANE, LANE + [250, 0]) < 1e-6  # the next lane over
    short = np.array([[0.0, 0.0], [10.0, 0.0]])  # held to MIN_SCALE_PX, not to its 10 px
    assert _sim(short, short + [0, SIGMA * MIN_SCALE_PX]) == pytest.approx(np.exp(-0.5), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=2, max_size=8),
       st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=2, max_size=8),
       st.tuples(st.floats(-500, 500), st.floats(-500, 500)))
def test_similarity_is_symmetric_bounded_and_moves_with_the_picture(a: list, b: list, shift: tuple) -> None:
    pa, pb = np.asarray(a), np.asarray(b)
    s = _sim(pa, pb)
    assert 0.0 <= s <= 1.0 and s == pytest.approx(_sim(pb, pa), abs=1e-9)
    assert _sim(pa + shift, pb + shift) == pytest.approx(s, abs=1e-6)


def test_merge_matches_lanes_across_annotators_and_fuses_the_mean() -> None:
    rng = np.random.default_rng(4)
    other = LANE + [250, 0]
    curves, who = [], []
    for annotator in ("ana", "bo", "cy"):
        curves += [LANE + rng.normal(0, 2, LANE.shape), (other + rng.normal(0, 2, other.shape))[::-1]]
        who += [annotator, annotator]
    curves.append(np.array([[0.0, 0.0], [40.0, 30.0]]))  # only cy saw this one
    who.append("cy")
    result = merge_polylines(curves, who, ["lane"] * len(who))
    assert [c.members for c in result.clusters] == [(0, 2, 4), (1, 3, 5)]
    assert [c.members for c in result.rejected] == [(6,)]
    for cluster, truth in zip(result.clusters, (LANE, other)):
        assert _sim(cluster.shape, truth) > 0.99 and cluster.agreement > 0.95
    assert 0.7 < result.agreement < 0.8  # two agreed lanes and one lone curve (1/3)


def test_one_annotators_two_curves_never_share_a_cluster() -> None:
    near = LANE + [3, 0]  # the same annotator drew two lines 3 px apart: both are kept apart
    result = merge_polylines([LANE, near, LANE + [1, 1]], ["ana", "ana", "bo"], quorum=1)
    assert sorted(len(c.members) for c in result.clusters) == [1, 2]


def test_weights_pull_the_fused_curve_and_labels_vote() -> None:
    a, b = LANE, LANE + [10, 0]
    result = merge_polylines([a, b], ["ana", "bo"], ["lane", "edge"], weights={"ana": 3.0, "bo": 1.0})
    (cluster,) = result.clusters
    assert cluster.label == "lane" and cluster.label_share == pytest.approx(0.75)
    assert cluster.shape[0] == pytest.approx(a[0] + [2.5, 0])


@pytest.mark.parametrize(("curves", "message"), [
    ([[[0, 0]]], "K >= 2"),
    ([[[0, 0], [np.nan, 1]]], "NaN or infinite"),
    ([[[0, 0], [1, 1]], [[0, 0], [1, 1]]], "mismatched lengths"),
])
def test_bad_input_is_refused_clearly(curves: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_polylines(curves, ["ana"])
