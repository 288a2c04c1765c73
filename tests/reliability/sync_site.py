"""What the sync reliability tests share: a workspace whose queue holds many submissions of
tasks leased from a real coordinator, and the count that decides a run: server and client agree
on every submission, 0 lost, 0 duplicated, the workspace file sound."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from app.store.records import Task
from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient
from app.sync.submission import new_submission_key, payload_for
from app.sync.wire import Labels
from tests.sync.conftest import lease_locally

LABELS = Labels.model_validate({"annotations": [{"id": "a0", "label": "car", "shape": {"kind": "tag"}}]})


def lease_tasks(ws: Workspace, client: CoordinatorClient, n: int, *, lease_s: int = 7 * 24 * 3600) -> list[Task]:
    """Lease n tasks (the coordinator must hold n open items), registered in the workspace."""
    tasks: list[Task] = []
    while len(tasks) < n:
        tasks += lease_locally(ws, client, min(100, n - len(tasks)), duration_s=lease_s)
    return tasks


def queue(ws: Workspace, tasks: list[Task]) -> list[str]:
    """One submission for each task, queued in one local transaction; their idempotency keys."""
    entries = [(task.id, payload_for(task, LABELS), new_submission_key()) for task in tasks]
    ws.sync.submit_many(entries, author="me")
    return [key for _, _, key in entries]


def queue_submissions(ws: Workspace, client: CoordinatorClient, n: int) -> list[str]:
    """Lease n tasks and queue a submission for each; their keys, in queue order."""
    return queue(ws, lease_tasks(ws, client, n))


@dataclass(frozen=True)
class Agreement:
    local: Counter[str]  # idempotency key -> rows in the workspace's queue
    sent: set[str]  # keys the client recorded as acknowledged
    waiting: int  # rows without a final answer
    server: Counter[str]  # submission id -> rows on the coordinator
    per_item: Counter[str]  # item id -> submissions on the coordinator
    integrity: list[str]

    def assert_exact(self, queued: list[str]) -> None:
        """Every queued submission is on the server once, and the client knows it was sent."""
        assert self.integrity == ["ok"], self.integrity
        assert self.local == Counter(queued), "the client's queue gained or lost rows"
        assert self.waiting == 0 and self.sent == set(queued), f"{len(set(queued) - self.sent)} not acknowledged"
        lost = set(queued) - set(self.server)
        assert not lost, f"{len(lost)} lost, e.g. {sorted(lost)[:3]}"
        extra = set(self.server) - set(queued)
        assert not extra, f"{len(extra)} unknown submissions on the server"
        assert max(self.server.values()) == 1 and max(self.per_item.values()) == 1, "duplicated on the server"


def integrity(path: Path) -> list[str]:
    """`PRAGMA integrity_check` of a SQLite file, read without changing it."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def server_rows(db_path: Path) -> tuple[Counter[str], Counter[str]]:
    """(submission id -> rows, item id -> rows) in a coordinator's SQLite file."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT submission_id, item_id FROM submissions").fetchall()
    finally:
        conn.close()
    return Counter(r[0] for r in rows), Counter(r[1] for r in rows)


def agreement(ws_root: Path, coordinator_db: Path) -> Agreement:
    with Workspace.open(ws_root) as ws:
        rows = ws.sync.submissions()
        check = ws.db.integrity_check()
    server, per_item = server_rows(coordinator_db)
    return Agreement(Counter(r.idempotency_key for r in rows), {r.idempotency_key for r in rows if r.outcome == "sent"},
                     sum(r.outcome is None for r in rows), server, per_item, check)
