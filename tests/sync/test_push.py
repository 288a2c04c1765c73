"""Push against a real coordinator on 127.0.0.1: batches, per-item outcomes, replays, restarts."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from app.store.workspace import Workspace
from app.sync.backoff import Backoff
from app.sync.client import CoordinatorClient
from app.sync.push import Pusher
from coordinator.tables import submissions
from tests.sync.conftest import Coordinator, label_and_submit, lease_locally


def _pusher(ws: Workspace, client: CoordinatorClient, batch: int = 100, batched: bool = True) -> Pusher:
    return Pusher(ws.sync, client, batch_size=batch, backoff=Backoff(0.01, 0.05, random.Random(1)),
                  batched=batched)


def _stored(coordinator: Coordinator) -> int:
    with coordinator.db.read() as conn:
        return conn.execute(select(func.count()).select_from(submissions)).scalar_one()


def test_a_batch_drains_and_each_task_is_marked_sent(coordinator: Coordinator, workspace: Workspace,
                                                     client: CoordinatorClient) -> None:
    coordinator.seed(12)
    tasks = lease_locally(workspace, client, 12)
    for task in tasks:
        label_and_submit(workspace, task)
    assert workspace.sync.stats().waiting == 12
    report = _pusher(workspace, client, batch=5).drain()
    assert (report.sent, report.error) == (12, None)
    assert workspace.sync.stats().waiting == 0
    assert {workspace.tasks.get(t.id).sync_state for t in tasks} == {"sent"}
    assert _stored(coordinator) == 12


def test_a_replay_after_a_lost_answer_is_not_duplicated(coordinator: Coordinator, workspace: Workspace,
                                                        client: CoordinatorClient) -> None:
    coordinator.seed(3)
    for task in lease_locally(workspace, client, 3):
        label_and_submit(workspace, task)
    rows = workspace.sync.due(10)
    _pusher(workspace, client).drain()
    # as if the answers had been lost: the rows wait again, same keys, same bytes
    with workspace.db.write_connection() as conn:
        conn.exec_driver_sql("UPDATE outbox SET outcome = NULL, sent_at = NULL WHERE entity = 'submission'")
    report = _pusher(workspace, client).drain()
    assert report.sent == 3
    assert _stored(coordinator) == 3
    assert [r.idempotency_key for r in workspace.sync.submissions()] == [r.idempotency_key for r in rows]


def test_an_expired_lease_keeps_the_work_and_marks_it_late(coordinator: Coordinator, workspace: Workspace,
                                                           client: CoordinatorClient) -> None:
    coordinator.seed(2)
    early, late = lease_locally(workspace, client, 2, duration_s=60)
    label_and_submit(workspace, early)
    label_and_submit(workspace, late)
    coordinator.clock.advance(seconds=120)
    report = _pusher(workspace, client).drain()
    assert (report.sent, report.late) == (0, 2)
    task = workspace.tasks.get(late.id)
    assert (task.state, task.sync_state) == ("submitted", "late")
    assert "lease" in (task.sync_detail or "")
    assert len(workspace.annotations.for_asset(late.asset_id)) == 1  # the work is still here
    assert workspace.sync.stats().attention == 2
    assert _pusher(workspace, client).drain().handled == 0  # never re-sent


def test_one_request_per_submission_gives_the_same_outcomes(coordinator: Coordinator, workspace: Workspace,
                                                             client: CoordinatorClient) -> None:
    coordinator.seed(4)
    for task in lease_locally(workspace, client, 4):
        label_and_submit(workspace, task)
    report = _pusher(workspace, client, batched=False).drain()
    assert report.sent == 4 and _stored(coordinator) == 4
