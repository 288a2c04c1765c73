"""Assets of a data request: declaration, resumable chunked upload, and who may download.

An upload is a sequence of `PUT`s whose ranges follow each other. The file is written first
and the database second, so the database never counts bytes the disk lacks; the partial file
is locked while a chunk is written, and `received` only moves by a conditional UPDATE. The
last chunk is hashed: a mismatch resets the upload to byte 0, a match moves the file to its
content address and, in one transaction, marks the asset complete and creates its item.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.sync.wire import API_PREFIX, AssetIn, AssetOut
from coordinator.assets.storage import Storage
from coordinator.context import Ctx
from coordinator.errors import ApiError
from coordinator.requests.schema import check_labels_in_schema, check_schema, check_unicode, invalid
from coordinator.requests.service import is_admin, load_owned
from coordinator.security import Principal
from coordinator.tables import assets, data_requests, items, leases

_CONTENT_RANGE = re.compile(r"^bytes (\d{1,20})-(\d{1,20})/(\d{1,20})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
OFFSET_HEADER = "Upload-Offset"
_rank_guard = threading.Lock()
_last_rank = 0


def next_rank() -> int:
    """Queue order of a new item: strictly increasing in this process, roughly across processes.
    (An order, not a time of the service's clock, so it does not come from `ctx.now()`.)"""
    global _last_rank
    with _rank_guard:
        _last_rank = max(time.time_ns(), _last_rank + 1)
        return _last_rank


def to_out(row: Any, received: int | None = None) -> AssetOut:
    return AssetOut(id=row.id, sha256=row.sha256, size=row.size,
                    received=row.received if received is None else received, complete=row.complete,
                    upload_url=f"{API_PREFIX}/uploads/{row.id}", download_url=f"{API_PREFIX}/assets/{row.id}")


def _canonical(gold: dict[str, Any] | None) -> str | None:
    return None if gold is None else json.dumps(gold, sort_keys=True, separators=(",", ":"))


# -- declaration ------------------------------------------------------------------------------

def declare(ctx: Ctx, principal: Principal, request_id: str, body: AssetIn) -> tuple[AssetOut, bool]:
    """(the asset, created?): declaring the same content again returns the first declaration."""
    if _CONTROL.search(body.filename):
        raise invalid("filename", "must not contain control characters or lone surrogates")
    gold = None if body.gold is None else body.gold.model_dump(mode="json")
    check_unicode(gold, "gold")
    with ctx.db.read() as conn:
        request = load_owned(conn, principal, request_id)
        existing = _by_sha(conn, request_id, body.sha256)
    if existing is not None:
        return _same_declaration(ctx, existing, body.size, gold), False
    if request.status != "open":
        raise ApiError(409, "request_closed", f"data request {request_id} is closed")
    if body.gold is not None:
        check_labels_in_schema(body.gold, check_schema(request.spec["label_schema"]))
    asset_id = secrets.token_hex(16)
    row = dict(id=asset_id, request_id=request_id, sha256=body.sha256, size=body.size, received=0,
               filename=body.filename, media_type=body.media_type, complete=False, gold=gold,
               created_at=ctx.now())
    try:
        with ctx.db.write() as conn:
            conn.execute(insert(assets).values(**row))
    except IntegrityError:  # declared at the same moment by another call: that one stands
        with ctx.db.read() as conn:
            existing = _by_sha(conn, request_id, body.sha256)
        if existing is None:
            raise
        return _same_declaration(ctx, existing, body.size, gold), False
    return to_out(SimpleNamespace(**row)), True


def _by_sha(conn: Connection, request_id: str, sha256: str) -> Row | None:
    return conn.execute(select(assets).where(assets.c.request_id == request_id,
                                             assets.c.sha256 == sha256)).first()


def _same_declaration(ctx: Ctx, existing: Row, size: int, gold: dict[str, Any] | None) -> AssetOut:
    if existing.size != size:
        raise ApiError(409, "asset_conflict", f"this content was declared with size {existing.size}, not {size}")
    if _canonical(existing.gold) != _canonical(gold):
        raise ApiError(409, "asset_conflict", "this content was declared with different gold labels")
    return status_of(ctx, existing)


# -- upload -----------------------------------------------------------------------------------

def _owned_asset(conn: Connection, principal: Principal, asset_id: str) -> Row:
    row = conn.execute(select(assets, data_requests.c.requester_id, data_requests.c.status,
                              data_requests.c.redundancy)
                       .join(data_requests, data_requests.c.id == assets.c.request_id)
                       .where(assets.c.id == asset_id)).first()
    if row is None or (row.requester_id != principal.account_id and not is_admin(principal)):
        raise ApiError(404, "not_found", f"no asset {asset_id}")
    return row


def status_of(ctx: Ctx, asset: Row) -> AssetOut:
    """Where to resume: the bytes both the database and the partial file hold."""
    if asset.complete:
        return to_out(asset)
    path = Storage(ctx.config.storage_dir).partial(asset.id)
    on_disk = path.stat().st_size if path.exists() else 0
    return to_out(asset, received=min(asset.received, on_disk))


def upload_status(ctx: Ctx, principal: Principal, asset_id: str) -> AssetOut:
    with ctx.db.read() as conn:
        return status_of(ctx, _owned_asset(conn, principal, asset_id))


def parse_content_range(header: str) -> tuple[int, int, int]:
    match = _CONTENT_RANGE.match(header.strip())
    if match is None:
        raise invalid("Content-Range", "expected 'bytes START-END/TOTAL'")
    start, end, total = (int(group) for group in match.groups())
    if end < start or end >= total:
        raise invalid("Content-Range", f"bytes {start}-{end} do not lie within {total} bytes")
    return start, end, total


def put_chunk(ctx: Ctx, principal: Principal, asset_id: str, content_range: str, data: bytes) -> AssetOut:
    start, end, total = parse_content_range(content_range)
    if len(data) != end - start + 1:
        raise invalid("Content-Range", f"names {end - start + 1} bytes but the body has {len(data)}")
    with ctx.db.read() as conn:
        asset = _owned_asset(conn, principal, asset_id)
    if total != asset.size:
        raise invalid("Content-Range", f"total {total} is not the declared size {asset.size}")
    if asset.complete:
        raise ApiError(409, "upload_complete", f"asset {asset_id} is complete")
    storage = Storage(ctx.config.storage_dir)
    with storage.locked(asset_id) as handle:
        with ctx.db.read() as conn:  # again, under the lock: the previous holder moved it on
            asset = _owned_asset(conn, principal, asset_id)
        if asset.complete:
            storage.drop_partial(asset_id)  # our lock re-created it; the content is already stored
            raise ApiError(409, "upload_complete", f"asset {asset_id} is complete")
        if asset.status != "open":
            raise ApiError(409, "request_closed", f"data request {asset.request_id} is closed")
        received = _reconcile(ctx, storage, handle, asset)
        if start != received:
            raise ApiError(409, "offset_mismatch", f"the upload is at byte {received}: send from there "
                           f"(GET {API_PREFIX}/uploads/{asset_id} tells the same)", {OFFSET_HEADER: str(received)})
        storage.write_at(handle, start, data)
        if end + 1 < asset.size:
            _move_received(ctx, asset_id, received, end + 1)
            return to_out(asset, received=end + 1)
        return _finish(ctx, storage, handle, asset, received)


def _reconcile(ctx: Ctx, storage: Storage, handle: Any, asset: Row) -> int:
    """The trusted offset; the database follows the file when the file holds less."""
    received = storage.trusted_size(handle, asset.received)
    if received != asset.received:
        _move_received(ctx, asset.id, asset.received, received)
    return received


def _move_received(ctx: Ctx, asset_id: str, before: int, after: int) -> None:
    with ctx.db.write() as conn:
        moved = conn.execute(update(assets).where(assets.c.id == asset_id, assets.c.received == before,
                                                  assets.c.complete.is_(False))
                             .values(received=after)).rowcount
    if moved != 1:  # only a writer outside the lock could do this: refuse rather than guess
        raise ApiError(409, "upload_conflict", f"asset {asset_id} changed during the upload; ask where to resume")


def _finish(ctx: Ctx, storage: Storage, handle: Any, asset: Row, received: int) -> AssetOut:
    digest = storage.sha256(handle)
    if digest != asset.sha256:
        storage.reset(handle)
        _move_received(ctx, asset.id, received, 0)
        raise ApiError(422, "sha256_mismatch", f"the {asset.size} bytes received hash to {digest}, not the "
                       f"declared {asset.sha256}; the upload was reset: send it again from byte 0")
    gold = asset.gold
    storage.promote(asset.id, asset.sha256)
    with ctx.db.write() as conn:
        done = conn.execute(update(assets).where(assets.c.id == asset.id, assets.c.complete.is_(False))
                            .values(received=asset.size, complete=True)).rowcount
        if done == 1:
            conn.execute(insert(items).values(
                id=secrets.token_hex(16), rank=next_rank(), request_id=asset.request_id, asset_id=asset.id,
                is_gold=gold is not None, gold_truth=gold, state="open", needed=asset.redundancy,
                slots_open=asset.redundancy, submitted=0, lease_epoch=0, created_at=ctx.now()))
    with ctx.db.read() as conn:
        return to_out(conn.execute(select(assets).where(assets.c.id == asset.id)).one())


# -- download ---------------------------------------------------------------------------------

def downloadable(ctx: Ctx, principal: Principal, asset_id: str) -> Row:
    """The asset, for its request's owner, an administrator, or anyone who holds or held a lease
    on its item; anyone else gets the 404 of an asset that does not exist."""
    holds_lease = exists().where(leases.c.item_id == items.c.id, items.c.asset_id == assets.c.id,
                                 leases.c.account_id == principal.account_id)
    stmt = (select(assets, data_requests.c.requester_id, holds_lease.label("leased"))
            .join(data_requests, data_requests.c.id == assets.c.request_id)
            .where(assets.c.id == asset_id))
    with ctx.db.read() as conn:
        row = conn.execute(stmt).first()
    allowed = row is not None and (row.leased or row.requester_id == principal.account_id or is_admin(principal))
    if not allowed:
        raise ApiError(404, "not_found", f"no asset {asset_id}")
    if not row.complete:
        raise ApiError(409, "upload_incomplete", f"asset {asset_id} is not fully uploaded yet")
    return row
