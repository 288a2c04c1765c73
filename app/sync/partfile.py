"""The partial file of a download: `<name>.part` beside the destination, and its sidecar.

The sidecar `<name>.part.json` records which content the part is a prefix of (the expected
SHA-256) and the server's ETag for it, so a later run can resume with `If-Range`. A part without
a sidecar that names the same SHA-256 is of unknown origin and starts over. An exclusive `flock`
on the part keeps two downloads of one destination from interleaving their bytes.

Operating-system failures become the download's typed errors: a full disk (ENOSPC, EDQUOT, or
EFBIG from a file-size limit) keeps the part for a resume; a read-only folder is refused.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from app.core.files import fsync_folder, write_text_atomic
from app.sync.download_errors import DownloadBusy, DownloadDiskFull, DownloadNotWritable

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one downloader per destination is then on the caller
    fcntl = None  # type: ignore[assignment]

_READ_BLOCK = 1 << 20
_FULL = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
         errno.EFBIG: "the file-size limit is reached"}
_NOT_WRITABLE = {errno.EROFS: "the folder is on a read-only file system",
                 errno.EACCES: "permission denied", errno.EPERM: "operation not permitted"}


@contextmanager
def disk_errors(path: Path, url: str) -> Iterator[None]:
    """Turn the operating system's refusals to store `path` into the download's typed errors."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL:
            raise DownloadDiskFull(f"cannot store {path.name}: {_FULL[exc.errno]}; the part already "
                                   "downloaded is kept and the download resumes once space is freed",
                                   url=url) from exc
        if exc.errno in _NOT_WRITABLE:
            raise DownloadNotWritable(f"cannot write in {path.parent}: {_NOT_WRITABLE[exc.errno]}",
                                      url=url) from exc
        raise


def hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class PartFile:
    """An open, locked partial file; `length` bytes of it are the content's first bytes (as far
    as anyone can tell before the final SHA-256 check), and `digest` is their running hash."""

    def __init__(self, dest: Path, sha256: str, url: str) -> None:
        self.dest, self.sha256, self.url = dest, sha256, url
        self.path = dest.with_name(dest.name + ".part")
        self.meta_path = dest.with_name(dest.name + ".part.json")
        self.etag: str | None = None
        self.length = 0
        self.digest = hashlib.sha256()
        self._fd = -1

    @classmethod
    @contextmanager
    def opened(cls, dest: Path, sha256: str, url: str) -> Iterator[PartFile]:
        """The part for `dest`, locked, its existing bytes hashed; closed (and unlocked) after."""
        part = cls(dest, sha256, url)
        with disk_errors(part.path, url):
            dest.parent.mkdir(parents=True, exist_ok=True)
            part._fd = os.open(part.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            part._lock()
            with disk_errors(part.path, url):
                part._load()
            yield part
        finally:
            os.close(part._fd)

    def _lock(self) -> None:
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadBusy(f"{self.dest.name} is being downloaded by another task right now",
                               url=self.url) from None

    def _load(self) -> None:
        """Adopt the bytes already there if the sidecar says they are of our content, else start over."""
        meta = self._read_meta()
        if meta.get("sha256") != self.sha256:
            self.restart()
            return
        self.etag = meta.get("etag") if isinstance(meta.get("etag"), str) else None
        offset = 0
        while block := os.pread(self._fd, _READ_BLOCK, offset):
            self.digest.update(block)
            offset += len(block)
        self.length = offset

    def _read_meta(self) -> dict[str, object]:
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def restart(self) -> None:
        """Empty the part: its bytes cannot be trusted as a prefix of the content."""
        with disk_errors(self.path, self.url):
            os.ftruncate(self._fd, 0)
        self.length, self.digest, self.etag = 0, hashlib.sha256(), None
        self.remember(None)

    def remember(self, etag: str | None) -> None:
        """Record (durably, before any byte of the response is appended) whose prefix this is."""
        self.etag = etag
        with disk_errors(self.meta_path, self.url):
            write_text_atomic(self.meta_path, json.dumps({"sha256": self.sha256, "etag": etag}))

    def append(self, data: bytes) -> None:
        """Write `data` at the end; on a short write (disk full) what was written stays counted."""
        view = memoryview(data)
        with disk_errors(self.path, self.url):
            while view:
                written = os.pwrite(self._fd, view, self.length)
                self.digest.update(view[:written])
                self.length += written
                view = view[written:]

    def discard(self) -> None:
        """Remove the part and its sidecar (the lock goes with the closed descriptor)."""
        for path in (self.path, self.meta_path):
            with suppress(FileNotFoundError):
                path.unlink()
        self.length, self.digest, self.etag = 0, hashlib.sha256(), None

    def publish(self) -> Path:
        """fsync the part, rename it over the destination, make the rename durable, drop the sidecar."""
        with disk_errors(self.dest, self.url):
            os.fsync(self._fd)
            os.replace(self.path, self.dest)
            fsync_folder(self.dest.parent)
        with suppress(FileNotFoundError):
            self.meta_path.unlink()
        return self.dest
