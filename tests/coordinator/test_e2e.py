"""End to end over real HTTP: a uvicorn on 127.0.0.1 and `requests`, on SQLite and PostgreSQL.

A requester creates a data request and uploads an asset in two chunks (resuming from what the
server says it holds); a contributor leases the task, renews the lease, downloads the asset
whole and by Range, submits signed labels, and a replay returns the same body; the item is done (redundancy 1)
and the requester exports its labels.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from tests.coordinator.contributor import lease, submission
from tests.coordinator.live import LiveClient
from tests.coordinator.requester import create_request, declare, put_chunk
from tests.coordinator.wallets import Wallet, sign_in

ADMIN, REQUESTER, CONTRIBUTOR = Wallet.numbered(0), Wallet.numbered(300), Wallet.numbered(301)
DATA = bytes(range(256)) * 40  # 10,240 bytes, every byte value at a known place


def _people(client: LiveClient) -> tuple[dict[str, str], dict[str, str]]:
    admin = sign_in(client, ADMIN)
    requester = sign_in(client, REQUESTER)
    granted = client.patch(f"/v1/accounts/{REQUESTER.address}", json={"roles": ["requester"]}, headers=admin)
    assert granted.status_code == 200, granted.text
    return requester, sign_in(client, CONTRIBUTOR)


def _upload_in_two_chunks(client: LiveClient, headers: dict[str, str], request_id: str) -> dict[str, Any]:
    declared = declare(client, headers, request_id, DATA, filename="pattern.bin", media_type="image/png")
    assert declared.status_code == 201, declared.text
    asset_id = declared.json()["id"]
    half = len(DATA) // 2
    assert put_chunk(client, headers, asset_id, DATA[:half], 0, len(DATA)).status_code == 200
    status = client.get(f"/v1/uploads/{asset_id}", headers=headers).json()  # resume from what it holds
    assert status["received"] == half and not status["complete"]
    done = put_chunk(client, headers, asset_id, DATA[half:], half, len(DATA))
    assert done.status_code == 200, done.text
    assert done.json()["complete"] and done.json()["sha256"] == hashlib.sha256(DATA).hexdigest()
    return done.json()


def _download(client: LiveClient, headers: dict[str, str], task: dict[str, Any]) -> None:
    url = task["asset"]["url"]
    whole = client.get(url, headers=headers)
    assert whole.status_code == 200 and whole.content == DATA
    assert hashlib.sha256(whole.content).hexdigest() == task["asset"]["sha256"] == whole.headers["X-Content-SHA256"]
    etag = whole.headers["ETag"]
    part = client.get(url, headers={**headers, "Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == DATA[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(DATA)}"
    tail = client.get(url, headers={**headers, "Range": "bytes=10000-", "If-Range": etag})
    assert tail.status_code == 206 and tail.content == DATA[10000:]
    assert client.get(url, headers={**headers, "If-None-Match": etag}).status_code == 304


def _judged(client: LiveClient, requester: dict[str, str], request_id: str, timeout_s: float = 10) -> dict[str, Any]:
    """The request's progress once nothing waits for the quality step (it runs after ingest)."""
    deadline = time.monotonic() + timeout_s
    while True:
        progress = client.get(f"/v1/requests/{request_id}/progress", headers=requester).json()
        if progress["awaiting_quality"] == 0 or time.monotonic() > deadline:
            return progress
        time.sleep(0.02)


def test_request_upload_lease_download_submit_replay(live_server: str, clock: Any) -> None:
    with LiveClient(live_server) as client:
        assert client.get("/v1/health").json() == {"status": "ok"}
        requester, contributor = _people(client)
        request = create_request(client, requester, redundancy=1, gold_rate=0.0)
        asset = _upload_in_two_chunks(client, requester, request["id"])

        [task] = lease(client, contributor, 5, request_id=request["id"])
        assert task["asset"]["id"] == asset["id"] and task["request_id"] == request["id"]
        beat = client.post(f"/v1/leases/{task['lease_id']}/heartbeat", json={"epoch": task["epoch"]},
                           headers=contributor)
        assert beat.status_code == 200 and beat.json()["epoch"] == task["epoch"], beat.text
        _download(client, contributor, task)

        clock.advance(seconds=30)  # a human's pace: not flagged as too fast
        body = submission(CONTRIBUTOR, task, ["sky"], "e2e-1")
        keyed = {**contributor, "Idempotency-Key": "e2e-1"}
        first = client.post("/v1/submissions", json=body, headers=keyed)
        assert first.status_code == 201, first.text
        assert first.json()["item_id"] == task["item_id"] and first.json()["flagged"] is False
        again = client.post("/v1/submissions", json=body, headers=keyed)
        assert again.status_code == 201 and again.content == first.content
        assert again.headers.get("Idempotent-Replayed") == "true"

        progress = _judged(client, requester, request["id"])  # by the server's quality worker, woken by ingest
        assert progress["items"] == 1 and progress["submissions"] == 1 and progress["done"] == 1, progress
        export = client.get(f"/v1/requests/{request['id']}/export", headers=requester)
        assert export.status_code == 200, export.text
        [item] = export.json()["items"]  # redundancy 1: the one answer is the consensus
        assert item["sha256"] == asset["sha256"] and [a["label"] for a in item["annotations"]] == ["sky"]
