"""kill -9 in the middle of a stream of annotation saves loses no acknowledged save.

A child process saves annotations as fast as it can and prints an acknowledgement after each
commit; the test kills it with SIGKILL at a random point, several times over the same
workspace, and then checks the database: it passes `PRAGMA integrity_check`, holds every
acknowledged version, and every annotation version has its outbox row (same transaction).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from app.store.workspace import Workspace

CHILD = Path(__file__).with_name("save_stream_child.py")
ROUNDS = 8


def _run_and_kill(root: Path, seed: int, acks_before_kill: int) -> set[tuple[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(root), str(seed)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    acked: set[tuple[str, int]] = set()
    assert proc.stdout is not None
    for line in proc.stdout:
        _, ann_id, version = line.split()
        acked.add((ann_id, int(version)))
        if len(acked) >= acks_before_kill:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert acked, f"child acknowledged nothing: {proc.stderr.read() if proc.stderr else ''}"
    assert proc.returncode == -signal.SIGKILL
    return acked


def test_sigkill_mid_stream_loses_no_acknowledged_save(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    root = tmp_path / "ws"
    acked: set[tuple[str, int]] = set()
    for round_no in range(ROUNDS):
        acked |= _run_and_kill(root, seed=round_no, acks_before_kill=rng.randint(5, 120))
        with Workspace.open(root) as ws:
            assert ws.db.integrity_check() == ["ok"]
            with ws.db.engine.connect() as conn:
                stored = set(conn.exec_driver_sql("SELECT annotation_id, version FROM annotations").all())
                outbox = set(conn.exec_driver_sql("SELECT entity_id, entity_version FROM outbox").all())
                heads = conn.exec_driver_sql(
                    "SELECT annotation_id, COUNT(*) FROM annotations WHERE is_head GROUP BY annotation_id "
                    "HAVING COUNT(*) != 1").all()
            missing = acked - stored
            assert not missing, f"round {round_no}: {len(missing)} acknowledged saves lost"
            assert stored == outbox, "an annotation version without its outbox row, or the reverse"
            assert heads == [], "an annotation with other than exactly one head version"
