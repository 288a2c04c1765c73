"""SIGKILL a GUI process at random points while it edits through the canvas (50 cycles).

After each kill the workspace reopens, passes `PRAGMA integrity_check`, and holds every
acknowledged edit: each acknowledged (annotation, shape) is one of that annotation's stored
versions.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from app.store.workspace import Workspace

CHILD = Path(__file__).with_name("gui_edit_child.py")
CYCLES = 50


def _cycle(root: Path, seed: int, acks_before_kill: int) -> list[tuple[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(root), str(seed)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    acked: list[tuple[str, str]] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            _, ann_id, shape = line.rstrip("\n").split(" ", 2)
            acked.append((ann_id, shape))
            if len(acked) >= acks_before_kill:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert acked, f"the GUI child acknowledged nothing: {proc.stderr.read()[-2000:] if proc.stderr else ''}"
    return acked


def test_sigkill_of_an_editing_gui_loses_no_acknowledged_edit(tmp_path: Path) -> None:
    rng = random.Random(77)
    root = tmp_path / "ws"
    acked: list[tuple[str, str]] = []
    for cycle in range(CYCLES):
        acked += _cycle(root, seed=cycle, acks_before_kill=rng.randint(1, 12))
        with Workspace.open(root) as ws:
            assert ws.db.integrity_check() == ["ok"], f"cycle {cycle}"
            with ws.db.engine.connect() as conn:
                rows = conn.exec_driver_sql("SELECT annotation_id, payload FROM annotations").all()
            stored = {(ann_id, json.dumps(json.loads(payload)["shape"], sort_keys=True)) for ann_id, payload in rows}
            lost = [a for a in acked if a not in stored]
            assert not lost, f"cycle {cycle}: {len(lost)} acknowledged edits lost, e.g. {lost[0]}"
    assert len({a for a, _ in acked}) > 20  # the test really edited
