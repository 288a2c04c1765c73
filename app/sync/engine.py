"""The syncer: push, then pull, in a background loop (or once), with the status always current.

One cycle drains the submission queue and then tops up the leased work. A cycle that fails
(offline, server trouble) waits a full-jitter backoff (at most `backoff_cap_s`) before the
next; "Sync now" wakes the loop at once. Every piece of progress is in the workspace
database, so the process can be killed at any instant and a new one carries on.

In a child process (reliability tests): `alaya -w WS sync --once --url URL --keystore K
--passphrase-fd N`, with ALAYA_SYNC__BACKOFF_BASE_S / ALAYA_SYNC__BACKOFF_CAP_S /
ALAYA_SYNC__OFFLINE_TASKS for deterministic timing; or `sync_workspace(root, signer, config)`.
"""

from __future__ import annotations

import logging
import random
import threading
from pathlib import Path
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from app.core.errors import AlayaError
from app.store.workspace import Workspace
from app.sync.backoff import Backoff
from app.sync.client import CoordinatorClient
from app.sync.errors import OfflineError, ServerError, SyncError, plain_words
from app.sync.leases import LeaseKeeper
from app.sync.pull import Download, Puller
from app.sync.push import PushReport, Pusher
from app.sync.signer import Signer
from app.sync.status import Phase, StatusBoard, SyncStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncConfig:
    url: str
    offline_tasks: int = 20
    lease_s: int = 8 * 3600
    batch_size: int = 100
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    heartbeat_s: int = 300
    poll_s: int = 60
    timeout_s: float = 30.0
    proxy: str | None = None

    @classmethod
    def from_settings(cls, sync: Any, *, url: str | None = None) -> SyncConfig:
        """From the settings' `sync` section; `url` overrides the coordinator's address."""
        chosen = url or (str(sync.coordinator_url) if sync.coordinator_url else None)
        if not chosen:
            raise SyncError("no coordinator is set: set sync.coordinator_url in the settings (or pass --url)")
        return cls(url=chosen, offline_tasks=sync.offline_tasks, lease_s=round(sync.lease_hours * 3600),
                   batch_size=sync.batch_size, backoff_base_s=sync.backoff_base_s,
                   backoff_cap_s=max(sync.backoff_cap_s, sync.backoff_base_s), heartbeat_s=sync.heartbeat_s,
                   poll_s=sync.poll_s, timeout_s=sync.timeout_s, proxy=str(sync.proxy) if sync.proxy else None)


class Syncer:
    def __init__(self, ws: Workspace, signer: Signer, config: SyncConfig, *, board: StatusBoard | None = None,
                 download: Download | None = None, pull: bool = True, batched: bool = True,
                 rng: random.Random | None = None) -> None:
        self.ws, self.config, self.pull_enabled = ws, config, pull
        self.board = board or StatusBoard()
        self.backoff = Backoff(config.backoff_base_s, config.backoff_cap_s, rng or random.Random())
        self.client = CoordinatorClient(config.url, signer, timeout_s=config.timeout_s, proxy=config.proxy)
        self.pusher = Pusher(ws.sync, self.client, batch_size=config.batch_size, backoff=self.backoff,
                             batched=batched)
        self.puller = Puller(ws, self.client, offline_tasks=config.offline_tasks, lease_s=config.lease_s,
                             download=download)
        self.leases = LeaseKeeper(ws, self.client, lease_s=config.lease_s)
        self.failures = 0  # consecutive failed cycles: the loop's backoff attempt
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    # -- one cycle ------------------------------------------------------------------------
    def run_once(self) -> SyncStatus:
        """Push everything due, then pull; the new status (also emitted on the board)."""
        self._publish(Phase.syncing)
        try:
            pushed = self.pusher.drain()
            if pushed.error is not None:
                raise pushed.error
            pulled = self.puller.pull() if self.pull_enabled else None
        except (AlayaError, OSError) as exc:
            self.failures += 1
            phase = Phase.offline if isinstance(exc, (OfflineError, ServerError)) else Phase.error
            if isinstance(exc, SyncError) and exc.transient:
                phase = Phase.offline
            return self._publish(phase, error=plain_words(exc))
        self.failures = 0
        note = "; ".join(pulled.failed[:3]) if pulled and pulled.failed else None
        return self._publish(Phase.online, error=note, success=True, pushed=pushed)

    def _publish(self, phase: Phase, *, error: str | None = None, success: bool = False,
                 pushed: PushReport | None = None) -> SyncStatus:
        try:
            stats = self.ws.sync.stats()
            counts: dict[str, Any] = {"queued": stats.waiting, "attention": stats.attention,
                                      "next_retry": stats.next_retry}
        except AlayaError as exc:  # the store itself failed: say so, keep the last counts
            counts, phase, error = {}, Phase.error, plain_words(exc)
        fields: dict[str, Any] = {"phase": phase, "clock_warning": self.client.clock_warning(), **counts}
        if phase is not Phase.syncing:
            fields["last_error"] = error
        if success:
            fields["last_success"] = datetime.now(timezone.utc)
        return self.board.update(**fields)

    # -- the background loop --------------------------------------------------------------
    def wait_after(self, status: SyncStatus) -> float:
        """Seconds until the next cycle: a backoff after a failure, else the next retry of
        a waiting submission, else the idle poll."""
        if status.phase in (Phase.offline, Phase.error):
            return self.backoff.delay(self.failures - 1)
        if status.queued and status.next_retry is not None:
            left = (status.next_retry - datetime.now(timezone.utc)).total_seconds()
            return min(max(left, 0.0), self.config.poll_s)
        return float(self.config.poll_s)

    def run(self, stop: threading.Event | None = None) -> None:
        """Cycle until `stop` is set (the CLI's loop, and the window's background thread)."""
        stop = stop or self._stop
        while not stop.is_set():
            status = self.run_once()
            wait = self.wait_after(status)
            if status.phase in (Phase.offline, Phase.error):  # when the loop itself tries again
                self.board.update(next_retry=datetime.now(timezone.utc) + timedelta(seconds=wait))
            self._wake.wait(wait)
            self._wake.clear()

    def sync_now(self) -> None:
        """Wake the loop at once (the status bar's "Sync now")."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run_logged, name="alaya-sync", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run_logged(self) -> None:
        try:
            self.run(self._stop)
        except Exception:  # a bug: logged with its traceback, shown as an error, never silent
            log.exception("the sync loop stopped")
            self.board.update(phase=Phase.error, last_error="sync stopped after an internal error (see the log)")


def sync_workspace(root: Path, signer: Signer, config: SyncConfig, *, once: bool = True,
                   rng: random.Random | None = None) -> SyncStatus:
    """Open the workspace at `root` and sync it: one cycle, or until SIGTERM/KeyboardInterrupt
    (a small entry point for child processes; the status of the last cycle)."""
    with Workspace.open(root) as ws:
        syncer = Syncer(ws, signer, config, rng=rng)
        if once:
            return syncer.run_once()
        try:
            syncer.run()
        except KeyboardInterrupt:
            pass
        return syncer.board.status
