"""What a contributor's client does, for tests: lease tasks, build and sign a payload, submit.

Also `seed_request`, which writes a data request with its assets and items straight into the
database (the requester API is tested on its own); tests of leasing and submitting use it to
set up exactly the queue they need.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import count
from typing import Any

from app.sync.wire import DataRequestIn
from coordinator.tables import accounts, assets, data_requests, items
from tests.coordinator.wallets import Wallet

SCHEMA = {"name": "test", "version": 1,
          "classes": [{"name": "car", "colour": "#1f77b4"}, {"name": "person", "colour": "#d62728"}]}
_ranks = count(1)


def lease(client: Any, headers: dict[str, str], n: int = 10, **fields: Any) -> list[dict[str, Any]]:
    """POST /v1/leases for `n` tasks; the tasks (asserts 200)."""
    response = client.post("/v1/leases", json={"count": n, **fields}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["tasks"]


def make_labels(labels: Any) -> dict[str, Any]:
    """Labels from a wire.Labels dict as is, or from class names (one whole-item tag each)."""
    if isinstance(labels, dict):
        return labels
    names = [labels] if isinstance(labels, str) else list(labels)
    return {"annotations": [{"id": f"a{i}", "label": name, "shape": {"kind": "tag"}}
                            for i, name in enumerate(names)]}


def make_payload(task: dict[str, Any], labels: Any, **overrides: Any) -> dict[str, Any]:
    """The SubmissionPayload for a leased task, as JSON (what is signed)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    payload = {"item_id": task["item_id"], "lease_id": task["lease_id"], "epoch": task["epoch"],
               "labels": make_labels(labels), "started_at": (now - timedelta(seconds=30)).isoformat(),
               "finished_at": now.isoformat()}
    payload.update(overrides)
    return payload


def submission(wallet: Wallet, task: dict[str, Any], labels: Any, submission_id: str | None = None,
               **overrides: Any) -> dict[str, Any]:
    """A signed SubmissionIn as JSON."""
    payload = make_payload(task, labels, **overrides)
    return {"submission_id": submission_id or secrets.token_hex(8), "payload": payload,
            "signature": wallet.sign_payload(payload)}


def submit(client: Any, headers: dict[str, str], wallet: Wallet, task: dict[str, Any], labels: Any,
           submission_id: str | None = None, **overrides: Any) -> Any:
    """POST /v1/submissions of a signed payload with a matching Idempotency-Key; the response."""
    body = submission(wallet, task, labels, submission_id, **overrides)
    return client.post("/v1/submissions", json=body,
                       headers={**headers, "Idempotency-Key": body["submission_id"]})


@dataclass(frozen=True)
class Seeded:
    request_id: str
    items: list[str]
    gold: list[str]


def seed_request(db: Any, *, items_n: int = 10, gold_n: int = 0, labels: Iterable[str] = ("car", "person"),
                 family: str = "image:tag", now: datetime | None = None, **spec: Any) -> Seeded:
    """A data request with `items_n` normal and `gold_n` gold items, written straight into the
    database. `spec` overrides DataRequestIn fields (redundancy, gold_rate, requirements, …)
    and may carry `status`."""
    now = now or datetime.now(timezone.utc)
    status = spec.pop("status", "open")
    schema = {**SCHEMA, "classes": [{"name": n, "colour": "#1f77b4"} for n in labels]}
    body = DataRequestIn.model_validate({"name": "seeded", "modality": "image", "label_schema": schema,
                                         "reward": Decimal("0.5"), **spec})
    request_id, req = secrets.token_hex(8), body.requirements
    with db.write() as conn:
        requester = conn.execute(accounts.insert().values(
            address="0x" + secrets.token_hex(20), roles=["requester"], tier=0, languages=[], skills=[],
            locked=False, created_at=now)).inserted_primary_key[0]
        conn.execute(data_requests.insert().values(
            id=request_id, requester_id=requester, spec=body.model_dump(mode="json"), modality=body.modality.value,
            family=family, redundancy=body.redundancy, gold_rate=body.gold_rate, reward_micro=500_000,
            min_tier=req.min_tier, languages=req.languages, skills=req.skills, deadline=body.deadline,
            status=status, created_at=now))
        made = [_item(conn, request_id, body.redundancy, gold=i >= items_n, now=now)
                for i in range(items_n + gold_n)]
    return Seeded(request_id, made[:items_n], made[items_n:])


def _item(conn: Any, request_id: str, redundancy: int, *, gold: bool, now: datetime) -> str:
    asset_id, item_id = secrets.token_hex(8), secrets.token_hex(16)
    conn.execute(assets.insert().values(
        id=asset_id, request_id=request_id, sha256=secrets.token_hex(32), size=1000, received=1000,
        filename=f"{asset_id}.png", media_type="image/png", complete=True, created_at=now))
    conn.execute(items.insert().values(
        id=item_id, rank=next(_ranks), request_id=request_id, asset_id=asset_id, is_gold=gold,
        gold_truth={"annotations": [{"id": "g", "label": "car", "shape": {"kind": "tag"}}]} if gold else None,
        state="open", needed=redundancy, slots_open=redundancy, submitted=0, lease_epoch=0, created_at=now))
    return item_id
