"""Server crash: the coordinator (`alaya coordinator serve`, a real process on SQLite) is SIGKILLed
at random instants while the syncer sends small batches to it, then started again on the same
port and database; 12 times (at least half of them cut a request on its way: the client saw
the connection reset or closed, not refused). After each kill, every submission the client recorded as
acknowledged is in the server's database, and the database passes `integrity_check`; after the
final drain the two sides agree exactly: 0 lost, 0 duplicated (a batch committed just before
the kill, its answer lost, is replayed from the idempotency record, never stored twice).
Bound: 300 s (each restart imports the service: 2-5 s; 45-90 s measured on a busy 2-core machine).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient
from app.sync.engine import SyncConfig, Syncer
from app.sync.signer import KeySigner
from coordinator.db import CoordinatorDB
from tests.coordinator.contributor import seed_request
from tests.coordinator.live import wait_healthy
from tests.coordinator.postgres import free_port
from tests.reliability.sync_site import agreement, integrity, queue_submissions, server_rows
from tests.sync.conftest import CONTRIBUTOR

ROOT = Path(__file__).resolve().parents[2]
KILLS, SUBMISSIONS = 12, 400  # 400: within the contributor's energy bar (500 tasks)
CUT_WORDS = ("reset", "aborted", "remote end closed")  # a request cut by the kill, not one refused after it


class ServedCoordinator:
    """`alaya coordinator serve` on a fixed port and SQLite file, killed and started again."""

    def __init__(self, folder: Path) -> None:
        self.port, self.db_path = free_port(), folder / "coordinator.sqlite3"
        self.url, self.log = f"http://127.0.0.1:{self.port}", folder / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "coordinator", "serve", "--db", f"sqlite:///{self.db_path}",
                 "--port", str(self.port), "--storage", str(self.db_path.parent / "assets")],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        wait_healthy(self.url, self.proc)

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, "the server died by itself"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def _acknowledged(ws: Workspace) -> set[str]:
    return {row.idempotency_key for row in ws.sync.submissions(outcome="sent")}


def _wait_acknowledged(ws: Workspace, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while len(_acknowledged(ws)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} acknowledged within {timeout_s} s"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkilled_coordinator_keeps_every_acknowledged_submission_once(tmp_path: Path) -> None:
    started, rng = time.monotonic(), random.Random(3)
    server = ServedCoordinator(tmp_path)
    server.start()
    try:
        db = CoordinatorDB(f"sqlite:///{server.db_path}")
        seed_request(db, items_n=SUBMISSIONS, redundancy=1, min_seconds_per_item=0)
        db.close()
        with Workspace.open(tmp_path / "ws") as ws:
            queued = queue_submissions(ws, CoordinatorClient(server.url, KeySigner(CONTRIBUTOR.key)), SUBMISSIONS)
            config = SyncConfig(url=server.url, offline_tasks=0, batch_size=2, backoff_base_s=0.05,
                                backoff_cap_s=0.2, poll_s=1, timeout_s=10)
            syncer = Syncer(ws, KeySigner(CONTRIBUTOR.key), config, pull=False, rng=random.Random(3))
            errors: list[str] = []
            syncer.board.changed.subscribe(lambda status: errors.append(status.last_error or ""))
            stop = threading.Event()
            loop = threading.Thread(target=syncer.run, args=(stop,), name="sync-loop", daemon=True)
            loop.start()
            unacknowledged_commits = cut = 0
            try:
                for _ in range(KILLS):
                    # a few more answers recorded, then a moment: the client is sending all along, so the
                    # kill falls mid-request; counted in answers, the queue outlasts the kills on any machine
                    _wait_acknowledged(ws, len(_acknowledged(ws)) + rng.randint(2, 16))
                    time.sleep(rng.uniform(0.0, 0.15))
                    assert ws.sync.stats().waiting, "the queue drained before the kills were done"
                    seen = len(errors)
                    server.kill()
                    acked, (stored, per_item) = _acknowledged(ws), server_rows(server.db_path)
                    assert acked <= set(stored), f"{len(acked - set(stored))} acknowledged submissions lost"
                    assert max(stored.values(), default=1) == 1 and max(per_item.values(), default=1) == 1
                    assert integrity(server.db_path) == ["ok"]
                    unacknowledged_commits += len(set(stored) - acked)
                    server.start()
                    cut += any(words in error for error in errors[seen:] for words in CUT_WORDS)
                deadline = time.monotonic() + 120
                while ws.sync.stats().waiting and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                stop.set()
                syncer.sync_now()
                loop.join(30)
        result = agreement(tmp_path / "ws", server.db_path)
    finally:
        server.stop()
    result.assert_exact(queued)
    assert cut >= KILLS // 2, f"only {cut} kills fell while a request was on its way: {sorted(set(errors))}"
    print(f"\n{KILLS} server kills, {cut} requests cut by a kill, {SUBMISSIONS} submissions, "
          f"{unacknowledged_commits} committed-but-unacknowledged "
          f"(summed over kills), {time.monotonic() - started:.0f} s")
