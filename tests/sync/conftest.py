"""A real coordinator on 127.0.0.1 (uvicorn in a thread, SQLite, a clock the test moves) and
a workspace holding tasks leased from it: what the sync engine's tests run against."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import pytest
from sqlalchemy import select

from app.annotators.annotation import Annotation
from app.annotators.shapes import Tag
from app.store.assets import NewAsset
from app.store.records import Task
from app.store.sync_queue import Lease
from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient, parse_reply
from app.sync.signer import KeySigner
from app.sync.submission import submit_leased_task
from app.sync.wire import LeaseOut
from coordinator.config import CoordinatorConfig, RateLimit
from coordinator.db import CoordinatorDB
from coordinator.main import create_app
from coordinator.tables import assets, items
from tests.coordinator.conftest import FakeClock
from tests.coordinator.contributor import seed_request
from tests.coordinator.live import bound_socket, serve_in_thread
from tests.coordinator.wallets import Wallet
from tests.media_factory import picture

CONTRIBUTOR = Wallet.numbered(7)


@dataclass
class Coordinator:
    url: str
    db: CoordinatorDB
    clock: FakeClock
    config: CoordinatorConfig

    def seed(self, n: int = 5, **spec: Any) -> list[str]:
        """n open items (redundancy 1, no minimum time per item); their ids."""
        spec = {"redundancy": 1, "min_seconds_per_item": 0, **spec}
        return seed_request(self.db, items_n=n, now=self.clock(), **spec).items

    def seed_pictures(self, n: int, *, damaged: int = 0, size: tuple[int, int] = (64, 48), **spec: Any) -> list[str]:
        """n items whose assets are real PNG files (`size` pixels) in the coordinator's storage; the
        last `damaged` of them stored with other bytes than their SHA-256 says."""
        item_ids = self.seed(n, **spec)
        storage = self.config.storage_dir
        with self.db.write() as conn:
            for index, item_id in enumerate(item_ids):
                asset_id = conn.execute(select(items.c.asset_id).where(items.c.id == item_id)).scalar_one()
                ok, png = cv2.imencode(".png", picture(*size, seed=index))
                data = png.tobytes()
                sha = hashlib.sha256(data).hexdigest()
                target = storage / sha[:2] / sha
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data if index < n - damaged else data[::-1])
                conn.execute(assets.update().where(assets.c.id == asset_id).values(
                    sha256=sha, size=len(data), media_type="image/png"))
        return item_ids


@contextmanager
def running_coordinator(folder: Path, **config: Any) -> Iterator[Coordinator]:
    """A coordinator on 127.0.0.1:<free port> with its SQLite database in `folder`."""
    clock = FakeClock()
    with closing(bound_socket()) as sock:
        where = "127.0.0.1:%d" % sock.getsockname()[1]
        fields: dict[str, Any] = dict(db_url=f"sqlite:///{folder / 'coordinator.sqlite3'}",
                                      storage_dir=folder / "assets", domain=where, uri=f"http://{where}",
                                      clock=clock, energy_max=10**6,
                                      rate_limit=RateLimit(per_second=1e6, burst=10**6))
        settings = CoordinatorConfig(**{**fields, **config})
        with serve_in_thread(create_app(settings), sock) as url:
            db = CoordinatorDB(settings.db_url)
            try:
                yield Coordinator(url, db, clock, settings)
            finally:
                db.close()


@pytest.fixture
def coordinator(tmp_path: Path) -> Iterator[Coordinator]:
    with running_coordinator(tmp_path) as running:
        yield running


@pytest.fixture
def signer() -> KeySigner:
    return KeySigner(CONTRIBUTOR.key)


@pytest.fixture
def client(coordinator: Coordinator, signer: KeySigner) -> CoordinatorClient:
    return CoordinatorClient(coordinator.url, signer, timeout_s=10)


def lease_locally(ws: Workspace, client: CoordinatorClient, n: int, duration_s: int = 3600) -> list[Task]:
    """Lease n tasks through the API and register them (without their media: push tests
    need the task and its lease, not the pixels)."""
    response = client.call("POST", "/v1/leases", json={"count": n, "duration_s": duration_s})
    by_request: dict[str, list[tuple[NewAsset, Lease]]] = {}
    for t in parse_reply(response, LeaseOut).tasks:
        asset = NewAsset(sha256=t.asset.sha256, modality="image", storage="managed", path=f"blobs/{t.asset.id}",
                         original_name=f"{t.asset.id}.png", size_bytes=t.asset.size, metadata={})
        by_request.setdefault(t.request_id, []).append((asset, Lease(t.item_id, t.lease_id, t.epoch, t.expires_at)))
    tasks = []
    for request_id, entries in by_request.items():  # one commit per request, not two per task
        project = ws.sync.project_for_request(request_id, "leased")
        tasks += ws.sync.add_leased_many(project.id, entries)
    return tasks


def queue_work(coordinator: Coordinator, ws: Workspace, client: CoordinatorClient, n: int) -> list[Task]:
    """n new items leased, labelled and submitted locally: n submissions in the queue."""
    coordinator.seed(n)
    return [label_and_submit(ws, task) for task in lease_locally(ws, client, n)]


def label_and_submit(ws: Workspace, task: Task, label: str = "car") -> Task:
    ws.annotations.save(Annotation.new(asset_id=task.asset_id, label=label, shape=Tag(), author="me"),
                        task_id=task.id)
    return submit_leased_task(ws, task.id, author="me")
