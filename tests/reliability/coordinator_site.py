"""A real coordinator on 127.0.0.1 (SQLite, real clock) with assets uploaded and leased, for the
reliability tests: a requester uploads files, a contributor leases their tasks and may download them."""

from __future__ import annotations

import random

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coordinator.config import CoordinatorConfig, RateLimit
from coordinator.main import create_app
from tests.coordinator.contributor import lease
from tests.coordinator.live import LiveClient, bound_socket, serve_in_thread
from tests.coordinator.requester import create_request, declare, put_chunk
from tests.coordinator.wallets import Wallet, sign_in

ADMIN, REQUESTER, CONTRIBUTOR = Wallet.numbered(0), Wallet.numbered(700), Wallet.numbered(701)
FILES = [random.Random(n).randbytes(2 << 20) for n in range(12)]  # the published assets: 2 MiB each


@dataclass(frozen=True)
class Site:
    base_url: str
    port: int
    requester: dict[str, str]  # Authorization headers
    contributor: dict[str, str]
    request_id: str
    db_url: str


@contextmanager
def live_coordinator(folder: Path) -> Iterator[Site]:
    """A coordinator serving a data request (redundancy 1, no gold) until the block ends.
    The rate limit is raised: these tests retry fast on purpose."""
    with closing(bound_socket()) as sock:
        where = "127.0.0.1:%d" % sock.getsockname()[1]
        db_url = f"sqlite:///{folder / 'coordinator.sqlite3'}"
        config = CoordinatorConfig(db_url=db_url,
                                   storage_dir=folder / "assets", domain=where, uri=f"http://{where}",
                                   admin_addresses=(ADMIN.address,),
                                   rate_limit=RateLimit(per_second=10_000, burst=10_000))
        with serve_in_thread(create_app(config), sock) as url, LiveClient(url) as client:
            admin = sign_in(client, ADMIN)
            requester = sign_in(client, REQUESTER)
            granted = client.patch(f"/v1/accounts/{REQUESTER.address}", json={"roles": ["requester"]},
                                   headers=admin)
            assert granted.status_code == 200, granted.text
            request = create_request(client, requester, redundancy=1, gold_rate=0.0)
            yield Site(url, sock.getsockname()[1], requester, sign_in(client, CONTRIBUTOR), request["id"], db_url)


def publish(site: Site, files: list[bytes]) -> list[dict[str, Any]]:
    """Upload `files` (directly, not through any proxy) and lease their tasks as the contributor;
    the leased tasks, in the order of `files` (each with `asset`: id, sha256, size, url)."""
    with LiveClient(site.base_url) as client:
        ids = [_upload(client, site, data, f"f{i}.bin") for i, data in enumerate(files)]
        tasks = lease(client, site.contributor, len(files), request_id=site.request_id)
    by_asset = {task["asset"]["id"]: task for task in tasks}
    return [by_asset[asset_id] for asset_id in ids]


def _upload(client: LiveClient, site: Site, data: bytes, filename: str, chunk: int = 4 << 20) -> str:
    """Declare and upload one file (`requester.upload_asset` reads the item from an in-process app)."""
    declared = declare(client, site.requester, site.request_id, data, filename=filename,
                       media_type="application/octet-stream")
    assert declared.status_code == 201, declared.text
    asset_id = declared.json()["id"]
    for start in range(0, len(data), chunk):
        sent = put_chunk(client, site.requester, asset_id, data[start:start + chunk], start, len(data))
        assert sent.status_code == 200, sent.text
    assert sent.json()["complete"], sent.text
    return asset_id
