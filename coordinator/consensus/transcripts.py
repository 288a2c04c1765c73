"""Transcripts from several annotators: the medoid by (character or word) edit distance.

The medoid is the transcript with the smallest weighted sum of normalised edit distances to
the others, so the output is always text a person actually wrote (no ROVER-style splicing of
words). Ties go to the first transcript. Agreement is 1 minus the weighted mean normalised
distance from the medoid to the other transcripts.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from coordinator.consensus._common import annotator_weights

Level = Literal["char", "word"]


@dataclass(frozen=True)
class TranscriptConsensus:
    text: str
    index: int  # which input transcript is the medoid
    agreement: float
    distances: np.ndarray  # (N, N) normalised edit distances in [0, 1]


def _levenshtein_codes(a: np.ndarray, b: np.ndarray) -> int:
    """Edit distance of two integer sequences, one numpy pass per element of the shorter.

    A row of the DP table is D[j] = min(A[j], D[j-1] + 1), where A holds the substitution and
    deletion candidates; that recurrence is a running minimum of A[j] - j, plus j.
    """
    if len(a) > len(b):
        a, b = b, a
    j = np.arange(len(b) + 1)
    row = j.copy()
    for x in a:
        cand = np.empty_like(row)
        cand[0] = row[0] + 1
        cand[1:] = np.minimum(row[1:] + 1, row[:-1] + (b != x))
        row = np.minimum.accumulate(cand - j) + j
    return int(row[-1])


def tokens(text: str, level: Level = "char") -> list[str]:
    if level == "char":
        return list(text)
    if level == "word":
        return text.split()
    raise ValueError(f"level must be 'char' or 'word', got {level!r}")


def levenshtein(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Edit distance (insertions, deletions, substitutions, each 1) between two sequences."""
    vocab: dict[Hashable, int] = {}
    code_a = np.array([vocab.setdefault(t, len(vocab)) for t in a], dtype=np.int64)
    code_b = np.array([vocab.setdefault(t, len(vocab)) for t in b], dtype=np.int64)
    return _levenshtein_codes(code_a, code_b)


def normalized_distance(a: str, b: str, level: Level = "char") -> float:
    """Edit distance divided by the longer length, in [0, 1]; two empty texts score 0."""
    ta, tb = tokens(a, level), tokens(b, level)
    longest = max(len(ta), len(tb))
    return levenshtein(ta, tb) / longest if longest else 0.0


def medoid_transcript(texts: Sequence[str], annotators: Sequence[Hashable] | None = None, *,
                      weights: Mapping[Hashable, float] | None = None,
                      level: Level = "char") -> TranscriptConsensus:
    """The medoid of `texts` (one per annotator); `weights` maps annotators to weights."""
    if isinstance(texts, str) or not len(texts):
        raise ValueError("texts must be a non-empty sequence of strings")
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must all be strings")
    if annotators is None:
        if weights is not None:
            raise ValueError("weights need annotators to say whose transcript is whose")
        w = np.ones(len(texts))
    else:
        if len(annotators) != len(texts):
            raise ValueError(f"mismatched lengths: texts={len(texts)}, annotators={len(annotators)}")
        w = annotator_weights(list(annotators), weights)
    tokens(texts[0], level)  # validates `level` before any work
    n = len(texts)
    dist = np.zeros((n, n))
    for i in range(n):
        for k in range(i + 1, n):
            dist[i, k] = dist[k, i] = normalized_distance(texts[i], texts[k], level)
    best = int(np.argmin(dist @ w))  # argmin: first transcript on ties
    others = w.copy()
    others[best] = 0.0
    agreement = 1.0 - float(dist[best] @ others / others.sum()) if others.sum() > 0 else 1.0
    return TranscriptConsensus(texts[best], best, agreement, dist)
