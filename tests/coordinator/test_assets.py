"""Assets: declaration, resumable chunked upload with SHA-256 verification, ranged download."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from coordinator.assets.download import parse_range
from coordinator.errors import ApiError
from coordinator.main import create_app
from coordinator.tables import accounts, assets, items, leases
from tests.coordinator.requester import create_request, declare, put_chunk, upload_asset
from tests.coordinator.wallets import Wallet

REQUESTER, OTHER, WORKER = Wallet.numbered(1), Wallet.numbered(2), Wallet.numbered(3)
DATA = bytes(range(256)) * 40  # 10,240 bytes
GOLD = {"annotations": [{"id": "g1", "label": "car", "shape": {"kind": "box", "x1": 0, "y1": 0, "x2": 5, "y2": 5}}]}


@pytest.fixture
def requester(signed_in: Any) -> dict[str, str]:
    return signed_in(REQUESTER, roles=["requester"])


@pytest.fixture
def request_id(client: Any, requester: dict[str, str]) -> str:
    return create_request(client, requester, redundancy=4)["id"]


def _storage(client: Any) -> Any:
    return client.app.state.ctx.config.storage_dir


def _status(client: Any, headers: dict[str, str], asset_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/uploads/{asset_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- declaration --------------------------------------------------------------------------------

def test_declare_is_idempotent_and_conflicts_are_refused(client: Any, requester: dict[str, str],
                                                         request_id: str) -> None:
    first = declare(client, requester, request_id, DATA)
    assert first.status_code == 201
    asset = first.json()
    assert (asset["received"], asset["complete"], asset["size"]) == (0, False, len(DATA))
    assert asset["upload_url"] == f"/v1/uploads/{asset['id']}" and asset["download_url"] == f"/v1/assets/{asset['id']}"
    again = declare(client, requester, request_id, DATA, filename="renamed.png")
    assert again.status_code == 200 and again.json()["id"] == asset["id"]
    bigger = client.post(f"/v1/requests/{request_id}/assets", headers=requester, json={
        "sha256": asset["sha256"], "size": len(DATA) + 1, "filename": "x.png", "media_type": "image/png"})
    assert bigger.status_code == 409 and bigger.json()["error"] == "asset_conflict"
    assert declare(client, requester, request_id, DATA, gold=GOLD).status_code == 409


def test_declare_refusals(client: Any, requester: dict[str, str], request_id: str, signed_in: Any) -> None:
    other = signed_in(OTHER, roles=["requester"])
    assert declare(client, other, request_id, DATA).status_code == 404
    bad_gold = {"annotations": [{"id": "g", "label": "tree", "shape": {"kind": "tag"}}]}
    response = declare(client, requester, request_id, DATA, gold=bad_gold)
    assert response.status_code == 422 and response.json()["detail"].startswith("gold.annotations[0].label:")
    wrong_kind = {"annotations": [{"id": "g", "label": "car", "shape": {"kind": "tag"}}]}
    response = declare(client, requester, request_id, DATA, gold=wrong_kind)
    assert response.status_code == 422 and response.json()["detail"].startswith("gold.annotations[0].shape:")
    response = declare(client, requester, request_id, DATA, filename="a\x00b.png")
    assert response.status_code == 422 and response.json()["detail"].startswith("filename:")
    client.post(f"/v1/requests/{request_id}/close", headers=requester)
    response = declare(client, requester, request_id, DATA)
    assert response.status_code == 409 and response.json()["error"] == "request_closed"
    with client.app.state.ctx.db.read() as conn:
        assert conn.execute(select(assets)).all() == []


# -- upload -------------------------------------------------------------------------------------

def test_chunked_upload_with_interruptions_and_resume(client: Any, requester: dict[str, str],
                                                      request_id: str) -> None:
    asset = declare(client, requester, request_id, DATA).json()
    partial = _storage(client) / "partial" / asset["id"]
    assert put_chunk(client, requester, asset["id"], DATA[:4000], 0, len(DATA)).json()["received"] == 4000
    with open(partial, "ab") as handle:  # a crash after the file write, before the database update
        handle.write(b"half a chunk that was never acknowledged")
    assert _status(client, requester, asset["id"])["received"] == 4000
    assert put_chunk(client, requester, asset["id"], DATA[4000:8000], 4000, len(DATA)).status_code == 200
    with open(partial, "r+b") as handle:  # the disk lost the tail the database counts
        handle.truncate(6000)
    resume = _status(client, requester, asset["id"])["received"]
    assert resume == 6000
    done = put_chunk(client, requester, asset["id"], DATA[resume:], resume, len(DATA))
    assert done.status_code == 200 and done.json()["complete"] and done.json()["received"] == len(DATA)
    sha = hashlib.sha256(DATA).hexdigest()
    assert (_storage(client) / sha[:2] / sha).read_bytes() == DATA and not partial.exists()
    with client.app.state.ctx.db.read() as conn:
        item = conn.execute(select(items).where(items.c.asset_id == asset["id"])).one()
    assert (item.state, item.is_gold, item.gold_truth, item.needed, item.slots_open) == ("open", False, None, 4, 4)
    assert (item.submitted, item.lease_epoch, item.request_id, len(item.id)) == (0, 0, request_id, 32)
    late = put_chunk(client, requester, asset["id"], DATA[:10], 0, len(DATA))
    assert late.status_code == 409 and late.json()["error"] == "upload_complete"
    assert declare(client, requester, request_id, DATA).json()["complete"] is True


def test_wrong_offset_and_total(client: Any, requester: dict[str, str], request_id: str) -> None:
    asset = declare(client, requester, request_id, DATA).json()
    put_chunk(client, requester, asset["id"], DATA[:1000], 0, len(DATA))
    ahead = put_chunk(client, requester, asset["id"], DATA[2000:3000], 2000, len(DATA))
    assert ahead.status_code == 409 and ahead.json()["error"] == "offset_mismatch"
    assert ahead.headers["Upload-Offset"] == "1000" and "1000" in ahead.json()["detail"]
    assert put_chunk(client, requester, asset["id"], DATA[:1000], 0, len(DATA)).status_code == 409
    total = put_chunk(client, requester, asset["id"], DATA[1000:2000], 1000, len(DATA) + 5)
    assert total.status_code == 422 and total.json()["detail"].startswith("Content-Range:")
    short = client.put(f"/v1/uploads/{asset['id']}", content=DATA[1000:1500],
                       headers={**requester, "Content-Range": f"bytes 1000-1999/{len(DATA)}"})
    assert short.status_code == 422
    garbled = client.put(f"/v1/uploads/{asset['id']}", content=b"x", headers={**requester, "Content-Range": "bytes=0-0"})
    assert garbled.status_code == 422
    assert _status(client, requester, asset["id"])["received"] == 1000


def test_hash_mismatch_resets_the_upload(client: Any, requester: dict[str, str], request_id: str) -> None:
    asset = declare(client, requester, request_id, DATA).json()
    put_chunk(client, requester, asset["id"], DATA[:5000], 0, len(DATA))
    wrong = put_chunk(client, requester, asset["id"], b"\xff" * (len(DATA) - 5000), 5000, len(DATA))
    assert wrong.status_code == 422 and wrong.json()["error"] == "sha256_mismatch"
    assert _status(client, requester, asset["id"])["received"] == 0
    with client.app.state.ctx.db.read() as conn:
        assert conn.execute(select(items)).all() == []
    assert upload_asset(client, requester, request_id, DATA, chunk=3000)["complete"]


def test_oversized_chunk_is_refused(client: Any, requester: dict[str, str], request_id: str,
                                    make_config: Any) -> None:
    asset = declare(client, requester, request_id, DATA).json()
    with TestClient(create_app(make_config(upload_chunk_max=4096))) as small:
        too_big = put_chunk(small, requester, asset["id"], DATA[:5000], 0, len(DATA))
        assert too_big.status_code == 413 and too_big.json()["error"] == "too_large"
        assert put_chunk(small, requester, asset["id"], DATA[:4096], 0, len(DATA)).status_code == 200
    assert _status(client, requester, asset["id"])["received"] == 4096


def test_concurrent_chunks_do_not_corrupt(client: Any, requester: dict[str, str], request_id: str) -> None:
    asset = declare(client, requester, request_id, DATA).json()
    codes: list[int] = []

    def send() -> None:
        codes.append(put_chunk(client, requester, asset["id"], DATA[:6000], 0, len(DATA)).status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] + [409] * 5
    assert put_chunk(client, requester, asset["id"], DATA[6000:], 6000, len(DATA)).json()["complete"]


def test_gold_asset_becomes_a_gold_item(client: Any, requester: dict[str, str], request_id: str) -> None:
    uploaded = upload_asset(client, requester, request_id, DATA, gold=GOLD, chunk=4000)
    with client.app.state.ctx.db.read() as conn:
        item = conn.execute(select(items).where(items.c.id == uploaded["item_id"])).one()
    assert item.is_gold and item.gold_truth["annotations"][0]["label"] == "car" and item.needed == 4
    assert not list((_storage(client) / "partial").iterdir())
    again = declare(client, requester, request_id, DATA, gold=GOLD)
    assert again.status_code == 200 and again.json()["id"] == uploaded["id"]
    assert declare(client, requester, request_id, DATA).status_code == 409  # same content, no gold


# -- download -----------------------------------------------------------------------------------

@pytest.fixture
def uploaded(client: Any, requester: dict[str, str], request_id: str) -> dict[str, Any]:
    return upload_asset(client, requester, request_id, DATA, chunk=4096, media_type="image/png")


def test_download_full_and_ranges(client: Any, requester: dict[str, str], uploaded: dict[str, Any]) -> None:
    url, sha = uploaded["download_url"], uploaded["sha256"]
    full = client.get(url, headers=requester)
    assert full.status_code == 200 and full.content == DATA
    assert full.headers["etag"] == f'"{sha}"' and full.headers["x-content-sha256"] == sha
    assert full.headers["accept-ranges"] == "bytes" and full.headers["content-type"] == "image/png"
    assert full.headers["content-length"] == str(len(DATA))
    cases = {"bytes=10-19": (10, 19), "bytes=10000-": (10000, len(DATA) - 1), "bytes=-5": (len(DATA) - 5, len(DATA) - 1),
             "bytes=10200-99999": (10200, len(DATA) - 1)}
    for header, (first, last) in cases.items():
        part = client.get(url, headers={**requester, "Range": header})
        assert part.status_code == 206, header
        assert part.content == DATA[first:last + 1]
        assert part.headers["content-range"] == f"bytes {first}-{last}/{len(DATA)}"
    for header in ("bytes=99999-", "bytes=-0"):
        unsatisfiable = client.get(url, headers={**requester, "Range": header})
        assert unsatisfiable.status_code == 416 and unsatisfiable.headers["content-range"] == f"bytes */{len(DATA)}"
    ignored = client.get(url, headers={**requester, "Range": "bytes=0-1,5-6"})
    assert ignored.status_code == 200 and ignored.content == DATA


def test_download_validators_and_head(client: Any, requester: dict[str, str], uploaded: dict[str, Any]) -> None:
    url, etag = uploaded["download_url"], f'"{uploaded["sha256"]}"'
    cached = client.get(url, headers={**requester, "If-None-Match": f'"other", {etag}'})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag
    assert client.get(url, headers={**requester, "If-None-Match": '"other"'}).status_code == 200
    same = client.get(url, headers={**requester, "Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == DATA[:10]
    changed = client.get(url, headers={**requester, "Range": "bytes=0-9", "If-Range": '"old"'})
    assert changed.status_code == 200 and changed.content == DATA
    head = client.head(url, headers=requester)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(DATA)) and head.content == b""
    assert head.headers["etag"] == etag


def test_download_permissions(client: Any, requester: dict[str, str], uploaded: dict[str, Any],
                              signed_in: Any, admin: dict[str, str], clock: Any) -> None:
    url = uploaded["download_url"]
    worker = signed_in(WORKER, roles=["contributor"])
    assert client.get(url, headers=worker).status_code == 404
    assert client.head(url, headers=worker).status_code == 404
    assert client.get(url).status_code == 401
    assert client.get(url, headers=admin).status_code == 200
    with client.app.state.ctx.db.write() as conn:
        account_id = conn.execute(select(accounts.c.id).where(accounts.c.address == WORKER.address)).scalar_one()
        conn.execute(insert(leases).values(id="l" * 32, item_id=uploaded["item_id"], account_id=account_id,
                                           epoch=1, state="expired", expires_at=clock.now, created_at=clock.now))
    assert client.get(url, headers=worker).content == DATA  # having held a lease is enough


def test_download_of_an_incomplete_asset(client: Any, requester: dict[str, str], request_id: str) -> None:
    asset = declare(client, requester, request_id, DATA).json()
    response = client.get(asset["download_url"], headers=requester)
    assert response.status_code == 409 and response.json()["error"] == "upload_incomplete"
    assert client.get("/v1/assets/nosuchasset", headers=requester).status_code == 404


def test_parse_range_edges() -> None:
    assert parse_range(None, 10) is None and parse_range("items=0-1", 10) is None
    assert parse_range("bytes=5-2", 10) is None and parse_range("bytes=-", 10) is None
    assert parse_range("bytes=20-5", 10) is None and parse_range("bytes=3-", 10) == (3, 9)
    assert parse_range("bytes=-20", 10) == (0, 9) and parse_range("BYTES = 0 - 0", 10) == (0, 0)
    with pytest.raises(ApiError):
        parse_range("bytes=10-", 10)
