"""A pre-loaded parent of syncing clients, so that hundreds of SIGKILLs stay cheap.

`python -m tests.reliability.sync_zygote WORKSPACE URL KEY_HEX [BATCH]` imports the engine once
(seconds on a busy machine), says "ready", then obeys one command per line on stdin:
- `run SECONDS [fork|ready]`: fork a client that opens the workspace and runs the real engine
  (`Syncer`, push only) until its queue is empty; SIGKILL it SECONDS after the fork, or after
  the client is ready (workspace open, signed in: the kill falls while it sends), unless it
  exited first; answer `killed` or `exited CODE`. `run -1` waits for the exit (the final drain).
The zygote itself opens no database and starts no thread, so forking it is safe; each client
starts from nothing but the workspace file, exactly like a new process after a crash.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from app.store.workspace import Workspace
from app.sync.engine import SyncConfig, Syncer
from app.sync.signer import KeySigner
from app.sync.status import Phase


def client(workspace: Path, url: str, key: str, batch: int, ready_fd: int | None = None) -> int:
    """The child's whole life: drain the queue with the real engine; 0 once it is empty."""
    config = SyncConfig(url=url, offline_tasks=0, batch_size=batch, backoff_base_s=0.01, backoff_cap_s=0.2,
                        timeout_s=20)
    with Workspace.open(workspace) as ws:
        syncer = Syncer(ws, KeySigner(key), config, pull=False)
        syncer.client.session_token()
        if ready_fd is not None:
            os.write(ready_fd, b"r")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = syncer.run_once()
            if status.phase is Phase.online and status.queued == 0:
                return 0
            time.sleep(syncer.wait_after(status))
    return 3


def run(workspace: Path, url: str, key: str, batch: int, seconds: float, since: str) -> str:
    ready_r, ready_w = os.pipe() if since == "ready" else (None, None)
    pid = os.fork()
    if pid == 0:  # the client: never return into the zygote's loop
        code = 1
        try:
            code = client(workspace, url, key, batch, ready_w)
        finally:
            os._exit(code)
    if ready_r is not None and ready_w is not None:
        os.close(ready_w)
        os.read(ready_r, 1)  # b"" when the client died first: the wait below then sees its exit
        os.close(ready_r)
    deadline = None if seconds < 0 else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return f"exited {os.waitstatus_to_exitcode(status)}"
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "killed"


def main() -> None:
    workspace, url, key = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    print("ready", flush=True)
    for line in sys.stdin:
        verb, *args = line.split()
        if verb != "run":
            print(f"unknown {verb}", flush=True)
            continue
        print(run(workspace, url, key, batch, float(args[0]), args[1] if len(args) > 1 else "fork"), flush=True)


if __name__ == "__main__":
    main()
