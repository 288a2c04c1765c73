"""Pull: lease enough tasks for the offline work the settings ask for, and fetch their media.

Each leased item becomes a local task (in a local project per data request, with the
request's label schema) holding the lease: `remote_id`, `lease_id`, `lease_epoch`,
`lease_expires_at`. The asset is downloaded first, checked (size, SHA-256) and decoded, and
only then registered, so no task ever points at a missing or partial file. Leases this
account already holds that have no local task (a crash between lease and register, or a
download that stopped) are registered first: a restart loses none of them.

Downloads are `app.sync.download`'s (Range resume from `<blob>.part`, SHA-256, atomic rename).
When one fails, its error decides the lease: one that may succeed if tried again (a cut
connection, a timeout, a cancel, a busy part file, server trouble) keeps the lease and the part
and ends the cycle, so the next pull adopts the lease and resumes the part; a file damaged on
the way (its part was discarded) keeps the lease and is fetched again at the next pull, up to
`DAMAGED_TRIES` arrivals, after which its lease is given back (the server's copy is likely bad,
and the item should not sit with us until the lease ends); a file
the server itself says is other content, or refuses for good (404, 403), gives the lease back;
a full or read-only disk keeps lease and part and stops the cycle with the reason. A 401 means
the session ended on the server: sign in again once, as every other call does.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from app.annotators.ontology import parse_schema
from app.core.errors import AlayaError, MediaError
from app.media.probe import probe_file
from app.store.assets import NewAsset
from app.store.records import Task
from app.store.sync_queue import Lease
from app.store.workspace import Workspace
from app.sync.client import CoordinatorClient, check, parse_reply
from app.sync.download import CancelFlag, download as resumable_download
from app.sync.download_errors import DownloadCorrupt, DownloadError, DownloadRefused
from app.sync.errors import AuthError, BadReplyError, OfflineError, ServerError, SyncError
from app.sync.wire import API_PREFIX, MAX_LEASE_BATCH, LeaseOut, TaskOut

log = logging.getLogger(__name__)
LeaseListOut = pydantic.RootModel[list[TaskOut]]
Download = Callable[..., Any]  # app.sync.download.download's signature
DAMAGED_TRIES = 3  # damaged arrivals of one item (in this syncer's life) before its lease goes back


@dataclass
class PullReport:
    leased: int = 0
    registered: int = 0
    failed: list[str] = field(default_factory=list)  # plain words, one per item that could not be taken


class Puller:
    def __init__(self, ws: Workspace, client: CoordinatorClient, *, offline_tasks: int, lease_s: int,
                 download: Download | None = None, cancel: CancelFlag | None = None) -> None:
        self.ws, self.client = ws, client
        self.offline_tasks, self.lease_s = offline_tasks, lease_s
        self.download = download or resumable_download
        self.cancel = cancel  # set: a download in progress stops at its next chunk, its part kept
        self._damaged: dict[int, int] = {}  # item id -> damaged arrivals so far

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
        """Download, check and register one leased item; a failure keeps or gives back the lease
        as the module's docstring says."""
        try:
            registered = self.register(task)
        except (OfflineError, ServerError, AuthError):
            raise  # the network, the server or the sign-in: the lease stays, the next pull adopts it
        except DownloadError as exc:
            self._download_failed(task, exc, report)
            return None
        except BadReplyError as exc:  # this item's reply: the lease stays, the next pull tries again
            report.failed.append(f"item {task.item_id}: {exc}")
            return None
        except AlayaError as exc:  # this item cannot be worked on here: someone else may
            report.failed.append(f"item {task.item_id}: {exc}")
            self._release(task)
            return None
        report.registered += 1
        self._damaged.pop(task.item_id, None)
        return registered

    def _download_failed(self, task: TaskOut, exc: DownloadError, report: PullReport) -> None:
        item = f"item {task.item_id}"
        if isinstance(exc, DownloadCorrupt) and exc.retryable:  # damaged on the way; the part is gone
            tries = self._damaged[task.item_id] = self._damaged.get(task.item_id, 0) + 1
            if tries < DAMAGED_TRIES:
                report.failed.append(f"{item}: its download arrived damaged and is fetched again at the next "
                                     f"sync ({exc})")
            else:
                del self._damaged[task.item_id]
                report.failed.append(f"{item}: its download arrived damaged {tries} times ({exc}); its lease "
                                     "was given back")
                self._release(task)
        elif isinstance(exc, (DownloadCorrupt, DownloadRefused)) and not exc.retryable:
            report.failed.append(f"{item}: {exc}; its lease was given back")
            self._release(task)
        elif exc.retryable:  # cut, timed out, cancelled, busy, server trouble: the next pull resumes it
            raise SyncError(f"the download of {item} stopped: {exc}; its lease and the part already "
                            "downloaded are kept, and it resumes at the next sync") from exc
        else:
            raise exc  # a full or read-only disk: the user must act; the lease and the part are kept

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
            self._download(self.client.base_url + ref.url, dest, ref.sha256, ref.size)
        info = probe_file(dest)
        if not info.accepted:
            raise MediaError(f"the coordinator's asset {ref.id} cannot be opened: {info.reason}")
        metadata = info.metadata()
        metadata["channels"] = info.audio_channels if info.modality in ("audio", "video") else info.channels
        return NewAsset(sha256=ref.sha256, modality=task.modality.value, storage="managed",
                        path=str(Path("blobs") / rel), original_name=f"{ref.id}{suffix}", size_bytes=ref.size,
                        metadata=metadata)

    def _download(self, url: str, dest: Path, sha256: str, size: int) -> None:
        """Signed in; a 401 (the session ended on the server) signs in again once, then is an AuthError."""
        token = self.client.session_token()
        for again in (False, True):
            try:
                self.download(self.client.http, url, dest, sha256=sha256, size=size,
                              headers={"Authorization": f"Bearer {token}"}, cancel=self.cancel)
                return
            except DownloadRefused as exc:
                if exc.status != 401:
                    raise
                if again:
                    raise AuthError(f"the coordinator refuses this wallet's session for downloads even after "
                                    f"signing in again ({exc})") from None
                token = self.client.sign_in(stale=token)

    def _release(self, task: TaskOut) -> None:
        try:
            check(self.client.call("POST", f"{API_PREFIX}/leases/{task.lease_id}/release"))
        except AlayaError as exc:  # it expires by itself on the server
            log.warning("could not give back lease %s: %s", task.lease_id, exc)

