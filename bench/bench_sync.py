"""Sync: drain 10,000 queued submissions from a workspace to a local coordinator.

Target (issue 7): >= 500 submissions/s. The coordinator is `coordinator.server` under uvicorn
in its own process (as in `bench_coordinator`, whose server and seeding this reuses: SQLite,
rate limit and energy lifted). One contributor leases every item through the API and the
workspace registers the leases and queues one submission per task (a whole-item tag), before
the clock starts; each is signed on its way out, as in real use. Measured: `Pusher.drain()`
with batches of 100 through /v1/submissions/batch (two on the wire at once), every answer
recorded in the workspace (outcome, task sync state). Redundancy 3 and one contributor: no item
completes, so the coordinator's quality worker (consensus, in the background) stays idle and
the figure measures sync alone. Baseline, same run and same server: one request per submission (POST
/v1/submissions with its Idempotency-Key), no batching, on a smaller queue (2,000) whose rate
stands for the whole. Every submission must come back sent.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from bench.bench_coordinator import _seed, _server, _wallet_key
from bench.harness import Measurement

TARGET = 500.0
BATCH = 100
REDUNDANCY = 3  # one contributor fills one slot of each item: no item completes, no consensus runs


def _leased_queue(ws, client, n: int) -> None:  # noqa: ANN001 - bench helpers
    """Lease n tasks, register them, and queue one submission each (all before the clock)."""
    from app.store.assets import NewAsset
    from app.store.sync_queue import Lease
    from app.sync.client import parse_reply
    from app.sync.submission import new_submission_key, payload_for
    from app.sync.wire import Labels, LeaseOut

    labels = Labels.model_validate({"annotations": [{"id": "a0", "label": "car", "shape": {"kind": "tag"}}]})
    left = n
    while left > 0:
        response = client.call("POST", "/v1/leases", json={"count": min(left, 100), "duration_s": 7 * 24 * 3600})
        leased = parse_reply(response, LeaseOut).tasks
        if not leased:
            raise RuntimeError(f"the coordinator ran out of items with {left} still to lease")
        project = ws.sync.project_for_request(leased[0].request_id, "bench")
        entries = [(NewAsset(sha256=t.asset.sha256, modality="image", storage="managed",
                             path=f"blobs/{t.asset.sha256}.png", original_name=f"{t.asset.id}.png",
                             size_bytes=t.asset.size, metadata={}),
                    Lease(t.item_id, t.lease_id, t.epoch, t.expires_at)) for t in leased]
        tasks = ws.sync.add_leased_many(project.id, entries)
        ws.sync.submit_many([(t.id, payload_for(t, labels), new_submission_key()) for t in tasks])
        left -= len(leased)


def _drain(ws, client, *, batched: bool) -> tuple[float, int]:  # noqa: ANN001
    from app.sync.backoff import Backoff
    from app.sync.push import Pusher

    pusher = Pusher(ws.sync, client, batch_size=BATCH, backoff=Backoff(0.05, 1.0, random.Random(0)),
                    batched=batched)
    start = time.perf_counter()
    report = pusher.drain()
    elapsed = time.perf_counter() - start
    if report.error is not None or report.handled != report.sent:
        raise RuntimeError(f"the drain did not send everything: {report}")
    return elapsed, report.sent


def run(quick: bool = False) -> list[Measurement]:
    from app.store.workspace import Workspace
    from app.sync.client import CoordinatorClient
    from app.sync.signer import KeySigner

    measured_n, baseline_n = (1_000, 200) if quick else (10_000, 2_000)
    with tempfile.TemporaryDirectory(prefix="alaya-bench-sync-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'coordinator.sqlite3'}"
        with _server(db_url) as base, Workspace.open(Path(tmp) / "ws") as ws:
            _seed(db_url, measured_n + baseline_n, redundancy=REDUNDANCY, gold_rate=0.0)
            client = CoordinatorClient(base, KeySigner(_wallet_key(1)), timeout_s=120)
            _leased_queue(ws, client, measured_n)
            batched_s, sent = _drain(ws, client, batched=True)
            _leased_queue(ws, client, baseline_n)
            single_s, single_sent = _drain(ws, client, batched=False)
            if sent != measured_n or single_sent != baseline_n:
                raise RuntimeError(f"sent {sent} of {measured_n} and {single_sent} of {baseline_n}")
    return [Measurement(
        name="sync drain (batches of 100)", unit="submissions/s", measured=sent / batched_s, target=TARGET,
        baseline=single_sent / single_s, baseline_label=f"one request per submission ({baseline_n:,})",
        details={"submissions": sent, "seconds": round(batched_s, 2), "baseline_submissions": single_sent,
                 "baseline_seconds": round(single_s, 2)})]
