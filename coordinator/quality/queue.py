"""The durable queue of items waiting for the quality step: one row per item.

Ingest writes a row in the same transaction as the answer that made the item ready (its k-th
counted answer, or any answer to a honeypot), so an acknowledged answer is never left
unjudged by a crash. The quality worker claims rows, judges the items and deletes the rows in
its own transaction; a failure keeps the row, counts the attempt and retries after a back-off.

Claiming locks the *items* and their queue rows (`FOR UPDATE OF items, quality_queue SKIP
LOCKED` on PostgreSQL): ingest locks the same item rows before it writes, so an item is judged
by one worker at a time and never while an answer to it is being stored; a worker never waits
on a lock here. Locking the queue row matters too: a claim whose snapshot still shows a row that
another worker has just judged and deleted would otherwise lock the (now free) item row, and
PostgreSQL re-checks only the locked rows, so the item would be judged twice. A deleted queue
row cannot be locked, and the item drops out. SQLite has one writer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from coordinator.tables import items, quality_queue

RETRY_BASE_S, RETRY_MAX_S = 5.0, 3600.0
_ERROR_MAX = quality_queue.c.last_error.type.length


def mark_ready(conn: Connection, item_ids: Iterable[str], now: datetime) -> int:
    """Queues these items (a row already waiting stays as it is); how many were given."""
    rows = [dict(item_id=item_id, queued_at=now, not_before=now, attempts=0) for item_id in sorted(set(item_ids))]
    if rows:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert(quality_queue).on_conflict_do_nothing(index_elements=[quality_queue.c.item_id]), rows)
    return len(rows)


def claim(conn: Connection, limit: int, now: datetime, only: str | None = None) -> list[Any]:
    """Up to `limit` due items (or just `only`), locked, oldest first: their `items` rows."""
    stmt = (select(items).join(quality_queue, quality_queue.c.item_id == items.c.id)
            .where(quality_queue.c.not_before <= now)
            .order_by(quality_queue.c.queued_at, quality_queue.c.item_id).limit(limit))
    if only is not None:
        stmt = stmt.where(quality_queue.c.item_id == only)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=[items, quality_queue], skip_locked=True)
    return conn.execute(stmt).all()


def any_due(conn: Connection, now: datetime) -> bool:
    """Whether a claim would find something: a read, so an idle poll takes no write lock."""
    return conn.execute(select(quality_queue.c.item_id).where(quality_queue.c.not_before <= now).limit(1)
                        ).first() is not None


def finish(conn: Connection, item_ids: Iterable[str]) -> None:
    ids = list(item_ids)
    if ids:
        conn.execute(delete(quality_queue).where(quality_queue.c.item_id.in_(ids)))


def failed(conn: Connection, item_id: str, error: str, now: datetime) -> int:
    """Counts a failed attempt and puts the next one off (doubling, capped); the attempts so far."""
    attempts = conn.execute(select(quality_queue.c.attempts).where(quality_queue.c.item_id == item_id)
                            ).scalar_one_or_none()
    if attempts is None:  # finished meanwhile by someone else
        return 0
    attempts += 1
    delay = min(RETRY_BASE_S * 2 ** (attempts - 1), RETRY_MAX_S)
    conn.execute(update(quality_queue).where(quality_queue.c.item_id == item_id).values(
        attempts=attempts, last_error=error[:_ERROR_MAX], not_before=now + timedelta(seconds=delay)))
    return attempts


def waiting(conn: Connection, request_id: str | None = None) -> int:
    """Items waiting for the quality step (of one request, or all)."""
    stmt = select(func.count()).select_from(quality_queue)
    if request_id is not None:
        stmt = stmt.join(items, items.c.id == quality_queue.c.item_id).where(items.c.request_id == request_id)
    return int(conn.execute(stmt).scalar_one())
