"""What the quality step decided for a batch of items, and its writes in a handful of statements.

`lifecycle` fills a `Verdicts` while it judges; `apply` writes it: item updates and outcomes
with executemany, reviews in one INSERT, reputations without read-back (`reputation.record_all`),
payments with their tiers in one query (`ledger.pay_rewards`). Locks are taken in one order
everywhere (items, then reputations by account, then profiles by account), so two settling
transactions on PostgreSQL queue instead of deadlocking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from coordinator import reputation
from coordinator.context import Ctx
from coordinator.ledger.service import Reward, pay_rewards
from coordinator.tables import items, reviews, submissions

_CLOSE = update(items).where(items.c.id == bindparam("b_item")).values(
    state="done", consensus=bindparam("b_labels", type_=items.c.consensus.type),
    agreement=bindparam("b_agreement"), decided_by=bindparam("b_by"), closed_at=bindparam("b_at"), slots_open=0)
_MORE = (update(items).where(items.c.id == bindparam("b_item"))
         .values(needed=items.c.needed + 1, slots_open=items.c.slots_open + 1))
_TO_REVIEW = (update(items).where(items.c.id == bindparam("b_item"))
              .values(state="review", agreement=bindparam("b_agreement")))
_OUTCOME = (update(submissions).where(submissions.c.id == bindparam("b_id"))
            .values(outcome=bindparam("b_outcome"), score=bindparam("b_score")))


@dataclass
class Verdicts:
    now: datetime
    closed: list[dict[str, Any]] = field(default_factory=list)
    more: list[str] = field(default_factory=list)  # items that get one more annotator
    reviews: list[dict[str, Any]] = field(default_factory=list)  # `reviews` rows
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[tuple[int, str, float, bool]] = field(default_factory=list)  # for reputation.record_all
    rewards: list[Reward] = field(default_factory=list)
    lockout_checks: set[tuple[int, str]] = field(default_factory=set)  # (account, request) with new gold results

    def close(self, item_id: str, labels: dict, agreement: float | None, by: str) -> None:
        self.closed.append(dict(b_item=item_id, b_labels=labels, b_agreement=agreement, b_by=by, b_at=self.now))

    def scored(self, sub: Any, req: Any, outcome: str, score: float, *, gold: bool, paid: bool) -> None:
        """One answer judged: its outcome, its evidence for reputation, its pay if it earned it."""
        self.outcomes.append(dict(b_id=sub.id, b_outcome=outcome, b_score=score))
        self.evidence.append((sub.account_id, req.family, score, gold))
        if paid:
            self.rewards.append(Reward(sub.account_id, sub.id, req.id, req.reward_micro))


def apply(conn: Connection, ctx: Ctx, verdicts: Verdicts) -> None:
    v = verdicts
    if v.closed:
        conn.execute(_CLOSE, sorted(v.closed, key=lambda row: row["b_item"]))
    if v.more:
        conn.execute(_MORE, [{"b_item": item_id} for item_id in sorted(v.more)])
    if v.reviews:
        conn.execute(insert(reviews), v.reviews)
        conn.execute(_TO_REVIEW, sorted(({"b_item": r["item_id"], "b_agreement": r["agreement"]} for r in v.reviews),
                                        key=lambda row: row["b_item"]))
    if v.outcomes:
        conn.execute(_OUTCOME, sorted(v.outcomes, key=lambda row: row["b_id"]))
    reputation.record_all(conn, v.evidence, v.now, ctx.config)
    for account_id, request_id in sorted(v.lockout_checks):  # after the outcomes are written
        reputation.check_honeypot_lockout(conn, account_id, request_id, v.now, ctx.config)
    pay_rewards(conn, v.rewards, v.now, ctx.config)
