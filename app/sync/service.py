"""The window's handle on sync: the status board, always there, and the syncer once a wallet
can sign (the wallet of issue 8 calls `attach`). Without a coordinator or a wallet the app
works as ever; the status then says why nothing is sent, and the queue still counts.
"""

from __future__ import annotations

import logging
import threading

from app.core.errors import AlayaError
from app.store.workspace import Workspace
from app.sync.engine import SyncConfig, Syncer
from app.sync.errors import SyncError, plain_words
from app.sync.leases import Beat
from app.sync.signer import Signer
from app.sync.status import Phase, StatusBoard

log = logging.getLogger(__name__)


class SyncService:
    def __init__(self, ws: Workspace, sync_settings: object) -> None:
        self.ws, self.settings = ws, sync_settings
        self.board = StatusBoard()
        self.syncer: Syncer | None = None
        self._lock = threading.Lock()

    def attach(self, signer: Signer) -> Syncer:
        """Start syncing as `signer` (in the background); SyncError when no coordinator is set."""
        with self._lock:
            if self.syncer is not None:
                self.syncer.stop()
            self.syncer = Syncer(self.ws, signer, SyncConfig.from_settings(self.settings), board=self.board)
            self.syncer.start()
            return self.syncer

    def refresh(self) -> None:
        """Count the queue from the store (disk: call it on a worker, never the GUI thread)."""
        if self.syncer is not None:
            return  # the syncer publishes its own counts after every cycle
        try:
            stats = self.ws.sync.stats()
        except AlayaError as exc:
            self.board.update(phase=Phase.error, last_error=plain_words(exc))
            return
        why = ("no coordinator is set (Settings, sync.coordinator_url)"
               if getattr(self.settings, "coordinator_url", None) is None else "no wallet is unlocked to sign in")
        self.board.update(phase=Phase.offline, queued=stats.waiting, attention=stats.attention,
                          next_retry=None, last_error=why)

    def beat(self, task_id: int) -> Beat | None:
        """Renew the lease of the open task (I/O worker); None when there is nothing to renew
        or the coordinator cannot be reached now (the next beat tries again)."""
        syncer = self.syncer
        if syncer is None:
            return None
        task = self.ws.tasks.get(task_id)
        if task.lease_id is None or task.state not in ("pending", "in_progress") or task.sync_state:
            return None
        try:
            beat = syncer.leases.beat(task_id)
        except SyncError as exc:
            log.info("lease heartbeat of task %s failed: %s", task_id, exc)
            return None
        if beat.mark is not None:
            self.board.update(attention=self.ws.sync.stats().attention,
                              last_error=f"task {task_id}: {beat.detail}; its work is kept")
        return beat

    def sync_now(self) -> None:
        """Wake the syncer at once, or recount when there is none (worker thread)."""
        if self.syncer is not None:
            self.syncer.sync_now()
        else:
            self.refresh()

    def close(self) -> None:
        with self._lock:
            if self.syncer is not None:
                self.syncer.stop()
                self.syncer = None
