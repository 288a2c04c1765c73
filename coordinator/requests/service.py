"""Data requests: create, read, close, and their progress and quality figures.

A request is visible to its owner and to administrators only; anyone else gets the same 404
as for a request that does not exist, so ids cannot be probed. Progress is a handful of SQL
aggregates, never a walk over the items in Python.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, and_, case, func, insert, select, update

from app.sync.wire import DataRequestIn, DataRequestOut, ProgressOut, Role
from coordinator.context import Ctx
from coordinator.db import aware
from coordinator.errors import ApiError
from coordinator.quality import queue
from coordinator.requests.schema import check_schema, check_unicode, family, invalid
from coordinator.security import Principal
from coordinator.tables import data_requests, items, submissions

MICRO = Decimal(10) ** 6
MAX_REWARD_MICRO = 10**12  # a million credits per item: sums over many items stay far below 2**63


def is_admin(principal: Principal) -> bool:
    return Role.admin in principal.roles


def reward_micro(reward: Decimal) -> int:
    """Credits to integer micro-credits, exactly (the wire allows at most 6 decimal places)."""
    micro = reward * MICRO
    if micro != micro.to_integral_value():
        raise invalid("reward", "at most 6 decimal places")
    if micro > MAX_REWARD_MICRO:
        raise invalid("reward", f"at most {MAX_REWARD_MICRO // 10**6} credits per item")
    return int(micro)


def create(ctx: Ctx, principal: Principal, body: DataRequestIn) -> DataRequestOut:
    classes = check_schema(body.label_schema)
    now = ctx.now()
    if body.deadline is not None:
        body = body.model_copy(update={"deadline": utc(body.deadline, "deadline")})
        if body.deadline <= now:
            raise invalid("deadline", "must be in the future")
    micro = reward_micro(body.reward)
    spec = body.model_dump(mode="json")
    check_unicode(spec, "body")
    row = dict(id=secrets.token_hex(16), requester_id=principal.account_id, spec=spec,
               modality=body.modality.value, family=family(body.modality, classes),
               redundancy=body.redundancy, gold_rate=body.gold_rate, reward_micro=micro,
               min_tier=body.requirements.min_tier, languages=list(body.requirements.languages),
               skills=list(body.requirements.skills), deadline=body.deadline, status="open",
               created_at=now)
    with ctx.db.write() as conn:
        conn.execute(insert(data_requests).values(**row))
    return to_out(row)


def to_out(row: Any) -> DataRequestOut:
    get = row.get if isinstance(row, dict) else row._mapping.get
    return DataRequestOut.model_validate({**get("spec"), "id": get("id"), "status": get("status"),
                                          "created_at": utc(get("created_at"), "created_at")})


def load_owned(conn: Connection, principal: Principal, request_id: str) -> Row:
    """The request, when `principal` owns it or is an administrator; else 404."""
    row = conn.execute(select(data_requests).where(data_requests.c.id == request_id)).first()
    if row is None or (row.requester_id != principal.account_id and not is_admin(principal)):
        raise ApiError(404, "not_found", f"no data request {request_id}")
    return row


def get(ctx: Ctx, principal: Principal, request_id: str) -> DataRequestOut:
    with ctx.db.read() as conn:
        return to_out(load_owned(conn, principal, request_id))


def listing(ctx: Ctx, principal: Principal, limit: int, offset: int) -> list[DataRequestOut]:
    """The principal's own requests, newest first; an administrator sees everyone's."""
    dr = data_requests.c
    stmt = select(data_requests).order_by(dr.created_at.desc(), dr.id).limit(limit).offset(offset)
    if not is_admin(principal):
        stmt = stmt.where(dr.requester_id == principal.account_id)
    with ctx.db.read() as conn:
        return [to_out(row) for row in conn.execute(stmt)]


def close(ctx: Ctx, principal: Principal, request_id: str) -> DataRequestOut:
    """No new leases from now on; items already leased may still be submitted. Idempotent."""
    with ctx.db.write() as conn:
        load_owned(conn, principal, request_id)
        conn.execute(update(data_requests).where(data_requests.c.id == request_id,
                                                 data_requests.c.status == "open").values(status="closed"))
        return to_out(load_owned(conn, principal, request_id))


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def progress(ctx: Ctx, principal: Principal, request_id: str) -> ProgressOut:
    """`items` and the open/in_review/done counts are the requester's real items; honeypots are
    counted apart in `gold_items`. Mean agreement is over done items; gold accuracy is the
    share of judged honeypot submissions that passed."""
    i, s = items.c, submissions.c
    real = i.is_gold.is_(False)
    item_stmt = select(
        _count(real), _count(i.is_gold.is_(True)), _count(and_(real, i.state == "open")),
        _count(and_(real, i.state == "review")), _count(and_(real, i.state == "done")),
        func.avg(case((and_(real, i.state == "done"), i.agreement))),
    ).where(i.request_id == request_id)
    sub_stmt = select(
        func.count(s.id), _count(s.flagged.is_(True)), _count(s.outcome == "gold_pass"),
        _count(s.outcome.in_(("gold_pass", "gold_fail"))),
    ).select_from(submissions.join(items, i.id == s.item_id)).where(i.request_id == request_id)
    with ctx.db.read() as conn:
        load_owned(conn, principal, request_id)
        n_real, n_gold, n_open, n_review, n_done, mean_agreement = conn.execute(item_stmt).one()
        n_subs, n_flagged, n_pass, n_judged = conn.execute(sub_stmt).one()
        awaiting = queue.waiting(conn, request_id)
    return ProgressOut(items=n_real, gold_items=n_gold, open=n_open, in_review=n_review, done=n_done,
                       submissions=n_subs, flagged_submissions=n_flagged, awaiting_quality=awaiting,
                       mean_agreement=None if mean_agreement is None else float(mean_agreement),
                       gold_accuracy=n_pass / n_judged if n_judged else None)


def utc(value: datetime, where: str) -> datetime:
    """In UTC (naive means UTC): SQLite keeps no offset, so every stored time must be UTC."""
    try:
        return aware(value).astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:59-05:00 is past the last representable year
        raise invalid(where, "out of range") from None
