"""Which tasks an account may get: eligible requests, normal items in queue order, honeypots.

Rules, in order:
- A request is eligible when it is open, before its deadline, its minimum tier is met, the
  account has one of its languages (if it lists any) and all its skills, and the account is
  not locked out of it. Eligible requests are served soonest deadline first, then oldest
  first; within a request, items go by `rank`.
- An account whose reputation lower bound for the request's family is below
  `config.min_reputation` is on probation there: it gets only that request's honeypots, after
  any normal work from other requests. Passing them raises the bound (see `reputation`), which
  is the way back, as is time (evidence is forgotten after `config.reputation_forget_s`);
  failing them leads to the request's lock-out.
- Items that need extra annotators after a disagreement (`needed > redundancy`) go first to
  accounts whose lower bound is at least `EXPERT_BOUND`: they take the queue as it comes (those
  items sit near its head, since they were leased first). Everyone else skips them, and gets
  them only when nothing ordinary is left, so that they do not starve.
- Each slot of a batch becomes a gold item with its request's `gold_rate` (a draw the client
  cannot predict: `secrets.SystemRandom`). Gold items are never full: each eligible account
  may get each once; which one is random (a random point in rank order, wrapping round).

Every query walks the `items(state, is_gold, request_id, rank)` index of one request in rank
order and stops at its LIMIT: leasing stays cheap however many items are open. The statements
are built once (building one costs more than running it) and carry what the answer needs
(the asset), so that a lease call runs a handful of statements.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection, Integer, Select, and_, bindparam, false, literal_column, or_, select, true, union_all,
)

from coordinator import reputation
from coordinator.config import CoordinatorConfig
from coordinator.db import CoordinatorDB
from coordinator.security import Principal
from coordinator.tables import assets, data_requests, items, leases, profiles, reputations, request_locks

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
    probation: bool = False  # below the floor: honeypots only


@dataclass(frozen=True)
class Candidate:
    item_id: str
    request_id: str
    asset_id: str
    sha256: str
    size: int
    media_type: str
    gold: bool


@dataclass(frozen=True)
class AccountView:
    """What one statement tells about an account at the start of a lease call."""
    requests: list[Eligible]
    energy: tuple[int, datetime] | None  # (energy, energy_at) as stored; None: no profile yet


def _view_query(only: bool) -> Select:
    """The account's profile and its open requests with its reputation in each one's family, in
    one statement: both are outer-joined to a one-row anchor, so the answer has a row even when
    no request is eligible (that row has no request id) or the account has no profile yet."""
    r, account = data_requests.c, bindparam("account", type_=Integer)
    locked = (select(request_locks.c.request_id)
              .where(request_locks.c.account_id == account, request_locks.c.request_id == r.id).exists())
    open_now = and_(r.status == OPEN, or_(r.deadline.is_(None), r.deadline > bindparam("now")),
                    r.min_tier <= bindparam("tier"), ~locked)
    if only:
        open_now = and_(open_now, r.id == bindparam("only"))
    eligible = (select(r.id, r.family, r.redundancy, r.gold_rate, r.languages, r.skills, r.deadline, r.created_at,
                       reputations.c.alpha, reputations.c.beta, reputations.c.updated_at)
                .select_from(data_requests.outerjoin(
                    reputations, and_(reputations.c.account_id == account, reputations.c.family == r.family)))
                .where(open_now).subquery("eligible"))
    anchor = select(account.label("account_id")).subquery("me")
    joined = (anchor.outerjoin(profiles, profiles.c.account_id == anchor.c.account_id)
              .outerjoin(eligible, true()))
    e = eligible.c
    return (select(profiles.c.energy, profiles.c.energy_at, e.id, e.family, e.redundancy, e.gold_rate, e.languages,
                   e.skills, e.alpha, e.beta, e.updated_at)
            .select_from(joined).order_by(e.deadline.asc().nulls_last(), e.created_at, e.id))


_VIEW = {only: _view_query(only) for only in (False, True)}


def account_view(conn: Connection, principal: Principal, now: datetime, config: CoordinatorConfig,
                 only: str | None = None) -> AccountView:
    params = {"account": principal.account_id, "now": now, "tier": principal.tier, "only": only}
    rows = conn.execute(_VIEW[only is not None], params).all()
    energy = (rows[0].energy, rows[0].energy_at) if rows and rows[0].energy is not None else None
    prior = reputation.prior_bound(config)
    languages, skills = set(principal.languages), set(principal.skills)
    found = []
    for row in rows:
        if row.id is None:  # the anchor row: nothing is eligible
            continue
        if row.languages and not languages.intersection(row.languages):
            continue
        if not set(row.skills) <= skills:
            continue
        known = row.alpha is not None and reputation.remembered(row.updated_at, now, config)
        bound = reputation.lower_bound(row.alpha, row.beta) if known else prior
        found.append(Eligible(row.id, row.family, row.redundancy, row.gold_rate, bound,
                              probation=bound < config.min_reputation))
    return AccountView(found, energy)


def normal_candidates(conn: Connection, db: CoordinatorDB, account_id: int, requests: list[Eligible],
                      count: int) -> list[Candidate]:
    """Up to `count` items with an open slot that this account never leased, locked for us
    (`FOR UPDATE SKIP LOCKED` on PostgreSQL: concurrent lessors pass each other by). Requests
    on probation give none."""
    routed = [req for req in requests if not req.probation]
    found: list[Candidate] = []
    for req in routed:
        want = count - len(found)
        if want <= 0:
            break
        expert = req.bound >= EXPERT_BOUND
        found += _normal(conn, db, account_id, req, want, extras=None if expert else False)
    for req in routed:  # nothing ordinary left: the extra-annotator items, to anyone eligible
        want = count - len(found)
        if want <= 0:
            break
        if req.bound < EXPERT_BOUND:
            found += _normal(conn, db, account_id, req, want, extras=True)
    return found


_CANDIDATE_COLUMNS = (items.c.id, items.c.request_id, items.c.asset_id, assets.c.sha256, assets.c.size,
                      assets.c.media_type)


def normal_query(account_id: Any, request_id: Any, redundancy: Any, limit: Any, extras: bool | None = None) -> Select:
    """Open normal items of one request with a free slot that this account never leased, in
    rank order, with their assets; `extras` True: only those that need extra annotators,
    False: none of them."""
    stmt = (select(*_CANDIDATE_COLUMNS).join(assets, assets.c.id == items.c.asset_id)
            .where(items.c.state == OPEN, items.c.is_gold == false(), items.c.request_id == request_id,
                   items.c.slots_open > ZERO, ~_leased_by(account_id))
            .order_by(items.c.rank).limit(limit))
    if extras is not None:
        stmt = stmt.where(items.c.needed > redundancy if extras else items.c.needed <= redundancy)
    return stmt


_PREPARED: dict[tuple[bool | None, bool], Any] = {}  # built once per variant and backend


def _normal(conn: Connection, db: CoordinatorDB, account_id: int, req: Eligible, limit: int,
            extras: bool | None) -> list[Candidate]:
    key = (extras, db.is_sqlite)
    if key not in _PREPARED:
        query = normal_query(bindparam("account"), bindparam("request"), bindparam("k"), bindparam("limit"), extras)
        _PREPARED[key] = query if db.is_sqlite else query.with_for_update(of=items, skip_locked=True)
    rows = conn.execute(_PREPARED[key], {"account": account_id, "request": req.id, "k": req.redundancy,
                                         "limit": limit})
    return [_candidate(row, gold=False) for row in rows]


def _candidate(row: Any, gold: bool) -> Candidate:
    return Candidate(row.id, row.request_id, row.asset_id, row.sha256, row.size, row.media_type, gold)


def _leased_by(account_id: Any) -> Any:
    return (select(leases.c.id)
            .where(leases.c.item_id == items.c.id, leases.c.account_id == account_id).exists())


def mix_in_gold(conn: Connection, account_id: int, requests: list[Eligible], chosen: list[Candidate],
                count: int) -> list[Candidate]:
    """Each slot turns into a gold item of the same request with the request's gold rate;
    where no unseen gold is left, the slot keeps its normal item. Slots still empty (up to
    `count`) take honeypots of the requests on probation."""
    by_id = {req.id: req for req in requests}
    draws: dict[str, list[int]] = {}
    for index, cand in enumerate(chosen):
        if RNG.random() < by_id[cand.request_id].gold_rate:
            draws.setdefault(cand.request_id, []).append(index)
    mixed = list(chosen)
    for request_id, slots in draws.items():
        for index, gold in zip(slots, gold_items(conn, account_id, request_id, len(slots))):
            mixed[index] = gold
    for req in requests:
        if len(mixed) >= count:
            break
        if req.probation:
            mixed += gold_items(conn, account_id, req.id, count - len(mixed))
    return mixed


def _gold_query() -> Any:
    """Unseen gold items of a request from a random point in rank order, wrapping round, in one
    statement: the point is `low + :draw % (high - low + 1)` (two index seeks), then two
    bounded walks, from the point up and from the start up to it."""
    base = (items.c.state == OPEN) & (items.c.is_gold == true()) & (items.c.request_id == bindparam("request"))
    rank = select(items.c.rank).where(base).limit(1)
    low, high = rank.order_by(items.c.rank).scalar_subquery(), rank.order_by(items.c.rank.desc()).scalar_subquery()
    start = select((low + bindparam("draw") % (high - low + 1)).label("start")).cte("start")
    unseen = (select(*_CANDIDATE_COLUMNS, items.c.rank).join(assets, assets.c.id == items.c.asset_id)
              .where(base, ~_leased_by(bindparam("account"))).order_by(items.c.rank).limit(bindparam("limit")))
    after = unseen.where(items.c.rank >= select(start.c.start).scalar_subquery()).subquery("after")
    before = unseen.where(items.c.rank < select(start.c.start).scalar_subquery()).subquery("before")
    both = union_all(select(after, literal_column("0").label("lap")),
                     select(before, literal_column("1").label("lap"))).subquery("both")
    return select(both).order_by(both.c.lap, both.c.rank).limit(bindparam("limit"))


_GOLD = _gold_query()


def gold_items(conn: Connection, account_id: int, request_id: str, count: int) -> list[Candidate]:
    """`count` gold items of the request this account never leased, from a random point."""
    rows = conn.execute(_GOLD, {"request": request_id, "account": account_id, "limit": count,
                                "draw": RNG.getrandbits(62)})
    return [_candidate(row, gold=True) for row in rows]


def gold_epoch(requests: list[Eligible], request_id: str) -> int:
    """The fencing epoch shown for a gold lease. A normal item's epoch counts its grants (1..k
    for most); a gold item is granted to everyone, so its own counter would give it away.
    Its epoch is drawn from what a normal item of the request shows instead; the lease row
    keeps it, and the submission is fenced by the lease's epoch like any other."""
    redundancy = next(req.redundancy for req in requests if req.id == request_id)
    return 1 + RNG.randrange(max(1, redundancy))

