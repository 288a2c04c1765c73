"""Domain objects the repositories return (plain frozen dataclasses, no ORM state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core.errors import ConflictError

# Allowed task transitions; anything else is a ConflictError naming both states.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_progress", "skipped"}),
    "in_progress": frozenset({"pending", "submitted", "skipped"}),
    "submitted": frozenset({"accepted", "rejected", "in_progress"}),
    "rejected": frozenset({"in_progress"}),
    "skipped": frozenset({"pending"}),
    "accepted": frozenset(),
}


def check_transition(current: str, target: str) -> None:
    if target not in TASK_TRANSITIONS:
        raise ConflictError(f"unknown task state {target!r}")
    if target not in TASK_TRANSITIONS[current]:
        allowed = ", ".join(sorted(TASK_TRANSITIONS[current])) or "none (final state)"
        raise ConflictError(f"a task cannot go from {current} to {target}; allowed: {allowed}")


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    created_at: datetime
    options: dict[str, Any] = field(default_factory=dict)
    remote_request_id: str | None = None  # the coordinator's data request this project mirrors


@dataclass(frozen=True)
class SchemaVersion:
    id: int
    project_id: int
    version: int
    name: str
    content_hash: str
    body: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Asset:
    id: int
    project_id: int
    sha256: str
    modality: str
    storage: str  # "managed" (content-addressed copy in the workspace) or "reference"
    path: str
    original_name: str
    size_bytes: int
    created_at: datetime
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    bit_depth: int | None = None
    frame_count: int | None = None
    fps: float | None = None
    time_base: str | None = None
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    phash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def media_path(self, workspace_root: Path) -> Path:
        return media_path(workspace_root, self.path, self.storage)


def media_path(workspace_root: Path, path: str, storage: str) -> Path:
    """The file to read: managed copies live under the workspace, references anywhere."""
    found = Path(path)
    if storage == "managed" and not found.is_absolute():
        return Path(workspace_root) / found
    return found


@dataclass(frozen=True)
class Task:
    id: int
    project_id: int
    asset_id: int
    kind: str
    state: str
    priority: int
    created_at: datetime
    updated_at: datetime
    assignee: str | None = None
    remote_id: str | None = None
    lease_id: str | None = None
    lease_epoch: int | None = None
    lease_expires_at: datetime | None = None
    sync_state: str | None = None  # a submitted leased task: queued, sent, conflicted, late, rejected
    sync_detail: str | None = None  # the server's reason for conflicted, late or rejected


@dataclass(frozen=True)
class OutboxItem:
    id: int
    entity: str
    entity_id: str
    entity_version: int
    op: str
    idempotency_key: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    asset_id: int | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    outcome: str | None = None
    response: dict[str, Any] | None = None
    signature: str | None = None
