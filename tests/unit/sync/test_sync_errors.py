"""Storage failures during sync become one plain sentence that says the work is kept."""

from __future__ import annotations

import errno
import sqlite3

from app.core.errors import StorageError
from app.sync.errors import OfflineError, plain_words


def _sqlite_error(code: int, text: str) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(text)
    exc.sqlite_errorcode = code
    return exc


def test_a_full_disk_is_named_and_the_work_is_kept() -> None:
    try:
        raise StorageError("cannot write to /ws/alaya.sqlite3") from _sqlite_error(
            sqlite3.SQLITE_FULL, "database or disk is full")
    except StorageError as exc:
        words = plain_words(exc)
    assert "disk" in words and "full" in words and "kept" in words
    assert "full" in plain_words(OSError(errno.ENOSPC, "No space left on device"))


def test_a_read_only_disk_is_named() -> None:
    try:
        raise StorageError("cannot write") from _sqlite_error(
            sqlite3.SQLITE_READONLY, "attempt to write a readonly database")
    except StorageError as exc:
        assert "read-only" in plain_words(exc)
    assert "read-only" in plain_words(OSError(errno.EROFS, "Read-only file system"))


def test_sync_errors_keep_their_own_words() -> None:
    assert plain_words(OfflineError("cannot reach the coordinator")) == "cannot reach the coordinator"
