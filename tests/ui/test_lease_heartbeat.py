"""The heartbeat timer beats for the open task only, and hands the beat off (a callable)."""

from __future__ import annotations

from app.ui.lease_heartbeat import LeaseHeartbeat


def test_it_beats_for_the_open_task_and_not_without_one(qtbot) -> None:
    open_task: list[int | None] = [None]
    beats: list[int] = []
    heartbeat = LeaseHeartbeat(0.01, lambda: open_task[0], beats.append)
    qtbot.wait(50)
    assert beats == []
    open_task[0] = 7
    qtbot.waitUntil(lambda: len(beats) >= 2, timeout=2000)
    assert set(beats) == {7}
    heartbeat.timer.stop()
