"""The reputation math: the Beta lower bound, decay toward the prior, recording in the database,
and the honeypot lock-out."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from scipy.stats import beta as beta_dist
from sqlalchemy import select, update

from coordinator import reputation
from coordinator.tables import accounts, request_locks, reputations, submissions
from tests.coordinator.contributor import lease, seed_request, submit
from tests.coordinator.wallets import Wallet

ME = Wallet.numbered(300)


@pytest.mark.parametrize("alpha,beta", [(4, 1), (1, 1), (0.5, 0.5), (40, 3), (3, 40), (1000, 10), (2.5, 7.25)])
def test_lower_bound_is_the_beta_quantile(alpha: float, beta: float) -> None:
    assert reputation.lower_bound(alpha, beta) == pytest.approx(beta_dist.ppf(0.05, alpha, beta), abs=1e-9)


def test_lower_bound_is_monotone() -> None:
    up = [reputation.lower_bound(a, 2.0) for a in (1, 2, 4, 8, 16, 32)]
    down = [reputation.lower_bound(4.0, b) for b in (1, 2, 4, 8, 16, 32)]
    assert up == sorted(up) and len(set(up)) == len(up)
    assert down == sorted(down, reverse=True) and len(set(down)) == len(down)
    with pytest.raises(ValueError):
        reputation.lower_bound(0, 1)


def test_more_evidence_tightens_the_bound() -> None:
    # same mean (0.8), more evidence: the lower bound rises toward the mean
    bounds = [reputation.lower_bound(4 * n, n) for n in (1, 4, 16, 64)]
    assert bounds == sorted(bounds) and bounds[-1] < 0.8


def test_decay_pulls_toward_the_prior(make_config: Any) -> None:
    config = make_config(reputation_prior=(4.0, 1.0), reputation_decay=0.9)
    alpha, beta = 4.0, 1.0
    for _ in range(200):
        alpha, beta = reputation.decayed(alpha, beta, 1.0, config)
    # the evidence saturates at 1 / (1 - decay) = 10 successes on top of the prior
    assert alpha == pytest.approx(4 + 10, rel=1e-6) and beta == pytest.approx(1.0)
    for _ in range(200):  # a contributor who turned careless is seen as such, old merit fades
        alpha, beta = reputation.decayed(alpha, beta, 0.0, config)
    assert alpha == pytest.approx(4.0, rel=1e-6) and beta == pytest.approx(11.0, rel=1e-6)
    with pytest.raises(ValueError):
        reputation.decayed(4, 1, float("nan"), config)
    assert reputation.decayed(4, 1, 7.0, config) == reputation.decayed(4, 1, 1.0, config)  # clamped


def test_newcomer_is_routed(make_config: Any) -> None:
    config = make_config()
    assert reputation.prior_bound(config) >= config.min_reputation


def account_id(client: TestClient, wallet: Wallet) -> int:
    with client.app.state.ctx.db.read() as conn:
        return conn.execute(select(accounts.c.id).where(accounts.c.address == wallet.address)).scalar_one()


def test_record_keeps_counts_in_the_database(client: TestClient, signed_in: Any) -> None:
    signed_in(ME)
    ctx = client.app.state.ctx
    who = account_id(client, ME)
    with ctx.db.write() as conn:
        first = reputation.record(conn, who, "image:box", 1.0, ctx.now(), ctx.config, gold=True)
        second = reputation.record(conn, who, "image:box", 0.2, ctx.now(), ctx.config, gold=True)
        reputation.record(conn, who, "image:box", 0.9, ctx.now(), ctx.config)
        reputation.record(conn, who, "audio:segment", 0.0, ctx.now(), ctx.config)
    assert first == pytest.approx(reputation.decayed(*ctx.config.reputation_prior, 1.0, ctx.config))
    assert second == pytest.approx(reputation.decayed(*first, 0.2, ctx.config))
    with ctx.db.read() as conn:
        row = conn.execute(select(reputations).where(reputations.c.family == "image:box")).one()
        bounds = reputation.bounds(conn, who, ctx.config)
    assert (row.gold_seen, row.gold_failed) == (2, 1)
    assert set(bounds) == {"image:box", "audio:segment"}
    assert bounds["audio:segment"] < reputation.prior_bound(ctx.config)


def test_record_all_matches_one_by_one(client: TestClient, signed_in: Any) -> None:
    ctx = client.app.state.ctx
    signed_in(ME), signed_in(Wallet.numbered(301))
    a, b = account_id(client, ME), account_id(client, Wallet.numbered(301))
    with ctx.db.write() as conn:
        reputation.record_all(conn, [(b, "f", 0.0, True), (a, "f", 1.0, False), (a, "g", 0.5, False)],
                              ctx.now(), ctx.config)
        rows = {(r.account_id, r.family): (r.alpha, r.beta, r.gold_failed) for r in conn.execute(select(reputations))}
    prior = ctx.config.reputation_prior
    assert rows[(a, "f")][:2] == pytest.approx(reputation.decayed(*prior, 1.0, ctx.config))
    assert rows[(b, "f")] == pytest.approx((*reputation.decayed(*prior, 0.0, ctx.config), 1))
    assert rows[(a, "g")][:2] == pytest.approx(reputation.decayed(*prior, 0.5, ctx.config))


def test_honeypot_lockout(client: TestClient, signed_in: Any, clock: Any) -> None:
    """Three failed honeypots among the last five lock the account out of that request; two do
    not (a newcomer's first mistakes); passes in between keep the window honest."""
    seeded = seed_request(seeded_db(client), items_n=20)
    headers = signed_in(ME)
    tasks = lease(client, headers, 10)
    clock.advance(seconds=30)
    ids = [submit(client, headers, ME, t, ["car"]).json()["submission_id"] for t in tasks]
    ctx, who = client.app.state.ctx, account_id(client, ME)

    def judge(submission_id: str, outcome: str) -> bool:
        with ctx.db.write() as conn:
            conn.execute(update(submissions).where(submissions.c.submission_id == submission_id)
                         .values(outcome=outcome))
            return reputation.check_honeypot_lockout(conn, who, seeded.request_id, ctx.now(), ctx.config)

    assert not judge(ids[0], "gold_fail")
    assert not judge(ids[1], "gold_pass")
    assert not judge(ids[2], "gold_fail")
    assert not judge(ids[3], "agreed")  # not a gold result: does not count
    assert judge(ids[4], "gold_fail")
    assert judge(ids[5], "gold_fail")  # already locked: stays locked, no duplicate row
    with ctx.db.read() as conn:
        assert conn.execute(select(request_locks.c.reason)).scalars().all() == [
            "failed 3 of the last 4 gold items of this request"]
    assert lease(client, headers, 10) == []


def seeded_db(client: TestClient) -> Any:
    return client.app.state.ctx.db
