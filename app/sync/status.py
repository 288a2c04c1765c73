"""The sync state, always available: a frozen snapshot and an event carrying each new one.

Qt-free: the status bar subscribes to `changed` and hands each snapshot to the GUI thread
through its bridge; `alaya sync` prints them. The engine is the only writer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.core.events import Event


class Phase(StrEnum):
    offline = "offline"  # no coordinator set, or it cannot be reached
    online = "online"  # reached, nothing to do
    syncing = "syncing"  # sending or fetching now
    error = "error"  # needs the user: sign-in refused, disk full, a bad setting


@dataclass(frozen=True)
class SyncStatus:
    phase: Phase = Phase.offline
    queued: int = 0  # submissions waiting to be sent
    attention: int = 0  # leased tasks marked conflicted, late or rejected
    last_success: datetime | None = None
    next_retry: datetime | None = None
    last_error: str | None = None  # plain words
    clock_warning: str | None = None

    def summary(self) -> str:
        """One line for a status bar or a terminal."""
        parts = [self.phase.value, f"{self.queued} queued"]
        if self.attention:
            parts.append(f"{self.attention} need attention")
        if self.last_success is not None:
            parts.append(f"last sent {self.last_success.astimezone():%H:%M:%S}")
        if self.next_retry is not None and self.phase in (Phase.offline, Phase.error):
            parts.append(f"retry at {self.next_retry.astimezone():%H:%M:%S}")
        text = ", ".join(parts)
        if self.last_error:
            text += f": {self.last_error}"
        if self.clock_warning:
            text += f" ({self.clock_warning})"
        return text


class StatusBoard:
    """Holds the latest snapshot; `update` replaces fields and emits the result."""

    def __init__(self, initial: SyncStatus | None = None) -> None:
        self._status = initial or SyncStatus()
        self._lock = threading.Lock()
        self.changed: Event[SyncStatus] = Event("sync_status_changed")

    @property
    def status(self) -> SyncStatus:
        return self._status

    def update(self, **fields: Any) -> SyncStatus:
        with self._lock:
            self._status = replace(self._status, **fields)
            status = self._status
        self.changed.emit(status)
        return status
