"""Wire labels of several annotators -> one consensus, and each annotator's score against it."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from coordinator.quality.merge import merge_labels
from coordinator.quality.pairs import labels_score


def box(label: str, x1: float, y1: float, x2: float, y2: float, frame: int | None = None) -> dict:
    ann = {"id": f"{label}{x1}", "label": label, "shape": {"kind": "box", "x1": x1, "y1": y1, "x2": x2, "y2": y2}}
    if frame is not None:
        ann["frame"] = frame
    return ann


def square(label: str, x: float, y: float, side: float, hole: float = 0) -> dict:
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side]]
    holes = []
    if hole:
        c = x + side / 2
        holes = [[[c - hole, c - hole], [c + hole, c - hole], [c + hole, c + hole], [c - hole, c + hole]]]
    return {"id": f"p{x}", "label": label, "shape": {"kind": "polygon", "parts": [{"exterior": ring, "holes": holes}]}}


def mask(label: str, arr: np.ndarray) -> dict:
    rle = coco_mask.encode(np.asfortranarray(arr.astype(np.uint8)))
    return {"id": "m", "label": label, "shape": {"kind": "mask", "height": arr.shape[0], "width": arr.shape[1],
                                                  "counts": rle["counts"].decode()}}


def tag(label: str) -> dict:
    return {"id": f"t{label}", "label": label, "shape": {"kind": "tag"}}


def labels(*annotations: dict, segments: list | None = None) -> dict:
    return {"annotations": list(annotations), "tracks": [], "segments": segments or []}


def test_boxes_from_three_annotators_fuse_and_score() -> None:
    answers = {1: labels(box("car", 10, 10, 50, 50), box("dog", 100, 100, 140, 150)),
               2: labels(box("car", 12, 11, 51, 49), box("dog", 101, 99, 141, 151)),
               3: labels(box("car", 9, 10, 49, 52))}  # missed the dog
    result = merge_labels(answers)
    kinds = sorted(a["label"] for a in result.labels["annotations"])
    assert kinds == ["car", "dog"]  # the dog has 2 of 3 annotators: the majority quorum
    car = next(a["shape"] for a in result.labels["annotations"] if a["label"] == "car")
    assert car["x1"] == pytest.approx(10.33, abs=0.01) and car["x2"] == pytest.approx(50.0, abs=0.01)
    assert 0.5 < result.agreement < 1.0
    assert result.scores[1] > 0.9 and result.scores[2] > 0.9
    assert result.scores[3] < 0.6  # one object of two
    assert result.needs_expert is None


def test_weights_tip_a_label_vote() -> None:
    answers = {1: labels(box("car", 0, 0, 10, 10)), 2: labels(box("truck", 0, 0, 10, 10)),
               3: labels(box("truck", 0, 0, 10, 10))}
    assert merge_labels(answers).labels["annotations"][0]["label"] == "truck"
    heavy = merge_labels(answers, {1: 5.0, 2: 1.0, 3: 1.0})
    assert heavy.labels["annotations"][0]["label"] == "car"


def test_tags_majority_and_agreement() -> None:
    answers = {1: labels(tag("cat")), 2: labels(tag("cat")), 3: labels(tag("dog"))}
    result = merge_labels(answers)
    assert [a["label"] for a in result.labels["annotations"]] == ["cat"]
    assert result.agreement == pytest.approx(2 / 3)
    assert result.scores == {1: 1.0, 2: 1.0, 3: 0.0}


def test_polygons_keep_their_hole_in_the_consensus() -> None:
    answers = {a: labels(square("lake", 10 + d, 10, 40, hole=8)) for a, d in ((1, 0), (2, 1), (3, -1))}
    result = merge_labels(answers)
    (shape,) = [a["shape"] for a in result.labels["annotations"]]
    assert shape["kind"] == "polygon" and len(shape["parts"]) == 1
    assert len(shape["parts"][0]["holes"]) == 1
    assert result.agreement > 0.9
    assert min(result.scores.values()) > 0.85  # a 1-px shift of a 40-px square: IoU ~0.9


def test_masks_merge_into_a_mask_of_the_image_size() -> None:
    base = np.zeros((60, 80), bool)
    base[10:40, 20:60] = True
    shifted = np.roll(base, 2, axis=1)
    answers = {1: labels(mask("road", base)), 2: labels(mask("road", shifted)), 3: labels(square("road", 20, 10, 30))}
    result = merge_labels(answers)
    (shape,) = [a["shape"] for a in result.labels["annotations"]]
    assert (shape["kind"], shape["height"], shape["width"]) == ("mask", 60, 80)
    fused = coco_mask.decode({"size": [60, 80], "counts": shape["counts"].encode()})
    assert fused[20, 40] == 1 and fused[5, 5] == 0


def test_video_frames_are_merged_separately() -> None:
    answers = {1: labels(box("car", 0, 0, 10, 10, frame=0), box("car", 5, 0, 15, 10, frame=1)),
               2: labels(box("car", 0, 0, 10, 10, frame=0), box("car", 5, 0, 15, 10, frame=1))}
    result = merge_labels(answers)
    assert sorted(a["frame"] for a in result.labels["annotations"]) == [0, 1]
    assert result.agreement == pytest.approx(1.0)


def test_keypoints_by_oks() -> None:
    def person(dx: float) -> dict:
        return {"id": "k", "label": "person", "shape": {"kind": "points", "points": [[10 + dx, 10], [20 + dx, 30],
                                                                                      [30 + dx, 10]],
                                                        "visibility": [2, 2, 1], "names": ["a", "b", "c"]}}
    result = merge_labels({1: labels(person(0)), 2: labels(person(1)), 3: labels(person(-1))})
    (shape,) = [a["shape"] for a in result.labels["annotations"]]
    assert shape["points"][0] == pytest.approx([10, 10]) and shape["names"] == ["a", "b", "c"]
    assert result.agreement > 0.9


def test_audio_segments_and_transcripts() -> None:
    def seg(start: float, end: float, text: str) -> dict:
        return {"start": start, "end": end, "label": "speech", "transcript": text}
    answers = {1: labels(segments=[seg(0.0, 2.0, "hello world")]),
               2: labels(segments=[seg(0.05, 2.02, "hello world")]),
               3: labels(segments=[seg(0.1, 1.9, "hello word")])}
    result = merge_labels(answers)
    (segment,) = result.labels["segments"]
    assert segment["start"] == pytest.approx(0.05, abs=0.06) and segment["end"] == pytest.approx(2.0, abs=0.06)
    assert segment["transcript"] == "hello world"
    assert result.agreement > 0.85
    assert result.scores[1] > result.scores[3]


def _line(label: str, *points: tuple[float, float]) -> dict:
    return {"id": f"l{len(points)}{points[0]}", "label": label, "shape": {"kind": "polyline", "points": list(points)}}


def test_polylines_merge_into_the_mean_curve_whichever_way_they_were_drawn() -> None:
    answers = {1: labels(_line("lane", (100, 700), (300, 402), (500, 100)), _line("edge", (0, 0), (0, 600))),
               2: labels(_line("lane", (503, 98), (298, 398), (97, 702))),  # drawn from the other end
               3: labels(_line("lane", (101, 699), (500, 101)), _line("edge", (600, 0), (600, 600)))}
    result = merge_labels(answers)
    assert result.needs_expert is None
    (lane,) = [a for a in result.labels["annotations"] if a["label"] == "lane"]  # the edges disagree: no quorum
    points = np.asarray(lane["shape"]["points"])
    assert lane["shape"]["kind"] == "polyline" and 2 <= len(points) <= 6
    ends = sorted([points[0].tolist(), points[-1].tolist()])
    assert ends == [pytest.approx([99.3, 700.3], abs=0.5), pytest.approx([501.0, 99.7], abs=0.5)]  # the mean ends
    bend = np.asarray([300, 400.0])  # the middle: within 2 px of the answers' common course
    assert min(np.linalg.norm(points[:-1] + t * (points[1:] - points[:-1]) - bend, axis=1).min()
               for t in np.linspace(0, 1, 2001)) < 2.0
    assert result.scores[2] > 0.4 and result.scores[1] < 1.0 and 0.0 < result.agreement < 1.0


def test_polylines_score_against_a_reference() -> None:
    truth = labels(_line("lane", (100, 700), (500, 100)), _line("lane", (350, 700), (750, 100)))
    assert labels_score(truth, truth) == pytest.approx(1.0)
    assert labels_score(truth, labels(_line("lane", (500, 100), (100, 700)))) == pytest.approx(0.5)  # one missed
    assert labels_score(truth, labels(_line("edge", (100, 700), (500, 100)),
                                      _line("edge", (350, 700), (750, 100)))) == 0.0  # other label


def test_tracks_go_to_an_expert() -> None:
    track = {"id": "t", "label": "car", "keyframes": []}
    answers = {1: {"annotations": [], "tracks": [track], "segments": []}, 2: labels()}
    assert merge_labels(answers).needs_expert == "tracks have no automatic consensus yet"


def test_nobody_drew_anything_is_agreement() -> None:
    result = merge_labels({1: labels(), 2: labels()})
    assert result.agreement == 1.0 and result.labels["annotations"] == [] and result.scores == {1: 1.0, 2: 1.0}


def test_score_against_gold_counts_misses_and_inventions() -> None:
    truth = labels(box("car", 0, 0, 10, 10), box("car", 20, 0, 30, 10))
    assert labels_score(truth, truth) == pytest.approx(1.0)
    assert labels_score(truth, labels(box("car", 0, 0, 10, 10))) == pytest.approx(0.5)
    invented = labels(box("car", 0, 0, 10, 10), box("car", 20, 0, 30, 10), box("car", 50, 50, 60, 60))
    assert labels_score(truth, invented) == pytest.approx(2 / 3)
    assert labels_score(truth, labels(box("bus", 0, 0, 10, 10), box("bus", 20, 0, 30, 10))) == 0.0


def test_a_hostile_extent_is_refused_not_rasterised() -> None:
    huge = square("x", 0, 0, 1e6)
    with pytest.raises(ValueError, match="too large"):
        merge_labels({1: labels(huge), 2: labels(huge)})
