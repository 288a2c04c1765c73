"""Pull: lease enough tasks for the offline work the settings ask for, and fetch their media.

Each leased item becomes a local task (in a local project per data request, with the
request's label schema) holding the lease: `remote_id`, `lease_id`, `lease_epoch`,
`lease_expires_at`. The asset is downloaded first, checked (size, SHA-256) and decoded, and
only then registered, so no task ever points at a missing or partial file. Leases this
account already holds that have no local task (a crash between lease and register) are
registered first: a restart loses none of them.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import requests

from app.annotators.ontology import parse_schema
from app.core.errors import AlayaError, MediaError
from app.core.files import atomic_file
from app.media.probe import probe_file
from app.store.assets import NewAsset
from app.store.records import Task
from app.store.sync_queue import Lease
from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient, check, parse_reply
from app.sync.errors import BadReplyError, OfflineError, ServerError
from app.sync.wire import API_PREFIX, MAX_LEASE_BATCH, LeaseOut, TaskOut

log = logging.getLogger(__name__)
LeaseListOut = pydantic.RootModel[list[TaskOut]]
Download = Callable[..., Any]  # download(session, url, dest, *, sha256, size): app.sync.download's signature


@dataclass
class PullReport:
    leased: int = 0
    registered: int = 0
    failed: list[str] = field(default_factory=list)  # plain words, one per item that could not be taken


class Puller:
    def __init__(self, ws: Workspace, client: CoordinatorClient, *, offline_tasks: int, lease_s: int,
                 download: Download | None = None) -> None:
        self.ws, self.client = ws, client
        self.offline_tasks, self.lease_s = offline_tasks, lease_s
        # TODO(lead): replace with `app.sync.download.download` (branch `download`: Range resume)
        self.download = download or _fetch_whole

    def pull(self) -> PullReport:
        report = PullReport()
        self._adopt_orphans(report)
        want = self.offline_tasks - len(self.ws.sync.leased_tasks())
        while want > 0:
            response = self.client.call("POST", f"{API_PREFIX}/leases",
                                        json={"count": min(want, MAX_LEASE_BATCH), "duration_s": self.lease_s})
            tasks = parse_reply(response, LeaseOut).tasks
            report.leased += len(tasks)
            for task in tasks:
                self._take(task, report)
            if not tasks:
                break
            want -= len(tasks)
        return report

    def _adopt_orphans(self, report: PullReport) -> None:
        response = self.client.call("GET", f"{API_PREFIX}/leases")
        held = parse_reply(response, LeaseListOut).root
        for task in held:
            local = self.ws.sync.task_for_item(task.item_id)
            if local is None or local.lease_id != task.lease_id:
                self._take(task, report)

    def _take(self, task: TaskOut, report: PullReport) -> Task | None:
        """Download, check and register one leased item; a failure gives the lease back."""
        try:
            registered = self.register(task)
            report.registered += 1
            return registered
        except (OfflineError, ServerError):
            raise  # the network or the server: the lease stays, the next pull adopts it
        except BadReplyError as exc:  # this item's download: the lease stays, the next pull tries again
            report.failed.append(f"item {task.item_id}: {exc}")
            return None
        except AlayaError as exc:  # this item cannot be worked on here: someone else may
            report.failed.append(f"item {task.item_id}: {exc}")
            self._release(task)
            return None

    def register(self, task: TaskOut) -> Task:
        schema = parse_schema(task.label_schema, source=f"the label schema of data request {task.request_id}")
        project = self.ws.sync.project_for_request(task.request_id, schema.name)
        self.ws.schemas.add_version(project.id, schema)
        asset = self._fetch(task)
        lease = Lease(task.item_id, task.lease_id, task.epoch, task.expires_at)
        return self.ws.sync.add_leased(project.id, asset, lease)

    def _fetch(self, task: TaskOut) -> NewAsset:
        ref = task.asset
        suffix = mimetypes.guess_extension(ref.media_type) or ""
        rel = Path(ref.sha256[:2]) / ref.sha256[2:4] / (ref.sha256 + suffix)
        dest = self.ws.blobs_dir / rel
        if not (dest.exists() and dest.stat().st_size == ref.size):
            self.client.session_token()  # the download uses the session's own Authorization header
            self.download(self.client.http, self.client.base_url + ref.url, dest, sha256=ref.sha256, size=ref.size)
        info = probe_file(dest)
        if not info.accepted:
            raise MediaError(f"the coordinator's asset {ref.id} cannot be opened: {info.reason}")
        metadata = info.metadata()
        metadata["channels"] = info.audio_channels if info.modality in ("audio", "video") else info.channels
        return NewAsset(sha256=ref.sha256, modality=task.modality.value, storage="managed",
                        path=str(Path("blobs") / rel), original_name=f"{ref.id}{suffix}", size_bytes=ref.size,
                        metadata=metadata)

    def _release(self, task: TaskOut) -> None:
        try:
            check(self.client.call("POST", f"{API_PREFIX}/leases/{task.lease_id}/release"))
        except AlayaError as exc:  # it expires by itself on the server
            log.warning("could not give back lease %s: %s", task.lease_id, exc)


def _fetch_whole(session: requests.Session, url: str, dest: Path, *, sha256: str, size: int) -> Path:
    """Private stand-in until `app.sync.download` lands (no Range resume): the whole file into
    a temporary file beside `dest`, checked (size, SHA-256), then renamed into place; nothing
    ever sits at `dest` half written."""
    digest, got = hashlib.sha256(), 0
    with session.get(url, stream=True, timeout=60) as response:
        check(response)
        with atomic_file(dest, binary=True) as handle:
            for chunk in response.iter_content(1 << 16):
                digest.update(chunk)
                got += len(chunk)
                if got > size:
                    raise BadReplyError(f"the asset at {url} is larger than the {size} bytes announced")
                handle.write(chunk)
            if got != size or digest.hexdigest() != sha256:
                raise BadReplyError(f"the asset at {url} arrived damaged (size or SHA-256 differ); "
                                    "it will be fetched again")
    return dest
