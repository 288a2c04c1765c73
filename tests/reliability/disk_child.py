"""The client writing its store under a file-size limit; prints what happened as JSON.

`python -m tests.reliability.disk_child WORKSPACE URL KEY_HEX MODE MARGIN_BYTES`: opens the
workspace, then limits every file it writes to (the write-ahead log's size + MARGIN_BYTES)
with `RLIMIT_FSIZE`, SIGXFSZ ignored, so a write past it fails with EFBIG as a full disk fails
with ENOSPC. Then, until the first failure:
- MODE `label`: label and submit the leased tasks one by one (an annotation saved, then the
  task's move to "submitted" with its queued submission: the window's two transactions);
- MODE `sync`: run the real engine's cycles (send a batch, record the answers).
Prints {"stage", "message", "done"}: the failing step, the words the user would see, and how
many steps had completed.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path

from app.annotators.annotation import Annotation
from app.annotators.shapes import Tag
from app.core.errors import AlayaError
from app.store.workspace import Workspace
from app.sync.engine import SyncConfig, Syncer
from app.sync.errors import plain_words
from app.sync.signer import KeySigner
from app.sync.status import Phase
from app.sync.submission import submit_leased_task


def limit_file_size(root: Path, margin: int) -> None:
    """Commits append to the write-ahead log (emptied by the parent): it may grow by `margin`.
    The database file itself is written only by checkpoints, which need far more log."""
    wal = root / "alaya.sqlite3-wal"
    limit = (wal.stat().st_size if wal.exists() else 0) + margin
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def label(ws: Workspace) -> dict[str, object]:
    done = 0
    for task in ws.sync.leased_tasks():
        try:
            ws.annotations.save(Annotation.new(asset_id=task.asset_id, label="car", shape=Tag(), author="me"),
                                task_id=task.id)
            submit_leased_task(ws, task.id, author="me")
        except AlayaError as exc:
            return {"stage": "label", "message": plain_words(exc), "done": done}
        done += 1
    return {"stage": None, "message": None, "done": done}


def sync(ws: Workspace, url: str, key: str) -> dict[str, object]:
    config = SyncConfig(url=url, offline_tasks=0, batch_size=5, backoff_base_s=0.01, backoff_cap_s=0.05)
    syncer = Syncer(ws, KeySigner(key), config, pull=False)
    for done in range(1000):
        status = syncer.run_once()
        if status.phase is Phase.error:
            return {"stage": "sync", "message": status.last_error, "done": done}
        if status.queued == 0:
            return {"stage": None, "message": None, "done": done}
    return {"stage": None, "message": "still queued after 1000 cycles", "done": 1000}


def main() -> None:
    root, url, key, mode, margin = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    with Workspace.open(root) as ws:
        limit_file_size(root, margin)
        outcome = label(ws) if mode == "label" else sync(ws, url, key)
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
