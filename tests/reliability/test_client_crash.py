"""Client crash: a syncing client (the real engine in a child process, against a real coordinator
on 127.0.0.1) is SIGKILLed at random instants, 200 times, while it drains a queue of thousands;
each kill is followed by a restart from nothing but the workspace file. After the final drain the
server and the client agree on every submission: 0 lost, 0 duplicated, and the workspace passes
`PRAGMA integrity_check` after every kill. Bound: 300 s (80-110 s measured on a busy 2-core machine).
"""

from __future__ import annotations

import os
import random
import selectors
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from app.store.workspace import DB_NAME, Workspace
from app.sync.client import CoordinatorClient
from app.sync.signer import KeySigner
from tests.reliability.sync_site import agreement, integrity, queue_submissions
from tests.sync.conftest import CONTRIBUTOR, running_coordinator

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("KILLS", 200))
TOP_UP, LOW_WATER = 200, 100  # the queue is topped up between runs, so every run has work to send
BATCH = 5  # small rounds: many commits on both sides for the kills to fall between (or inside)


class Zygote:
    """The pre-loaded parent of the clients (`sync_zygote`), driven line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.reliability.sync_zygote", *args], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._buffer = b""
        assert self.answer(120) == "ready"

    def answer(self, timeout_s: float) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                assert left > 0 and sel.select(left), f"the zygote said nothing within {timeout_s} s"
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                assert chunk, f"the zygote died (exit {self.proc.wait(5)})"
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def run(self, seconds: float, since: str = "fork", timeout_s: float = 60) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {seconds} {since}\n".encode())
        self.proc.stdin.flush()
        return self.answer(timeout_s)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_200_sigkills_of_a_syncing_client_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(7)
    ws_root = tmp_path / "ws"
    (tmp_path / "coordinator").mkdir()
    with running_coordinator(tmp_path / "coordinator") as coordinator:
        client = CoordinatorClient(coordinator.url, KeySigner(CONTRIBUTOR.key), timeout_s=30)
        queued: list[str] = []
        zygote = Zygote(str(ws_root), coordinator.url, CONTRIBUTOR.key, str(BATCH))
        try:
            outcomes: Counter[str] = Counter()
            sent_after: list[int] = []
            while outcomes["killed"] < KILLS:
                if len(queued) - (sent_after or [0])[-1] < LOW_WATER:  # keep the client busy sending
                    coordinator.seed(TOP_UP)
                    with Workspace.open(ws_root) as ws:
                        queued += queue_submissions(ws, client, TOP_UP)
                # a quarter of the kills fall anywhere from the start (opening, signing in), the
                # rest while the client sends (reading, signing, on the wire, recording answers)
                since = "fork" if rng.random() < 0.25 else "ready"
                outcomes[zygote.run(rng.uniform(0.0, 0.4), since)] += 1
                assert integrity(ws_root / DB_NAME) == ["ok"]
                sent_after.append(_sent(ws_root))
            final = zygote.run(-1, timeout_s=180)
        finally:
            zygote.close()
        result = agreement(ws_root, Path(coordinator.config.db_url.removeprefix("sqlite:///")))
    assert final == "exited 0"
    assert sent_after == sorted(sent_after) and sent_after[-1] > KILLS  # the clients made progress between kills
    result.assert_exact(queued)
    progressed = sum(b > a for a, b in zip([0, *sent_after], sent_after))
    print(f"\n{KILLS} kills in {sum(outcomes.values())} runs ({dict(outcomes)}), {len(queued)} submissions, "
          f"{sent_after[-1]} sent before the final drain, {progressed} runs sent something, "
          f"{time.monotonic() - started:.0f} s")


def _sent(ws_root: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{ws_root / DB_NAME}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM outbox WHERE entity = 'submission' AND outcome = 'sent'").fetchone()[0]
    finally:
        conn.close()
