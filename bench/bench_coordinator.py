"""Coordinator: submission ingest with 8 concurrent clients, and lease latency with 100,000
open items, each on SQLite and on PostgreSQL.

Targets (issue 6): ingest >= 1,000 submissions/s with 8 concurrent clients; lease p95 <= 20 ms
with 100,000 open items. The server is `alaya coordinator serve`'s code (`coordinator.server`)
under uvicorn in its own process, so the clients' work never shares its GIL; rate limit and
energy are lifted (we measure the service, not its guards).

Ingest: 8 client processes, each a signed-in contributor holding its own leases (taken through
the API before the clock starts: redundancy 3, so three clients work on each item), sign their
payloads, meet at a barrier, then post them: batches of 100 to /v1/submissions/batch (measured)
or one request per submission with its Idempotency-Key (baseline, same run). Every submission
must come back 201. The rate is submissions stored / wall time from the barrier to the last
client's end. The server's quality worker judges completed items meanwhile (same process, same
database); how long it still needs after the batched run is reported as `quality_catch_up_s`.

Lease: one client (round-robin over 8 signed-in contributors) asks POST /v1/leases for 10 tasks
at a time, sequentially, on one kept-alive connection (http.client: the `requests` library's
own time is left out); latency is measured around each HTTP call, after 20 warm-up calls.
The queue is seeded straight into the database (a request, its assets and items, 5% gold) and
ANALYZEd: first 1,000 open items (baseline), then topped up to 100,000 (measured, after a
VACUUM on PostgreSQL); redundancy 5, so the small queue does not run dry during the baseline's calls.
PostgreSQL: the tests' throwaway cluster (`tests/coordinator/postgres.py`: fsync off), or the
server named by ALAYA_TEST_POSTGRES_URL; its rows are left out when neither is available.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import multiprocessing as mp
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import numpy as np
import requests
from sqlalchemy import insert, text

from bench.harness import Measurement

ROOT = Path(__file__).resolve().parents[1]
CLIENTS, BATCH, LEASE_COUNT, WARMUP = 8, 100, 10, 20
SCHEMA = {"name": "bench", "version": 1, "classes": [{"name": "car", "colour": "#1f77b4"},
                                                      {"name": "person", "colour": "#d62728"}]}
LABELS = {"annotations": [{"id": "a0", "label": "car", "shape": {"kind": "tag"}}]}


def _wallet_key(n: int) -> str:
    return "0x" + hashlib.sha256(f"alaya-bench-wallet-{n}".encode()).hexdigest()


# --- the server, in its own process ---------------------------------------------------------
def _serve_child(db_url: str, port: int, storage: str) -> None:
    from coordinator.config import CoordinatorConfig, RateLimit
    from coordinator.server import serve

    where = f"127.0.0.1:{port}"
    config = CoordinatorConfig(db_url=db_url, storage_dir=Path(storage), domain=where, uri=f"http://{where}",
                               admin_addresses=(_address(0),), rate_limit=RateLimit(per_second=1e9, burst=10**9),
                               energy_max=10**9)
    serve(config, host="127.0.0.1", port=port, log_level="warning")


def _address(n: int) -> str:
    from eth_account import Account
    return Account.from_key(_wallet_key(n)).address


@contextmanager
def _server(db_url: str) -> Iterator[str]:
    from tests.coordinator.postgres import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="alaya-bench-coord-") as storage:
        proc = subprocess.Popen([sys.executable, "-m", "bench.bench_coordinator", "--serve", db_url, str(port),
                                 storage], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, proc)
            yield base
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def _wait_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the coordinator exited ({proc.returncode}):\n{proc.communicate()[0][-3000:]}")
        with suppress(requests.ConnectionError):
            if requests.get(f"{base}/v1/health", timeout=2).ok:
                return
        time.sleep(0.1)
    raise RuntimeError("the coordinator did not answer /v1/health within 120 s")


def _sign_in(base: str, n: int) -> dict[str, str]:
    from tests.coordinator.live import LiveClient
    from tests.coordinator.wallets import Wallet, sign_in

    key = _wallet_key(n)
    with LiveClient(base) as client:
        return sign_in(client, Wallet(key, _address(n)))


# --- seeding straight into the database -----------------------------------------------------
def _seed(db_url: str, n_items: int, *, redundancy: int, gold_rate: float, request_id: str | None = None) -> str:
    """A data request (or `request_id`'s) gets `n_items` more open items, gold_rate of them gold."""
    from coordinator.db import CoordinatorDB
    from coordinator.tables import assets, items

    now = datetime.now(timezone.utc)
    db = CoordinatorDB(db_url)
    try:
        db.migrate()  # a no-op where the server (or the template) already did it
        with db.write() as conn:
            request_id = request_id or _new_request(conn, redundancy, gold_rate, now)
            start = conn.execute(text("SELECT COALESCE(MAX(rank), 0) FROM items")).scalar_one()
            asset_rows, item_rows = _queue_rows(request_id, start, n_items, redundancy, gold_rate, now)
            for at in range(0, n_items, 10_000):
                conn.execute(insert(assets), asset_rows[at:at + 10_000])
                conn.execute(insert(items), item_rows[at:at + 10_000])
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # what autovacuum would do soon after a bulk load
    finally:
        db.close()
    return request_id


def _new_request(conn: Any, redundancy: int, gold_rate: float, now: datetime) -> str:
    from app.sync.wire import DataRequestIn
    from coordinator.tables import accounts, data_requests

    request_id = secrets.token_hex(8)
    spec = DataRequestIn.model_validate(dict(name="bench", modality="image", label_schema=SCHEMA, reward="0.5",
                                             redundancy=redundancy, gold_rate=gold_rate, min_seconds_per_item=0))
    owner = conn.execute(accounts.insert().values(
        address="0x" + secrets.token_hex(20), roles=["requester"], tier=0, languages=[], skills=[], locked=False,
        created_at=now)).inserted_primary_key[0]
    conn.execute(data_requests.insert().values(
        id=request_id, requester_id=owner, spec=spec.model_dump(mode="json"), modality="image", family="image:tag",
        redundancy=redundancy, gold_rate=gold_rate, reward_micro=500_000, min_tier=0, languages=[], skills=[],
        deadline=None, status="open", created_at=now))
    return request_id


def _queue_rows(request_id: str, start: int, n: int, redundancy: int, gold_rate: float,
                now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    gold = np.random.default_rng(start).random(n) < gold_rate
    asset_rows, item_rows = [], []
    for i in range(n):
        asset_id = secrets.token_hex(8)
        asset_rows.append(dict(id=asset_id, request_id=request_id, sha256=secrets.token_hex(32), size=1000,
                               received=1000, filename=f"{asset_id}.png", media_type="image/png", complete=True,
                               created_at=now))
        item_rows.append(dict(id=secrets.token_hex(16), rank=start + i + 1, request_id=request_id, asset_id=asset_id,
                              is_gold=bool(gold[i]), gold_truth=LABELS if gold[i] else None, state="open",
                              needed=redundancy, slots_open=redundancy, submitted=0, lease_epoch=0, created_at=now))
    return asset_rows, item_rows


# --- ingest ---------------------------------------------------------------------------------
def _lease_all(base: str, headers: dict[str, str], n: int, request_id: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    with requests.Session() as session:
        while len(tasks) < n:
            response = session.post(f"{base}/v1/leases", headers=headers, timeout=60, json={
                "count": min(100, n - len(tasks)), "request_id": request_id, "duration_s": 7 * 24 * 3600})
            response.raise_for_status()
            got = response.json()["tasks"]
            if not got:
                raise RuntimeError(f"the queue ran dry after {len(tasks)} of {n} tasks")
            tasks += got
    return tasks


def _signed(key: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from app.sync.signing import payload_digest, sign_digest

    now = datetime.now(timezone.utc).replace(microsecond=0)
    out = []
    for task in tasks:
        payload = {"item_id": task["item_id"], "lease_id": task["lease_id"], "epoch": task["epoch"],
                   "labels": LABELS, "started_at": (now - timedelta(seconds=30)).isoformat(),
                   "finished_at": now.isoformat()}
        out.append({"submission_id": secrets.token_hex(8), "payload": payload,
                    "signature": sign_digest(payload_digest(payload), key)})
    return out


def _ingest_client(base: str, headers: dict[str, str], key: str, tasks: list[dict[str, Any]], batch: int,
                   barrier: Any, results: Any) -> None:
    """One client process: sign, wait for the others, post; puts (stored, refusals) on `results`."""
    subs = _signed(key, tasks)
    stored, refusals = 0, []
    with requests.Session() as session:
        session.get(f"{base}/v1/health", timeout=30)  # the connection is open before the clock starts
        barrier.wait()
        if batch > 1:
            for at in range(0, len(subs), batch):
                response = session.post(f"{base}/v1/submissions/batch", headers=headers, timeout=120,
                                        json={"submissions": subs[at:at + batch]})
                for result in response.json().get("results", []) if response.ok else []:
                    stored += result["status"] == 201
                    if result["status"] != 201:
                        refusals.append(result)
                if not response.ok:
                    refusals.append(response.text[:300])
        else:
            for sub in subs:
                response = session.post(f"{base}/v1/submissions", json=sub, timeout=120,
                                        headers={**headers, "Idempotency-Key": sub["submission_id"]})
                stored += response.status_code == 201
                if response.status_code != 201:
                    refusals.append(response.text[:300])
    results.put((stored, refusals[:3]))


def _ingest(base: str, clients: list[tuple[dict[str, str], str, list[dict[str, Any]]]], batch: int) -> float:
    """Submissions stored per second by all clients together."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(len(clients) + 1), ctx.Queue()
    procs = [ctx.Process(target=_ingest_client, args=(base, headers, key, tasks, batch, barrier, results))
             for headers, key, tasks in clients]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=600)
    start = time.perf_counter()
    outcomes = [results.get(timeout=1800) for _ in procs]
    seconds = time.perf_counter() - start
    for proc in procs:
        proc.join(timeout=60)
    stored, wanted = sum(o[0] for o in outcomes), sum(len(c[2]) for c in clients)
    if stored != wanted:
        raise RuntimeError(f"{wanted - stored} of {wanted} submissions were refused: {[o[1] for o in outcomes]}")
    return stored / seconds


def _ingest_rates(db_url: str, per_client: int, per_client_single: int) -> tuple[float, float, float]:
    """(batched, one request each) submissions/s, 8 clients, on a fresh database, and the
    seconds the server's quality worker needed after the batched run to judge every item."""
    total = CLIENTS * (per_client + per_client_single)
    request_id = _seed(db_url, total // 3 + CLIENTS * 100, redundancy=3, gold_rate=0.0)
    with _server(db_url) as base:
        clients = []
        for n in range(1, CLIENTS + 1):
            headers = _sign_in(base, n)
            tasks = _lease_all(base, headers, per_client + per_client_single, request_id)
            clients.append((headers, _wallet_key(n), tasks))
        single = _ingest(base, [(h, k, t[per_client:]) for h, k, t in clients], batch=1)
        batched = _ingest(base, [(h, k, t[:per_client]) for h, k, t in clients], batch=BATCH)
        catch_up = _quality_catch_up(db_url)
    return batched, single, catch_up


def _quality_catch_up(db_url: str, timeout_s: float = 600) -> float:
    """Seconds until the quality queue is empty (ingest only queues; the worker judges)."""
    from coordinator.db import CoordinatorDB
    from coordinator.quality.queue import waiting

    db, start = CoordinatorDB(db_url), time.perf_counter()
    try:
        while time.perf_counter() - start < timeout_s:
            with db.read() as conn:
                if waiting(conn) == 0:
                    return time.perf_counter() - start
            time.sleep(0.05)
        raise RuntimeError(f"the quality worker did not catch up within {timeout_s:.0f} s")
    finally:
        db.close()


# --- lease latency --------------------------------------------------------------------------
def _lease_latencies(base: str, accounts: list[dict[str, str]], calls: int) -> np.ndarray:
    """Milliseconds per POST /v1/leases, through one kept-alive http.client connection: the
    `requests` session used elsewhere adds about a millisecond of its own per call (measured
    on /v1/health), which is the client's time, not the service's."""
    body = json.dumps({"count": LEASE_COUNT}).encode()
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=60)
    out = []
    try:
        for i in range(calls + WARMUP):
            headers = {**accounts[i % len(accounts)], "Content-Type": "application/json"}
            start = time.perf_counter()
            connection.request("POST", "/v1/leases", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - start
            if response.status != 200 or not json.loads(answer)["tasks"]:
                raise RuntimeError(f"lease failed: {response.status} {answer[:300]!r}")
            if i >= WARMUP:
                out.append(elapsed * 1000)
    finally:
        connection.close()
    return np.array(out)


def _vacuum(db_url: str) -> None:
    """PostgreSQL: VACUUM after the bulk load, as autovacuum would do soon after it; without it,
    autovacuum's pass over 100,000 fresh rows (and the first readers' hint-bit writes) fall
    inside the measured calls. SQLite needs nothing: the loading commit checkpointed its WAL,
    and a truncated WAL would make the measured commits grow the file again (dearer fsyncs)."""
    if db_url.startswith("sqlite"):
        return
    from coordinator.db import CoordinatorDB

    db = CoordinatorDB(db_url)
    try:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        db.close()


def _lease_figures(db_url: str, open_items: int, calls: int) -> tuple[np.ndarray, np.ndarray]:
    """Latencies (ms) with 1,000 open items, then with `open_items`."""
    # redundancy 5: the 1,000-item queue keeps open slots through all the calls of the baseline
    request_id = _seed(db_url, 1000, redundancy=5, gold_rate=0.05)
    with _server(db_url) as base:
        accounts = [_sign_in(base, n) for n in range(1, CLIENTS + 1)]
        small = _lease_latencies(base, accounts, calls)
        _seed(db_url, open_items - 1000, redundancy=5, gold_rate=0.05, request_id=request_id)
        _vacuum(db_url)
        large = _lease_latencies(base, accounts, calls)
    return small, large


# --- the run --------------------------------------------------------------------------------
@contextmanager
def _databases(tmp: Path) -> Iterator[list[tuple[str, Any]]]:
    """[(backend, make_url)]: SQLite files, and PostgreSQL databases when a server can be had."""
    backends: list[tuple[str, Any]] = [("SQLite", lambda name: f"sqlite:///{tmp / name}.sqlite3")]
    server = None
    try:
        from tests.coordinator.postgres import PostgresUnavailable, start
        try:
            server = start()
            backends.append(("PostgreSQL", lambda _name: server.create_database()))
        except PostgresUnavailable as exc:
            print(f"PostgreSQL rows left out: {exc}")
        yield backends
    finally:
        if server is not None:
            server.close()


def run(quick: bool = False) -> list[Measurement]:
    per_client, per_client_single = (250, 50) if quick else (2000, 250)
    rows = []
    with tempfile.TemporaryDirectory(prefix="alaya-bench-coord-") as tmp, _databases(Path(tmp)) as backends:
        for backend, make_url in backends:
            batched, single, catch_up = _ingest_rates(make_url("ingest"), per_client, per_client_single)
            print(f"  {backend}: ingest {batched:,.0f}/s batched, {single:,.0f}/s one request each; "
                  f"quality step caught up {catch_up:.1f} s later", flush=True)
            rows.append(Measurement(
                f"ingest, 8 clients, {backend}", "subs/s", batched, 1000.0, single,
                "one request per submission, same 8 clients", details={
                    "submissions": CLIENTS * per_client, "batch": BATCH, "baseline_submissions":
                    CLIENTS * per_client_single, "redundancy": 3, "quality_catch_up_s": round(catch_up, 2)}))
            rows += _lease_rows(backend, make_url, quick)
    return rows


def run_lease(quick: bool = False) -> list[Measurement]:
    """Only the lease part (`python -m bench coordinator_lease`)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="alaya-bench-coord-") as tmp, _databases(Path(tmp)) as backends:
        for backend, make_url in backends:
            rows += _lease_rows(backend, make_url, quick)
    return rows


def _lease_rows(backend: str, make_url: Any, quick: bool) -> list[Measurement]:
    open_items, calls = (20_000, 100) if quick else (100_000, 300)
    small, large = _lease_figures(make_url("lease"), open_items, calls)
    print(f"  {backend}: lease p95 {np.percentile(large, 95):.1f} ms ({open_items:,} open), "
          f"{np.percentile(small, 95):.1f} ms (1,000 open)", flush=True)
    return [Measurement(
        f"lease p{pct}, {open_items // 1000}k open, {backend}", "ms", float(np.percentile(large, pct)),
        20.0 if pct == 95 else None, float(np.percentile(small, pct)), "1,000 open items, same server",
        higher_is_better=False, details={"calls": calls, "tasks_per_call": LEASE_COUNT,
                                         "open_items": open_items, "gold_share": 0.05, "redundancy": 5})
        for pct in (50, 95)]


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--serve":
    _serve_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
