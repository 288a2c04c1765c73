"""Mask consensus (pixel vote, medoid) and keypoint consensus (OKS, visibility vote)."""

from __future__ import annotations

import numpy as np
import pytest

from coordinator.consensus import COCO_PERSON_SIGMAS, mask_iou, merge_keypoints, merge_masks, oks


def _disk(cx: float, cy: float, r: float, size: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def test_mask_iou() -> None:
    a = np.zeros((4, 4), bool)
    a[:2] = True
    b = np.zeros((4, 4), bool)
    b[1:3] = True
    iou = mask_iou(np.stack([a, b, np.zeros((4, 4), bool)]).reshape(3, -1))
    np.testing.assert_allclose(iou, [[1, 1 / 3, 0], [1 / 3, 1, 0], [0, 0, 0]])


def test_masks_cluster_and_vote_pixelwise() -> None:
    masks = [_disk(16, 16, 8), _disk(17, 16, 8), _disk(16, 17, 8),  # object 1, three annotators
             _disk(45, 45, 10), _disk(46, 45, 10)]                  # object 2, two of them
    who = ["a", "b", "c", "a", "c"]
    result = merge_masks(masks, who, ["cell"] * 5)
    assert [c.members for c in result.clusters] == [(0, 1, 2), (3, 4)]
    voted = result.clusters[0].shape
    share = np.mean([masks[0], masks[1], masks[2]], axis=0)
    np.testing.assert_array_equal(voted, share >= 0.5)
    assert result.clusters[0].agreement > result.clusters[1].agreement  # 3 of 3 vs 2 of 3
    medoid = merge_masks(masks, who, fusion="medoid")
    np.testing.assert_array_equal(medoid.clusters[0].shape, masks[0])  # the central disk


def test_pixel_vote_weights_and_threshold() -> None:
    masks = [_disk(30, 30, 10), _disk(30, 30, 12), _disk(30, 30, 14)]
    who = ["a", "b", "c"]
    strict = merge_masks(masks, who, iou_threshold=0.3, pixel_threshold=1.0)
    np.testing.assert_array_equal(strict.clusters[0].shape, masks[0])  # intersection
    loose = merge_masks(masks, who, iou_threshold=0.3, pixel_threshold=0.3)
    np.testing.assert_array_equal(loose.clusters[0].shape, masks[2])  # union
    heavy = merge_masks(masks, who, iou_threshold=0.3, weights={"a": 0.1, "b": 0.1, "c": 5.0})
    np.testing.assert_array_equal(heavy.clusters[0].shape, masks[2])


@pytest.mark.parametrize(("masks", "who", "kwargs", "message"), [
    ([np.zeros((4, 4)), np.zeros((5, 5))], ["a", "b"], {}, "differ in shape"),
    (np.zeros((2, 4)), ["a", "b"], {}, r"must be \(N, H, W\)"),
    ([np.full((4, 4), np.nan)], ["a"], {}, "NaN"),
    ([np.zeros((4, 4))], ["a", "b"], {}, "mismatched lengths"),
    ([np.zeros((4, 4))], ["a"], {"pixel_threshold": 0.0}, "pixel_threshold"),
    ([np.zeros((4, 4))], ["a"], {"fusion": "wbf"}, "fusion must be"),
])
def test_bad_masks(masks: object, who: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_masks(masks, who, **kwargs)


# -- keypoints -------------------------------------------------------------------------------------

def _person(dx: float = 0.0, dy: float = 0.0, hidden: tuple[int, ...] = ()) -> np.ndarray:
    """17 COCO keypoints spread over a 100 x 200 px figure."""
    rng = np.random.default_rng(7)
    pts = np.column_stack([rng.uniform(0, 100, 17) + dx, rng.uniform(0, 200, 17) + dy, np.full(17, 2.0)])
    for j in hidden:
        pts[j] = (0.0, 0.0, 0.0)
    return pts


def test_oks_matches_the_coco_formula() -> None:
    a = _person()
    b = _person(dx=3.0)
    area = np.array([20000.0])
    got = oks(a[None], b[None], area, area, COCO_PERSON_SIGMAS)[0, 0]
    want = np.mean(np.exp(-9.0 / (2 * 20000.0 * (2 * COCO_PERSON_SIGMAS) ** 2)))
    assert got == pytest.approx(want)
    assert oks(a[None], a[None], area, area, COCO_PERSON_SIGMAS)[0, 0] == pytest.approx(1.0)
    nothing = _person(hidden=tuple(range(17)))
    assert oks(a[None], nothing[None], area, area, COCO_PERSON_SIGMAS)[0, 0] == 0.0


def test_keypoints_cluster_fuse_and_vote_visibility() -> None:
    people = [_person(), _person(dx=2, hidden=(3,)), _person(dx=4, hidden=(3, 4)),  # person 1
              _person(dx=400), _person(dx=401)]                                     # person 2
    who = ["a", "b", "c", "a", "b"]
    result = merge_keypoints(people, who, sigmas=COCO_PERSON_SIGMAS, n_annotators=3)
    assert [c.members for c in result.clusters] == [(0, 1, 2), (3, 4)]
    fused = result.clusters[0].shape
    assert fused[3, 2] == 0 and tuple(fused[3, :2]) == (0.0, 0.0)  # 2 of 3 hid it
    assert fused[4, 2] == 2 and fused[4, 0] == pytest.approx(people[0][4, 0] + 1.0)  # mean of a, b
    assert fused[0, 0] == pytest.approx(people[0][0, 0] + 2.0)  # mean of all three
    tie = merge_keypoints([_person(), _person(hidden=(5,))], ["a", "b"])
    assert tie.clusters[0].shape[5, 2] == 2  # a 1:1 visibility tie keeps the keypoint


@pytest.mark.parametrize(("points", "kwargs", "message"), [
    (np.zeros((1, 17, 2)), {}, r"\(N, J, 3\)"),
    (np.array([[[np.nan, 1.0, 2.0]]]), {}, "NaN or infinite coordinates"),
    (np.array([[[1.0, 1.0, 3.0]]]), {}, "visibility must be 0, 1 or 2"),
    (np.array([[[1.0, 1.0, 2.0]]]), {"areas": [-1.0]}, "areas must be"),
    (np.array([[[1.0, 1.0, 2.0]]]), {"sigmas": [0.1, 0.2]}, "sigmas must be"),
])
def test_bad_keypoints(points: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_keypoints(points, ["a"] * len(points), **kwargs)


def test_hidden_keypoints_may_hold_nan() -> None:
    pts = _person(hidden=(0,))
    pts[0, :2] = np.nan
    result = merge_keypoints([pts, _person(hidden=(0,))], ["a", "b"])
    assert len(result.clusters) == 1 and np.all(np.isfinite(result.clusters[0].shape))
