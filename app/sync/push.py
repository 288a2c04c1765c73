"""Push: drain the submission queue to the coordinator, batch by batch.

Each round takes the due submissions (oldest first, one per asset so that an asset's work
arrives in order), signs those not signed yet, and posts them to /v1/submissions/batch, each
with its own idempotency key (`submission_id`). The per-item statuses decide:
- 201 (stored, or the stored answer replayed): sent;
- 409/404 (stale epoch, lease expired, already submitted, key reused, no such lease):
  conflicted or late: the local work is kept, marked, and shown; never dropped or re-sent;
- 400/401/413/422 (the payload itself refused): rejected, with the server's reason;
- 429/5xx, or the whole request failing (network, 5xx, a reply that is not the protocol's):
  the rows wait a full-jitter backoff and go again, with the same key and the same bytes.
Every outcome is written to the store before the next round, so a restart resumes exactly
where this stopped: there is no state in memory.

A batch the server refuses as a whole (422: one item outside the wire bounds; 413: too big)
is sent again one submission at a time, so one bad item cannot block the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pydantic

from app.store.records import OutboxItem
from app.store.sync_queue import Answer, SyncRepository
from app.sync.backoff import Backoff
from app.sync.client import CoordinatorClient, check, error_of, parse_reply
from app.sync.errors import BadReplyError, ServerError, SyncError
from app.sync.signing import payload_digest, submission_text
from app.sync.wire import API_PREFIX, IDEMPOTENCY_HEADER, BatchOut, SubmissionIn, SubmissionOut

_BY_CODE = {"lease_expired": "late", "item_closed": "late"}  # everything else 404/409: conflicted
_WORDS = {"late": "the lease ended before the work arrived", "conflicted": "the coordinator holds other work for "
          "this item", "rejected": "the coordinator refused this work"}


def judge(status: int, code: str | None) -> str | None:
    """The outcome of one submission from its HTTP status (None: try again later)."""
    if status in (200, 201):
        return "sent"
    if status in (408, 429) or status >= 500:
        return None
    if status in (404, 409):
        return _BY_CODE.get(code or "", "conflicted")
    return "rejected"


@dataclass
class PushReport:
    sent: int = 0
    conflicted: int = 0
    late: int = 0
    rejected: int = 0
    retrying: int = 0
    error: SyncError | None = None
    next_retry: datetime | None = None

    @property
    def handled(self) -> int:
        return self.sent + self.conflicted + self.late + self.rejected

    def add(self, other: PushReport) -> None:
        for name in ("sent", "conflicted", "late", "rejected", "retrying"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.error = other.error or self.error
        self.next_retry = other.next_retry or self.next_retry


@dataclass
class _Round:
    """One batch on its way: what to send, and the answers gathered so far."""

    ready: list[tuple[OutboxItem, dict[str, Any]]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    retry: list[OutboxItem] = field(default_factory=list)
    retry_reason: str = ""


class Pusher:
    def __init__(self, store: SyncRepository, client: CoordinatorClient, *, batch_size: int, backoff: Backoff,
                 batched: bool = True) -> None:
        self.store, self.client, self.backoff = store, client, backoff
        self.batch_size, self.batched = batch_size, batched

    def push_once(self) -> PushReport:
        """One round: at most `batch_size` submissions; an empty report when none is due."""
        work = self._take(busy=())
        return PushReport() if work is None else self._settle(work, self._transmit(work))

    def drain(self, *, depth: int = 2) -> PushReport:
        """Rounds until nothing is due, or a round fails (the report carries the error).

        Pipelined: up to `depth` batches on the wire at once while the next is read and signed
        here, so client and server work side by side. Rounds are settled in the order they were
        taken, and a batch in flight holds its assets: no later submission of the same asset
        can overtake it."""
        total = PushReport()
        flying: deque[tuple[_Round, Future[SyncError | None]]] = deque()
        failed = False
        with ThreadPoolExecutor(depth, thread_name_prefix="alaya-push") as wire:
            while True:
                while not failed and len(flying) < depth:
                    work = self._take(busy=[row for w, _ in flying for row, _ in w.ready])
                    if work is None:
                        break
                    flying.append((work, wire.submit(self._transmit, work)))
                if not flying:
                    return total
                work, sent = flying.popleft()
                report = self._settle(work, sent.result())
                total.add(report)
                failed = failed or report.error is not None  # the rounds in flight still settle

    def _take(self, busy: Sequence[OutboxItem]) -> _Round | None:
        rows = self.store.due(self.batch_size, busy=busy)
        return self._prepare(rows) if rows else None

    def _transmit(self, work: _Round) -> SyncError | None:
        """Send one round; a failure of the whole request is returned (the rest waits)."""
        try:
            if work.ready:
                if self.batched and len(work.ready) > 1:
                    self._send_batch(work)
                else:
                    self._send_each(work)
            return None
        except SyncError as exc:
            done = {a.outbox_id for a in work.answers} | {r.id for r in work.retry}
            work.retry += [row for row, _ in work.ready if row.id not in done]
            work.retry_reason = str(exc)
            return exc

    # -- steps ------------------------------------------------------------------------------
    def _prepare(self, rows: Sequence[OutboxItem]) -> _Round:
        """Sign what is not signed yet; a payload outside the wire's bounds is rejected here,
        with the reason, instead of failing a whole batch at the server."""
        work = _Round()
        for row in rows:
            signature = row.signature or self.client.signer.sign_text(submission_text(payload_digest(row.payload)))
            body = {"submission_id": row.idempotency_key, "payload": row.payload, "signature": signature}
            try:
                SubmissionIn.model_validate(body)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                work.answers.append(Answer(row.id, "rejected", None, f"cannot be sent: {where}: {first['msg']}",
                                           signature))
                continue
            work.ready.append((row, body))
        return work

    def _send_batch(self, work: _Round) -> None:
        bodies = [body for _, body in work.ready]
        response = self.client.call("POST", f"{API_PREFIX}/submissions/batch", json={"submissions": bodies})
        if response.status_code in (413, 422):  # refused as a whole: one at a time finds the culprit
            self._send_each(work)
            return
        results = parse_reply(response, BatchOut).results
        if [r.submission_id for r in results] != [b["submission_id"] for b in bodies]:
            raise BadReplyError("the coordinator answered for other submissions than those sent; "
                                "nothing was changed")
        for (row, body), result in zip(work.ready, results):
            error = result.error.model_dump() if result.error else None
            response_body = result.result.model_dump(mode="json") if result.result else error
            self._answer(work, row, body, result.status, error["error"] if error else None,
                         error["detail"] if error else "", response_body)

    def _send_each(self, work: _Round) -> None:
        """One request per submission (the fallback, and the benchmark's baseline)."""
        for row, body in work.ready:
            response = self.client.call("POST", f"{API_PREFIX}/submissions", json=body,
                                        headers={IDEMPOTENCY_HEADER: row.idempotency_key})
            if response.status_code in (200, 201):
                stored = parse_reply(response, SubmissionOut).model_dump(mode="json")
                self._answer(work, row, body, response.status_code, None, "", stored)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                check(response)  # raises ServerError: the rest of this round waits
            code, detail = error_of(response)
            self._answer(work, row, body, response.status_code, code, detail, {"error": code, "detail": detail})

    def _answer(self, work: _Round, row: OutboxItem, body: dict[str, Any], status: int, code: str | None,
                detail: str, response: dict[str, Any] | None) -> None:
        outcome = judge(status, code)
        if outcome is None:
            work.retry.append(row)
            work.retry_reason = f"the coordinator could not take a submission now (HTTP {status}: {detail})"
            return
        words = None if outcome == "sent" else f"{_WORDS[outcome]}: {detail or code}"
        work.answers.append(Answer(row.id, outcome, response, words, body["signature"]))

    def _settle(self, work: _Round, error: SyncError | None) -> PushReport:
        """Write every answer and every retry time, in the store, before reporting."""
        self.store.record(work.answers)
        report = PushReport(error=error)
        for answer in work.answers:
            setattr(report, answer.outcome, getattr(report, answer.outcome) + 1)
        if work.retry:
            attempt = max(row.attempts for row in work.retry)
            wait = self.backoff.delay(attempt)
            if isinstance(error, ServerError) and error.retry_after_s:
                wait = max(wait, error.retry_after_s)
            retry_at = datetime.now(timezone.utc) + timedelta(seconds=wait)
            self.store.retry_later([row.id for row in work.retry], work.retry_reason, retry_at)
            report.retrying, report.next_retry = len(work.retry), retry_at
        return report


