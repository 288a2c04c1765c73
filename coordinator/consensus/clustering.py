"""Match, vote, fuse: the one clustering used by boxes, masks and keypoints.

1. Match. For every pair of annotators, the Hungarian algorithm pairs their shapes so that the
   total similarity (IoU, OKS) is highest; pairs below the threshold are discarded.
2. Cluster. Matched pairs are merged greedily, most similar first, into clusters that never
   hold two shapes of one annotator and in which every pair of members reaches the threshold
   (complete linkage). Chained matches (a~b, b~c with a, c far apart) therefore stay apart.
3. Vote. A cluster is kept when at least `quorum` annotators contributed to it; its label is
   the weighted vote of its members' labels.
4. Fuse. The modality fuses the members' geometry (weighted mean, medoid or pixel vote).

Agreement of a cluster is the summed similarity of its members to the fused shape divided by
the number of annotators on the item, so an annotator who drew nothing there counts as full
disagreement. The item's agreement is the mean over all clusters, kept or not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.optimize import linear_sum_assignment

from coordinator.consensus._common import annotator_weights, first_appearance_codes, weighted_vote


@dataclass(frozen=True)
class Cluster:
    """Shapes from different annotators judged to be the same object.

    members: indices into the input shapes; annotators: their annotators, in the same order.
    label / label_share: weighted vote winner among members and its weight share (None / 1.0
    when the modality has no labels). shape: the fused geometry. agreement: in [0, 1].
    accepted: whether the cluster reached the quorum.
    """

    members: tuple[int, ...]
    annotators: tuple[Hashable, ...]
    label: Hashable | None
    label_share: float
    shape: np.ndarray
    agreement: float
    accepted: bool


@dataclass(frozen=True)
class ShapeConsensus:
    """Accepted clusters (the consensus shapes), the rejected ones, and the item's agreement."""

    clusters: tuple[Cluster, ...]
    rejected: tuple[Cluster, ...]
    agreement: float
    n_annotators: int


# fuse(members, member_weights) -> fused shape;  similarity_to(fused, members) -> per member
Fuse = Callable[[np.ndarray, np.ndarray], np.ndarray]
SimilarityTo = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _pair_edges(similarity: np.ndarray, annotators: np.ndarray,
                threshold: float) -> list[tuple[float, int, int]]:
    edges: list[tuple[float, int, int]] = []
    groups = [np.flatnonzero(annotators == a) for a in np.unique(annotators)]
    for ia, ib in combinations(groups, 2):
        block = similarity[np.ix_(ia, ib)]
        rows, cols = linear_sum_assignment(block, maximize=True)
        for r, c in zip(rows, cols):
            if block[r, c] >= threshold and block[r, c] > 0:
                edges.append((float(block[r, c]), int(ia[r]), int(ib[c])))
    edges.sort(key=lambda e: (-e[0], e[1], e[2]))  # deterministic: ties by input order
    return edges


def cluster_by_similarity(similarity: np.ndarray, annotators: np.ndarray,
                          threshold: float) -> list[tuple[int, ...]]:
    """Clusters (tuples of indices, each sorted; ordered by first member) of N shapes.

    similarity: (N, N) symmetric scores in [0, 1]; annotators: (N,) integer annotator codes.
    """
    n = len(annotators)
    owner = list(range(n))  # cluster id of each shape
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    for _, u, v in _pair_edges(similarity, annotators, threshold):
        cu, cv = owner[u], owner[v]
        if cu == cv:
            continue
        if set(annotators[members[cu]].tolist()) & set(annotators[members[cv]].tolist()):
            continue  # would hold two shapes of one annotator
        if similarity[np.ix_(members[cu], members[cv])].min() < threshold:
            continue  # complete linkage: every pair must match
        keep, drop = (cu, cv) if len(members[cu]) >= len(members[cv]) else (cv, cu)
        for i in members[drop]:
            owner[i] = keep
        members[keep].extend(members.pop(drop))
    return sorted((tuple(sorted(m)) for m in members.values()), key=lambda m: m[0])


def medoid_index(similarity: np.ndarray, members: np.ndarray, member_weights: np.ndarray) -> int:
    """The member with the highest weighted mean similarity to the other members (CVAT's
    choice of output shape); ties go to the first member in input order."""
    if len(members) == 1:
        return int(members[0])
    block = similarity[np.ix_(members, members)]
    w = member_weights
    others = block @ w - np.diag(block) * w  # leave each member's self-similarity out
    return int(members[int(np.argmax(others / (w.sum() - w + 1e-300)))])


def default_quorum(n_annotators: int) -> int:
    """A strict majority of the annotators who worked on the item."""
    return n_annotators // 2 + 1


def _check_settings(n_shapes: int, distinct: int, n_annotators: int | None,
                    quorum: int | None, threshold: float) -> tuple[int, int]:
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    n = distinct if n_annotators is None else int(n_annotators)
    if n == 0:
        raise ValueError("no shapes and no n_annotators: pass n_annotators when nobody drew anything")
    if n < distinct:
        raise ValueError(f"n_annotators={n} but the shapes come from {distinct} annotators")
    q = default_quorum(n) if quorum is None else int(quorum)
    if q < 1:
        raise ValueError(f"quorum must be at least 1, got {q}")
    return n, q


def merge_shapes(similarity: np.ndarray, annotators: Sequence[Hashable],
                 labels: Sequence[Hashable] | None, fuse: Fuse, similarity_to: SimilarityTo, *,
                 threshold: float, weights: Mapping[Hashable, float] | None = None,
                 quorum: int | None = None, n_annotators: int | None = None,
                 same_label_only: bool = False) -> ShapeConsensus:
    """Cluster N shapes by their (N, N) similarity, vote, fuse; see the module docstring."""
    if labels is not None and len(labels) != len(annotators):
        raise ValueError(f"mismatched lengths: annotators={len(annotators)}, labels={len(labels)}")
    codes, distinct = first_appearance_codes(list(annotators))
    n_ann, q = _check_settings(len(codes), len(distinct), n_annotators, quorum, threshold)
    shape_weights = annotator_weights(list(annotators), weights)
    sim = similarity
    if same_label_only and labels is not None:
        label_codes, _ = first_appearance_codes(list(labels))
        sim = np.where(label_codes[:, None] == label_codes[None, :], similarity, 0.0)
    kept, rejected = [], []
    for group in cluster_by_similarity(sim, codes, threshold):
        idx = np.asarray(group, dtype=np.int64)
        w = shape_weights[idx]
        label, share = (None, 1.0) if labels is None else weighted_vote([labels[i] for i in group], w)
        fused = fuse(idx, w)
        agreement = float(np.clip(similarity_to(fused, idx), 0.0, 1.0).sum() / n_ann)
        cluster = Cluster(group, tuple(annotators[i] for i in group), label, share, fused,
                          agreement, len(group) >= q)
        (kept if cluster.accepted else rejected).append(cluster)
    scores = [c.agreement for c in kept + rejected]
    return ShapeConsensus(tuple(kept), tuple(rejected), float(np.mean(scores)) if scores else 1.0, n_ann)
