"""The quality worker: judges the items that ingest queued, outside the ingest transaction.

Ingest only stores answers (and queues an item once it is ready, in the same transaction);
consensus, gold scoring, reputation and payment run here, a batch of items per transaction.
The worker is a background thread of the server process, started and stopped with the app,
woken when ingest queues items (`Ctx.quality_wakeup`) and polling besides, for rows queued by
other server processes or left by a crash. `drain()` judges everything due, synchronously:
tests call it to be deterministic.

A batch that fails is rolled back and its items are judged one per transaction, so one bad
item does not hold up the others; the bad one keeps its queue row, with the error and the
attempt counted (`queue.failed`), is logged, and is tried again after a back-off.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Connection

from coordinator.context import Ctx
from coordinator.quality import lifecycle, queue

log = logging.getLogger(__name__)


class QualityWorker:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self._drain_lock = threading.Lock()  # one drain at a time in this process
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the synchronous part --------------------------------------------------------------
    def drain(self) -> int:
        """Judges every item that is due now; how many were judged (failures not counted)."""
        judged = 0
        with self._drain_lock:
            with self.ctx.db.read() as conn:
                if not queue.any_due(conn, self.ctx.now()):
                    return 0
            while not self._stop.is_set():
                claimed, done = self._batch()
                if not claimed:
                    return judged
                judged += done
        return judged

    def _batch(self) -> tuple[int, int]:
        """(items claimed, items judged) for one batch."""
        ids: list[str] = []

        def work(conn: Connection) -> int:
            claimed = queue.claim(conn, self.ctx.config.quality_batch, self.ctx.now())
            ids[:] = [item.id for item in claimed]
            self._judge(conn, claimed)
            return len(claimed)

        try:
            done = self.ctx.db.retried(work)
            return done, done
        except Exception:
            if not ids:
                raise  # not even the claim worked: the database is away
            log.warning("quality step failed for a batch of %d items; judging them one by one", len(ids))
            return len(ids), sum(self._one(item_id) for item_id in ids)

    def _one(self, item_id: str) -> int:
        """Judges one item in its own transaction; 1 if it was judged, 0 if it failed (recorded)."""
        def work(conn: Connection) -> int:
            claimed = queue.claim(conn, 1, self.ctx.now(), only=item_id)
            self._judge(conn, claimed)
            return len(claimed)

        try:
            return self.ctx.db.retried(work)
        except Exception as exc:  # noqa: BLE001 - recorded on the item and logged, the others go on
            with self.ctx.db.write() as conn:
                attempts = queue.failed(conn, item_id, f"{type(exc).__name__}: {exc}", self.ctx.now())
            log.exception("quality step failed for item %s (attempt %d); it is retried later", item_id, attempts)
            return 0

    def _judge(self, conn: Connection, claimed: list[Any]) -> None:
        if claimed:
            lifecycle.judge(conn, self.ctx, claimed)
            queue.finish(conn, [item.id for item in claimed])

    # -- the background thread -------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="quality-worker", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Stops the thread after the batch in hand (its transaction commits or rolls back)."""
        self._stop.set()
        self.ctx.quality_wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        wakeup = self.ctx.quality_wakeup
        while not self._stop.is_set():
            wakeup.clear()  # before draining: rows queued during the drain wake the next round
            try:
                self.drain()
            except Exception:  # noqa: BLE001 - the thread must outlive a database outage
                log.exception("quality worker: draining failed; trying again in %s s", self.ctx.config.quality_poll_s)
            wakeup.wait(self.ctx.config.quality_poll_s)
