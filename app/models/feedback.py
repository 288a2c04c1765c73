"""The human-feedback loop: what a human did with a model's proposal, and what follows.

For each proposal (an annotation with source "model") the outcome is one of:
- accepted: the final annotation has the same shape and label, untouched;
- edited: anything changed; we keep the IoU between the proposed and the final shape and
  the number of vertices changed (a moved vertex counts once, an added or removed one once:
  the larger of "final vertices not in the proposal" and "proposal vertices not in the
  final", as multisets; masks have no vertices, so None);
- deleted: the human removed it.
Time spent is the seconds from the proposal's creation to the human's decision (the final
version's `updated_at`, or the deletion time). Classes whose proposals are accepted
unchanged often enough become verify-only: checking a proposal is cheaper than labeling.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from app.annotators.annotation import Annotation
from app.annotators.geometry import iou
from app.annotators.shapes import Box, Mask, Polygon, RotatedBox
from app.core.errors import ValidationError

OutcomeKind = Literal["accepted", "edited", "deleted"]
OUTCOMES: tuple[str, ...] = ("accepted", "edited", "deleted")


@dataclass(frozen=True)
class Outcome:
    outcome: OutcomeKind
    iou: float | None
    vertices_changed: int | None
    seconds: float | None


class AcceptanceStats(Protocol):
    """One (label, model) row of acceptance statistics (the store's `AcceptanceRow`)."""

    label: str
    model: str
    proposals: int
    accept_rate: float


def judge(proposal: Annotation, final: Annotation | None, *,
          decided_at: datetime | None = None) -> Outcome:
    """The outcome of `proposal` given the human's final version of it (None: deleted);
    `decided_at` defaults to the final version's `updated_at`."""
    if proposal.source != "model":
        raise ValidationError("only model proposals have an outcome", where="source")
    if final is not None and final.id != proposal.id:
        raise ValidationError("the final annotation is another annotation", where="final")
    when = decided_at or (final.updated_at if final is not None else None)
    seconds = None if when is None else max(0.0, (when - proposal.created_at).total_seconds())
    if final is None:
        return Outcome("deleted", None, None, seconds)
    if final.shape == proposal.shape and final.label == proposal.label:
        return Outcome("accepted", 1.0, 0, seconds)
    overlap = shape_iou(proposal.shape, final.shape)
    return Outcome("edited", overlap, vertices_changed(proposal.shape, final.shape), seconds)


def shape_iou(a: object, b: object) -> float | None:
    """IoU of two region shapes: vectors exactly, and with a mask on either side pixel by
    pixel at the mask's size (the asset's); None when either is no region (points, lines)."""
    regions = (Box, RotatedBox, Polygon, Mask)
    if not (isinstance(a, regions) and isinstance(b, regions)):
        return None
    return iou(a, b)


def vertices(shape: object) -> list[tuple[float, float]] | None:
    """The vertices of a vector shape (every ring of a polygon); None for masks and others."""
    if isinstance(shape, Box):
        return [(shape.x1, shape.y1), (shape.x2, shape.y1), (shape.x2, shape.y2), (shape.x1, shape.y2)]
    if isinstance(shape, RotatedBox):
        return list(shape.corners())
    if isinstance(shape, Polygon):
        return [p for part in shape.parts for ring in (part.exterior, *part.holes) for p in ring]
    return None


def vertices_changed(a: object, b: object) -> int | None:
    va, vb = vertices(a), vertices(b)
    if va is None or vb is None:
        return None
    # Rounded to 1/1000 px: a vertex that went through a JSON round trip is still the same vertex.
    ca = Counter((round(x, 3), round(y, 3)) for x, y in va)
    cb = Counter((round(x, 3), round(y, 3)) for x, y in vb)
    return max(sum((cb - ca).values()), sum((ca - cb).values()))


def verify_only_classes(stats: Iterable[AcceptanceStats], threshold: float = 0.9,
                        min_proposals: int = 20, *, model: str | None = None) -> list[str]:
    """Labels whose proposals (of `model`, or of any model) were accepted unchanged at a rate
    of at least `threshold` over at least `min_proposals` decided proposals."""
    if not 0.0 <= threshold <= 1.0:
        raise ValidationError(f"must be within 0..1, got {threshold}", where="threshold")
    return sorted({s.label for s in stats
                   if (model is None or s.model == model)
                   and s.proposals >= min_proposals and s.accept_rate >= threshold})
