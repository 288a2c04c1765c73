"""A leased task's submission: the full labels of its item, built from the head annotations
in the wire shapes, queued in the same transaction as the task's move to "submitted".
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pydantic

from app.annotators.annotation import Annotation
from app.annotators.timeline import SEGMENT, TRACK, UNLABELED
from app.core.errors import ConflictError, ValidationError
from app.store.records import Task
from app.store.workspace import Workspace
from app.sync.wire import Labels, SubmissionPayload


def labels_of(annotations: list[Annotation]) -> Labels:
    """The wire labels of an item's live annotations; ValidationError names what cannot travel."""
    found: dict[str, list[dict[str, Any]]] = {"annotations": [], "tracks": [], "segments": []}
    for ann in annotations:
        shape = ann.shape.to_dict()
        if shape["kind"] == TRACK:
            found["tracks"].append({"id": ann.track_id or ann.id, "label": ann.label,
                                    "keyframes": shape["keyframes"]})
        elif shape["kind"] == SEGMENT:
            found["segments"].append({
                "start": shape["start"], "end": shape["end"], "channel": shape["channel"],
                "label": None if ann.label == UNLABELED else ann.label, "speaker": shape["speaker"],
                "transcript": shape["transcript"] or None, "attributes": dict(ann.attributes)})
        else:
            found["annotations"].append({
                "id": ann.id, "label": ann.label, "shape": shape, "attributes": dict(ann.attributes),
                "frame": ann.frame, "source": "human" if ann.source == "human" else "model",
                "confidence": ann.confidence})
    try:
        return Labels.model_validate(found)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"this work cannot be sent to the coordinator: {first['msg']}", where=where) from None


def payload_for(task: Task, labels: Labels, *, now: datetime | None = None) -> dict[str, Any]:
    """The SubmissionPayload as JSON: these exact values are stored, signed and sent (a retry
    sends the same bytes, so the server's idempotency sees the same digest)."""
    if task.remote_id is None or task.lease_id is None or task.lease_epoch is None:
        raise ConflictError(f"task {task.id} holds no coordinator lease: there is nothing to send")
    finished = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    started = min(task.created_at.replace(microsecond=0), finished)
    return SubmissionPayload(item_id=task.remote_id, lease_id=task.lease_id, epoch=task.lease_epoch,
                             labels=labels, started_at=started, finished_at=finished).model_dump(mode="json")


def new_submission_key() -> str:
    """The idempotency key, made once, before the first send, and stored with the payload."""
    return "sub-" + uuid.uuid4().hex


def submit_leased_task(ws: Workspace, task_id: int, author: str | None = None) -> Task:
    """Submit a leased task locally: it becomes "submitted" and its submission is queued, in
    one transaction (database executor). Work that cannot travel is refused before anything
    changes, with the reason."""
    task = ws.tasks.get(task_id)
    heads = ws.annotations.for_asset(task.asset_id) + ws.annotations.timeline_for_asset(task.asset_id)
    payload = payload_for(task, labels_of(heads))
    return ws.sync.submit(task_id, payload, new_submission_key(), author=author)
