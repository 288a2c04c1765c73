"""Leases while work is open: heartbeats renew them; the server's answer decides the rest.

The UI calls `beat(task_id)` every `sync.heartbeat_s` while a leased task is open (on an I/O
worker, never the GUI thread). A 409 or 404 means the lease is over (expired, the item
closed, a newer epoch, the work already in): the task is marked late or conflicted with the
server's words, and its local work stays exactly as it is; the user sees the mark.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient, check, error_of, parse_reply
from app.sync.wire import API_PREFIX, HeartbeatOut

_MARK = {"lease_expired": "late", "item_closed": "late", "already_submitted": None}


@dataclass(frozen=True)
class Beat:
    task_id: int
    alive: bool  # the lease was renewed
    mark: str | None = None  # late or conflicted when it is over
    detail: str | None = None


class LeaseKeeper:
    def __init__(self, ws: Workspace, client: CoordinatorClient, *, lease_s: int) -> None:
        self.ws, self.client, self.lease_s = ws, client, lease_s

    def beat(self, task_id: int) -> Beat:
        """Renew the lease of one task; OfflineError and ServerError pass through (the lease
        may well be alive: try again at the next beat)."""
        task = self.ws.tasks.get(task_id)
        if task.lease_id is None or task.lease_epoch is None:
            return Beat(task_id, alive=False, detail="this task holds no coordinator lease")
        response = self.client.call("POST", f"{API_PREFIX}/leases/{task.lease_id}/heartbeat",
                                    json={"epoch": task.lease_epoch, "duration_s": self.lease_s})
        if response.status_code in (404, 409):
            code, detail = error_of(response)
            mark = _MARK.get(code, "conflicted")
            if mark is not None:
                self.ws.sync.mark_task(task_id, mark, f"the coordinator ended this lease: {detail}")
            return Beat(task_id, alive=False, mark=mark, detail=detail)
        renewed = parse_reply(response, HeartbeatOut)
        self.ws.sync.renew_lease(task_id, renewed.expires_at)
        return Beat(task_id, alive=True)

    def release(self, task_id: int) -> None:
        """Give a task's lease back (the user does not want it); its local work stays."""
        task = self.ws.tasks.get(task_id)
        if task.lease_id is not None:
            check(self.client.call("POST", f"{API_PREFIX}/leases/{task.lease_id}/release"))
            self.ws.sync.mark_task(task_id, "late", "given back to the coordinator")
