"""Push against a real coordinator on 127.0.0.1: batches, per-item outcomes, replays, restarts."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.store.workspace import Workspace
from app.sync.backoff import Backoff
from app.sync.client import CoordinatorClient
from app.sync.errors import OfflineError, SyncError
from app.sync.push import Pusher
from coordinator.tables import submissions
from tests.sync.conftest import Coordinator, label_and_submit, lease_locally, queue_work
from tests.sync.stub import Canned, stub_coordinator


def _pusher(ws: Workspace, client: CoordinatorClient, batch: int = 100, batched: bool = True) -> Pusher:
    return Pusher(ws.sync, client, batch_size=batch, backoff=Backoff(0.01, 0.05, random.Random(1)),
                  batched=batched)


def _stored(coordinator: Coordinator) -> int:
    with coordinator.db.read() as conn:
        return conn.execute(select(func.count()).select_from(submissions)).scalar_one()


def test_a_batch_drains_and_each_task_is_marked_sent(coordinator: Coordinator, workspace: Workspace,
                                                     client: CoordinatorClient) -> None:
    tasks = queue_work(coordinator, workspace, client, 12)
    assert workspace.sync.stats().waiting == 12
    report = _pusher(workspace, client, batch=5).drain()
    assert (report.sent, report.error) == (12, None)
    assert workspace.sync.stats().waiting == 0
    assert {workspace.tasks.get(t.id).sync_state for t in tasks} == {"sent"}
    assert _stored(coordinator) == 12


def test_a_replay_after_a_lost_answer_is_not_duplicated(coordinator: Coordinator, workspace: Workspace,
                                                        client: CoordinatorClient) -> None:
    queue_work(coordinator, workspace, client, 3)
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
    queue_work(coordinator, workspace, client, 4)
    report = _pusher(workspace, client, batched=False).drain()
    assert report.sent == 4 and _stored(coordinator) == 4


def test_a_stale_epoch_is_conflicted_kept_and_visible(coordinator: Coordinator, workspace: Workspace,
                                                      client: CoordinatorClient) -> None:
    coordinator.seed(2)
    stale, fine = lease_locally(workspace, client, 2)
    workspace.tasks.set_lease(stale.id, lease_id=stale.lease_id, epoch=stale.lease_epoch + 5,
                              expires_at=stale.lease_expires_at)
    label_and_submit(workspace, workspace.tasks.get(stale.id))
    label_and_submit(workspace, fine)
    report = _pusher(workspace, client).drain()
    assert (report.sent, report.conflicted) == (1, 1)
    task = workspace.tasks.get(stale.id)
    assert task.sync_state == "conflicted" and "epoch" in (task.sync_detail or "")
    [row] = workspace.sync.submissions(outcome="conflicted")
    assert row.response == {"error": "stale_epoch", "detail": row.response["detail"]}
    assert len(workspace.annotations.for_asset(stale.asset_id)) == 1
    assert _stored(coordinator) == 1


def test_a_payload_the_server_refuses_is_rejected_with_its_reason(coordinator: Coordinator, workspace: Workspace,
                                                                  client: CoordinatorClient) -> None:
    coordinator.seed(3)
    bad, *good = lease_locally(workspace, client, 3)
    label_and_submit(workspace, bad, label="tree")  # not in the request's label schema
    for task in good:
        label_and_submit(workspace, task)
    report = _pusher(workspace, client).drain()
    assert (report.sent, report.rejected) == (2, 1)
    task = workspace.tasks.get(bad.id)
    assert task.sync_state == "rejected" and "tree" in (task.sync_detail or "")


def test_a_restart_resumes_where_the_last_process_stopped(coordinator: Coordinator, tmp_path: Path,
                                                          client: CoordinatorClient) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        queue_work(coordinator, ws, client, 9)
        first = _pusher(ws, client, batch=4)
        assert first.push_once().sent == 4  # then the process "dies"
    with Workspace.open(tmp_path / "ws") as ws:  # a new process: nothing but the database
        fresh = CoordinatorClient(coordinator.url, client.signer)
        report = _pusher(ws, fresh, batch=4).drain()
        assert report.sent == 5 and ws.sync.stats().waiting == 0
    assert _stored(coordinator) == 9


def test_offline_the_queue_waits_with_a_retry_time(workspace: Workspace, coordinator: Coordinator,
                                                   client: CoordinatorClient) -> None:
    queue_work(coordinator, workspace, client, 2)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    away = CoordinatorClient(f"http://127.0.0.1:{port}", client.signer, timeout_s=2)
    report = _pusher(workspace, away).drain()
    assert isinstance(report.error, OfflineError) and report.retrying == 2
    rows = workspace.sync.submissions()
    assert all(r.outcome is None and r.attempts == 1 and r.next_attempt_at for r in rows)
    assert workspace.sync.stats().next_retry is not None
    assert workspace.sync.due(10, now=max(r.next_attempt_at for r in rows)) == rows  # due again later


@pytest.mark.parametrize("canned", [Canned(status=503, body=b'{"error": "busy", "detail": "later"}'),
                                    Canned(body=b'{"results": ['), Canned(content_type="text/html")])
def test_a_broken_server_reply_changes_nothing_but_the_retry_time(canned: Canned, workspace: Workspace,
                                                                  coordinator: Coordinator,
                                                                  client: CoordinatorClient) -> None:
    queue_work(coordinator, workspace, client, 3)
    with stub_coordinator(canned) as url:
        report = _pusher(workspace, CoordinatorClient(url, client.signer)).drain()
    assert isinstance(report.error, SyncError) and report.retrying == 3
    assert {workspace.tasks.get(int(r.entity_id)).sync_state for r in workspace.sync.submissions()} == {"queued"}
    # the real coordinator then takes them all, once
    for row in workspace.sync.submissions():
        assert row.outcome is None
    with workspace.db.write_connection() as conn:
        conn.exec_driver_sql("UPDATE outbox SET next_attempt_at = NULL")
    assert _pusher(workspace, client).drain().sent == 3


def test_one_asset_s_submissions_go_in_order(coordinator: Coordinator, workspace: Workspace,
                                             client: CoordinatorClient) -> None:
    coordinator.seed(2)
    one, two = lease_locally(workspace, client, 2)
    label_and_submit(workspace, one)
    workspace.tasks.transition(one.id, "in_progress")  # reopened and submitted again: a second row
    label_and_submit(workspace, one, label="person")
    label_and_submit(workspace, two)
    first, second, other = workspace.sync.submissions()
    assert workspace.sync.due(10) == [first, other]  # `second` waits behind `first`
    assert workspace.sync.due(10, busy=[first]) == [other]  # held while `first` is in flight
    workspace.sync.retry_later([first.id], "offline", retry_at=first.created_at.replace(year=2100))
    assert workspace.sync.due(10) == [other]  # nor does it overtake `first` in backoff
    report = _pusher(workspace, client).drain()
    assert (report.sent, workspace.sync.stats().waiting) == (1, 2)


def test_batches_in_flight_never_let_an_asset_s_later_work_overtake(coordinator: Coordinator,
                                                                   workspace: Workspace,
                                                                   client: CoordinatorClient) -> None:
    coordinator.seed(4)
    first_task, *others = lease_locally(workspace, client, 4)
    label_and_submit(workspace, first_task)
    workspace.tasks.transition(first_task.id, "in_progress")
    label_and_submit(workspace, first_task, label="person")  # the same lease again: must arrive second
    for task in others:
        label_and_submit(workspace, task)
    report = _pusher(workspace, client, batch=1).drain(depth=3)
    assert (report.sent, report.conflicted) == (4, 1)
    first, second = [r for r in workspace.sync.submissions() if r.entity_id == str(first_task.id)]
    assert (first.outcome, second.outcome) == ("sent", "conflicted")
    assert second.response["error"] == "already_submitted"
