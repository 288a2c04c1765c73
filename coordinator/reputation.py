"""Reputation: a Beta posterior per (account, task family), with decay toward the prior.

Evidence is a success in [0, 1] per judged submission: a gold (honeypot) result, or agreement
with accepted consensus. Each update first pulls the old evidence toward the prior by
`config.reputation_decay`, so a contributor who improves (or gets careless) is seen within a
few dozen items, and the effective sample size stays bounded by 1 / (1 - decay).

Evidence that had no update for `config.reputation_forget_s` is forgotten: reads and the next
update start from the prior again. An account on probation in a request whose honeypots it has
all seen has no other way back.

Routing reads the 5 % quantile of the posterior (`lower_bound`): a newcomer (the prior) is
neither trusted like an expert nor banned on a couple of answers. `betaincinv` (scipy's
regularized incomplete beta inverse) is exact and costs a few microseconds; the values are
cached, since the same few (alpha, beta) pairs come back on every lease of an account.

Failing honeypots also locks an account out of the one data request whose gold it failed:
`config.honeypot_lockout = (failures, window)` — that many failures among its last `window`
gold results on that request.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from scipy.special import betaincinv
from sqlalchemy import Connection, Float, bindparam, case, desc, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from coordinator.config import CoordinatorConfig
from coordinator.db import aware
from coordinator.tables import items, reputations, request_locks, submissions

QUANTILE = 0.05
GOLD_OUTCOMES = ("gold_pass", "gold_fail")


@lru_cache(maxsize=8192)
def lower_bound(alpha: float, beta: float, quantile: float = QUANTILE) -> float:
    """The `quantile` of Beta(alpha, beta): what routing trusts an account to be at least."""
    if alpha <= 0 or beta <= 0:
        raise ValueError(f"Beta parameters must be positive, got ({alpha}, {beta})")
    return float(betaincinv(alpha, beta, quantile))


def mean(alpha: float, beta: float) -> float:
    return alpha / (alpha + beta)


def decayed(alpha: float, beta: float, success: float, config: CoordinatorConfig) -> tuple[float, float]:
    """The posterior after one more piece of evidence (the same arithmetic `record` runs in SQL)."""
    a0, b0 = config.reputation_prior
    d = config.reputation_decay
    s = _clamp(success)
    return a0 + d * (alpha - a0) + s, b0 + d * (beta - b0) + (1.0 - s)


def remembered(updated_at: datetime, now: datetime, config: CoordinatorConfig) -> bool:
    """False when evidence last updated at `updated_at` is forgotten by `now`."""
    return (now - aware(updated_at)).total_seconds() < config.reputation_forget_s


def bounds(conn: Connection, account_id: int, config: CoordinatorConfig) -> dict[str, float]:
    """Lower bound per family this account has evidence in; other families read as the prior."""
    rows = conn.execute(select(reputations.c.family, reputations.c.alpha, reputations.c.beta)
                        .where(reputations.c.account_id == account_id))
    return {family: lower_bound(alpha, beta) for family, alpha, beta in rows}


def prior_bound(config: CoordinatorConfig) -> float:
    return lower_bound(*config.reputation_prior)


def record(conn: Connection, account_id: int, family: str, success: float, now: datetime,
           config: CoordinatorConfig, gold: bool = False) -> tuple[float, float]:
    """Adds one judged submission to the account's posterior for `family`; returns (alpha, beta)."""
    record_all(conn, [(account_id, family, success, gold)], now, config)
    key = (reputations.c.account_id == account_id) & (reputations.c.family == family)
    alpha, beta = conn.execute(select(reputations.c.alpha, reputations.c.beta).where(key)).one()
    return alpha, beta


def record_all(conn: Connection, evidence: Iterable[tuple[int, str, float, bool]], now: datetime,
               config: CoordinatorConfig) -> None:
    """Adds (account_id, family, success, gold) evidence: rows created where missing in one
    INSERT, then one conditional UPDATE per piece (an executemany, no read-back) that does the
    decay and the count in SQL, so concurrent judgements never lose an update. Applied in
    (account, family) order, pieces of one key in the order given: the one lock order that
    keeps two transactions settling overlapping annotators from deadlocking on PostgreSQL."""
    ordered = sorted(evidence, key=lambda e: (e[0], e[1]))  # stable: one key keeps its order
    if not ordered:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    a0, b0 = config.reputation_prior
    keys = sorted({(account_id, family) for account_id, family, *_ in ordered})
    conn.execute(insert(reputations).on_conflict_do_nothing(
        index_elements=[reputations.c.account_id, reputations.c.family]),
        [dict(account_id=a, family=f, alpha=a0, beta=b0, gold_seen=0, gold_failed=0, updated_at=now) for a, f in keys])
    cut = now - timedelta(seconds=config.reputation_forget_s)  # older evidence is forgotten
    params = []
    for account_id, family, success, gold in ordered:
        s = _clamp(success)
        params.append(dict(b_account=account_id, b_family=family, b_s=s, b_fail=1.0 - s, b_gold=int(gold),
                           b_failed=int(gold and s < config.gold_pass_score), b_now=now,
                           b_a0=a0, b_b0=b0, b_d=config.reputation_decay, b_cut=cut))
    conn.execute(_RECORD, params)


def _f(name: str) -> Any:
    return bindparam(name, type_=Float)


_RECORD = update(reputations).where(
    reputations.c.account_id == bindparam("b_account"), reputations.c.family == bindparam("b_family"),
).values(
    # evidence with no update since the cut-off starts again from the prior (a way back from the floor)
    alpha=case((reputations.c.updated_at <= bindparam("b_cut"), _f("b_a0")),
               else_=_f("b_a0") + _f("b_d") * (reputations.c.alpha - _f("b_a0"))) + _f("b_s"),
    beta=case((reputations.c.updated_at <= bindparam("b_cut"), _f("b_b0")),
              else_=_f("b_b0") + _f("b_d") * (reputations.c.beta - _f("b_b0"))) + _f("b_fail"),
    gold_seen=reputations.c.gold_seen + bindparam("b_gold"),
    gold_failed=reputations.c.gold_failed + bindparam("b_failed"),
    updated_at=bindparam("b_now"),
)


def check_honeypot_lockout(conn: Connection, account_id: int, request_id: str, now: datetime,
                           config: CoordinatorConfig) -> bool:
    """Locks the account out of `request_id` when its recent gold results there are too often
    failures; True when it is (or already was) locked. Call after the submission's `outcome`
    is set to gold_pass / gold_fail. A newcomer's first failures stay below the threshold."""
    failures, window = config.honeypot_lockout
    recent = conn.execute(
        select(submissions.c.outcome)
        .join(items, items.c.id == submissions.c.item_id)
        .where(submissions.c.account_id == account_id, items.c.request_id == request_id,
               submissions.c.outcome.in_(GOLD_OUTCOMES))
        .order_by(desc(submissions.c.id)).limit(window)
    ).scalars().all()
    failed = sum(1 for outcome in recent if outcome == "gold_fail")
    if failed < failures:
        return False
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(request_locks).values(
        account_id=account_id, request_id=request_id, created_at=now,
        reason=f"failed {failed} of the last {len(recent)} gold items of this request",
    ).on_conflict_do_nothing(index_elements=[request_locks.c.account_id, request_locks.c.request_id]))
    return True


def _clamp(success: float) -> float:
    value = float(success)
    if value != value:  # NaN: no evidence either way is safer than a poisoned posterior
        raise ValueError("success must be a number in [0, 1], got NaN")
    return min(1.0, max(0.0, value))
