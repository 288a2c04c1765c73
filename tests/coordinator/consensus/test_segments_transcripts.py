"""Audio segment consensus (frame vote, boundary tolerance, slivers) and transcript medoids."""

from __future__ import annotations

import pytest

from coordinator.consensus import levenshtein, medoid_transcript, merge_segments, normalized_distance


def _merge(rows: list[tuple[str, float, float, str]], **kwargs: object):  # type: ignore[no-untyped-def]
    who, starts, ends, labels = zip(*rows)
    return merge_segments(list(starts), list(ends), list(labels), list(who), **kwargs)


def test_jittered_boundaries_snap_to_the_annotators_median() -> None:
    result = _merge([("a", 1.00, 3.00, "speech"), ("b", 1.04, 2.95, "speech"),
                     ("c", 0.97, 3.06, "speech")], frame=0.01, tolerance=0.2)
    (seg,) = result.segments
    assert seg.label == "speech"
    assert seg.start == pytest.approx(1.00) and seg.end == pytest.approx(3.00)  # medians
    assert seg.support > 0.95 and result.agreement > 0.95
    assert set(result.annotator_agreement) == {"a", "b", "c"}


def test_short_gaps_close_and_slivers_drop() -> None:
    rows = [("a", 0.0, 1.0, "speech"), ("a", 1.1, 2.0, "speech"),   # a breath gap of 0.1 s
            ("b", 0.0, 2.0, "speech"), ("c", 0.0, 0.95, "speech"), ("c", 1.12, 2.0, "speech"),
            ("a", 5.0, 5.05, "music"), ("b", 5.0, 5.04, "music")]   # a 50 ms sliver
    result = _merge(rows, tolerance=0.2)
    assert [(s.label, round(s.start, 2), round(s.end, 2)) for s in result.segments] == [("speech", 0.0, 2.0)]
    kept = _merge(rows, tolerance=0.2, min_duration=0.01)
    assert [s.label for s in kept.segments] == ["speech", "music"]
    split = _merge(rows, tolerance=0.0)
    assert len([s for s in split.segments if s.label == "speech"]) == 2  # a and c agree on a gap


def test_overlapping_labels_are_voted_separately() -> None:
    rows = [("a", 0, 4, "alice"), ("b", 0, 4, "alice"), ("a", 2, 6, "bob"), ("b", 2.05, 6, "bob")]
    result = _merge(rows)
    assert [(s.label, s.start, s.end) for s in result.segments] == [("alice", 0, 4), ("bob", 2, 6)]


def test_minority_segment_and_silent_annotators() -> None:
    rows = [("a", 0, 1, "speech"), ("b", 0, 1, "speech"), ("c", 3, 4, "speech")]
    result = _merge(rows)
    assert [(s.start, s.end) for s in result.segments] == [(0, 1)]
    assert result.annotator_agreement["c"] == 0.0 and result.annotator_agreement["a"] == 1.0
    silent = _merge(rows[:1], n_annotators=3)  # two annotators heard nothing
    assert silent.segments == () and silent.agreement == pytest.approx(2 / 3)
    weighted = _merge(rows[:1], n_annotators=3, weights={"a": 3.0})  # absent ones weigh the mean
    assert weighted.segments == ()


def test_tie_between_two_annotators_keeps_the_segment() -> None:
    result = _merge([("a", 0, 2, "speech"), ("b", 0, 1, "speech")], tolerance=0.0)
    assert [(s.start, s.end) for s in result.segments] == [(0, 2)]


@pytest.mark.parametrize(("rows", "kwargs", "message"), [
    ([("a", 2.0, 1.0, "x")], {}, "ends before it starts"),
    ([("a", float("nan"), 1.0, "x")], {}, "NaN"),
    ([("a", 0.0, 1.0, "x")], {"frame": 0.0}, "frame > 0"),
    ([("a", 0.0, 1.0, "x")], {"threshold": 2.0}, "threshold must lie"),
    ([("a", 0.0, 1.0, "x")], {"n_annotators": 0}, "no segments|n_annotators"),
])
def test_bad_segments(rows: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _merge(rows, **kwargs)


def test_bad_segment_lengths_and_empty_input() -> None:
    with pytest.raises(ValueError, match="mismatched lengths"):
        merge_segments([0.0], [1.0, 2.0], ["x"], ["a"])
    with pytest.raises(ValueError, match="no segments and no n_annotators"):
        merge_segments([], [], [], [])
    assert merge_segments([], [], [], [], n_annotators=2).segments == ()


# -- transcripts -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "d"), [
    ("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3), ("", "", 0), ("flaw", "lawn", 2),
    ("same", "same", 0), ("a", "b", 1),
])
def test_levenshtein(a: str, b: str, d: int) -> None:
    assert levenshtein(a, b) == d == levenshtein(b, a)


def test_word_level_distance() -> None:
    assert normalized_distance("the cat sat", "the cat sat down", "word") == pytest.approx(1 / 4)
    assert normalized_distance("", "", "char") == 0.0


def test_medoid_picks_the_central_transcript() -> None:
    texts = ["the quick brown fox", "the quick brown fix", "teh quick brown fox", "a slow red dog"]
    result = medoid_transcript(texts)
    assert result.index == 0 and result.text == texts[0]
    assert result.distances.shape == (4, 4) and result.distances[0, 0] == 0
    assert 0.0 < result.agreement < 1.0
    words = medoid_transcript(texts, level="word")
    assert words.text == texts[0]


def test_medoid_weights_and_ties() -> None:
    assert medoid_transcript(["abc", "abd"]).index == 0  # tie: the first
    weighted = medoid_transcript(["abc", "abd", "xyz"], ["u", "v", "w"], weights={"u": 1, "v": 5, "w": 1})
    assert weighted.text == "abd"
    assert medoid_transcript(["only one"]).agreement == 1.0


@pytest.mark.parametrize(("texts", "kwargs", "message"), [
    ([], {}, "non-empty"),
    ("abc", {}, "non-empty"),
    (["a", 3], {}, "all be strings"),
    (["a"], {"level": "phoneme"}, "level must be"),
    (["a"], {"weights": {"u": 1.0}}, "weights need annotators"),
])
def test_bad_transcripts(texts: object, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        medoid_transcript(texts, **kwargs)  # type: ignore[arg-type]
