"""One agreement score in [0, 1] per item for every modality, and the routing decision.

  categorical   DS posterior maximum (or weighted vote share of the winner for MV)
  boxes, masks  mean IoU of members to the fused shape; unmatched shapes count as 0
  keypoints     the same with OKS
  segments      annotators' frame-wise IoU with the consensus
  transcripts   1 - normalised edit distance from the medoid

`decide` turns a score into Toloka-style dynamic overlap: accept when the score reaches the
threshold, otherwise ask for more answers while the extra budget lasts, then send the item to
expert review.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from coordinator.consensus._common import check_unit_interval
from coordinator.consensus.categorical import CategoricalResult
from coordinator.consensus.clustering import ShapeConsensus
from coordinator.consensus.segments import SegmentConsensus
from coordinator.consensus.transcripts import TranscriptConsensus

Decision = Literal["accept", "more", "review"]


def agreement(result: CategoricalResult | ShapeConsensus | SegmentConsensus | TranscriptConsensus,
              ) -> float | np.ndarray:
    """The agreement score of any result: an (n_items,) array for categorical, else a float."""
    if isinstance(result, CategoricalResult):
        return result.confidence
    if isinstance(result, (ShapeConsensus, SegmentConsensus, TranscriptConsensus)):
        return result.agreement
    raise TypeError(f"no agreement score for {type(result).__name__}")


def decide(score: float, threshold: float, extra_used: int, max_extra: int) -> Decision:
    """"accept" if score >= threshold; else "more" while extra_used < max_extra; else "review".

    score, threshold: in [0, 1]; extra_used: extra answers already requested for the item;
    max_extra: how many extra answers the project allows before an expert decides.
    """
    score = check_unit_interval(score, "score")
    threshold = check_unit_interval(threshold, "threshold")
    if extra_used < 0 or max_extra < 0:
        raise ValueError(f"extra_used and max_extra must be >= 0, got {extra_used}, {max_extra}")
    if score >= threshold:
        return "accept"
    return "more" if extra_used < max_extra else "review"
