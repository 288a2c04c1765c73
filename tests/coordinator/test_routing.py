"""Routing beyond the basics of test_leases: probation below the reputation floor (honeypots
only, and passing them is the way back), the honeypot statement's plan, and what the lease
path keeps in memory (request specs, the reclaim sweep's pace)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from coordinator import reputation
from coordinator.tasks import routing
from coordinator.tasks.memo import RECLAIM_EVERY, LeaseMemo
from tests.coordinator.conftest import drain
from tests.coordinator.contributor import lease, seed_request, submit
from tests.coordinator.test_leases import W, account_of, db, record_many
from tests.coordinator.wallets import sign_in

FAMILY = "image:tag"


def bound_of(client: TestClient, wallet: Any) -> float:
    with db(client).read() as conn:
        return reputation.bounds(conn, account_of(client, wallet), client.app.state.ctx.config)[FAMILY]


@pytest.fixture
def seeded_rng(monkeypatch: pytest.MonkeyPatch) -> None:
    import random
    monkeypatch.setattr(routing, "RNG", random.Random(20261206))


def test_below_the_floor_only_honeypots_and_passing_them_is_the_way_back(
        client: TestClient, signed_in: Any, clock: Any, seeded_rng: None) -> None:
    seeded = seed_request(db(client), items_n=30, gold_n=30, gold_rate=0.1, family=FAMILY)
    gold, normal = set(seeded.gold), set(seeded.items)
    headers = signed_in(W[0])
    record_many(client, W[0], FAMILY, [0.0] * 6)  # six bad answers: below the floor
    floor = client.app.state.ctx.config.min_reputation
    assert bound_of(client, W[0]) < floor
    passed = 0
    while bound_of(client, W[0]) < floor:
        tasks = lease(client, headers, 3)
        assert tasks and {t["item_id"] for t in tasks} <= gold  # probation: honeypots only
        clock.advance(seconds=30)  # a human's pace
        for task in tasks:  # the seeded honeypots' truth is one "car" tag
            assert submit(client, headers, W[0], task, ["car"]).status_code == 201
        drain(client)  # the quality worker scores the honeypots
        passed += len(tasks)
        assert passed <= 12, "passing honeypots must lift the bound within a dozen"
    assert {t["item_id"] for t in lease(client, headers, 10)} & normal  # back to normal work


def test_probation_in_one_family_does_not_hold_back_normal_work_in_another(
        client: TestClient, signed_in: Any) -> None:
    sound = seed_request(db(client), items_n=3, family="image:box")
    probation = seed_request(db(client), items_n=5, gold_n=5, gold_rate=0.0, family=FAMILY)
    headers = signed_in(W[1])
    record_many(client, W[1], FAMILY, [0.0] * 6)
    got = [t["item_id"] for t in lease(client, headers, 6)]
    # the sound request's normal items first, then the other request's honeypots fill the batch
    assert set(got) & set(sound.items) == set(sound.items)
    assert len(got) == 6 and set(got) - set(sound.items) <= set(probation.gold)


def test_probation_respects_the_request_lock_out(client: TestClient, signed_in: Any) -> None:
    from coordinator.tables import request_locks
    seeded = seed_request(db(client), items_n=2, gold_n=5, family=FAMILY)
    headers = signed_in(W[2])
    record_many(client, W[2], FAMILY, [0.0] * 6)
    with db(client).write() as conn:
        conn.execute(request_locks.insert().values(account_id=account_of(client, W[2]), request_id=seeded.request_id,
                                                   reason="test", created_at=client.app.state.ctx.now()))
    assert lease(client, headers, 5) == []


def test_time_is_a_way_back_where_no_honeypot_is_left(client: TestClient, signed_in: Any, clock: Any) -> None:
    seeded = seed_request(db(client), items_n=3, family=FAMILY)  # no honeypots: probation has nothing
    headers = signed_in(W[4])
    record_many(client, W[4], FAMILY, [0.0] * 6)
    assert lease(client, headers, 3) == []
    clock.advance(seconds=client.app.state.ctx.config.reputation_forget_s - 60)
    headers = sign_in(client, W[4], issued_at=clock.now)  # the first session expired meanwhile
    assert lease(client, headers, 3) == []  # not yet
    clock.advance(seconds=61)
    assert {t["item_id"] for t in lease(client, headers, 3)} == set(seeded.items)


def test_the_next_update_after_the_pause_starts_from_the_prior(client: TestClient, signed_in: Any,
                                                               clock: Any) -> None:
    signed_in(W[5])
    ctx = client.app.state.ctx
    who = account_of(client, W[5])
    with ctx.db.write() as conn:
        for _ in range(6):
            reputation.record(conn, who, FAMILY, 0.0, clock.now, ctx.config)
        held = reputation.record(conn, who, FAMILY, 1.0, clock.now, ctx.config)
        later = clock.now + timedelta(seconds=ctx.config.reputation_forget_s)
        fresh = reputation.record(conn, who, FAMILY, 1.0, later, ctx.config)
    assert held[1] > 5  # the failures were still counted
    assert fresh == pytest.approx(reputation.decayed(*ctx.config.reputation_prior, 1.0, ctx.config))


def test_honeypot_statement_walks_the_index(client: TestClient, signed_in: Any) -> None:
    seeded = seed_request(db(client), items_n=50, gold_n=50)
    signed_in(W[3])
    params = {"request": seeded.request_id, "account": account_of(client, W[3]), "limit": 10, "draw": 12345}
    with db(client).write() as conn:
        compiled = routing._GOLD.compile(conn)
        sql = str(compiled)
        if conn.dialect.name == "sqlite":
            values = compiled.construct_params(params)
            plan = " | ".join(str(row[-1]) for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sql, tuple(values[name] for name in compiled.positiontup)))
            assert "SCAN items" not in plan and "ix_items_state_is_gold_request_id_rank" in plan, plan
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # a 100-row table: make the planner show its index
            rows = conn.exec_driver_sql("EXPLAIN " + sql, compiled.construct_params(params))
            plan = " | ".join(row[0] for row in rows)
            assert "Seq Scan on items" not in plan and "ix_items_state_is_gold_request_id_rank" in plan, plan
    with db(client).read() as conn:  # and it answers: ten distinct unseen honeypots, wrapping round
        got = [row.id for row in conn.execute(routing._GOLD, params)]
    assert len(set(got)) == 10 and set(got) <= set(seeded.gold)


def test_the_reclaim_sweep_runs_at_most_once_per_period() -> None:
    memo, t0 = LeaseMemo(), datetime(2026, 12, 6, tzinfo=timezone.utc)
    assert memo.reclaim_due(t0)
    assert not memo.reclaim_due(t0 + RECLAIM_EVERY / 2)
    assert memo.reclaim_due(t0 + RECLAIM_EVERY)
    assert memo.reclaim_due(t0 - timedelta(hours=1))  # a clock that went back sweeps at once


def test_request_specs_are_read_once_and_forgotten_past_capacity(client: TestClient) -> None:
    first = seed_request(db(client), items_n=1, labels=("car",)).request_id
    second = seed_request(db(client), items_n=1, labels=("bird",)).request_id
    memo = LeaseMemo(capacity=1)
    with db(client).read() as conn:
        assert memo.specs(conn, [first])[first][1]["classes"][0]["name"] == "car"
        both = memo.specs(conn, [first, second])  # over capacity: the map starts again
    assert [both[r][1]["classes"][0]["name"] for r in (first, second)] == ["car", "bird"]
    assert {modality.value for modality, _ in both.values()} == {"image"}
