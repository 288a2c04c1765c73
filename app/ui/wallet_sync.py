"""The window's side of "the wallet signs for sync" (`app.wallet.sync_link`): the link is built
on a worker (opening the wallet detects the OS keychain; unlocking through it runs scrypt), and
a timer reads the wallet's lock state (memory only) so that an auto-lock after idle time stops
the syncer even while nothing touches the wallet."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from app.ui.workers import Bridge
from app.wallet.sync_link import WalletSyncLink

if TYPE_CHECKING:
    from app.context import AppContext

LOCK_POLL_MS = 5000


class WalletSyncWatch(QObject):
    def __init__(self, ctx: AppContext, bridge: Bridge, on_error: Callable[[BaseException], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link: WalletSyncLink | None = None
        self.timer = QTimer(self, interval=LOCK_POLL_MS, timeout=self.poll)

        def start() -> WalletSyncLink:
            link = WalletSyncLink(ctx.wallet, ctx.sync, ctx.runner.submit_io)
            link.start()
            return link

        bridge.run(ctx.runner.submit_io(start), self._started, on_error)

    def _started(self, link: WalletSyncLink) -> None:
        self.link = link
        self.timer.start()

    def poll(self) -> None:
        """Reading the state applies a due auto-lock; the wallet's event then stops the syncer."""
        if self.link is not None:
            self.link.wallet.locked  # noqa: B018 - read for its effect

    def close(self) -> None:
        self.timer.stop()
        if self.link is not None:
            self.link.close()
