"""The status bar's sync indicator: state, queue, what needs attention, and "Sync now".

The snapshot comes from `app.sync.status.StatusBoard` on whatever thread published it and is
shown through the bridge on the GUI thread; "Sync now" and the first count run on the I/O
pool. Nothing here touches the disk or the network.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from app.sync.status import Phase, SyncStatus
from app.ui.workers import Bridge

COLOURS = {Phase.online: "#16a34a", Phase.syncing: "#2563eb", Phase.offline: "#6b7280", Phase.error: "#dc2626"}


class SyncStatusWidget(QWidget):
    def __init__(self, bridge: Bridge, sync_now: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="status.sync")
        self.bridge = bridge
        self.label = QLabel(objectName="status.sync.label")
        self.button = QToolButton(objectName="status.sync.now", text="Sync now")
        self.button.setToolTip("Send queued work and fetch new tasks now")
        self.button.clicked.connect(sync_now)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        self.show_status(SyncStatus())

    def post_status(self, status: SyncStatus) -> None:
        """From any thread: shown on the GUI thread."""
        self.bridge.post(lambda: self.show_status(status))

    def show_status(self, status: SyncStatus) -> None:
        text = f"● {status.phase.value} · {status.queued} queued"
        if status.attention:
            text += f" · {status.attention} need attention"
        self.label.setText(text)
        self.label.setStyleSheet(f"color: {COLOURS[status.phase]}")
        self.label.setToolTip(status.summary())
        self.button.setEnabled(status.phase is not Phase.syncing)
