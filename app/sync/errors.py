"""Sync failures in plain words: what went wrong, and whether the work is safe.

Every failure the syncer meets is one of these (or the store's `StorageError`), so the
status bar and `alaya sync` can show one sentence, and the engine knows which ones to wait
out (offline, server trouble) and which need the user (sign-in refused, a full disk).
"""

from __future__ import annotations

import errno
import sqlite3

from app.core.errors import AlayaError, StorageError

KEPT = "your work is kept and will be sent later"
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # no space, quota, file-size limit: all need space freed


class SyncError(AlayaError):
    """A sync step that failed; the message is meant for the user."""

    exit_code = 8
    transient = True  # waiting and trying again may fix it


class OfflineError(SyncError):
    """The coordinator cannot be reached (no network, refused, timed out)."""


class ServerError(SyncError):
    """The coordinator answered with a server-side error (5xx, 429)."""

    def __init__(self, message: str, *, status: int, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after_s = status, retry_after_s


class BadReplyError(SyncError):
    """The coordinator's answer is not what the protocol says (malformed JSON, wrong content)."""


class AuthError(SyncError):
    """The coordinator refused the sign-in, or the session, even after signing in again."""

    transient = False


class RefusedError(SyncError):
    """The coordinator refused a request for a reason of its own (4xx other than 401)."""

    transient = False

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def plain_words(exc: BaseException) -> str:
    """One sentence for the user about `exc`, saying that the work is safe where it is."""
    if isinstance(exc, AlayaError) and not isinstance(exc, StorageError):
        return str(exc)
    cause = _os_cause(exc)
    if cause in _FULL or "disk is full" in str(exc).lower() or "disk i/o" in str(exc).lower():
        return f"The disk holding the workspace is full: free some space; {KEPT}."
    if cause == errno.EROFS or "readonly" in str(exc).lower() or "read-only" in str(exc).lower():
        return f"The workspace is on a read-only disk: sync cannot record its progress; {KEPT}."
    if isinstance(exc, StorageError):
        return f"{exc}; {KEPT}."
    return f"Unexpected error: {type(exc).__name__}: {exc}"


def _os_cause(exc: BaseException) -> int | None:
    """The errno of `exc` or of what caused it (StorageError wraps sqlite's and the OS's)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen.errno
        if isinstance(seen, sqlite3.OperationalError):
            code = getattr(seen, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_FULL:
                return errno.ENOSPC
            if code == sqlite3.SQLITE_READONLY:
                return errno.EROFS
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return None
