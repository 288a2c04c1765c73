"""Why a download did not finish, in words for the user and as types for the sync engine.

Every error names the URL and says what became of the partial file (kept for a later resume,
or discarded). `retryable` tells a retry loop whether calling `download()` again, unchanged,
can succeed: a cut connection can, a server that serves other content than the manifest names
cannot, and a full disk needs the user first.
"""

from __future__ import annotations

from app.core.errors import AlayaError, ConflictError, StorageError


class DownloadError(AlayaError):
    """A download that did not finish; nothing was written at the destination."""

    retryable = True

    def __init__(self, message: str, *, url: str, retryable: bool | None = None) -> None:
        self.url = url
        if retryable is not None:
            self.retryable = retryable
        super().__init__(f"{message} ({url})")


class DownloadInterrupted(DownloadError):
    """The connection failed, timed out or ended early; the partial file is kept for a resume."""


class DownloadCancelled(DownloadError):
    """The caller's cancel flag was set; the partial file is kept for a resume."""


class DownloadRefused(DownloadError):
    """The server answered with an error status, or with something that is not a download.

    `status` is the HTTP status (0 for a malformed answer), `code` the coordinator's error code
    when the body carried one."""

    def __init__(self, message: str, *, url: str, status: int, code: str | None = None) -> None:
        self.status, self.code = status, code
        super().__init__(message, url=url, retryable=status in (408, 425, 429) or status >= 500)


class DownloadCorrupt(DownloadError):
    """The bytes cannot be the file asked for (size, SHA-256, ETag or range disagree); the partial
    file was discarded, so a retry starts from the beginning."""


class DownloadBusy(DownloadError, ConflictError):
    """Another download (thread or process) is writing the same destination right now."""


class DownloadDiskFull(DownloadError, StorageError):
    """No space left (or the quota or file-size limit reached); the partial file is kept, and the
    download resumes once space is freed."""

    retryable = False  # the user must free space first


class DownloadNotWritable(DownloadError, StorageError):
    """The destination folder is read-only or not ours to write."""

    retryable = False
