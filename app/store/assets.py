"""Assets (content-addressed media) and the tasks that point at them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.core.errors import NotFoundError, ValidationError
from app.store._rows import to_record, utcnow
from app.store.db import Database
from app.store.records import Asset, Task, check_transition
from app.store.tables import MODALITIES, TASK_KINDS, AssetRow, TaskRow


@dataclass(frozen=True)
class NewAsset:
    """What intake knows about a file before it has an id."""

    sha256: str
    modality: str
    storage: str
    path: str
    original_name: str
    size_bytes: int
    metadata: dict[str, Any]  # width, height, fps, ... (columns); anything else goes to `extra`


_COLUMNS = ("mime", "width", "height", "bit_depth", "frame_count", "fps", "time_base",
            "duration", "sample_rate", "channels", "phash")


def asset_row(project_id: int, new: NewAsset, now: datetime) -> AssetRow:
    if new.modality not in MODALITIES:
        raise ValidationError(f"unknown modality {new.modality!r}", where="modality")
    if len(new.sha256) != 64:
        raise ValidationError("not a SHA-256 hex digest", where="sha256")
    columns = {k: new.metadata.get(k) for k in _COLUMNS}
    extra = {k: v for k, v in new.metadata.items() if k not in _COLUMNS}
    return AssetRow(project_id=project_id, sha256=new.sha256, modality=new.modality, storage=new.storage,
                    path=new.path, original_name=new.original_name, size_bytes=new.size_bytes,
                    extra=extra, created_at=now, **columns)


class AssetRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_many(self, project_id: int, assets: Sequence[NewAsset], *, task_kind: str = "label") -> list[Asset]:
        """Insert assets with one task each, in one transaction; known SHA-256s are skipped."""
        if task_kind not in TASK_KINDS:
            raise ValidationError(f"unknown task kind {task_kind!r}", where="task_kind")
        now = utcnow()
        with self.db.write() as s:
            known = set(s.scalars(select(AssetRow.sha256).where(
                AssetRow.project_id == project_id, AssetRow.sha256.in_([a.sha256 for a in assets]))))
            rows = []
            for new in assets:
                if new.sha256 in known:
                    continue
                known.add(new.sha256)
                rows.append(asset_row(project_id, new, now))
            s.add_all(rows)
            s.flush()
            s.add_all(TaskRow(project_id=project_id, asset_id=r.id, kind=task_kind, state="pending",
                              priority=0, created_at=now, updated_at=now) for r in rows)
            return [to_record(r, Asset) for r in rows]

    def get(self, asset_id: int) -> Asset:
        with self.db.read() as s:
            row = s.get(AssetRow, asset_id)
            if row is None:
                raise NotFoundError(f"no asset {asset_id}")
            return to_record(row, Asset)

    def by_sha256(self, project_id: int, sha256s: Iterable[str]) -> dict[str, Asset]:
        with self.db.read() as s:
            rows = s.scalars(select(AssetRow).where(AssetRow.project_id == project_id,
                                                    AssetRow.sha256.in_(list(sha256s))))
            return {r.sha256: to_record(r, Asset) for r in rows}

    def phashes(self, project_id: int) -> dict[int, str]:
        with self.db.read() as s:
            rows = s.execute(select(AssetRow.id, AssetRow.phash).where(
                AssetRow.project_id == project_id, AssetRow.phash.is_not(None)))
            return {asset_id: phash for asset_id, phash in rows}

    def list(self, project_id: int, *, modality: str | None = None, limit: int | None = None,
             offset: int = 0) -> list[Asset]:
        with self.db.read() as s:
            stmt = select(AssetRow).where(AssetRow.project_id == project_id)
            if modality:
                stmt = stmt.where(AssetRow.modality == modality)
            stmt = stmt.order_by(AssetRow.id).offset(offset).limit(limit)
            return [to_record(r, Asset) for r in s.scalars(stmt)]

    def count(self, project_id: int) -> int:
        with self.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(AssetRow)
                                .where(AssetRow.project_id == project_id)) or 0)


class TaskRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, project_id: int, *, state: str | None = None, limit: int | None = None,
             offset: int = 0) -> list[Task]:
        with self.db.read() as s:
            stmt = select(TaskRow).where(TaskRow.project_id == project_id)
            if state:
                stmt = stmt.where(TaskRow.state == state)
            stmt = stmt.order_by(TaskRow.priority.desc(), TaskRow.id).offset(offset).limit(limit)
            return [to_record(r, Task) for r in s.scalars(stmt)]

    def get(self, task_id: int) -> Task:
        with self.db.read() as s:
            row = s.get(TaskRow, task_id)
            if row is None:
                raise NotFoundError(f"no task {task_id}")
            return to_record(row, Task)

    def counts(self, project_id: int) -> dict[str, int]:
        with self.db.read() as s:
            rows = s.execute(select(TaskRow.state, func.count()).where(TaskRow.project_id == project_id)
                             .group_by(TaskRow.state))
            return {state: int(n) for state, n in rows}

    def transition(self, task_id: int, target: str, *, assignee: str | None = None) -> Task:
        with self.db.write() as s:
            row = s.get(TaskRow, task_id)
            if row is None:
                raise NotFoundError(f"no task {task_id}")
            check_transition(row.state, target)
            row.state = target
            row.updated_at = utcnow()
            if assignee is not None:
                row.assignee = assignee
            s.flush()
            return to_record(row, Task)

    def set_lease(self, task_id: int, *, lease_id: str | None, epoch: int | None,
                  expires_at: datetime | None, remote_id: str | None = None) -> Task:
        with self.db.write() as s:
            row = s.get(TaskRow, task_id)
            if row is None:
                raise NotFoundError(f"no task {task_id}")
            row.lease_id, row.lease_epoch, row.lease_expires_at = lease_id, epoch, expires_at
            if remote_id is not None:
                row.remote_id = remote_id
            row.updated_at = utcnow()
            s.flush()
            return to_record(row, Task)
