"""The store's side of sync: leased tasks, the submission queue, and what the server answered.

A submission is an outbox row with `entity = "submission"` (entity_id: the local task id,
entity_version: the lease epoch), written in the same transaction as its task's move to
"submitted"; `outcome` stays NULL until the server's answer is final. The per-annotation
outbox rows (`entity = "annotation"`) are the local edit journal: no coordinator endpoint
takes them, so the syncer never sends them (a leased task's submission carries the full
labels instead); they stay unsent and do not count in the sync queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, insert, select, update

from app.core.errors import ConflictError, NotFoundError
from app.store._rows import to_record, utcnow
from app.store.assets import NewAsset, asset_row
from app.store.db import Database
from app.store.records import OutboxItem, Project, Task, check_transition
from app.store.tables import OutboxRow, ProjectRow, TaskRow

SUBMISSION = "submission"
_OUT = OutboxRow.__table__
_TASKS = TaskRow.__table__
_WAITING = and_(_OUT.c.entity == SUBMISSION, _OUT.c.outcome.is_(None))
# executemany statements for a batch of answers (built once: the drain runs them per round)
_RECORD_OUTBOX = update(_OUT).where(_OUT.c.id == bindparam("oid")).values(
    outcome=bindparam("outcome"), response=bindparam("response"), last_error=bindparam("detail"),
    sent_at=bindparam("sent"), signature=func.coalesce(bindparam("signature"), _OUT.c.signature))
_RECORD_TASK = update(_TASKS).where(_TASKS.c.id == select(_OUT.c.entity_id).where(
    _OUT.c.id == bindparam("oid")).scalar_subquery().cast(Integer)).values(
    sync_state=bindparam("outcome"), sync_detail=bindparam("detail"), updated_at=bindparam("now"))


@dataclass(frozen=True)
class Lease:
    """A coordinator lease on one item, as a local task records it."""

    remote_id: str  # the item's id on the coordinator
    lease_id: str
    epoch: int
    expires_at: datetime


@dataclass(frozen=True)
class Answer:
    """The final answer for one submission: sent, conflicted, late or rejected."""

    outbox_id: int
    outcome: str
    response: dict[str, Any] | None
    detail: str | None = None
    signature: str | None = None


@dataclass(frozen=True)
class QueueStats:
    waiting: int  # submissions not yet answered
    next_retry: datetime | None  # the earliest retry time among those waiting for one
    attention: int  # leased tasks conflicted, late or rejected: the user must see them


class SyncRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- projects and leased tasks ------------------------------------------------------
    def project_for_request(self, request_id: str, name: str) -> Project:
        """The local project mirroring a data request, created on first sight."""
        with self.db.write() as s:
            row = s.scalar(select(ProjectRow).where(ProjectRow.remote_request_id == request_id))
            if row is None:
                taken = s.scalar(select(func.count()).select_from(ProjectRow).where(ProjectRow.name == name))
                row = ProjectRow(name=f"{name} ({request_id})" if taken else name, created_at=utcnow(),
                                 options={}, remote_request_id=request_id)
                s.add(row)
                s.flush()
            return to_record(row, Project)

    def task_for_item(self, remote_id: str) -> Task | None:
        with self.db.read() as s:
            row = s.scalar(select(TaskRow).where(TaskRow.remote_id == remote_id).order_by(TaskRow.id.desc()))
            return None if row is None else to_record(row, Task)

    def add_leased(self, project_id: int, asset: NewAsset, lease: Lease) -> Task:
        """The asset and its task with the lease, in one transaction. An item seen before (a new
        lease of it) keeps its task and work: only the lease changes."""
        return self.add_leased_many(project_id, [(asset, lease)])[0]

    def add_leased_many(self, project_id: int, entries: Sequence[tuple[NewAsset, Lease]]) -> list[Task]:
        """Several leased items at once, all or nothing (one commit, not one per item)."""
        now = utcnow()
        tasks = []
        with self.db.write() as s:
            for asset, lease in entries:
                task = s.scalar(select(TaskRow).where(TaskRow.remote_id == lease.remote_id))
                if task is None:
                    new_asset = asset_row(project_id, asset, now)
                    s.add(new_asset)
                    s.flush()
                    task = TaskRow(project_id=project_id, asset_id=new_asset.id, kind="label", state="pending",
                                   priority=0, remote_id=lease.remote_id, created_at=now, updated_at=now)
                    s.add(task)
                task.lease_id, task.lease_epoch, task.lease_expires_at = lease.lease_id, lease.epoch, lease.expires_at
                task.sync_state, task.sync_detail, task.updated_at = None, None, now
                tasks.append(task)
            s.flush()
            return [to_record(t, Task) for t in tasks]

    def leased_tasks(self, *, open_only: bool = True) -> list[Task]:
        """Tasks holding a lease; `open_only`: not yet submitted (the offline work in hand)."""
        with self.db.read() as s:
            stmt = select(TaskRow).where(TaskRow.lease_id.is_not(None))
            if open_only:
                stmt = stmt.where(TaskRow.state.in_(("pending", "in_progress")), TaskRow.sync_state.is_(None))
            return [to_record(r, Task) for r in s.scalars(stmt.order_by(TaskRow.id))]

    def renew_lease(self, task_id: int, expires_at: datetime) -> None:
        with self.db.write_connection() as conn:
            conn.execute(update(_TASKS).where(_TASKS.c.id == task_id)
                         .values(lease_expires_at=expires_at, updated_at=utcnow()))

    def mark_task(self, task_id: int, sync_state: str, detail: str | None) -> None:
        """What the server said about a lease (late, conflicted): the work stays as it is."""
        with self.db.write_connection() as conn:
            conn.execute(update(_TASKS).where(_TASKS.c.id == task_id)
                         .values(sync_state=sync_state, sync_detail=detail, updated_at=utcnow()))

    # -- the submission queue -------------------------------------------------------------
    def submit(self, task_id: int, payload: dict[str, Any], key: str, *, author: str | None = None) -> Task:
        """The task becomes "submitted" and its submission joins the queue: one transaction."""
        return self.submit_many([(task_id, payload, key)], author=author)[0]

    def submit_many(self, entries: Sequence[tuple[int, dict[str, Any], str]], *,
                    author: str | None = None) -> list[Task]:
        """(task id, payload, idempotency key) for each: all tasks move and queue, or none."""
        now = utcnow()
        done = []
        with self.db.write() as s:
            for task_id, payload, key in entries:
                task = s.get(TaskRow, task_id)
                if task is None:
                    raise NotFoundError(f"no task {task_id}")
                if task.lease_id is None or task.lease_epoch is None:
                    raise ConflictError(f"task {task_id} holds no coordinator lease: there is nothing to send")
                for step in _path_to_submitted(task.state):
                    check_transition(task.state, step)
                    task.state = step
                task.sync_state, task.sync_detail, task.updated_at = "queued", None, now
                if author is not None:
                    task.assignee = author
                s.execute(insert(_OUT).values(
                    entity=SUBMISSION, entity_id=str(task_id), entity_version=task.lease_epoch,
                    asset_id=task.asset_id, op="upsert", idempotency_key=key, payload=payload, created_at=now,
                    attempts=0))
                done.append(task)
            s.flush()
            return [to_record(t, Task) for t in done]

    def due(self, limit: int, now: datetime | None = None, *, busy: Sequence[OutboxItem] = ()) -> list[OutboxItem]:
        """Waiting submissions whose time has come, oldest first, at most one per asset: a
        later one of an asset never overtakes an earlier one (not even one in backoff, nor
        one of `busy`: rows on their way to the server now)."""
        now = now or utcnow()
        picked: list[OutboxItem] = []
        held: set[int | None] = {row.asset_id for row in busy}
        flying = {row.id for row in busy}
        with self.db.read() as s:
            rows = s.scalars(select(OutboxRow).where(_WAITING).order_by(OutboxRow.id)
                             .limit(limit * 4 + len(flying)))
            for row in rows:
                if row.id in flying or row.asset_id in held:
                    continue
                held.add(row.asset_id)
                if row.next_attempt_at is None or row.next_attempt_at <= now:
                    picked.append(to_record(row, OutboxItem))
                    if len(picked) == limit:
                        break
        return picked

    def record(self, answers: Sequence[Answer]) -> None:
        """Final answers, with their tasks' sync state: one transaction, two statements."""
        if not answers:
            return
        now = utcnow()
        rows = [{"oid": a.outbox_id, "outcome": a.outcome, "response": a.response, "detail": a.detail,
                 "sent": now if a.outcome == "sent" else None, "signature": a.signature, "now": now}
                for a in answers]
        with self.db.write_connection() as conn:
            conn.execute(_RECORD_OUTBOX, rows)
            conn.execute(_RECORD_TASK, rows)

    def retry_later(self, outbox_ids: Sequence[int], error: str, retry_at: datetime) -> None:
        """A transient failure: the rows wait until `retry_at` (the attempt counts are kept)."""
        if not outbox_ids:
            return
        with self.db.write_connection() as conn:
            conn.execute(update(_OUT).where(_OUT.c.id.in_(list(outbox_ids))).values(
                attempts=_OUT.c.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at))

    def stats(self) -> QueueStats:
        with self.db.read() as s:
            waiting, next_retry = s.execute(select(func.count(), func.min(_OUT.c.next_attempt_at))
                                            .where(_WAITING)).one()
            attention = s.scalar(select(func.count()).select_from(TaskRow).where(
                TaskRow.sync_state.in_(("conflicted", "late", "rejected")))) or 0
        return QueueStats(int(waiting or 0), next_retry, int(attention))

    def submissions(self, *, outcome: str | None = None) -> list[OutboxItem]:
        """Every submission row (or those with this outcome), oldest first: for reports and tests."""
        with self.db.read() as s:
            stmt = select(OutboxRow).where(OutboxRow.entity == SUBMISSION)
            if outcome is not None:
                stmt = stmt.where(OutboxRow.outcome == outcome)
            return [to_record(r, OutboxItem) for r in s.scalars(stmt.order_by(OutboxRow.id))]


def _path_to_submitted(state: str) -> tuple[str, ...]:
    """The transitions that take a task from `state` to "submitted" (as the window does)."""
    return {"pending": ("in_progress", "submitted"), "in_progress": ("submitted",),
            "rejected": ("in_progress", "submitted"), "skipped": ("pending", "in_progress", "submitted")
            }.get(state, ("submitted",))
