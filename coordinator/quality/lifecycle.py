"""An item's life after each submission, inside that submission's transaction.

- a honeypot answer is scored against the truth: reputation (gold evidence), pay on a pass,
  lock-out of the request after repeated failures;
- once an item has as many counted answers as it needs, consensus decides: accept (store the
  consensus, score everyone against it, update reputations, pay those who agree), ask one more
  annotator, or send it to expert review when the extra budget is spent or no automatic
  consensus exists;
- an expert's decision (`settle_by_expert`) is final and settles the item the same way.

Flagged submissions (faster than a human) never count. The item row is locked first
(`FOR UPDATE` on PostgreSQL; SQLite's writer lock) so two answers finishing one item at once
cannot both miss, or both run, the consensus.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from coordinator import reputation
from coordinator.consensus import decide
from coordinator.context import Ctx
from coordinator.ledger.service import pay_reward
from coordinator.quality.merge import merge_labels
from coordinator.quality.pairs import labels_score
from coordinator.tables import accounts, data_requests, items, reputations, reviews, submissions


def after_submission(conn: Connection, ctx: Ctx, submission_row_id: int) -> None:
    sub = conn.execute(select(submissions).where(submissions.c.id == submission_row_id)).one()
    if sub.flagged:
        return
    item = conn.execute(ctx.db.for_update(select(items).where(items.c.id == sub.item_id))).one()
    req = conn.execute(select(data_requests).where(data_requests.c.id == item.request_id)).one()
    if item.is_gold:
        _judge_gold(conn, ctx, sub, item, req)
    elif item.state == "open" and _count(conn, item.id) >= item.needed:  # answers are loaded only then
        _conclude(conn, ctx, item, req, _counted(conn, item.id))


def _count(conn: Connection, item_id: str) -> int:
    return conn.execute(select(func.count()).select_from(submissions)
                        .where(submissions.c.item_id == item_id, submissions.c.flagged.is_(False))).scalar_one()


def _counted(conn: Connection, item_id: str) -> list[Any]:
    return conn.execute(select(submissions.c.id, submissions.c.account_id, submissions.c.payload)
                        .where(submissions.c.item_id == item_id, submissions.c.flagged.is_(False))
                        .order_by(submissions.c.id)).all()


def _judge_gold(conn: Connection, ctx: Ctx, sub: Any, item: Any, req: Any) -> None:
    now, config = ctx.now(), ctx.config
    score = labels_score(item.gold_truth or {}, sub.payload["labels"])
    passed = score >= config.gold_pass_score
    conn.execute(update(submissions).where(submissions.c.id == sub.id)
                 .values(outcome="gold_pass" if passed else "gold_fail", score=score))
    reputation.record(conn, sub.account_id, req.family, score, now, config, gold=True)
    if passed:
        _pay(conn, ctx, sub.account_id, sub.id, req)
    reputation.check_honeypot_lockout(conn, sub.account_id, req.id, now, config)


def _conclude(conn: Connection, ctx: Ctx, item: Any, req: Any, counted: list[Any]) -> None:
    means = _reputation_means(conn, [s.account_id for s in counted], req.family, ctx)
    answers = {s.account_id: s.payload["labels"] for s in counted}
    result = merge_labels(answers, means)
    extra_used = max(item.needed - req.redundancy, 0)
    spec = req.spec
    decision = "review" if result.needs_expert else decide(
        result.agreement, spec.get("agreement_threshold", 0.7), extra_used, spec.get("max_extra_annotators", 2))
    if decision == "accept":
        _close(conn, item.id, result.labels, result.agreement, "consensus", ctx.now())
        _settle(conn, ctx, req, counted, result.labels)
    elif decision == "more":
        conn.execute(update(items).where(items.c.id == item.id)
                     .values(needed=items.c.needed + 1, slots_open=items.c.slots_open + 1))
    else:
        reason = result.needs_expert or f"agreement {result.agreement:.2f} below the threshold after {extra_used} extra"
        conn.execute(insert(reviews).values(id=secrets.token_hex(16), item_id=item.id, reason=reason[:200],
                                            agreement=result.agreement, proposal=result.labels,
                                            created_at=ctx.now()))
        conn.execute(update(items).where(items.c.id == item.id).values(state="review", agreement=result.agreement))


def _close(conn: Connection, item_id: str, labels: dict, agreement: float | None, by: str, now: datetime) -> None:
    conn.execute(update(items).where(items.c.id == item_id).values(
        state="done", consensus=labels, agreement=agreement, decided_by=by, closed_at=now, slots_open=0))


def _settle(conn: Connection, ctx: Ctx, req: Any, counted: list[Any], truth: dict) -> None:
    """Score every counted answer against the final labels: reputation, outcome, payment."""
    now, config = ctx.now(), ctx.config
    # account order: the one lock order (reputation, profile, ledger rows) that two settling
    # transactions with overlapping annotators share, so PostgreSQL never deadlocks them
    for sub in sorted(counted, key=lambda c: (c.account_id, c.id)):
        score = labels_score(truth, sub.payload["labels"])
        agreed = score >= config.gold_pass_score
        conn.execute(update(submissions).where(submissions.c.id == sub.id)
                     .values(outcome="agreed" if agreed else "disagreed", score=score))
        reputation.record(conn, sub.account_id, req.family, score, now, config)
        if agreed:
            _pay(conn, ctx, sub.account_id, sub.id, req)


def _pay(conn: Connection, ctx: Ctx, account_id: int, submission_row_id: int, req: Any) -> None:
    tier = conn.execute(select(accounts.c.tier).where(accounts.c.id == account_id)).scalar_one()
    pay_reward(conn, account_id=account_id, tier=tier, request_id=req.id, reward_micro=req.reward_micro,
               submission_row_id=submission_row_id, now=ctx.now(), config=ctx.config)


def _reputation_means(conn: Connection, account_ids: list[int], family: str, ctx: Ctx) -> dict[int, float]:
    a0, b0 = ctx.config.reputation_prior
    rows = dict(((r.account_id, (r.alpha, r.beta)) for r in conn.execute(
        select(reputations.c.account_id, reputations.c.alpha, reputations.c.beta)
        .where(reputations.c.family == family, reputations.c.account_id.in_(account_ids)))))
    return {a: reputation.mean(*rows.get(a, (a0, b0))) for a in account_ids}


def settle_by_expert(conn: Connection, ctx: Ctx, review: Any, labels: dict) -> None:
    """The expert's labels become the item's consensus, final; everyone is scored against them."""
    item = conn.execute(ctx.db.for_update(select(items).where(items.c.id == review.item_id))).one()
    req = conn.execute(select(data_requests).where(data_requests.c.id == item.request_id)).one()
    _close(conn, item.id, labels, item.agreement, "expert", ctx.now())
    _settle(conn, ctx, req, _counted(conn, item.id), labels)
