"""Leases: grant a routed batch, renew by heartbeat, give back, reclaim when expired.

The server owns lease time (`expires_at` from `ctx.now()`); each grant of a normal item bumps
the item's `lease_epoch`, and the lease keeps that epoch as its fencing token: a heartbeat or a
submission with another epoch gets 409. A normal item's `slots_open` counts what it can still
hand out (needed - live leases - counted submissions); every change to it is a conditional
UPDATE, so concurrent lessors, expiries and releases never double-count. Lease states:
active -> submitted | expired (reclaimed by a lease call, at most a second late) | released (given back).

PostgreSQL lock order: leasing takes items with `FOR UPDATE SKIP LOCKED` (it never waits on
an item); everything that does wait on items (reclaim, release, submissions) takes them in id
order. What still deadlocks, or hits a unique constraint through a concurrent twin, is run
again by `CoordinatorDB.retried`.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, false, insert, select, update

from app.sync.wire import AssetRef, HeartbeatIn, HeartbeatOut, LeaseIn, LeaseOut, Modality, TaskOut
from coordinator.context import Ctx
from coordinator.db import aware
from coordinator.errors import ApiError
from coordinator.ledger import game
from coordinator.security import Principal
from coordinator.tables import assets, items, leases
from coordinator.tasks import routing

log = logging.getLogger(__name__)
MAX_LISTED = 1000


_INSERT_LEASES = insert(leases)
_EXPIRE = (update(leases).where(leases.c.state == "active", leases.c.expires_at <= bindparam("now"))
           .values(state="expired").returning(leases.c.item_id))


def reclaim_expired(conn: Connection, now: datetime) -> int:
    """Expired leases give their normal item's slot back. Each lease row flips once (the
    UPDATE's WHERE is re-checked under its row lock), so each slot comes back exactly once."""
    expired = conn.execute(_EXPIRE, {"now": now}).scalars().all()
    _reopen(conn, expired)
    return len(expired)


_REOPEN = (update(items).where(items.c.id == bindparam("item"), items.c.is_gold == false())
           .values(slots_open=items.c.slots_open + 1))


def _reopen(conn: Connection, item_ids: Iterable[str]) -> None:
    """One slot back per lease (an item may come back twice: one UPDATE per lease, not an IN)."""
    ordered = sorted(item_ids)  # one lock order everywhere: no deadlock between reopeners
    if ordered:
        conn.execute(_REOPEN, [{"item": item_id} for item_id in ordered])


def lease(ctx: Ctx, principal: Principal, body: LeaseIn) -> LeaseOut:
    return ctx.db.retried(lambda conn: _lease(conn, ctx, principal, body, ctx.now()))


def _lease(conn: Connection, ctx: Ctx, principal: Principal, body: LeaseIn, now: datetime) -> LeaseOut:
    """A handful of statements: reclaim, the account's view, its candidates (and honeypots
    when drawn), the claim, the leases, the energy."""
    cfg, account_id = ctx.config, principal.account_id
    if ctx.leasing.reclaim_due(now):
        reclaim_expired(conn, now)
    view = routing.account_view(conn, principal, now, cfg, body.request_id)
    energy, _ = game.regenerated(*view.energy, now, cfg) if view.energy else (cfg.energy_max, now)
    # an empty bar still looks for work, so that "nothing to do" is not reported as "no energy"
    want = min(body.count, max(energy, 1))
    chosen = routing.normal_candidates(conn, ctx.db, account_id, view.requests, want)
    chosen = routing.mix_in_gold(conn, account_id, view.requests, chosen, want)
    if chosen and energy == 0:
        raise ApiError(429, "out_of_energy", "no energy left: it regenerates over time",
                       {"Retry-After": str(max(1, math.ceil(cfg.energy_regen_s)))})
    granted = _grant(conn, view.requests, chosen, account_id, now + timedelta(seconds=body.duration_s), now)
    if granted:
        energy = game.spend_seen(conn, account_id, view.energy, len(granted), now, cfg)
    specs = ctx.leasing.specs(conn, {cand.request_id for cand, _ in granted})
    tasks = [_task(cand, row["id"], row["epoch"], row["expires_at"], specs[cand.request_id])
             for cand, row in granted]
    routing.RNG.shuffle(tasks)  # no ordering tell between gold and normal tasks
    return LeaseOut(tasks=tasks, energy=energy)


def _grant(conn: Connection, requests: list[routing.Eligible], chosen: list[routing.Candidate], account_id: int,
           expires: datetime, now: datetime) -> list[tuple[routing.Candidate, dict[str, Any]]]:
    """Claims the normal items' slots and writes a lease per task (one statement each)."""
    epochs = _claim(conn, [cand.item_id for cand in chosen if not cand.gold])
    granted = []
    for cand in chosen:
        epoch = routing.gold_epoch(requests, cand.request_id) if cand.gold else epochs.get(cand.item_id)
        if epoch is not None:  # None: the slot went meanwhile (cannot happen under our row locks)
            granted.append((cand, dict(id=secrets.token_hex(16), item_id=cand.item_id, account_id=account_id,
                                       epoch=epoch, state="active", expires_at=expires, created_at=now)))
    if granted:
        conn.execute(_INSERT_LEASES, [row for _, row in granted])  # executemany: one INSERT where it can be
    return granted


_CLAIM = (update(items).where(items.c.id.in_(bindparam("ids", expanding=True)), items.c.slots_open > 0)
          .values(slots_open=items.c.slots_open - 1, lease_epoch=items.c.lease_epoch + 1)
          .returning(items.c.id, items.c.lease_epoch))


def _claim(conn: Connection, item_ids: list[str]) -> dict[str, int]:
    """Takes one slot of each normal item, in one statement; item id -> its new epoch. An item
    without a slot left is missing from the answer (the WHERE is re-checked under the row lock)."""
    if not item_ids:
        return {}
    return {row.id: row.lease_epoch for row in conn.execute(_CLAIM, {"ids": item_ids})}


def _task(cand: routing.Candidate, lease_id: str, epoch: int, expires_at: datetime,
          spec: tuple[Modality, dict[str, Any]]) -> TaskOut:
    """Built from our own rows: no need to validate them again."""
    modality, label_schema = spec
    return TaskOut.model_construct(
        item_id=cand.item_id, request_id=cand.request_id, lease_id=lease_id, epoch=epoch,
        expires_at=aware(expires_at), modality=modality,
        asset=AssetRef.model_construct(id=cand.asset_id, sha256=cand.sha256, size=cand.size,
                                       media_type=cand.media_type, url=f"/v1/assets/{cand.asset_id}"),
        label_schema=label_schema)


_ACTIVE = (select(leases.c.id.label("lease_id"), leases.c.epoch, leases.c.expires_at, items.c.id, items.c.request_id,
                  items.c.asset_id, assets.c.sha256, assets.c.size, assets.c.media_type)
           .join(items, items.c.id == leases.c.item_id).join(assets, assets.c.id == items.c.asset_id)
           .where(leases.c.account_id == bindparam("account"), leases.c.state == "active",
                  leases.c.expires_at > bindparam("now"))
           .order_by(leases.c.expires_at, leases.c.id).limit(MAX_LISTED))


def active_leases(ctx: Ctx, principal: Principal) -> list[TaskOut]:
    with ctx.db.read() as conn:
        rows = conn.execute(_ACTIVE, {"account": principal.account_id, "now": ctx.now()}).all()
        specs = ctx.leasing.specs(conn, {row.request_id for row in rows})
    return [_task(routing.Candidate(row.id, row.request_id, row.asset_id, row.sha256, row.size, row.media_type,
                                    gold=False),  # whether it is gold is never shown
                  row.lease_id, row.epoch, row.expires_at, specs[row.request_id]) for row in rows]


def _mine(conn: Connection, principal: Principal, lease_id: str) -> Any:
    """The lease with its item's state, locked on PostgreSQL; 404 when it is not this account's
    (another user's lease looks exactly like one that does not exist)."""
    stmt = (select(leases.c.id, leases.c.item_id, leases.c.epoch, leases.c.state, leases.c.expires_at,
                   items.c.state.label("item_state"), items.c.is_gold)
            .join(items, items.c.id == leases.c.item_id)
            .where(leases.c.id == lease_id, leases.c.account_id == principal.account_id))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=leases)
    row = conn.execute(stmt).first()
    if row is None:
        raise ApiError(404, "not_found", f"no lease {lease_id} of yours")
    return row


def heartbeat(ctx: Ctx, principal: Principal, lease_id: str, body: HeartbeatIn) -> HeartbeatOut:
    return ctx.db.retried(lambda conn: _heartbeat(conn, principal, lease_id, body, ctx.now()))


def _heartbeat(conn: Connection, principal: Principal, lease_id: str, body: HeartbeatIn,
               now: datetime) -> HeartbeatOut:
    row = _mine(conn, principal, lease_id)
    if body.epoch != row.epoch:
        raise ApiError(409, "stale_epoch", f"the lease's epoch is {row.epoch}, not {body.epoch}")
    if row.state == "submitted":
        raise ApiError(409, "already_submitted", "this lease's work was already submitted")
    if row.state != "active" or aware(row.expires_at) <= now:
        raise ApiError(409, "lease_expired", "the lease expired or was given back; lease new tasks")
    if row.item_state != "open":
        raise ApiError(409, "item_closed", "the item needs no more work")
    expires = now + timedelta(seconds=body.duration_s)
    renewed = conn.execute(update(leases).where(leases.c.id == lease_id, leases.c.state == "active",
                                                leases.c.expires_at > now).values(expires_at=expires))
    if renewed.rowcount != 1:
        raise ApiError(409, "lease_expired", "the lease expired meanwhile; lease new tasks")
    return HeartbeatOut(lease_id=lease_id, epoch=row.epoch, expires_at=expires)


def release(ctx: Ctx, principal: Principal, lease_id: str) -> None:
    """Gives the task back: the slot reopens for someone else (the same account does not get the
    item again). Releasing an expired or already released lease changes nothing."""
    ctx.db.retried(lambda conn: _release(conn, principal, lease_id))


def _release(conn: Connection, principal: Principal, lease_id: str) -> None:
    row = _mine(conn, principal, lease_id)
    if row.state == "submitted":
        raise ApiError(409, "already_submitted", "this lease's work was already submitted")
    gone = conn.execute(update(leases).where(leases.c.id == lease_id, leases.c.state == "active")
                        .values(state="released"))
    if gone.rowcount == 1:
        _reopen(conn, [row.item_id])
