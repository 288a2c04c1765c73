"""Eight contributors leasing and submitting at once against a real uvicorn: no item leased
beyond its k, every acknowledged submission stored exactly once, nothing lost, no 5xx."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import pytest
from sqlalchemy import func, select

from coordinator.config import CoordinatorConfig
from coordinator.main import create_app
from coordinator.tables import items, leases, ledger_entries, quality_queue, submissions
from tests.coordinator.contributor import seed_request, submission
from tests.coordinator.live import LiveClient, bound_socket, serve_in_thread
from tests.coordinator.wallets import Wallet, sign_in

CLIENTS = 8


@pytest.fixture
def live_app(make_config: Callable[..., CoordinatorConfig]) -> Iterator[tuple[Any, str]]:
    with closing(bound_socket()) as sock:
        where = "127.0.0.1:%d" % sock.getsockname()[1]
        app = create_app(make_config(domain=where, uri=f"http://{where}", quality_worker=True))
        with serve_in_thread(app, sock) as url:
            yield app, url


def contributor_run(url: str, wallet: Wallet, start: threading.Barrier) -> dict[str, Any]:
    """Lease, submit (single and batch, and every tenth one twice, as after a lost reply)
    until nothing is left; what the server acknowledged."""
    client = LiveClient(url)
    headers = sign_in(client, wallet)
    acked: dict[str, str] = {}  # submission id -> item id
    statuses: Counter[int] = Counter()
    start.wait()
    for round_ in range(100):
        leased = client.post("/v1/leases", json={"count": 4}, headers=headers)
        statuses[leased.status_code] += 1
        tasks = leased.json().get("tasks", []) if leased.status_code == 200 else []
        if not tasks:
            break
        subs = [submission(wallet, t, ["car"], f"{wallet.address[2:10]}-{round_}-{i}") for i, t in enumerate(tasks)]
        if round_ % 2:
            replies = client.post("/v1/submissions/batch", json={"submissions": subs}, headers=headers)
            statuses[replies.status_code] += 1
            results = [(r["status"], r["result"]) for r in replies.json()["results"]]
        else:
            results = []
            for sub in subs:
                for _ in range(2 if round_ % 10 == 0 else 1):
                    reply = client.post("/v1/submissions", json=sub,
                                        headers={**headers, "Idempotency-Key": sub["submission_id"]})
                    statuses[reply.status_code] += 1
                results.append((reply.status_code, reply.json()))
        for status, result in results:
            assert status == 201, result
            acked[result["submission_id"]] = result["item_id"]
    return {"acked": acked, "statuses": statuses}


def test_eight_contributors_at_once(live_app: tuple[Any, str]) -> None:
    app, url = live_app
    db = app.state.ctx.db
    seeded = seed_request(db, items_n=60, gold_n=10, gold_rate=0.1, redundancy=3, min_seconds_per_item=0)
    wallets = [Wallet.numbered(400 + i) for i in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(CLIENTS) as pool:
        runs = list(pool.map(lambda w: contributor_run(url, w, start), wallets))

    statuses = sum((r["statuses"] for r in runs), Counter())
    assert not [s for s in statuses if s >= 500], statuses
    acked = {key: item for r in runs for key, item in r["acked"].items()}
    with db.read() as conn:
        stored = conn.execute(select(submissions.c.submission_id, submissions.c.item_id)).all()
        live = dict(conn.execute(select(leases.c.item_id, func.count())
                                 .where(leases.c.state.in_(("active", "submitted"))).group_by(leases.c.item_id)).all())
        needed = dict(conn.execute(select(items.c.id, items.c.needed).where(items.c.is_gold.is_(False))).all())
        submitted = dict(conn.execute(select(items.c.id, items.c.submitted)).all())
    assert Counter(key for key, _ in stored) == Counter(list(acked))  # each acknowledged once, none lost
    assert dict(stored) == acked
    assert all(live.get(item, 0) <= k for item, k in needed.items())  # never leased beyond k
    assert all(submitted[item] == 3 for item in seeded.items)  # every slot used, each counted once
    per_item = Counter(item for item in acked.values())
    assert sum(per_item[item] for item in seeded.gold) + 3 * len(seeded.items) == len(acked)

    app.state.quality.drain()  # whatever the background worker has not judged yet
    with db.read() as conn:
        states = Counter(conn.execute(select(items.c.state).where(items.c.is_gold.is_(False))).scalars())
        outcomes = Counter(conn.execute(select(submissions.c.outcome)).scalars())
        rewards = conn.execute(select(ledger_entries.c.ref, func.count()).where(ledger_entries.c.kind == "reward")
                               .group_by(ledger_entries.c.ref)).all()
    assert states == {"done": len(seeded.items)} and queue_empty(db)  # everyone answered "car": all accepted
    assert outcomes == {"agreed": 3 * len(seeded.items), "gold_pass": len(acked) - 3 * len(seeded.items)}
    assert len(rewards) == len(acked) and all(n == 2 for _, n in rewards)  # each paid once (two entries)


def queue_empty(db: Any) -> bool:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(quality_queue)).scalar_one() == 0
