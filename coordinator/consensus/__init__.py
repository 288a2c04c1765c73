"""Label aggregation engine: several people's answers in, one consensus and a score out.

A library, not a service: numpy and scipy only (an import-linter contract keeps FastAPI,
SQLAlchemy and `app` out). Categorical answers are aggregated per batch (majority vote,
weighted vote, Dawid-Skene with priors and gold); spatial and temporal answers per item
(match, vote, fuse). Every result carries an agreement score in [0, 1] for `decide`.
"""

from coordinator.consensus.agreement import Decision, agreement, decide
from coordinator.consensus.boxes import box_iou, merge_boxes
from coordinator.consensus.categorical import (
    CategoricalResult, Encoded, encode, majority_vote, weighted_majority_vote,
)
from coordinator.consensus.clustering import Cluster, ShapeConsensus, cluster_by_similarity
from coordinator.consensus.dawid_skene import dawid_skene
from coordinator.consensus.keypoints import COCO_PERSON_SIGMAS, merge_keypoints, oks
from coordinator.consensus.masks import mask_iou, merge_masks
from coordinator.consensus.polylines import curve_length, curve_similarity, merge_polylines, resample
from coordinator.consensus.segments import Segment, SegmentConsensus, merge_segments
from coordinator.consensus.simulate import SPAMMER_HEAVY, Crowd, WorkerMix, simulate_crowd
from coordinator.consensus.transcripts import (
    TranscriptConsensus, levenshtein, medoid_transcript, normalized_distance,
)

__all__ = [
    "COCO_PERSON_SIGMAS", "SPAMMER_HEAVY", "CategoricalResult", "Cluster", "Crowd", "Decision",
    "Encoded", "Segment", "SegmentConsensus", "ShapeConsensus", "TranscriptConsensus",
    "WorkerMix", "agreement", "box_iou", "cluster_by_similarity", "curve_length", "curve_similarity", "dawid_skene",
    "decide", "encode", "levenshtein", "majority_vote", "mask_iou", "medoid_transcript", "merge_boxes",
    "merge_keypoints", "merge_masks", "merge_polylines", "merge_segments", "normalized_distance", "oks",
    "resample", "simulate_crowd", "weighted_majority_vote",
]
