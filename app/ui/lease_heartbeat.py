"""Heartbeats for the open leased task: a timer on the GUI thread that hands each beat to a
worker (the beat itself is network and disk work)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class LeaseHeartbeat(QObject):
    def __init__(self, period_s: float, open_task: Callable[[], int | None], beat: Callable[[int], object],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.open_task, self.beat = open_task, beat
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, round(period_s * 1000)))
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        task_id = self.open_task()
        if task_id is not None:
            self.beat(task_id)
