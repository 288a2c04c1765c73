"""Which answer of the coordinator makes a submission sent, conflicted, late, rejected or retried."""

from __future__ import annotations

import pytest

from app.sync.push import judge


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (201, None, "sent"), (200, None, "sent"),
    (409, "lease_expired", "late"), (409, "stale_epoch", "conflicted"), (409, "already_submitted", "conflicted"),
    (409, "idempotency_key_reused", "conflicted"), (404, "not_found", "conflicted"),
    (422, "unknown_label", "rejected"), (401, "bad_signature", "rejected"), (413, None, "rejected"),
    (400, "missing_idempotency_key", "rejected"),
    (429, "rate_limited", None), (500, None, None), (503, "busy", None), (408, None, None),
])
def test_each_status_has_one_outcome(status: int, code: str | None, outcome: str | None) -> None:
    assert judge(status, code) == outcome
