"""The smart tool's `ProposalRequests` over a real `PrelabelAssist`, without Qt.

The window's `SessionAssist` delivers answers through the Qt bridge; here `flush()` does it on
the test's thread, so a test decides when answers "arrive" (and can make prompts overtake
each other). Every prompt sent is kept in `sent` for inspection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from typing import Any

from app.editing.assist import PrelabelAssist
from app.models.base import Prompt


class AssistRequests:
    def __init__(self, assist: PrelabelAssist, *, accept_as: str = "polygon", tolerance: float = 0.0) -> None:
        self.assist, self.accept_as, self.tolerance = assist, accept_as, tolerance
        self.sent: list[Prompt] = []
        self._pending: list[tuple[Future[Any], Callable[[Any], None]]] = []

    def request(self, *, positive: Sequence[Any], negative: Sequence[Any], box: Any, previous_logits: Any,
                hover: bool, done: Callable[[Any], None]) -> None:
        prompt = Prompt(positive=tuple(positive), negative=tuple(negative), box=box,
                        previous_logits=previous_logits)
        self.sent.append(prompt)
        self._pending.append((self.assist.propose(prompt, hover=hover), done))

    def flush(self, timeout: float = 60.0) -> int:
        """Deliver every settled answer in order; returns how many were delivered (not cancelled)."""
        delivered = 0
        pending, self._pending = self._pending, []
        for future, done in pending:
            try:
                result = future.result(timeout)
            except CancelledError:
                continue  # replaced by a newer request before it ran: never delivered
            except Exception as exc:  # noqa: BLE001 - delivered like the window does
                result = exc
            done(result)
            delivered += 1
        return delivered
