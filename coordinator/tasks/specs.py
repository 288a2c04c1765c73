"""What a task shows of its data request (modality and label schema), kept per app.

A request's spec never changes once it is created (only its status does), so a lease call
reads it from the database once per request, not once per call.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, bindparam, select

from app.sync.wire import Modality
from coordinator.tables import data_requests

_SPECS = (select(data_requests.c.id, data_requests.c.modality, data_requests.c.spec)
          .where(data_requests.c.id.in_(bindparam("ids", expanding=True))))


class RequestSpecs:
    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._known: dict[str, tuple[Modality, dict[str, Any]]] = {}

    def of(self, conn: Connection, request_ids: Collection[str]) -> dict[str, tuple[Modality, dict[str, Any]]]:
        """request id -> (modality, label schema) for each of `request_ids`. Safe from several
        threads: each works on its own reference to the map, and a clear swaps in a new one."""
        known = self._known
        missing = set(request_ids).difference(known)
        if missing:
            fetched = {row.id: (Modality(row.modality), row.spec.get("label_schema", {}))
                       for row in conn.execute(_SPECS, {"ids": sorted(missing)})}
            if len(known) + len(fetched) > self.capacity:
                known = {}  # rarely reached: forgetting all is as good as any eviction order
            known.update(fetched)
            self._known = known
        return {request_id: known[request_id] for request_id in request_ids}
