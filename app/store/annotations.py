"""Versioned annotation rows; every save writes its outbox row in the same transaction.

A save never updates an annotation in place: it appends version n+1 and moves the head flag,
so the full edit trail stays available for review and sync, and a crash mid-save leaves
either the old head or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.annotators.annotation import Annotation
from app.core.errors import ConflictError, NotFoundError
from app.store._rows import utcnow
from app.store.db import Database
from app.store.tables import AnnotationRow, AssetRow, OutboxRow


def idempotency_key(annotation_id: str, version: int) -> str:
    # Deterministic: (annotation, version) is unique, so a retried push can never double-count.
    return f"ann-{annotation_id}-v{version}"


def _head(s: Session, annotation_id: str) -> AnnotationRow | None:
    return s.scalar(select(AnnotationRow).where(AnnotationRow.annotation_id == annotation_id,
                                                AnnotationRow.is_head.is_(True)))


def _append(s: Session, ann: Annotation, *, task_id: int | None, deleted: bool,
            expected_version: int | None) -> Annotation:
    head = _head(s, ann.id)
    if head is not None:
        if head.asset_id != ann.asset_id:
            raise ConflictError(f"annotation {ann.id} belongs to asset {head.asset_id}, not {ann.asset_id}")
        if expected_version is not None and head.version != expected_version:
            raise ConflictError(f"annotation {ann.id} changed meanwhile (version {head.version}, "
                                f"edited {expected_version})")
        head.is_head = False
    elif deleted:
        raise NotFoundError(f"no annotation {ann.id}")
    now = utcnow()
    version = head.version + 1 if head else 1
    saved = ann.replace(version=version, updated_at=now)
    payload: dict[str, Any] = saved.to_dict()
    s.add(AnnotationRow(
        annotation_id=ann.id, version=version, asset_id=ann.asset_id,
        task_id=task_id if task_id is not None else (head.task_id if head else None),
        label=ann.label, kind=ann.shape.kind, author=ann.author, source=ann.source,
        confidence=ann.confidence, deleted=deleted, is_head=True,
        created_at=ann.created_at, updated_at=now, payload=payload,
    ))
    s.add(OutboxRow(
        entity="annotation", entity_id=ann.id, entity_version=version, asset_id=ann.asset_id,
        op="delete" if deleted else "upsert", idempotency_key=idempotency_key(ann.id, version),
        payload=payload, created_at=now, attempts=0,
    ))
    return saved


class AnnotationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, ann: Annotation, *, task_id: int | None = None,
             expected_version: int | None = None) -> Annotation:
        """Append a new version and its outbox row atomically; returns what was stored."""
        with self.db.write() as s:
            if s.get(AssetRow, ann.asset_id) is None:
                raise NotFoundError(f"no asset {ann.asset_id}")
            saved = _append(s, ann, task_id=task_id, deleted=False, expected_version=expected_version)
            s.flush()  # surface constraint errors inside the transaction
            return saved

    def save_many(self, anns: Sequence[Annotation], *, task_id: int | None = None) -> list[Annotation]:
        """Several saves in one transaction (pre-label proposals, imports): all or nothing."""
        with self.db.write() as s:
            out = [_append(s, a, task_id=task_id, deleted=False, expected_version=None) for a in anns]
            s.flush()
            return out

    def delete(self, annotation_id: str) -> Annotation:
        """A tombstone version, so the deletion syncs like any other edit."""
        with self.db.write() as s:
            head = _head(s, annotation_id)
            if head is None or head.deleted:
                raise NotFoundError(f"no annotation {annotation_id}")
            current = _from_row(head)
            return _append(s, current, task_id=None, deleted=True, expected_version=None)

    def for_asset(self, asset_id: int) -> list[Annotation]:
        with self.db.read() as s:
            rows = s.scalars(select(AnnotationRow).where(
                AnnotationRow.asset_id == asset_id, AnnotationRow.is_head.is_(True),
                AnnotationRow.deleted.is_(False)).order_by(AnnotationRow.row_id))
            return [_from_row(r) for r in rows]

    def get(self, annotation_id: str) -> Annotation:
        with self.db.read() as s:
            head = _head(s, annotation_id)
            if head is None or head.deleted:
                raise NotFoundError(f"no annotation {annotation_id}")
            return _from_row(head)

    def versions(self, annotation_id: str) -> list[tuple[int, bool, Annotation]]:
        """(version, deleted, annotation) for every stored version, oldest first."""
        with self.db.read() as s:
            rows = s.scalars(select(AnnotationRow).where(AnnotationRow.annotation_id == annotation_id)
                             .order_by(AnnotationRow.version))
            return [(r.version, r.deleted, _from_row(r)) for r in rows]

    def reassign_task(self, asset_id: int, task_id: int) -> int:
        with self.db.write() as s:
            result = s.execute(update(AnnotationRow).where(AnnotationRow.asset_id == asset_id,
                                                           AnnotationRow.is_head.is_(True))
                               .values(task_id=task_id))
            return int(result.rowcount or 0)


def _from_row(row: AnnotationRow) -> Annotation:
    return Annotation.from_dict(row.payload).replace(version=row.version)
