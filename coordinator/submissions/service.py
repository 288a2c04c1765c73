"""Signed, idempotent submissions: one at a time or in batches, each judged on its own.

The contributor's wallet signs `signing.payload_digest(payload)` over the payload exactly as
it was sent; the signature is checked before any write transaction opens (CPU work outside
the writer's lock). Deduplication is permanent per (account, submission id): the stored
status and body are replayed for the same payload, a different payload gets 409.

Within the transaction (a SAVEPOINT per item in a batch) each submission costs a handful of
indexed statements: look up the key, read the lease, flip the lease to `submitted` with a
conditional UPDATE (a concurrent submission of the same lease loses there), insert, count on
the item. A concurrent duplicate of the same key that hits the unique constraint is answered
with the replay, never a 500.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, false, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.sync import signing
from app.sync.wire import DataRequestIn, SubmissionIn, SubmissionOut
from coordinator.context import Ctx
from coordinator.db import aware
from coordinator.errors import ApiError
from coordinator.security import Principal
from coordinator.tables import data_requests, items, leases, submissions
from coordinator.tasks.service import retried

DEFAULT_MIN_SECONDS = DataRequestIn.model_fields["min_seconds_per_item"].default


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class _Request:
    classes: dict[str, frozenset[str] | None]  # class name -> allowed shape kinds (None: any)
    min_seconds: float


def after_submission(conn: Connection, ctx: Ctx, submission_row_id: int) -> None:
    """The quality step (consensus, gold check, reputation, payment: `coordinator/quality/`)
    runs here, inside the submission's transaction, right after its row is inserted. An
    ApiError raised here refuses the submission and undoes it (its SAVEPOINT in a batch)."""


def verify_signature(raw_payload: Any, signature: str, address: str) -> str:
    """The payload's digest when the signed-in wallet signed it, else 401 bad_signature."""
    try:
        digest = signing.payload_digest(raw_payload)
    except ValueError as exc:  # NaN or infinity, which Python's JSON parser lets through
        raise ApiError(422, "invalid_input", f"payload: {exc}") from None
    try:
        signer = signing.recover_digest_signer(digest, signature)
    except signing.SignatureError:
        raise ApiError(401, "bad_signature", "the signature does not verify") from None
    if signer.lower() != address.lower():
        raise ApiError(401, "bad_signature", "the payload was not signed by the signed-in wallet")
    return digest


def schema_classes(schema: Any) -> dict[str, frozenset[str] | None]:
    """Class name -> allowed shape kinds, from a label schema in the workstation's layout
    (`classes: [{name, allowed_kinds?}, …]`, which the requester API checks on creation)."""
    entries = schema.get("classes") if isinstance(schema, dict) else None
    found: dict[str, frozenset[str] | None] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            kinds = entry.get("allowed_kinds")
            found[entry["name"]] = frozenset(kinds) if isinstance(kinds, list) else None
    return found


def check_labels(sub: SubmissionIn, classes: dict[str, frozenset[str] | None]) -> None:
    """422 unknown_label for a class outside the schema, shape_not_allowed for a kind the class
    does not allow (such work could never be matched in consensus)."""
    labels = sub.payload.labels
    used = [(a.label, a.shape.kind) for a in labels.annotations]
    used += [(t.label, k.shape.kind) for t in labels.tracks for k in t.keyframes]
    used += [(s.label, None) for s in labels.segments if s.label is not None]
    unknown = sorted({label for label, _ in used if label not in classes})
    if unknown:
        raise ApiError(422, "unknown_label", f"not in the request's label schema: {', '.join(unknown[:10])}")
    for label, kind in used:
        allowed = classes[label]
        if kind is not None and allowed is not None and kind not in allowed:
            raise ApiError(422, "shape_not_allowed", f"class {label!r} does not allow a {kind} "
                                                     f"(allowed: {', '.join(sorted(allowed))})")


class Ingest:
    """Submissions of one contributor inside one write transaction."""

    def __init__(self, conn: Connection, ctx: Ctx, principal: Principal, now: datetime) -> None:
        self.conn, self.ctx, self.principal, self.now = conn, ctx, principal, now
        self._requests: dict[str, _Request] = {}
        self._known: dict[str, Any] = {}  # submission id -> stored row (or None), prefetched
        self._leases: dict[str, Any] = {}

    # -- lookups ---------------------------------------------------------------------------
    def prefetch(self, subs: Iterable[SubmissionIn]) -> None:
        """Two queries for a whole batch instead of two per item."""
        subs = list(subs)
        keys = {s.submission_id for s in subs}
        self._known = dict.fromkeys(keys)
        for row in self.conn.execute(self._stored().where(submissions.c.submission_id.in_(keys))):
            self._known[row.submission_id] = row
        lease_ids = {s.payload.lease_id for s in subs}
        self._leases = {row.id: row for row in self.conn.execute(self._lease_query(lease_ids))}

    def remember(self, key: str, digest: str, outcome: Outcome) -> None:
        """After an item's SAVEPOINT committed: a later duplicate in the batch replays it."""
        if not outcome.replayed:
            self._known[key] = _Stored(key, digest, outcome.status, outcome.body)

    def _stored(self) -> Any:
        return (select(submissions.c.submission_id, submissions.c.payload_sha256, submissions.c.status_code,
                       submissions.c.response)
                .where(submissions.c.account_id == self.principal.account_id))

    def existing(self, key: str, fresh: bool = False) -> Any:
        if not fresh and key in self._known:
            return self._known[key]
        return self.conn.execute(self._stored().where(submissions.c.submission_id == key)).first()

    def _lease_query(self, lease_ids: Iterable[str]) -> Any:
        return (select(leases.c.id, leases.c.item_id, leases.c.account_id, leases.c.epoch, leases.c.state,
                       leases.c.expires_at, leases.c.created_at, items.c.request_id, items.c.is_gold)
                .join(items, items.c.id == leases.c.item_id)
                .where(leases.c.id.in_(list(lease_ids)), leases.c.account_id == self.principal.account_id))

    def _lease(self, lease_id: str) -> Any:
        row = self._leases.get(lease_id) or self.conn.execute(self._lease_query([lease_id])).first()
        if row is None:  # another user's lease looks exactly like one that does not exist
            raise ApiError(404, "not_found", f"no lease {lease_id} of yours")
        return row

    def _request(self, request_id: str) -> _Request:
        if request_id not in self._requests:
            spec = self.conn.execute(select(data_requests.c.spec)
                                     .where(data_requests.c.id == request_id)).scalar_one()
            self._requests[request_id] = _Request(schema_classes(spec.get("label_schema")),
                                                  float(spec.get("min_seconds_per_item", DEFAULT_MIN_SECONDS)))
        return self._requests[request_id]

    # -- one submission --------------------------------------------------------------------
    def one(self, sub: SubmissionIn, digest: str, raw_payload: Any) -> Outcome:
        """Stores one verified submission, or replays it, or raises the ApiError it earns.
        The payload is stored as sent, so its signature can be checked again at any time."""
        stored = self.existing(sub.submission_id)
        if stored is not None:
            return _replay(stored, digest)
        lease = self._lease(sub.payload.lease_id)
        req = self._check(sub, lease)
        if not self._take_lease(lease.id):
            stored = self.existing(sub.submission_id, fresh=True)  # a concurrent duplicate won
            if stored is not None:
                return _replay(stored, digest)
            raise self._lease_refusal(lease.id)
        return self._insert(sub, digest, raw_payload, lease, req)

    def _check(self, sub: SubmissionIn, lease: Any) -> _Request:
        payload = sub.payload
        if payload.item_id != lease.item_id:
            raise ApiError(422, "item_mismatch", f"lease {lease.id} is for another item than {payload.item_id}")
        if payload.epoch != lease.epoch:
            raise ApiError(409, "stale_epoch", f"the lease's epoch is {lease.epoch}, not {payload.epoch}")
        if lease.state == "submitted":
            raise ApiError(409, "already_submitted", "this lease was already submitted under another key")
        if lease.state != "active" or aware(lease.expires_at) <= self.now:
            raise ApiError(409, "lease_expired", "the lease expired or was given back")
        req = self._request(lease.request_id)
        check_labels(sub, req.classes)
        return req

    def _take_lease(self, lease_id: str) -> bool:
        """Flips the lease to submitted; False when it was not live any more (lost a race)."""
        done = self.conn.execute(update(leases).where(leases.c.id == lease_id, leases.c.state == "active",
                                                      leases.c.expires_at > self.now).values(state="submitted"))
        return done.rowcount == 1

    def _lease_refusal(self, lease_id: str) -> ApiError:
        state = self.conn.execute(select(leases.c.state).where(leases.c.id == lease_id)).scalar_one()
        if state == "submitted":
            return ApiError(409, "already_submitted", "this lease was already submitted under another key")
        return ApiError(409, "lease_expired", "the lease expired or was given back")

    def _insert(self, sub: SubmissionIn, digest: str, raw_payload: Any, lease: Any, req: _Request) -> Outcome:
        elapsed = (self.now - aware(lease.created_at)).total_seconds()
        flagged = elapsed < req.min_seconds
        out = SubmissionOut(submission_id=sub.submission_id, item_id=lease.item_id, payload_sha256=digest,
                            received_at=self.now, flagged=flagged)
        body = out.model_dump(mode="json")
        row_id = self.conn.execute(insert(submissions).values(
            account_id=self.principal.account_id, submission_id=sub.submission_id, item_id=lease.item_id,
            lease_id=lease.id, payload=raw_payload, payload_sha256=digest,
            signature=sub.signature, status_code=201, response=body, flagged=flagged,
            flag_reason=(f"submitted {elapsed:.1f} s after the lease; a human needs at least "
                         f"{req.min_seconds:g} s") if flagged else None,
            created_at=self.now)).inserted_primary_key[0]
        if flagged:  # held back: it does not count, and its slot goes to someone else
            self.conn.execute(update(items).where(items.c.id == lease.item_id, items.c.is_gold == false())
                              .values(slots_open=items.c.slots_open + 1))
        else:
            self.conn.execute(update(items).where(items.c.id == lease.item_id)
                              .values(submitted=items.c.submitted + 1))
        after_submission(self.conn, self.ctx, row_id)
        return Outcome(201, body)


@dataclass(frozen=True)
class _Stored:
    submission_id: str
    payload_sha256: str
    status_code: int
    response: dict[str, Any]


def _replay(stored: Any, digest: str) -> Outcome:
    if stored.payload_sha256 != digest:
        raise ApiError(409, "idempotency_key_reused",
                       "this submission id was already used for a different payload")
    return Outcome(stored.status_code, stored.response, replayed=True)


@dataclass(frozen=True)
class Verified:
    """A submission whose signature checked out: its digest and its payload as sent."""

    sub: SubmissionIn
    digest: str
    raw_payload: Any


def submit_one(ctx: Ctx, principal: Principal, item: Verified) -> Outcome:
    """One submission in its own write transaction. A unique-constraint race is run again, and
    the second run finds the winner's row and replays it (or refuses a different payload)."""
    return retried(ctx, lambda conn: Ingest(conn, ctx, principal, ctx.now())
                   .one(item.sub, item.digest, item.raw_payload))


def submit_batch(ctx: Ctx, principal: Principal, checked: list[Verified | ApiError]) -> list[Outcome | ApiError]:
    """Each verified item in its own SAVEPOINT of one transaction: a refused item undoes only
    itself. An ApiError in `checked` (a failed signature check) is passed through as its result."""
    def work(conn: Connection) -> list[Outcome | ApiError]:
        ingest = Ingest(conn, ctx, principal, ctx.now())
        ingest.prefetch(item.sub for item in checked if isinstance(item, Verified))
        return [_batch_item(conn, ingest, item) if isinstance(item, Verified) else item for item in checked]
    return retried(ctx, work)


def _batch_item(conn: Connection, ingest: Ingest, item: Verified) -> Outcome | ApiError:
    key = item.sub.submission_id
    try:
        with conn.begin_nested():
            outcome = ingest.one(item.sub, item.digest, item.raw_payload)
    except ApiError as exc:
        return exc
    except IntegrityError:  # a concurrent request stored this key first: answer as a replay would
        stored = ingest.existing(key, fresh=True)
        if stored is None:
            raise
        try:
            outcome = _replay(stored, item.digest)
        except ApiError as exc:
            return exc
    ingest.remember(key, item.digest, outcome)
    return outcome
