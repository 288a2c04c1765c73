"""Asset files on disk: partial uploads, content-addressed finished files, locks.

Layout under `storage_dir`: `partial/<asset id>` grows chunk by chunk (each chunk fsynced
before the database counts it), and a verified file moves by an atomic rename to `<sha[:2]>/<sha>`. Finished
files are immutable and shared by every asset with that content.

A partial file is written under an exclusive `flock` on the file itself, so two uploads of one
asset (threads or processes) take turns; after the lock is taken the path is checked to still
name the locked file, because the previous holder may have renamed or replaced it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

try:
    import fcntl
except ImportError:  # not POSIX: fall back to a lock per asset in this process
    fcntl = None  # type: ignore[assignment]

BLOCK = 1 << 20
_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.partial_dir = root / "partial"
        self.partial_dir.mkdir(parents=True, exist_ok=True)

    def partial(self, asset_id: str) -> Path:
        return self.partial_dir / asset_id

    def final(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def locked(self, asset_id: str) -> Iterator[BinaryIO]:
        """The partial file, opened for writing and held exclusively until the block ends."""
        path = self.partial(asset_id)
        with _process_lock(asset_id):
            while True:
                handle = open(path, "a+b")  # creates it when missing; never truncates
                try:
                    if fcntl is not None:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                    if _same_file(handle, path):
                        break
                except BaseException:
                    handle.close()
                    raise
                handle.close()  # renamed or removed while we waited: lock the new one
            try:
                yield handle
            finally:
                handle.close()  # closing releases the flock

    @staticmethod
    def trusted_size(handle: BinaryIO, db_received: int) -> int:
        """Bytes both the file and the database hold: a crash between the file write and the
        database update leaves the file longer, and the tail is cut off."""
        size = os.fstat(handle.fileno()).st_size
        trusted = min(size, db_received)
        if size > trusted:
            handle.truncate(trusted)
            os.fsync(handle.fileno())
        return trusted

    @staticmethod
    def write_at(handle: BinaryIO, offset: int, data: bytes) -> None:
        """Write `data` at `offset` (the current end) and make it durable before returning."""
        handle.truncate(offset)
        handle.seek(offset)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())

    @staticmethod
    def sha256(handle: BinaryIO) -> str:
        digest = hashlib.sha256()
        handle.seek(0)
        while block := handle.read(BLOCK):
            digest.update(block)
        return digest.hexdigest()

    @staticmethod
    def reset(handle: BinaryIO) -> None:
        handle.truncate(0)
        os.fsync(handle.fileno())

    def promote(self, asset_id: str, sha256: str) -> Path:
        """Move the verified partial file to its content address, atomically and durably."""
        target = self.final(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.partial(asset_id), target)  # same content when it already exists
        _fsync_dir(target.parent)
        _fsync_dir(self.partial_dir)
        return target

    def drop_partial(self, asset_id: str) -> None:
        """Remove a stray partial file (e.g. re-created by a chunk for a finished asset)."""
        self.partial(asset_id).unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------

    def open_final(self, sha256: str) -> BinaryIO:
        return open(self.final(sha256), "rb")


def chunks(handle: BinaryIO, start: int, length: int, block: int = 1 << 16) -> Iterator[bytes]:
    """`length` bytes from `start`, a block at a time; closes the file when done or abandoned."""
    try:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(block, length))
            if not data:
                return
            length -= len(data)
            yield data
    finally:
        handle.close()


def _same_file(handle: BinaryIO, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return  # directories cannot be opened for fsync elsewhere; the rename is still atomic
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _process_lock(asset_id: str) -> Iterator[None]:
    """Without flock, a lock per asset shared by this process's threads (kept while used)."""
    if fcntl is not None:
        yield
        return
    with _local_guard:
        lock = _local_locks.setdefault(asset_id, threading.Lock())
    with lock:
        yield
