"""Disk full while the client writes its store: a file-size limit (`RLIMIT_FSIZE` in a child,
SIGXFSZ ignored) stops first the labelling (saving, queuing), then the syncing (recording the
server's answers, after the server stored them). Each time: the error is in plain words, the workspace passes
`integrity_check` and holds whole transactions only (a queued submission always has its
task submitted and its annotation), and once space returns everything is sent: 0 lost,
0 duplicated. Bound: 120 s (6-15 s measured: two children, a real coordinator on 127.0.0.1).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.store.workspace import DB_NAME, Workspace
from app.sync.client import CoordinatorClient
from app.sync.engine import SyncConfig, Syncer
from app.sync.signer import KeySigner
from app.sync.status import Phase
from tests.reliability.disk_child import label
from tests.reliability.sync_site import agreement, integrity, lease_tasks, server_rows
from tests.sync.conftest import CONTRIBUTOR, running_coordinator

ROOT = Path(__file__).resolve().parents[2]
TASKS, MARGIN = 60, 256 << 10  # some commits fit in 256 KiB of write-ahead log: the limit is hit mid-way
FULL = "The disk holding the workspace is full: free some space; your work is kept and will be sent later."


def _child(ws_root: Path, url: str, mode: str) -> dict[str, Any]:
    with Workspace.open(ws_root) as ws, ws.db.engine.connect() as conn:  # an empty write-ahead log to fill
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    done = subprocess.run([sys.executable, "-m", "tests.reliability.disk_child", str(ws_root), url, CONTRIBUTOR.key,
                           mode, str(MARGIN)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _whole_transactions(ws: Workspace) -> list[str]:
    """Every queued submission has its task submitted and its annotation; the keys."""
    rows = ws.sync.submissions()
    for row in rows:
        task = ws.tasks.get(int(row.entity_id))
        assert task.state == "submitted" and ws.annotations.for_asset(task.asset_id)
    for task in ws.sync.leased_tasks():  # not submitted: no row
        assert str(task.id) not in {row.entity_id for row in rows}
    return [row.idempotency_key for row in rows]


@pytest.mark.timeout(120)
def test_a_full_disk_is_reported_harms_nothing_and_sending_resumes(tmp_path: Path) -> None:
    ws_root = tmp_path / "ws"
    (tmp_path / "coordinator").mkdir()
    with running_coordinator(tmp_path / "coordinator") as coordinator:
        coordinator.seed(TASKS)
        server_db = Path(coordinator.config.db_url.removeprefix("sqlite:///"))
        with Workspace.open(ws_root) as ws:
            lease_tasks(ws, CoordinatorClient(coordinator.url, KeySigner(CONTRIBUTOR.key)), TASKS)

        labelled = _child(ws_root, coordinator.url, "label")  # saving and queuing hit the limit
        assert labelled["stage"] == "label" and 0 < labelled["done"] < TASKS, labelled
        assert labelled["message"] == FULL
        assert integrity(ws_root / DB_NAME) == ["ok"]
        with Workspace.open(ws_root) as ws:
            assert len(_whole_transactions(ws)) == labelled["done"]
            assert label(ws)["stage"] is None  # space is back: the rest is labelled and queued

        synced = _child(ws_root, coordinator.url, "sync")  # recording the answers hits it
        assert synced["stage"] == "sync" and synced["message"] == FULL, synced
        assert integrity(ws_root / DB_NAME) == ["ok"]
        with Workspace.open(ws_root) as ws:  # the server stored work whose answers could not be recorded
            recorded = len(ws.sync.submissions(outcome="sent"))
        assert len(server_rows(server_db)[0]) > recorded

        with Workspace.open(ws_root) as ws:  # space is back: everything goes
            queued = _whole_transactions(ws)
            assert 0 < ws.sync.stats().waiting, "the limit was hit after everything was sent"
            config = SyncConfig(url=coordinator.url, offline_tasks=0, backoff_base_s=0.01, backoff_cap_s=0.05)
            status = Syncer(ws, KeySigner(CONTRIBUTOR.key), config, pull=False, rng=random.Random(1)).run_once()
            assert (status.phase, status.queued, status.last_error) == (Phase.online, 0, None)
        result = agreement(ws_root, server_db)
    result.assert_exact(queued)
    print(f"\nlabelling stopped after {labelled['done']} tasks, syncing after {synced['done']} cycles; "
          f"{len(queued)} submissions sent once")
