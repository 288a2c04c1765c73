"""Leases: grant a routed batch, renew by heartbeat, give back, reclaim when expired.

The server owns lease time (`expires_at` from `ctx.now()`); each grant of a normal item bumps
the item's `lease_epoch`, and the lease keeps that epoch as its fencing token: a heartbeat or a
submission with another epoch gets 409. A normal item's `slots_open` counts what it can still
hand out (needed - live leases - counted submissions); every change to it is a conditional
UPDATE, so concurrent lessors, expiries and releases never double-count. Lease states:
active -> submitted | expired (reclaimed at the next lease call) | released (given back).

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
from coordinator.tables import assets, data_requests, items, leases
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
    cfg, account_id = ctx.config, principal.account_id
    reclaim_expired(conn, now)
    requests = routing.eligible_requests(conn, principal, now, cfg, body.request_id)
    chosen = routing.normal_candidates(conn, ctx.db, account_id, requests, body.count)
    if chosen:
        allowed = game.spend_energy(conn, account_id, len(chosen), now, cfg)
        if allowed == 0:
            raise ApiError(429, "out_of_energy", "no energy left: it regenerates over time",
                           {"Retry-After": str(max(1, math.ceil(cfg.energy_regen_s)))})
        chosen = routing.mix_in_gold(conn, account_id, requests, chosen[:allowed])
    expires = now + timedelta(seconds=body.duration_s)
    epochs = _claim(conn, [cand.item_id for cand in chosen if not cand.gold])
    granted = []
    for cand in chosen:
        epoch = routing.gold_epoch(requests, cand.request_id) if cand.gold else epochs.get(cand.item_id)
        if epoch is not None:  # None: the slot went meanwhile (cannot happen under our row locks)
            granted.append(dict(id=secrets.token_hex(16), item_id=cand.item_id, account_id=account_id,
                                epoch=epoch, state="active", expires_at=expires, created_at=now))
    if granted:
        conn.execute(_INSERT_LEASES, granted)  # executemany: batched into one statement where it can be
    energy = game.profile(conn, account_id, now, cfg)["energy"]
    tasks = _tasks(conn, granted)
    routing.RNG.shuffle(tasks)  # no ordering tell between gold and normal tasks
    return LeaseOut(tasks=tasks, energy=energy)


def _claim(conn: Connection, item_ids: list[str]) -> dict[str, int]:
    """Takes one slot of each normal item, in one statement; item id -> its new epoch. An item
    without a slot left is missing from the answer (the WHERE is re-checked under the row lock)."""
    if not item_ids:
        return {}
    rows = conn.execute(
        update(items).where(items.c.id.in_(item_ids), items.c.slots_open > 0)
        .values(slots_open=items.c.slots_open - 1, lease_epoch=items.c.lease_epoch + 1)
        .returning(items.c.id, items.c.lease_epoch))
    return {row.id: row.lease_epoch for row in rows}


def _tasks(conn: Connection, granted: list[dict[str, Any]]) -> list[TaskOut]:
    """TaskOut for lease rows (dicts or rows with id, item_id, epoch, expires_at)."""
    if not granted:
        return []
    item_ids = [g["item_id"] for g in granted]
    detail = {row.id: row for row in conn.execute(
        select(items.c.id, items.c.request_id, assets.c.id.label("asset_id"), assets.c.sha256,
               assets.c.size, assets.c.media_type)
        .join(assets, assets.c.id == items.c.asset_id).where(items.c.id.in_(item_ids)))}
    request_ids = {row.request_id for row in detail.values()}
    specs = {row.id: row for row in conn.execute(
        select(data_requests.c.id, data_requests.c.modality, data_requests.c.spec)
        .where(data_requests.c.id.in_(request_ids)))}
    tasks = []
    for g in granted:  # built from our own rows: no need to validate them again
        item = detail[g["item_id"]]
        req = specs[item.request_id]
        tasks.append(TaskOut.model_construct(
            item_id=item.id, request_id=item.request_id, lease_id=g["id"], epoch=g["epoch"],
            expires_at=aware(g["expires_at"]), modality=Modality(req.modality),
            asset=AssetRef.model_construct(id=item.asset_id, sha256=item.sha256, size=item.size,
                                           media_type=item.media_type, url=f"/v1/assets/{item.asset_id}"),
            label_schema=req.spec.get("label_schema", {})))
    return tasks


def active_leases(ctx: Ctx, principal: Principal) -> list[TaskOut]:
    now = ctx.now()
    with ctx.db.read() as conn:
        rows = conn.execute(
            select(leases.c.id, leases.c.item_id, leases.c.epoch, leases.c.expires_at)
            .where(leases.c.account_id == principal.account_id, leases.c.state == "active",
                   leases.c.expires_at > now)
            .order_by(leases.c.expires_at, leases.c.id).limit(MAX_LISTED)).mappings().all()
        return _tasks(conn, [dict(row) for row in rows])


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
