"""Versioned annotation rows; every save writes its outbox row in the same transaction.

A save never updates an annotation in place: it appends version n+1 and moves the head flag,
so the full edit trail stays available for review and sync, and a crash mid-save leaves
either the old head or the new one, never a mix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.annotators.annotation import Annotation
from app.annotators.shapes import TIMELINE_KINDS
from app.core.errors import ConflictError, NotFoundError
from app.store._rows import utcnow
from app.store.db import Database
from app.store.tables import AnnotationRow, AssetRow, OutboxRow

ImportGroup = tuple[int | None, Sequence[Annotation]]  # (task id, annotations of one asset)


def idempotency_key(annotation_id: str, version: int) -> str:
    # Deterministic: (annotation, version) is unique, so a retried push can never double-count.
    return f"ann-{annotation_id}-v{version}"


_ANN = AnnotationRow.__table__
_OUT = OutboxRow.__table__
_HEAD = select(_ANN.c.version, _ANN.c.asset_id, _ANN.c.task_id, _ANN.c.deleted).where(
    _ANN.c.annotation_id == bindparam("aid"), _ANN.c.is_head.is_(True))


def _append(conn: Connection, ann: Annotation, *, task_id: int | None, deleted: bool,
            expected_version: int | None) -> Annotation:
    """Core statements, not the ORM: a save is on the edit path and must stay in budget."""
    head = conn.execute(_HEAD, {"aid": ann.id}).first()
    if head is not None:
        if head.asset_id != ann.asset_id:
            raise ConflictError(f"annotation {ann.id} belongs to asset {head.asset_id}, not {ann.asset_id}")
        if expected_version is not None and head.version != expected_version:
            raise ConflictError(f"annotation {ann.id} changed meanwhile (version {head.version}, "
                                f"edited {expected_version})")
        conn.execute(update(_ANN).where(_ANN.c.annotation_id == ann.id, _ANN.c.is_head.is_(True))
                     .values(is_head=False))
    elif deleted:
        raise NotFoundError(f"no annotation {ann.id}")
    now = utcnow()
    version = head.version + 1 if head else 1
    saved = ann.replace(version=version, updated_at=now)
    payload: dict[str, Any] = saved.to_dict()
    conn.execute(insert(_ANN), {
        "annotation_id": ann.id, "version": version, "asset_id": ann.asset_id,
        "task_id": task_id if task_id is not None else (head.task_id if head else None),
        "label": ann.label, "kind": ann.shape.kind, "author": ann.author, "source": ann.source,
        "confidence": ann.confidence, "deleted": deleted, "is_head": True,
        "created_at": ann.created_at, "updated_at": now, "payload": payload,
    })
    conn.execute(insert(_OUT), {
        "entity": "annotation", "entity_id": ann.id, "entity_version": version, "asset_id": ann.asset_id,
        "op": "delete" if deleted else "upsert", "idempotency_key": idempotency_key(ann.id, version),
        "payload": payload, "created_at": now, "attempts": 0,
    })
    return saved


@contextmanager
def _missing_asset_is_not_found(asset_ids: set[int]) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        if "FOREIGN KEY" in str(exc.orig):
            raise NotFoundError(f"no asset {', '.join(map(str, sorted(asset_ids)))}") from exc
        raise


class AnnotationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, ann: Annotation, *, task_id: int | None = None,
             expected_version: int | None = None) -> Annotation:
        """Append a new version and its outbox row atomically; returns what was stored."""
        with _missing_asset_is_not_found({ann.asset_id}), self.db.write_connection() as conn:
            return _append(conn, ann, task_id=task_id, deleted=False, expected_version=expected_version)

    def save_many(self, anns: Sequence[Annotation], *, task_id: int | None = None) -> list[Annotation]:
        """Several saves in one transaction (pre-label proposals, imports): all or nothing."""
        with _missing_asset_is_not_found({a.asset_id for a in anns}), self.db.write_connection() as conn:
            return [_append(conn, a, task_id=task_id, deleted=False, expected_version=None) for a in anns]

    def apply(self, saves: Sequence[Annotation], deletes: Sequence[str], *, task_id: int | None = None) -> None:
        """An editor's change set in one transaction: new versions and tombstones together.

        Deleting an annotation the store never saw (or already deleted) is a no-op: the
        editor's intent, "it is gone", already holds.
        """
        ids = {a.asset_id for a in saves}
        with _missing_asset_is_not_found(ids), self.db.write_connection() as conn:
            for ann in saves:
                _append(conn, ann, task_id=task_id, deleted=False, expected_version=None)
            for annotation_id in deletes:
                row = conn.execute(select(_ANN.c.payload, _ANN.c.version, _ANN.c.deleted).where(
                    _ANN.c.annotation_id == annotation_id, _ANN.c.is_head.is_(True))).first()
                if row is not None and not row.deleted:
                    _append(conn, _from_row(row), task_id=None, deleted=True, expected_version=None)

    def delete(self, annotation_id: str) -> Annotation:
        """A tombstone version, so the deletion syncs like any other edit."""
        with self.db.write_connection() as conn:
            row = conn.execute(select(_ANN.c.payload, _ANN.c.version, _ANN.c.deleted).where(
                _ANN.c.annotation_id == annotation_id, _ANN.c.is_head.is_(True))).first()
            if row is None or row.deleted:
                raise NotFoundError(f"no annotation {annotation_id}")
            current = _from_row(row)
            return _append(conn, current, task_id=None, deleted=True, expected_version=None)

    def for_asset(self, asset_id: int) -> list[Annotation]:
        """The shapes an editor draws: every head except whole tracks and audio segments."""
        return self._heads(asset_id, AnnotationRow.kind.not_in(TIMELINE_KINDS))

    def timeline_for_asset(self, asset_id: int) -> list[Annotation]:
        """Whole tracks and audio segments (`annotators.timeline` turns them back into both)."""
        return self._heads(asset_id, AnnotationRow.kind.in_(TIMELINE_KINDS))

    def _heads(self, asset_id: int, kinds: Any) -> list[Annotation]:
        with self.db.read() as s:
            rows = s.scalars(select(AnnotationRow).where(
                AnnotationRow.asset_id == asset_id, AnnotationRow.is_head.is_(True),
                AnnotationRow.deleted.is_(False), kinds).order_by(AnnotationRow.row_id))
            return [_from_row(r) for r in rows]

    def heads_for_project(self, project_id: int) -> dict[int, list[Annotation]]:
        """Every live head of every asset of a project, by asset id (exports): one query."""
        stmt = (select(_ANN.c.payload, _ANN.c.version, _ANN.c.asset_id)
                .join(AssetRow.__table__, AssetRow.__table__.c.id == _ANN.c.asset_id)
                .where(AssetRow.__table__.c.project_id == project_id, _ANN.c.is_head.is_(True),
                       _ANN.c.deleted.is_(False))
                .order_by(_ANN.c.asset_id, _ANN.c.row_id))
        out: dict[int, list[Annotation]] = {}
        with self.db.read() as s:
            for row in s.execute(stmt):
                out.setdefault(row.asset_id, []).append(_from_row(row))
        return out

    def import_groups(self, groups: Sequence[ImportGroup], *,
                      progress: Callable[[int, int], None] | None = None) -> list[Annotation]:
        """Every group in ONE transaction: any error (or an exception from `progress`, called
        after each group) leaves nothing written.

        An import copies: an annotation whose id already belongs to another asset, or that
        repeats within the import, is stored under a fresh id; one whose id is already on the
        same asset becomes its next version (re-importing an edited native export updates).
        """
        ids = {a.asset_id for _, anns in groups for a in anns}
        saved: list[Annotation] = []
        with _missing_asset_is_not_found(ids), self.db.write_connection() as conn:
            owners = _owners(conn, [a.id for _, anns in groups for a in anns])
            seen: set[str] = set()
            for done, (task_id, anns) in enumerate(groups, 1):
                for ann in anns:
                    if ann.id in seen or owners.get(ann.id, ann.asset_id) != ann.asset_id:
                        ann = ann.replace(id=uuid.uuid4().hex)
                    seen.add(ann.id)
                    saved.append(_append(conn, ann, task_id=task_id, deleted=False, expected_version=None))
                if progress is not None:
                    progress(done, len(groups))
        return saved

    def get(self, annotation_id: str) -> Annotation:
        with self.db.read() as s:
            head = s.scalar(select(AnnotationRow).where(AnnotationRow.annotation_id == annotation_id,
                                                        AnnotationRow.is_head.is_(True)))
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


def _owners(conn: Connection, annotation_ids: list[str], chunk: int = 500) -> dict[str, int]:
    """The asset of each of these ids that the store already holds."""
    found: dict[str, int] = {}
    for i in range(0, len(annotation_ids), chunk):
        rows = conn.execute(select(_ANN.c.annotation_id, _ANN.c.asset_id).where(
            _ANN.c.annotation_id.in_(annotation_ids[i:i + chunk]), _ANN.c.is_head.is_(True)))
        found.update((r.annotation_id, r.asset_id) for r in rows)
    return found


def _from_row(row: Any) -> Annotation:
    return Annotation.from_dict(row.payload).replace(version=row.version)
