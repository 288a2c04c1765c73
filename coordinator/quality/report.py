"""A data request's quality report: who is reliable, and where Dawid-Skene disagrees.

Per-item consensus is decided online, answer by answer, with reputation-weighted votes. The
report looks at the whole request at once: for whole-item classification (one tag per
answer) it runs Dawid-Skene EM over every counted answer, anchored on the honeypots' truth,
and shows each contributor's estimated accuracy and the items where EM would choose another
class than the online consensus (candidates for a second look). For every request it also
gives each contributor's gold and consensus results.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from app.sync.wire import QualityOut, WorkerQualityOut
from coordinator.consensus import dawid_skene, encode
from coordinator.tables import accounts, items, submissions

MAX_ANSWERS = 2_000_000  # beyond this the report would hold the coordinator's memory too long


def _single_tag(labels: dict[str, Any]) -> str | None:
    tags = [a["label"] for a in labels.get("annotations", []) if a["shape"]["kind"] == "tag"]
    others = len(labels.get("annotations", [])) - len(tags) + len(labels.get("segments", []))
    return tags[0] if len(tags) == 1 and not others else None


def _answers(conn: Connection, request_id: str) -> list[Any]:
    return conn.execute(
        select(submissions.c.account_id, submissions.c.item_id, submissions.c.payload, submissions.c.outcome,
               items.c.is_gold, items.c.gold_truth, items.c.consensus, items.c.state)
        .join(items, items.c.id == submissions.c.item_id)
        .where(items.c.request_id == request_id, submissions.c.flagged.is_(False))
        .limit(MAX_ANSWERS)).all()


def _outcome_counts(rows: list[Any]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        counts[r.account_id]["answers"] += 1
        if r.outcome:
            counts[r.account_id][r.outcome] += 1
    return counts


def _dawid_skene(rows: list[Any]) -> tuple[dict[int, float], int, int] | None:
    """(estimated accuracy per account, items compared, items where EM differs) or None when
    the request is not whole-item classification."""
    tagged = [(r.item_id, r.account_id, _single_tag(r.payload["labels"])) for r in rows]
    if not tagged or any(label is None for *_, label in tagged):
        return None
    enc = encode([t[0] for t in tagged], [t[1] for t in tagged], [t[2] for t in tagged])
    truth = {r.item_id: label for r in rows if r.is_gold and (label := _single_tag(r.gold_truth or {}))
             and label in enc.classes}
    gold_items, gold_labels = enc.gold(truth) if truth else (None, None)
    result = dawid_skene(enc.items, enc.workers, enc.labels, gold_items=gold_items, gold_labels=gold_labels,
                         **enc.sizes)
    chosen = enc.decode(result.labels)
    decided = {r.item_id: _single_tag(r.consensus) for r in rows if r.state == "done" and r.consensus}
    differ = sum(1 for item, label in decided.items() if label is not None and chosen.get(item) != label)
    accuracy = {worker: float(acc) for worker, acc in zip(enc.worker_ids, result.worker_accuracy)}
    return accuracy, len(decided), differ


def quality_report(conn: Connection, request_id: str) -> QualityOut:
    rows = _answers(conn, request_id)
    counts = _outcome_counts(rows)
    ds = _dawid_skene(rows)
    addresses = dict(conn.execute(select(accounts.c.id, accounts.c.address)
                                  .where(accounts.c.id.in_(list(counts)))).all()) if counts else {}
    workers = [WorkerQualityOut(
        address=addresses[a], answers=c["answers"], gold_passed=c["gold_pass"],
        gold_failed=c["gold_fail"], agreed=c["agreed"], disagreed=c["disagreed"],
        estimated_accuracy=None if ds is None else ds[0].get(a)) for a, c in sorted(counts.items())]
    done = conn.execute(select(func.count()).select_from(items)
                        .where(items.c.request_id == request_id, items.c.state == "done")).scalar_one()
    return QualityOut(request_id=request_id, method="dawid_skene" if ds else "consensus", items_done=done,
                      compared=0 if ds is None else ds[1], differ_from_consensus=0 if ds is None else ds[2],
                      workers=workers)
