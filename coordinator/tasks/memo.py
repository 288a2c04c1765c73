"""What the lease path keeps in memory between calls, per app.

- Each data request's modality and label schema, which every leased task shows: a request's
  spec never changes once it is created (only its status does), so it is read from the
  database once, not on every call.
- When expired leases were last reclaimed: the sweep runs at most once per `RECLAIM_EVERY` of
  the service's clock, not on every call (a lease that just expired waits that long at most
  before its slot comes back).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select

from app.sync.wire import Modality
from coordinator.tables import data_requests

RECLAIM_EVERY = timedelta(seconds=1)
_SPECS = (select(data_requests.c.id, data_requests.c.modality, data_requests.c.spec)
          .where(data_requests.c.id.in_(bindparam("ids", expanding=True))))


class LeaseMemo:
    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._specs: dict[str, tuple[Modality, dict[str, Any]]] = {}
        self._reclaimed_at: datetime | None = None

    def specs(self, conn: Connection, request_ids: Collection[str]) -> dict[str, tuple[Modality, dict[str, Any]]]:
        """request id -> (modality, label schema) for each of `request_ids`. Safe from several
        threads: each works on its own reference to the map, and a clear swaps in a new one."""
        known = self._specs
        missing = set(request_ids).difference(known)
        if missing:
            fetched = {row.id: (Modality(row.modality), row.spec.get("label_schema", {}))
                       for row in conn.execute(_SPECS, {"ids": sorted(missing)})}
            if len(known) + len(fetched) > self.capacity:  # rarely reached: forget all but these
                known = {request_id: known[request_id] for request_id in request_ids if request_id in known}
            known.update(fetched)
            self._specs = known
        return {request_id: known[request_id] for request_id in request_ids}

    def reclaim_due(self, now: datetime) -> bool:
        """True (and the sweep counts as done) when the last one is `RECLAIM_EVERY` old, or
        the clock went backwards. Two threads may both get True: sweeping twice is harmless."""
        last = self._reclaimed_at
        if last is not None and last <= now < last + RECLAIM_EVERY:
            return False
        self._reclaimed_at = now
        return True
