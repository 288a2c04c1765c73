"""Which tasks an account may get: eligible requests, normal items in queue order, honeypots.

Rules, in order:
- A request is eligible when it is open, before its deadline, its minimum tier is met, the
  account has one of its languages (if it lists any) and all its skills, the account is not
  locked out of it, and the account's reputation lower bound for the request's family is at
  least `config.min_reputation`. Eligible requests are served soonest deadline first, then
  oldest first; within a request, items go by `rank`.
- Items that need extra annotators after a disagreement (`needed > redundancy`) go first to
  accounts whose lower bound is at least `EXPERT_BOUND`: they take the queue as it comes (those
  items sit near its head, since they were leased first). Everyone else skips them, and gets
  them only when nothing ordinary is left, so that they do not starve.
- Each slot of a batch becomes a gold item with its request's `gold_rate` (a draw the client
  cannot predict: `secrets.SystemRandom`). Gold items are never full: each eligible account
  may get each once; which one is random (a random point in rank order, wrapping round).

Every query walks the `items(state, is_gold, request_id, rank)` index of one request in rank
order and stops at its LIMIT: leasing stays cheap however many items are open.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, desc, false, literal_column, or_, select, true

from coordinator import reputation
from coordinator.config import CoordinatorConfig
from coordinator.db import CoordinatorDB
from coordinator.security import Principal
from coordinator.tables import data_requests, items, leases, request_locks

EXPERT_BOUND = 0.8
RNG: random.Random = secrets.SystemRandom()  # tests may put a seeded random.Random here
# literals, not parameters, so that a partial index on these predicates can serve the query
OPEN, ZERO = literal_column("'open'"), literal_column("0")


@dataclass(frozen=True)
class Eligible:
    id: str
    family: str
    redundancy: int
    gold_rate: float
    bound: float  # the account's reputation lower bound for this request's family


@dataclass(frozen=True)
class Candidate:
    item_id: str
    request_id: str
    asset_id: str
    gold: bool


def eligible_requests(conn: Connection, principal: Principal, now: datetime, config: CoordinatorConfig,
                      only: str | None = None) -> list[Eligible]:
    locked = (select(request_locks.c.request_id)
              .where(request_locks.c.account_id == principal.account_id,
                     request_locks.c.request_id == data_requests.c.id).exists())
    r = data_requests.c
    stmt = (select(r.id, r.family, r.redundancy, r.gold_rate, r.languages, r.skills)
            .where(r.status == "open", or_(r.deadline.is_(None), r.deadline > now),
                   r.min_tier <= principal.tier, ~locked)
            .order_by(r.deadline.asc().nulls_last(), r.created_at, r.id))
    if only is not None:
        stmt = stmt.where(r.id == only)
    known = reputation.bounds(conn, principal.account_id, config)
    prior = reputation.prior_bound(config)
    languages, skills = set(principal.languages), set(principal.skills)
    found = []
    for row in conn.execute(stmt):
        if row.languages and not languages.intersection(row.languages):
            continue
        if not set(row.skills) <= skills:
            continue
        bound = known.get(row.family, prior)
        if bound >= config.min_reputation:
            found.append(Eligible(row.id, row.family, row.redundancy, row.gold_rate, bound))
    return found


def normal_candidates(conn: Connection, db: CoordinatorDB, account_id: int, requests: list[Eligible],
                      count: int) -> list[Candidate]:
    """Up to `count` items with an open slot that this account never leased, locked for us
    (`FOR UPDATE SKIP LOCKED` on PostgreSQL: concurrent lessors pass each other by)."""
    found: list[Candidate] = []
    for req in requests:
        want = count - len(found)
        if want <= 0:
            break
        expert = req.bound >= EXPERT_BOUND
        found += _normal(conn, db, account_id, req, want, extras=None if expert else False)
    for req in requests:  # nothing ordinary left: the extra-annotator items, to anyone eligible
        want = count - len(found)
        if want <= 0:
            break
        if req.bound < EXPERT_BOUND:
            found += _normal(conn, db, account_id, req, want, extras=True)
    return found


def normal_query(account_id: Any, request_id: Any, redundancy: Any, limit: Any, extras: bool | None = None) -> Select:
    """Open normal items of one request with a free slot that this account never leased, in
    rank order; `extras` True: only those that need extra annotators, False: none of them."""
    stmt = (select(items.c.id, items.c.request_id, items.c.asset_id)
            .where(items.c.state == OPEN, items.c.is_gold == false(), items.c.request_id == request_id,
                   items.c.slots_open > ZERO, ~_leased_by(account_id))
            .order_by(items.c.rank).limit(limit))
    if extras is not None:
        stmt = stmt.where(items.c.needed > redundancy if extras else items.c.needed <= redundancy)
    return stmt


_PREPARED: dict[tuple[bool | None, bool], Any] = {}  # built once per variant: building costs more than running


def _normal(conn: Connection, db: CoordinatorDB, account_id: int, req: Eligible, limit: int,
            extras: bool | None) -> list[Candidate]:
    key = (extras, db.is_sqlite)
    if key not in _PREPARED:
        query = normal_query(bindparam("account"), bindparam("request"), bindparam("k"), bindparam("limit"), extras)
        _PREPARED[key] = db.for_update(query, skip_locked=True)
    rows = conn.execute(_PREPARED[key], {"account": account_id, "request": req.id, "k": req.redundancy,
                                         "limit": limit})
    return [Candidate(row.id, row.request_id, row.asset_id, gold=False) for row in rows]


def _leased_by(account_id: Any) -> Any:
    return (select(leases.c.id)
            .where(leases.c.item_id == items.c.id, leases.c.account_id == account_id).exists())


def mix_in_gold(conn: Connection, account_id: int, requests: list[Eligible],
                chosen: list[Candidate]) -> list[Candidate]:
    """Each slot turns into a gold item of the same request with the request's gold rate;
    where no unseen gold is left, the slot keeps its normal item."""
    by_id = {req.id: req for req in requests}
    draws: dict[str, list[int]] = {}
    for index, cand in enumerate(chosen):
        if RNG.random() < by_id[cand.request_id].gold_rate:
            draws.setdefault(cand.request_id, []).append(index)
    mixed = list(chosen)
    for request_id, slots in draws.items():
        for index, gold in zip(slots, _gold_items(conn, account_id, request_id, len(slots))):
            mixed[index] = gold
    return mixed


def _gold_items(conn: Connection, account_id: int, request_id: str, count: int) -> list[Candidate]:
    """`count` gold items of the request this account never leased, from a random point in
    rank order (two index seeks for the range, then one or two bounded walks)."""
    base = (select(items.c.id, items.c.request_id, items.c.asset_id, items.c.rank)
            .where(items.c.state == "open", items.c.is_gold == true(), items.c.request_id == request_id))
    low = conn.execute(base.order_by(items.c.rank).limit(1)).first()
    if low is None:
        return []
    high = conn.execute(base.order_by(desc(items.c.rank)).limit(1)).first()
    start = RNG.randint(low.rank, high.rank)
    unseen: Select = base.where(~_leased_by(account_id))
    rows = list(conn.execute(unseen.where(items.c.rank >= start).order_by(items.c.rank).limit(count)))
    if len(rows) < count:
        rows += conn.execute(unseen.where(items.c.rank < start).order_by(items.c.rank).limit(count - len(rows)))
    return [Candidate(row.id, row.request_id, row.asset_id, gold=True) for row in rows]


def gold_epoch(requests: list[Eligible], request_id: str) -> int:
    """The fencing epoch shown for a gold lease. A normal item's epoch counts its grants (1..k
    for most); a gold item is granted to everyone, so its own counter would give it away.
    Its epoch is drawn from what a normal item of the request shows instead; the lease row
    keeps it, and the submission is fenced by the lease's epoch like any other."""
    redundancy = next(req.redundancy for req in requests if req.id == request_id)
    return 1 + RNG.randrange(max(1, redundancy))
