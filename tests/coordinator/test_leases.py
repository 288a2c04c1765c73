"""Leasing: routing, nobody twice, k respected, expiry and reclaim, heartbeats, release,
honeypots at their rate and indistinguishable, energy, and what the index does."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text, update

from coordinator import reputation
from coordinator.db import aware
from coordinator.main import create_app
from coordinator.tables import items, leases, request_locks
from coordinator.tasks import routing
from tests.coordinator.contributor import lease, seed_request, submit
from tests.coordinator.wallets import Wallet, sign_in

W = [Wallet.numbered(100 + i) for i in range(10)]


def db(client: TestClient) -> Any:
    return client.app.state.ctx.db


def scalar(client: TestClient, stmt: Any) -> Any:
    with db(client).read() as conn:
        return conn.execute(stmt).scalar()


def state(client: TestClient) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    with db(client).read() as conn:
        lease_rows = conn.execute(select(leases.c.id, leases.c.state, leases.c.expires_at).order_by(leases.c.id)).all()
        item_rows = conn.execute(select(items.c.id, items.c.slots_open, items.c.submitted, items.c.lease_epoch)
                                 .order_by(items.c.id)).all()
    return tuple(lease_rows), tuple(item_rows)


@pytest.fixture
def seeded_rng(monkeypatch: pytest.MonkeyPatch) -> random.Random:
    rng = random.Random(20261125)
    monkeypatch.setattr(routing, "RNG", rng)
    return rng


def test_lease_grants_tasks_with_a_server_owned_expiry(client: TestClient, signed_in: Any, clock: Any) -> None:
    seeded = seed_request(db(client), items_n=5, redundancy=2)
    headers = signed_in(W[0])
    response = client.post("/v1/leases", json={"count": 3, "duration_s": 600}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    tasks = body["tasks"]
    assert len(tasks) == 3 and body["energy"] == client.app.state.ctx.config.energy_max - 3
    for task in tasks:
        assert task["item_id"] in seeded.items and task["request_id"] == seeded.request_id
        assert task["epoch"] == 1
        assert aware_iso(task["expires_at"]) == clock.now + timedelta(seconds=600)
        assert task["asset"]["url"] == f"/v1/assets/{task['asset']['id']}"
        assert task["label_schema"]["classes"][0]["name"] == "car" and task["modality"] == "image"
    assert scalar(client, select(func.sum(items.c.slots_open))) == 5 * 2 - 3
    listed = client.get("/v1/leases", headers=headers).json()
    assert sorted(t["lease_id"] for t in listed) == sorted(t["lease_id"] for t in tasks)


def aware_iso(value: str) -> datetime:
    return aware(datetime.fromisoformat(value.replace("Z", "+00:00")))


def test_nobody_gets_an_item_twice_and_k_is_respected(client: TestClient, signed_in: Any) -> None:
    seeded = seed_request(db(client), items_n=3, redundancy=2)
    got = [lease(client, signed_in(w), 10) for w in W[:3]]
    assert [len(t) for t in got] == [3, 3, 0]
    for tasks in got[:2]:
        assert sorted(t["item_id"] for t in tasks) == sorted(seeded.items)
    assert lease(client, signed_in(W[0]), 10) == []  # the same account again: nothing new
    per_item = Counter(row for row in scalar_all(client, select(leases.c.item_id)))
    assert set(per_item.values()) == {2}


def scalar_all(client: TestClient, stmt: Any) -> list[Any]:
    with db(client).read() as conn:
        return list(conn.execute(stmt).scalars())


def test_routing_by_tier_languages_and_skills(client: TestClient, signed_in: Any) -> None:
    plain = seed_request(db(client), items_n=2, redundancy=10).request_id
    tiered = seed_request(db(client), items_n=2, redundancy=10, requirements={"min_tier": 2}).request_id
    french = seed_request(db(client), items_n=2, redundancy=10, requirements={"languages": ["fr", "de"]}).request_id
    medical = seed_request(db(client), items_n=2, redundancy=10,
                           requirements={"skills": ["medical", "radiology"]}).request_id
    closed = seed_request(db(client), items_n=2, redundancy=10, status="closed").request_id

    def requests_for(wallet: Wallet, **account: Any) -> set[str]:
        return {t["request_id"] for t in lease(client, signed_in(wallet, **account), 50)}

    assert requests_for(W[0]) == {plain}
    assert requests_for(W[1], tier=2) == {plain, tiered}
    assert requests_for(W[2], languages=["de"]) == {plain, french}
    assert requests_for(W[3], skills=["medical"]) == {plain}  # all skills are needed
    assert requests_for(W[4], skills=["radiology", "medical", "x"], tier=5) == {plain, tiered, medical}
    assert closed not in requests_for(W[5], tier=10, languages=["fr"], skills=["medical", "radiology"])


def test_deadline_passed_and_request_filter(client: TestClient, signed_in: Any, clock: Any) -> None:
    soon = seed_request(db(client), items_n=2, deadline=clock.now + timedelta(minutes=10)).request_id
    later = seed_request(db(client), items_n=2).request_id
    headers, other = signed_in(W[0]), signed_in(W[1])  # sign-in messages carry real time: before the jump
    assert {t["request_id"] for t in lease(client, headers, 1)} == {soon}  # soonest deadline first
    assert {t["request_id"] for t in lease(client, headers, 5, request_id=later)} == {later}
    clock.advance(minutes=20)
    assert lease(client, other, 10, request_id=soon) == []


def test_locked_out_account_gets_nothing_from_that_request(client: TestClient, signed_in: Any) -> None:
    locked = seed_request(db(client), items_n=2).request_id
    other = seed_request(db(client), items_n=2).request_id
    headers = signed_in(W[0])
    account_id = account_of(client, W[0])
    with db(client).write() as conn:
        conn.execute(insert(request_locks).values(account_id=account_id, request_id=locked, reason="test",
                                                  created_at=client.app.state.ctx.now()))
    assert {t["request_id"] for t in lease(client, headers, 10)} == {other}


def account_of(client: TestClient, wallet: Wallet) -> int:
    from coordinator.tables import accounts
    return scalar(client, select(accounts.c.id).where(accounts.c.address == wallet.address))


def record_many(client: TestClient, wallet: Wallet, family: str, successes: list[float]) -> None:
    ctx = client.app.state.ctx
    with ctx.db.write() as conn:
        for s in successes:
            reputation.record(conn, account_of(client, wallet), family, s, ctx.now(), ctx.config)


def test_routing_uses_the_reputation_lower_bound(client: TestClient, signed_in: Any) -> None:
    seed_request(db(client), items_n=4, family="image:box")
    poor, newcomer = signed_in(W[0]), signed_in(W[1])
    record_many(client, W[0], "image:box", [0.0] * 6)
    record_many(client, W[0], "image:tag", [1.0] * 6)  # good elsewhere does not help here
    assert lease(client, poor, 10) == []
    assert len(lease(client, newcomer, 10)) == 4


def test_extra_annotator_items_go_to_high_reputation_first(client: TestClient, signed_in: Any) -> None:
    seeded = seed_request(db(client), items_n=6, redundancy=1)
    extra = seeded.items[0]  # at the head of the queue, as items that were leased first are
    with db(client).write() as conn:  # the quality step asked for one more annotator
        conn.execute(update(items).where(items.c.id == extra).values(needed=2, slots_open=1))
    expert, newcomer = signed_in(W[0]), signed_in(W[1])
    record_many(client, W[0], "image:tag", [1.0] * 60)
    assert reputation.lower_bound(*current(client, W[0])) >= routing.EXPERT_BOUND
    first = lease(client, newcomer, 3)
    assert extra not in {t["item_id"] for t in first}  # skipped by a newcomer while others are open
    assert extra in {t["item_id"] for t in lease(client, expert, 1)}
    # with nothing ordinary left, a newcomer still gets extras, so they never starve
    with db(client).write() as conn:
        conn.execute(update(items).where(items.c.id == seeded.items[5]).values(needed=2))
    rest = {t["item_id"] for t in lease(client, signed_in(W[2]), 10)}
    assert seeded.items[5] in rest


def current(client: TestClient, wallet: Wallet) -> tuple[float, float]:
    from coordinator.tables import reputations
    with db(client).read() as conn:
        return tuple(conn.execute(select(reputations.c.alpha, reputations.c.beta)
                                  .where(reputations.c.account_id == account_of(client, wallet))).one())


def test_expired_lease_is_reclaimed_and_goes_to_someone_else(client: TestClient, signed_in: Any,
                                                            clock: Any) -> None:
    seeded = seed_request(db(client), items_n=1, redundancy=1)
    first, second = signed_in(W[0]), signed_in(W[1])
    [task] = lease(client, first, 5, duration_s=60)
    assert lease(client, second, 5) == []
    clock.advance(seconds=61)
    [again] = lease(client, second, 5)
    assert again["item_id"] == seeded.items[0] and again["epoch"] == 2
    hb = client.post(f"/v1/leases/{task['lease_id']}/heartbeat", json={"epoch": 1}, headers=first)
    assert hb.status_code == 409 and hb.json()["error"] == "lease_expired"
    late = submit(client, first, W[0], task, ["car"])
    assert late.status_code == 409 and late.json()["error"] == "lease_expired"
    assert scalar(client, select(items.c.slots_open)) == 0


def test_heartbeat_renews_and_refuses(client: TestClient, signed_in: Any, clock: Any) -> None:
    seed_request(db(client), items_n=2, redundancy=1)
    mine, other = signed_in(W[0]), signed_in(W[1])
    task, closing = lease(client, mine, 2, duration_s=120)
    url = f"/v1/leases/{task['lease_id']}/heartbeat"
    clock.advance(seconds=100)
    ok = client.post(url, json={"epoch": task["epoch"], "duration_s": 300}, headers=mine)
    assert ok.status_code == 200, ok.text
    assert aware_iso(ok.json()["expires_at"]) == clock.now + timedelta(seconds=300)
    before = state(client)
    refusals = [
        (client.post(url, json={"epoch": task["epoch"] + 1}, headers=mine), 409, "stale_epoch"),
        (client.post(url, json={"epoch": task["epoch"]}, headers=other), 404, "not_found"),
        (client.post("/v1/leases/nope/heartbeat", json={"epoch": 1}, headers=mine), 404, "not_found"),
        (client.post(url, json={"epoch": task["epoch"], "duration_s": 10}, headers=mine), 422, "invalid_input"),
        (client.post(url, json={"epoch": True}, headers=mine), 422, "invalid_input"),
        (client.post(url, content=b"{not json", headers={**mine, "Content-Type": "application/json"}),
         422, "invalid_input"),
        (client.post(url, json={"epoch": task["epoch"]}), 401, "not_signed_in"),
    ]
    for response, status, code in refusals:
        assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert state(client) == before
    with db(client).write() as conn:
        conn.execute(update(items).where(items.c.id == closing["item_id"]).values(state="done"))
    closed = client.post(f"/v1/leases/{closing['lease_id']}/heartbeat", json={"epoch": closing["epoch"]},
                         headers=mine)
    assert closed.status_code == 409 and closed.json()["error"] == "item_closed"
    clock.advance(seconds=301)
    expired = client.post(url, json={"epoch": task["epoch"]}, headers=mine)
    assert expired.status_code == 409 and expired.json()["error"] == "lease_expired"


def test_release_gives_the_slot_to_someone_else(client: TestClient, signed_in: Any) -> None:
    seed_request(db(client), items_n=1, redundancy=1)
    first, second = signed_in(W[0]), signed_in(W[1])
    [task] = lease(client, first, 1)
    url = f"/v1/leases/{task['lease_id']}/release"
    assert client.post(url, headers=second).status_code == 404  # not theirs: nothing changes
    assert lease(client, second, 1) == []
    assert client.post(url, headers=first).status_code == 204
    assert client.post(url, headers=first).status_code == 204  # again: still given back, no change
    assert scalar(client, select(items.c.slots_open)) == 1
    assert len(lease(client, second, 1)) == 1
    assert lease(client, first, 1) == []  # given back is not leasable again by the same account
    late = submit(client, first, W[0], task, ["car"])
    assert late.status_code == 409 and late.json()["error"] == "lease_expired"


def test_honeypots_come_at_the_configured_rate(client: TestClient, signed_in: Any, seeded_rng: Any) -> None:
    seeded = seed_request(db(client), items_n=400, gold_n=400, gold_rate=0.25, redundancy=1)
    gold = set(seeded.gold)
    drawn = 0
    for wallet in W[:4]:
        tasks = lease(client, signed_in(wallet), 100)
        assert len(tasks) == 100
        drawn += sum(t["item_id"] in gold for t in tasks)
    # 400 draws at p = 0.25: mean 100, sd 8.7; a seeded RNG makes this exact run repeatable
    assert 70 <= drawn <= 130
    assert len(set(scalar_all(client, select(leases.c.item_id).where(leases.c.item_id.in_(gold))))) > 50


def test_gold_rate_zero_gives_no_honeypots(client: TestClient, signed_in: Any) -> None:
    seeded = seed_request(db(client), items_n=50, gold_n=50, gold_rate=0.0)
    tasks = lease(client, signed_in(W[0]), 50)
    assert len(tasks) == 50 and not {t["item_id"] for t in tasks} & set(seeded.gold)


def test_honeypots_are_indistinguishable(client: TestClient, signed_in: Any, seeded_rng: Any) -> None:
    seeded = seed_request(db(client), items_n=300, gold_n=300, gold_rate=0.5, redundancy=3)
    gold = set(seeded.gold)
    positions, epochs = Counter(), {True: set(), False: set()}
    for wallet in W[:6]:
        tasks = lease(client, signed_in(wallet), 20)
        for index, task in enumerate(tasks):
            is_gold = task["item_id"] in gold
            positions[(is_gold, index < 10)] += 1
            epochs[is_gold].add(task["epoch"])
            assert set(task) == {"item_id", "request_id", "lease_id", "epoch", "expires_at", "modality",
                                 "asset", "label_schema"}
            assert len(task["item_id"]) == 32 and len(task["lease_id"]) == 32
        assert len({t["expires_at"] for t in tasks}) == 1 and len({str(t["label_schema"]) for t in tasks}) == 1
    assert positions[(True, True)] > 10 and positions[(True, False)] > 10  # no ordering tell
    assert epochs[True] <= {1, 2, 3} and epochs[False] <= {1, 2, 3}


def test_gold_items_are_never_full(client: TestClient, signed_in: Any, seeded_rng: Any) -> None:
    seeded = seed_request(db(client), items_n=20, gold_n=1, gold_rate=0.5, redundancy=1)
    got = [t["item_id"] for w in W[:8] for t in lease(client, signed_in(w), 2)]
    assert got.count(seeded.gold[0]) > 1  # more accounts than its redundancy got the honeypot
    assert scalar(client, select(items.c.slots_open).where(items.c.id == seeded.gold[0])) == 1


def test_out_of_energy_is_429_with_retry_after(make_config: Any) -> None:
    with TestClient(create_app(make_config(energy_max=3, energy_regen_s=60))) as small:
        seed_request(db(small), items_n=10)
        headers = sign_in(small, W[0])
        assert len(lease(small, headers, 10)) == 3
        refused = small.post("/v1/leases", json={"count": 1}, headers=headers)
        assert refused.status_code == 429 and refused.json()["error"] == "out_of_energy"
        assert refused.headers["Retry-After"] == "60"
        assert scalar(small, select(func.count()).select_from(leases)) == 3


def test_lease_refuses_bad_input_and_roles(client: TestClient, signed_in: Any) -> None:
    seed_request(db(client), items_n=2)
    headers = signed_in(W[0])
    requester = signed_in(W[1], roles=["requester"])
    before = state(client)
    for body in ({"count": 0}, {"count": 101}, {"duration_s": 5}, {"count": "many"}, {"extra": 1}, [1],
                 {"count": True}, {"count": "5"}, {"duration_s": 600.0}):  # JSON integers only
        response = client.post("/v1/leases", json=body, headers=headers)
        assert response.status_code == 422 and response.json()["error"] == "invalid_input", body
    assert client.post("/v1/leases", json={}).status_code == 401
    assert client.post("/v1/leases", json={}, headers=requester).status_code == 403
    assert state(client) == before


def test_normal_item_query_walks_the_index_and_stops_at_limit(client: TestClient) -> None:
    seeded = seed_request(db(client), items_n=50)
    stmt = routing.normal_query(1, seeded.request_id, 3, 10, extras=False)
    with db(client).read() as conn:
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            plan = " | ".join(str(row[-1]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "ix_items_state_is_gold_request_id_rank" in plan and "TEMP B-TREE" not in plan, plan
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # a 50-row table: make the planner show its index
            plan = " | ".join(row[0] for row in conn.execute(text("EXPLAIN " + sql)))
            assert "ix_items_leasable" in plan and "Sort" not in plan, plan  # the partial index
            assert plan.lstrip().startswith("Limit"), plan
