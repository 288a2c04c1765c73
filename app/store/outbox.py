"""The outbox: changes waiting for the coordinator, drained in insertion order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from app.store._rows import to_record, utcnow
from app.store.db import Database
from app.store.records import OutboxItem
from app.store.tables import OutboxRow


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, *, limit: int = 100, now: datetime | None = None) -> list[OutboxItem]:
        """Unsent rows whose retry time has come, oldest first."""
        now = now or utcnow()
        with self.db.read() as s:
            stmt = (select(OutboxRow).where(OutboxRow.sent_at.is_(None))
                    .where((OutboxRow.next_attempt_at.is_(None)) | (OutboxRow.next_attempt_at <= now))
                    .order_by(OutboxRow.id).limit(limit))
            return [to_record(r, OutboxItem) for r in s.scalars(stmt)]

    def count_pending(self) -> int:
        with self.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(OutboxRow)
                                .where(OutboxRow.sent_at.is_(None))) or 0)

    def mark_sent(self, ids: list[int]) -> None:
        with self.db.write() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(sent_at=utcnow()))

    def record_failure(self, item_id: int, error: str, *, retry_at: datetime) -> None:
        with self.db.write() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == item_id).values(
                attempts=OutboxRow.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at))

    def all(self) -> list[OutboxItem]:
        with self.db.read() as s:
            return [to_record(r, OutboxItem) for r in s.scalars(select(OutboxRow).order_by(OutboxRow.id))]
