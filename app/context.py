"""AppContext: the settings and the workspace a command or window works on. No globals."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.settings import LoadedSettings, load_settings
from app.core.tasks import TaskRunner
from app.store.workspace import Workspace

if TYPE_CHECKING:
    from app.sync.service import SyncService


@dataclass
class AppContext:
    settings: LoadedSettings
    _workspace: Workspace | None = field(default=None, repr=False)
    _runner: TaskRunner | None = field(default=None, repr=False)
    _sync: SyncService | None = field(default=None, repr=False)

    @classmethod
    def load(cls, *, workspace: Path | None = None, overrides: dict[str, Any] | None = None) -> AppContext:
        return cls(settings=load_settings(workspace=workspace, overrides=overrides, env=os.environ))

    @property
    def workspace(self) -> Workspace:
        """Opened (and migrated) on first use, so `alaya --help` never touches the disk."""
        if self._workspace is None:
            s = self.settings.settings
            self._workspace = Workspace.open(Path(s.workspace.path), busy_timeout_ms=s.store.busy_timeout_ms,
                                             backup_before_migration=s.store.backup_before_migration)
        return self._workspace

    @property
    def runner(self) -> TaskRunner:
        """The executors (database writer, I/O, CPU); created on first use."""
        if self._runner is None:
            self._runner = TaskRunner()
        return self._runner

    @property
    def sync(self) -> SyncService:
        """Sync status and the syncer (started when a wallet attaches); created on first use."""
        if self._sync is None:
            from app.sync.service import SyncService  # requests and eth-account: only when used

            self._sync = SyncService(self.workspace, self.settings.settings.sync)
        return self._sync

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        if self._runner is not None:
            self._runner.shutdown()  # pending writes finish first
            self._runner = None
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None
