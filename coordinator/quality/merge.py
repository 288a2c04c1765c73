"""From several people's labels of one item (wire `Labels` as JSON) to one consensus.

Each kind of answer goes to its aggregator in `coordinator.consensus`: tags by weighted vote,
boxes by IoU matching and fusion, polygons, rotated boxes and masks as rasters by mask IoU and
pixel vote (the result is a mask), keypoints by OKS, polylines by a curve similarity and the
weighted mean curve, audio segments frame-wise with their transcripts by edit-distance medoid.
Video annotations are merged frame by frame. Tracks have no automatic consensus here: they
make the item `needs_expert`.

The result also scores each annotator against the consensus (0..1): that feeds reputation
and decides who is paid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coordinator.consensus import medoid_transcript, merge_boxes, merge_keypoints, merge_polylines, merge_segments
from coordinator.quality import rasters
from coordinator.quality.pairs import labels_score

Labels = dict[str, Any]  # wire.Labels as JSON
_RASTER_KINDS = ("polygon", "rotated_box", "mask")


@dataclass
class ItemConsensus:
    labels: Labels
    agreement: float
    scores: dict[Hashable, float]  # annotator -> agreement of their answer with the consensus
    needs_expert: str | None = None  # why no automatic consensus is possible
    _parts: list[tuple[float, int]] = field(default_factory=list, repr=False)


def merge_labels(answers: Mapping[Hashable, Labels], weights: Mapping[Hashable, float] | None = None) -> ItemConsensus:
    """answers: annotator -> Labels; weights: annotator -> weight (e.g. reputation)."""
    if not answers:
        raise ValueError("no answers to merge")
    who = list(answers)
    weights = {a: float((weights or {}).get(a, 1.0)) for a in who}
    result = ItemConsensus({"annotations": [], "tracks": [], "segments": []}, 1.0, {})
    if any(answers[a].get("tracks") for a in who):
        result.needs_expert = "tracks have no automatic consensus yet"
    groups: dict[tuple[Any, str], list[tuple[Hashable, dict]]] = defaultdict(list)
    for a in who:
        for ann in answers[a].get("annotations", []):
            kind = ann["shape"]["kind"]
            group = "raster" if kind in _RASTER_KINDS else kind
            groups[(ann.get("frame"), group)].append((a, ann))
    for (frame, group), members in sorted(groups.items(), key=lambda kv: (kv[0][0] is not None, kv[0])):
        _MERGERS[group](result, members, who, weights, frame)
    if any(answers[a].get("segments") for a in who):
        _merge_segments(result, answers, who, weights)
    if result._parts:
        total = sum(n for _, n in result._parts)
        result.agreement = min(1.0, max(0.0, float(sum(s * n for s, n in result._parts) / total)))  # rounding
    result.scores = {a: labels_score(result.labels, answers[a]) for a in who}
    return result


def _add(result: ItemConsensus, agreement: float, count: int, annotations: list[dict]) -> None:
    result._parts.append((agreement, max(count, 1)))
    result.labels["annotations"].extend(annotations)


def _annotation(index: int, label: Any, shape: dict, frame: Any, source: dict) -> dict:
    ann = {"id": f"consensus-{index}", "label": label, "shape": shape,
           "attributes": dict(source.get("attributes", {})), "source": "human"}
    if frame is not None:
        ann["frame"] = frame
    return ann


def _heaviest(members: list[tuple[Hashable, dict]], idx: Any, weights: Mapping[Hashable, float]) -> dict:
    """The member answer whose author weighs most: its attributes go to the consensus shape."""
    return max((members[i] for i in idx), key=lambda m: weights[m[0]])[1]


def _merge_tags(result: ItemConsensus, members: list, who: list, weights: dict, frame: Any) -> None:
    total = sum(weights[a] for a in who)
    share: dict[str, float] = defaultdict(float)
    for a, label in {(a, ann["label"]) for a, ann in members}:
        share[label] += weights[a] / total
    chosen = sorted(label for label, s in share.items() if s >= 0.5 - 1e-12)
    agreement = float(np.mean([max(s, 1 - s) for s in share.values()])) if share else 1.0
    base = len(result.labels["annotations"])
    _add(result, agreement, 1, [_annotation(base + i, label, {"kind": "tag"}, frame, {})
                                for i, label in enumerate(chosen)])


def _merge_boxes(result: ItemConsensus, members: list, who: list, weights: dict, frame: Any) -> None:
    boxes = [[m["shape"][k] for k in ("x1", "y1", "x2", "y2")] for _, m in members]
    boxes = [[min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])] for b in boxes]
    sc = merge_boxes(np.asarray(boxes, float), [a for a, _ in members], [m["label"] for _, m in members],
                     weights=weights, n_annotators=len(who))
    base = len(result.labels["annotations"])
    out = [_annotation(base + i, c.label, dict(zip(("kind", "x1", "y1", "x2", "y2"), ("box", *map(float, c.shape)))),
                       frame, _heaviest(members, c.members, weights)) for i, c in enumerate(sc.clusters)]
    _add(result, sc.agreement, len(members), out)


def _merge_rasters(result: ItemConsensus, members: list, who: list, weights: dict, frame: Any) -> None:
    stack, frame_box = rasters.rasterize([m["shape"] for _, m in members])
    sc = rasters.merge_stack(stack, [a for a, _ in members], [m["label"] for _, m in members], weights, len(who))
    base = len(result.labels["annotations"])
    shapes = [(c, rasters.to_mask_shape(c.shape, frame_box)) for c in sc.clusters]
    out = [_annotation(base + i, c.label, shape, frame, _heaviest(members, c.members, weights))
           for i, (c, shape) in enumerate((c, s) for c, s in shapes if s is not None)]
    _add(result, sc.agreement, len(members), out)


def _merge_points(result: ItemConsensus, members: list, who: list, weights: dict, frame: Any) -> None:
    by_size: dict[int, list] = defaultdict(list)
    for m in members:
        by_size[len(m[1]["shape"]["points"])].append(m)
    for same in by_size.values():  # only instances with the same number of points can match
        pts = np.asarray([[[*p, (s["shape"].get("visibility") or [2] * len(s["shape"]["points"]))[j]]
                           for j, p in enumerate(s["shape"]["points"])] for _, s in same], float)
        sc = merge_keypoints(pts, [a for a, _ in same], [s["label"] for _, s in same], weights=weights,
                             n_annotators=len(who))
        base = len(result.labels["annotations"])
        out = []
        for i, c in enumerate(sc.clusters):
            src = _heaviest(same, c.members, weights)
            shape = {"kind": "points", "points": [[float(x), float(y)] for x, y, _ in c.shape],
                     "visibility": [int(v) for _, _, v in c.shape], "names": src["shape"].get("names")}
            out.append(_annotation(base + i, c.label, shape, frame, src))
        _add(result, sc.agreement, len(same), out)


def _merge_polylines(result: ItemConsensus, members: list, who: list, weights: dict, frame: Any) -> None:
    sc = merge_polylines([m["shape"]["points"] for _, m in members], [a for a, _ in members],
                         [m["label"] for _, m in members], weights=weights, n_annotators=len(who))
    base = len(result.labels["annotations"])
    out = [_annotation(base + i, c.label, {"kind": "polyline", "points": [[float(x), float(y)] for x, y in c.shape]},
                       frame, _heaviest(members, c.members, weights)) for i, c in enumerate(sc.clusters)]
    _add(result, sc.agreement, len(members), out)


def _merge_segments(result: ItemConsensus, answers: Mapping[Hashable, Labels], who: list, weights: dict) -> None:
    rows = [(a, s) for a in who for s in answers[a].get("segments", [])]
    key = [s.get("label") or s.get("speaker") or "" for _, s in rows]
    sc = merge_segments([s["start"] for _, s in rows], [s["end"] for _, s in rows], key,
                        [a for a, _ in rows], weights=weights, n_annotators=len(who))
    scores = [sc.agreement]
    for seg in sc.segments:
        out = {"start": seg.start, "end": seg.end, "label": seg.label or None}
        said = _transcripts_within(rows, seg.start, seg.end, who)
        if said:
            medoid = medoid_transcript(list(said.values()), list(said), weights=weights)
            out["transcript"] = medoid.text
            scores.append(medoid.agreement)
        result.labels["segments"].append(out)
    result._parts.append((float(np.mean(scores)), max(len(rows), 1)))


def _transcripts_within(rows: list, start: float, end: float, who: list) -> dict[Hashable, str]:
    """Each annotator's words over [start, end]: their overlapping segments' transcripts in order."""
    said: dict[Hashable, list[tuple[float, str]]] = defaultdict(list)
    for a, s in rows:
        if s.get("transcript") and min(end, s["end"]) - max(start, s["start"]) > 0:
            said[a].append((s["start"], s["transcript"]))
    return {a: " ".join(t for _, t in sorted(said[a])) for a in who if said.get(a)}


_MERGERS = {"tag": _merge_tags, "box": _merge_boxes, "raster": _merge_rasters, "points": _merge_points,
            "polyline": _merge_polylines}
