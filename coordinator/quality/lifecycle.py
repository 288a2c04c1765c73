"""An item's life after its answers, judged by the quality worker for a batch of ready items.

- an answer to a honeypot is scored against the truth: reputation (gold evidence), pay on a
  pass, lock-out of the request after repeated failures;
- once an item has as many counted answers as it needs, consensus decides: accept (store the
  consensus, score everyone against it, update reputations, pay those who agree), ask one more
  annotator, or send it to expert review when the extra budget is spent or no automatic
  consensus exists;
- an expert's decision (`settle_by_expert`) is final and settles the item the same way.

Flagged submissions (faster than a human) never count. The items are locked by the caller
(`queue.claim`, or the review decision), so no answer to them is stored meanwhile. Reading is
one query per kind of row for the whole batch; what follows is collected into a `Verdicts`
and written by `settle.apply` in a handful of statements.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from coordinator import reputation
from coordinator.consensus import decide
from coordinator.context import Ctx
from coordinator.quality.merge import merge_labels
from coordinator.quality.pairs import labels_score
from coordinator.quality.settle import Verdicts, apply
from coordinator.tables import data_requests, items, reputations, submissions


def judge(conn: Connection, ctx: Ctx, claimed: list[Any]) -> Verdicts:
    """Judges the claimed (locked) `items` rows and writes the results; what was decided."""
    verdicts = Verdicts(ctx.now())
    requests = _requests(conn, {item.request_id for item in claimed})
    gold = [item for item in claimed if item.is_gold]
    ready = [item for item in claimed if not item.is_gold and item.state == "open" and item.submitted >= item.needed]
    answers = _answers(conn, [i.id for i in gold], unjudged=True) | _answers(conn, [i.id for i in ready])
    for item in gold:
        for sub in answers.get(item.id, []):
            _judge_gold(verdicts, ctx, sub, item, requests[item.request_id])
    means = _reputation_means(conn, ctx, [(s.account_id, requests[i.request_id].family)
                                          for i in ready for s in answers.get(i.id, [])])
    for item in ready:
        req = requests[item.request_id]
        counted = answers.get(item.id, [])
        if counted:
            _conclude(verdicts, ctx, item, req, counted, {s.account_id: means[(s.account_id, req.family)]
                                                          for s in counted})
    apply(conn, ctx, verdicts)
    return verdicts


def _requests(conn: Connection, request_ids: set[str]) -> dict[str, Any]:
    rows = conn.execute(select(data_requests).where(data_requests.c.id.in_(sorted(request_ids))))
    return {row.id: row for row in rows}


def _answers(conn: Connection, item_ids: list[str], unjudged: bool = False) -> dict[str, list[Any]]:
    """Counted answers per item, in the order they came; `unjudged`: only those without an outcome."""
    if not item_ids:
        return {}
    stmt = (select(submissions.c.id, submissions.c.item_id, submissions.c.account_id, submissions.c.payload)
            .where(submissions.c.item_id.in_(item_ids), submissions.c.flagged.is_(False))
            .order_by(submissions.c.id))
    if unjudged:
        stmt = stmt.where(submissions.c.outcome.is_(None))
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(stmt):
        grouped[row.item_id].append(row)
    return dict(grouped)


def _judge_gold(verdicts: Verdicts, ctx: Ctx, sub: Any, item: Any, req: Any) -> None:
    score = labels_score(item.gold_truth or {}, sub.payload["labels"])
    passed = score >= ctx.config.gold_pass_score
    verdicts.scored(sub, req, "gold_pass" if passed else "gold_fail", score, gold=True, paid=passed)
    verdicts.lockout_checks.add((sub.account_id, req.id))


def _conclude(verdicts: Verdicts, ctx: Ctx, item: Any, req: Any, counted: list[Any],
              means: dict[int, float]) -> None:
    result = merge_labels({s.account_id: s.payload["labels"] for s in counted}, means)
    extra_used = max(item.needed - req.redundancy, 0)
    spec = req.spec
    decision = "review" if result.needs_expert else decide(
        result.agreement, spec.get("agreement_threshold", 0.7), extra_used, spec.get("max_extra_annotators", 2))
    if decision == "accept":
        verdicts.close(item.id, result.labels, result.agreement, "consensus")
        settle_answers(verdicts, ctx, req, counted, result.labels)
    elif decision == "more":
        verdicts.more.append(item.id)
    else:
        reason = result.needs_expert or f"agreement {result.agreement:.2f} below the threshold after {extra_used} extra"
        verdicts.reviews.append(dict(id=secrets.token_hex(16), item_id=item.id, reason=reason[:200],
                                     agreement=result.agreement, proposal=result.labels, created_at=verdicts.now))


def settle_answers(verdicts: Verdicts, ctx: Ctx, req: Any, counted: list[Any], truth: dict) -> None:
    """Score every counted answer against the final labels: outcome, reputation, payment."""
    for sub in counted:
        score = labels_score(truth, sub.payload["labels"])
        agreed = score >= ctx.config.gold_pass_score
        verdicts.scored(sub, req, "agreed" if agreed else "disagreed", score, gold=False, paid=agreed)


def _reputation_means(conn: Connection, ctx: Ctx, keys: list[tuple[int, str]]) -> dict[tuple[int, str], float]:
    """(account, family) -> posterior mean, the prior where there is no evidence yet; one query."""
    prior = reputation.mean(*ctx.config.reputation_prior)
    means = dict.fromkeys(keys, prior)
    if keys:
        rows = conn.execute(select(reputations.c.account_id, reputations.c.family, reputations.c.alpha,
                                   reputations.c.beta)
                            .where(reputations.c.account_id.in_(sorted({a for a, _ in keys})),
                                   reputations.c.family.in_(sorted({f for _, f in keys}))))
        for account_id, family, alpha, beta in rows:
            if (account_id, family) in means:
                means[(account_id, family)] = reputation.mean(alpha, beta)
    return means


def settle_by_expert(conn: Connection, ctx: Ctx, review: Any, labels: dict) -> None:
    """The expert's labels become the item's consensus, final; everyone is scored against them."""
    item = conn.execute(ctx.db.for_update(select(items).where(items.c.id == review.item_id))).one()
    req = conn.execute(select(data_requests).where(data_requests.c.id == item.request_id)).one()
    verdicts = Verdicts(ctx.now())
    verdicts.close(item.id, labels, item.agreement, "expert")
    settle_answers(verdicts, ctx, req, _answers(conn, [item.id]).get(item.id, []), labels)
    apply(conn, ctx, verdicts)
