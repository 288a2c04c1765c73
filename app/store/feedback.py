"""Proposal outcomes (what humans did with model proposals) and their statistics.

A proposal is judged once its asset's task is submitted (or accepted): before that the human
may still be working on it. Judging itself is `app.models.feedback`; this module stores the
verdicts and aggregates them per (label, model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.dialects.sqlite import insert

from app.annotators.annotation import Annotation
from app.core.errors import ValidationError
from app.store._rows import utcnow
from app.store.db import Database
from app.store.tables import OUTCOMES, AnnotationRow, AssetRow, ProposalOutcomeRow, TaskRow

DONE_STATES = ("submitted", "accepted")
_OUT = ProposalOutcomeRow.__table__


@dataclass(frozen=True)
class AcceptanceRow:
    """Per (label, model): decided proposals, by outcome. `mean_iou` is over the proposals
    kept (accepted count as 1.0, edited as their IoU); None when all were deleted."""

    label: str
    model: str
    proposals: int
    accepted: int
    edited: int
    deleted: int
    accept_rate: float
    mean_iou: float | None


@dataclass(frozen=True)
class Decided:
    """A model proposal whose task is done: its first version and its head now."""

    project_id: int
    proposal: Annotation
    head: Annotation
    deleted: bool
    decided_at: datetime  # when the head was written


class FeedbackRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, *, annotation_id: str, asset_id: int, project_id: int, label: str, model: str,
               outcome: str, iou: float | None = None, vertices_changed: int | None = None,
               seconds: float | None = None) -> None:
        """Store an outcome; a proposal judged again (reopened task) keeps the latest verdict."""
        if outcome not in OUTCOMES:
            raise ValidationError(f"must be one of {', '.join(OUTCOMES)}", where="outcome")
        values = {"asset_id": asset_id, "project_id": project_id, "label": label, "model": model,
                  "outcome": outcome, "iou": iou, "vertices_changed": vertices_changed,
                  "seconds": seconds, "created_at": utcnow()}
        stmt = insert(_OUT).values(annotation_id=annotation_id, **values)
        with self.db.write_connection() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["annotation_id"], set_=values))

    def count(self, project_id: int) -> int:
        with self.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(_OUT)
                                .where(_OUT.c.project_id == project_id)) or 0)

    def stats(self, project_id: int) -> list[AcceptanceRow]:
        o = _OUT.c
        n = {k: func.sum(case((o.outcome == k, 1), else_=0)) for k in OUTCOMES}
        kept_iou = func.avg(case((o.outcome == "accepted", 1.0), (o.outcome == "edited", o.iou)))
        stmt = (select(o.label, o.model, func.count(), n["accepted"], n["edited"], n["deleted"], kept_iou)
                .where(o.project_id == project_id).group_by(o.label, o.model).order_by(o.label, o.model))
        with self.db.read() as s:
            return [AcceptanceRow(label, model, total, acc, ed, dl, acc / total,
                                  None if mean is None else float(mean))
                    for label, model, total, acc, ed, dl, mean in s.execute(stmt)]

    def decided(self, project_id: int, asset_id: int | None = None) -> list[Decided]:
        """Model proposals on assets whose task is submitted or accepted (only `asset_id`'s when
        given), with their heads."""
        a = AnnotationRow
        done = select(TaskRow.asset_id).where(TaskRow.project_id == project_id,
                                              TaskRow.state.in_(DONE_STATES))
        if asset_id is not None:
            done = done.where(TaskRow.asset_id == asset_id)
        first = (select(a.annotation_id).join(AssetRow, AssetRow.id == a.asset_id)
                 .where(AssetRow.project_id == project_id, a.version == 1, a.source == "model",
                        a.asset_id.in_(done)))
        stmt = (select(a).where(a.annotation_id.in_(first), (a.version == 1) | a.is_head.is_(True))
                .order_by(a.annotation_id, a.version))
        out: list[Decided] = []
        with self.db.read() as s:
            rows = list(s.scalars(stmt))
        by_id: dict[str, list[AnnotationRow]] = {}
        for r in rows:
            by_id.setdefault(r.annotation_id, []).append(r)
        for versions in by_id.values():
            v1, head = versions[0], versions[-1]
            out.append(Decided(project_id, _annotation(v1), _annotation(head), head.deleted,
                               head.updated_at))
        return out


def _annotation(row: AnnotationRow) -> Annotation:
    return Annotation.from_dict(row.payload).replace(version=row.version)
