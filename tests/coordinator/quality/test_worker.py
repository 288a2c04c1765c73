"""The quality worker, on SQLite and PostgreSQL: ingest only queues; the worker judges queued
items once, survives a crash in between, isolates a failing item, and two workers never
judge one item twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from coordinator import reputation
from coordinator.config import CoordinatorConfig
from coordinator.context import Ctx
from coordinator.db import CoordinatorDB
from coordinator.main import create_app
from coordinator.quality import lifecycle, queue
from coordinator.quality.worker import QualityWorker
from coordinator.tables import items, ledger_entries, profiles, quality_queue, reputations, submissions
from tests.coordinator.conftest import ADMIN, drain
from tests.coordinator.contributor import lease, seed_request, submission, submit
from tests.coordinator.threads import at_once
from tests.coordinator.wallets import Wallet, sign_in

WORKERS = [Wallet.numbered(500 + i) for i in range(3)]


def _answer(client: TestClient, clock: Any, who: int, labels: Any, n: int = 1) -> list[str]:
    """Worker `who` leases `n` tasks and answers each with `labels` (a function of the task, or
    labels); the item ids answered."""
    headers = sign_in(client, WORKERS[who])
    tasks = lease(client, headers, n)
    clock.advance(seconds=5)
    for task in tasks:
        response = submit(client, headers, WORKERS[who], task, labels(task) if callable(labels) else labels)
        assert response.status_code == 201, response.text
    return [task["item_id"] for task in tasks]


def _item_state(db: CoordinatorDB, item_id: str) -> str:
    with db.read() as conn:
        return conn.execute(select(items.c.state).where(items.c.id == item_id)).scalar_one()


def _queued(db: CoordinatorDB) -> dict[str, Any]:
    with db.read() as conn:
        return {row.item_id: row for row in conn.execute(select(quality_queue))}


def _effects(db: CoordinatorDB) -> tuple[Any, ...]:
    """Everything the quality step writes, to compare before and after."""
    with db.read() as conn:
        return (conn.execute(select(ledger_entries.c.account, ledger_entries.c.amount_micro, ledger_entries.c.ref)
                             .order_by(ledger_entries.c.id)).all(),
                conn.execute(select(reputations.c.account_id, reputations.c.alpha, reputations.c.beta)
                             .order_by(reputations.c.account_id)).all(),
                conn.execute(select(profiles.c.account_id, profiles.c.xp).order_by(profiles.c.account_id)).all(),
                conn.execute(select(submissions.c.id, submissions.c.outcome).order_by(submissions.c.id)).all(),
                conn.execute(select(items.c.id, items.c.state, items.c.needed).order_by(items.c.id)).all())


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_ingest_only_queues_and_a_restart_judges_what_a_crash_left(make_config: Any, clock: Any) -> None:
    with TestClient(create_app(make_config())) as client:
        db = client.app.state.ctx.db
        seeded = seed_request(db, items_n=1, redundancy=3, min_seconds_per_item=0)
        for who in range(3):
            _answer(client, clock, who, ["car"])
        assert _item_state(db, seeded.items[0]) == "open" and list(_queued(db)) == seeded.items
        progress = client.get(f"/v1/requests/{seeded.request_id}/progress", headers=sign_in(client, ADMIN)).json()
        assert progress["submissions"] == 3 and progress["awaiting_quality"] == 1 and progress["done"] == 0
    # the process ends here before any quality step ran, as a crash would leave it; the next
    # one's worker (its poll 60 s away) judges the item when it starts
    with TestClient(create_app(make_config(quality_worker=True, quality_poll_s=60))) as client:
        db = client.app.state.ctx.db
        assert _wait_for(lambda: _item_state(db, seeded.items[0]) == "done")
        assert _wait_for(lambda: not _queued(db))
        ledger, *_ = _effects(db)
        assert len({ref for *_, ref in ledger}) == 3  # everyone agreed: three payments


def test_the_worker_is_woken_by_ingest(make_config: Any, clock: Any) -> None:
    with TestClient(create_app(make_config(quality_worker=True, quality_poll_s=60))) as client:
        db = client.app.state.ctx.db
        seeded = seed_request(db, items_n=1, redundancy=2, min_seconds_per_item=0)
        _answer(client, clock, 0, ["car"])
        _answer(client, clock, 1, ["car"])
        assert _wait_for(lambda: _item_state(db, seeded.items[0]) == "done")  # long before the next poll


def test_a_failing_item_is_logged_retried_and_blocks_nobody(client: TestClient, clock: Any, admin: Any,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    db = client.app.state.ctx.db
    seed_request(db, items_n=2, redundancy=1, min_seconds_per_item=0)
    names = iter(["car", "person"])
    good, bad = _answer(client, clock, 0, lambda task: [next(names)], n=2)
    merge = lifecycle.merge_labels

    def poisoned(answers: dict[Any, Any], weights: Any) -> Any:  # the answer saying "person" breaks it
        if any(a["label"] == "person" for labels in answers.values() for a in labels["annotations"]):
            raise ValueError("poisoned answer")
        return merge(answers, weights)

    monkeypatch.setattr(lifecycle, "merge_labels", poisoned)
    with caplog.at_level(logging.ERROR, logger="coordinator.quality.worker"):
        assert drain(client) == 1
    assert (_item_state(db, good), _item_state(db, bad)) == ("done", "open")
    row = _queued(db)[bad]
    assert row.attempts == 1 and "poisoned answer" in row.last_error
    assert any(bad in record.getMessage() for record in caplog.records)
    assert drain(client) == 0  # not again before its back-off
    monkeypatch.undo()
    clock.advance(seconds=queue.RETRY_BASE_S + 1)
    assert drain(client) == 1 and _item_state(db, bad) == "done" and not _queued(db)


def test_drain_is_idempotent_and_a_stale_queue_row_pays_nobody_twice(client: TestClient, clock: Any) -> None:
    db = client.app.state.ctx.db
    seeded = seed_request(db, items_n=1, redundancy=2, min_seconds_per_item=0)
    _answer(client, clock, 0, ["car"])
    _answer(client, clock, 1, ["car"])
    assert drain(client) == 1
    judged = _effects(db)
    assert len(judged[0]) == 4  # two payments of two entries
    assert drain(client) == 0 and _effects(db) == judged
    with db.write() as conn:  # queued again, as a replayed or duplicated ready row would be
        queue.mark_ready(conn, seeded.items, clock())
    assert drain(client) == 1 and _effects(db) == judged and not _queued(db)


def test_two_workers_never_judge_one_item_twice(make_config: Any, clock: Any) -> None:
    """Two workers with their own engines (as two server processes), small batches, at once:
    every item is judged exactly once (a second judgement would count the evidence twice)."""
    config: CoordinatorConfig = make_config(quality_batch=3)
    n_items = 30
    with TestClient(create_app(config)) as client:
        db = client.app.state.ctx.db
        seed_request(db, items_n=n_items, redundancy=2, min_seconds_per_item=0)
        for who in range(2):
            headers = sign_in(client, WORKERS[who])
            tasks = lease(client, headers, n_items)
            clock.advance(seconds=5)
            sent = client.post("/v1/submissions/batch", headers=headers,
                               json={"submissions": [submission(WORKERS[who], t, ["car"]) for t in tasks]})
            assert [r["status"] for r in sent.json()["results"]] == [201] * n_items
        assert len(_queued(db)) == n_items
        other_db = CoordinatorDB(config.db_url)
        try:
            workers = iter([client.app.state.quality, QualityWorker(Ctx(config, other_db))])
            judged = at_once(2, lambda: next(workers).drain())
        finally:
            other_db.close()
        assert sum(judged) == n_items and not _queued(db)
        ledger, reps, xp, outcomes, states = _effects(db)
    assert len(ledger) == 2 * 2 * n_items and {state for _, state, _ in states} == {"done"}
    assert [outcome for _, outcome in outcomes] == ["agreed"] * 2 * n_items
    alpha, beta = config.reputation_prior
    for _ in range(n_items):
        alpha, beta = reputation.decayed(alpha, beta, 1.0, config)
    assert [(a, b) for _, a, b in reps] == [pytest.approx((alpha, beta))] * 2
    assert [x for _, x in xp] == [10 * n_items] * 2

