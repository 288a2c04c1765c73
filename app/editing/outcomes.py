"""Judging model proposals once the human is done with them, and storing the verdicts.

Called when a task is submitted from the editor (for that asset), and by `alaya models stats`
(for a whole project, catching anything submitted elsewhere). Judging is idempotent: a
proposal judged again keeps the latest verdict.
"""

from __future__ import annotations

from app.models.feedback import judge
from app.store.workspace import Workspace


def record_outcomes(ws: Workspace, project_id: int, asset_id: int | None = None) -> int:
    """Judge every model proposal whose task is done (on `asset_id` only, when given) and
    store the verdicts; returns how many were judged."""
    decided = ws.feedback.decided(project_id, asset_id)
    for d in decided:
        out = judge(d.proposal, None if d.deleted else d.head, decided_at=d.decided_at)
        ws.feedback.record(annotation_id=d.proposal.id, asset_id=d.proposal.asset_id,
                           project_id=project_id, label=d.proposal.label, model=d.proposal.author,
                           outcome=out.outcome, iou=out.iou, vertices_changed=out.vertices_changed,
                           seconds=out.seconds)
    return len(decided)
