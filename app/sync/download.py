"""Resumable, verified downloads of assets: `download(session, url, dest, sha256=...)`.

The bytes go to `<dest>.part` (see `partfile`), kept between calls: a later call re-hashes what
is there and asks for the rest with `Range: bytes=N-` and `If-Range: <ETag>`. Only a file whose
SHA-256 matches is fsynced and renamed onto `dest`, so no partial or wrong file ever sits there.

A server that ignores the range, or whose content changed (If-Range no longer matches), answers
200 with the whole file: per RFC 9110 that is the content, so the part starts over from it. A
206 that contradicts the part (another ETag, another total, another start) or a final hash that
does not match discards the part and raises `DownloadCorrupt`. `Accept-Encoding: identity`
keeps byte offsets those of the file itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
import urllib3

from app.core.errors import ValidationError
from app.sync.download_errors import DownloadCancelled, DownloadCorrupt, DownloadInterrupted, DownloadRefused
from app.sync.partfile import PartFile, hash_file

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_ENTITY_TAG = re.compile(r'(W/)?"[^"]*"')
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)
_UNSENDABLE = (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
               requests.exceptions.MissingSchema, requests.exceptions.InvalidHeader)


@dataclass(frozen=True)
class DownloadProgress:
    """Where a download stands, after each chunk written."""

    received: int  # bytes in the part file: what this call resumed from plus what it fetched
    total: int | None  # the file's size, when known
    fetched: int  # bytes this call took from the network and kept
    resumed_from: int  # the offset this call's transfer started at (0: from the beginning)


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...  # threading.Event fits


def download(session: requests.Session, url: str, dest: Path, *, sha256: str, size: int | None = None,
             headers: dict[str, str] | None = None, progress: Callable[[DownloadProgress], None] | None = None,
             cancel: CancelFlag | None = None, chunk_size: int = 1 << 16,
             timeout: tuple[float, float] = (10.0, 30.0)) -> Path:
    """Download `url` to `dest` unless `dest` already holds the content; returns `dest`.

    `sha256` (hex) is the content's hash and `size`, when given, its length; both are checked
    against what the server announces before the body and against what arrived after it.
    `headers` are sent with the request (Authorization). `progress` is called after every chunk.
    `cancel` is polled between chunks; `timeout` is (connect, read) in seconds, so a stalled
    server is given up after the read timeout. It blocks: call it from a worker thread.
    Raises a `DownloadError` subclass (see `download_errors`; `retryable` says whether calling
    again can help) or `ValidationError` for bad arguments; never leaves a file at `dest` that
    is not the content."""
    dest = Path(dest)
    sha256 = _check_arguments(url, dest, sha256, size, chunk_size, timeout)
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled("cancelled before it started", url=url)
    if _already_there(dest, sha256, size):
        _drop_orphan_sidecar(dest)
        return dest
    with PartFile.opened(dest, sha256, url) as part:
        if size is not None and part.length > size:
            part.restart()  # longer than the file: cannot be its prefix
        if size is None or part.length < size:
            _transfer(session, url, part, size, headers or {}, progress, cancel, chunk_size, timeout)
        return _finish(part)


def _check_arguments(url: str, dest: Path, sha256: str, size: int | None, chunk_size: int,
                     timeout: tuple[float, float]) -> str:
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ValidationError(f"not an http(s) URL: {url!r}", where="url")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower()):
        raise ValidationError("expected 64 hexadecimal digits", where="sha256")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValidationError(f"expected a byte count >= 0 or None, got {size!r}", where="size")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValidationError(f"expected a positive byte count, got {chunk_size!r}", where="chunk_size")
    if not isinstance(timeout, (tuple, list)) or len(timeout) != 2 or not all(
            isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 for t in timeout):
        raise ValidationError(f"expected (connect, read) seconds > 0, got {timeout!r}", where="timeout")
    if dest.is_dir() or dest.name.endswith((".part", ".part.json")):
        raise ValidationError(f"{dest} is a folder or a download's own partial file", where="dest")
    return sha256.lower()


def _already_there(dest: Path, sha256: str, size: int | None) -> bool:
    """The destination holds the content already (an earlier call finished): nothing to fetch."""
    try:
        if size is not None and dest.stat().st_size != size:
            return False
        return hash_file(dest) == sha256
    except OSError:
        return False


def _drop_orphan_sidecar(dest: Path) -> None:
    """A crash between the rename and the sidecar's removal leaves the sidecar alone: remove it
    (a part beside it may be another download's, which then finds the file already there)."""
    part = dest.with_name(dest.name + ".part")
    if not part.exists():
        with suppress(OSError):
            dest.with_name(dest.name + ".part.json").unlink()


def _transfer(session: requests.Session, url: str, part: PartFile, size: int | None, headers: dict[str, str],
              progress: Callable[[DownloadProgress], None] | None, cancel: CancelFlag | None,
              chunk_size: int, timeout: tuple[float, float]) -> None:
    """One request for the rest of the file, its answer checked, its body appended to the part."""
    sent = {**headers, "Accept-Encoding": "identity"}
    if part.length:
        sent["Range"] = f"bytes={part.length}-"
        if part.etag and not part.etag.startswith("W/"):  # If-Range takes only a strong validator
            sent["If-Range"] = part.etag
    try:
        response = session.get(url, headers=sent, stream=True, timeout=timeout)
    except _UNSENDABLE as exc:  # trying again cannot help
        raise DownloadRefused(f"the request cannot be sent: {exc}", url=url, status=0) from exc
    except requests.RequestException as exc:
        raise DownloadInterrupted(f"could not reach the server: {exc}", url=url) from exc
    with closing(response):
        if response.status_code not in (200, 206):
            _settle_refusal(response, part)
            return
        # A connection cut inside the header block leaves a header line cut short (another ETag,
        # SHA-256 or size, to a reader): nothing is judged until a body byte proves the block whole.
        first = _read(response, part, None, chunk_size)
        total = _accept(response, part, size, first)
        total = size if total is None else total  # a body of unannounced length is bounded by `size`
        _stream(response, part, first, total, progress, cancel, chunk_size)


def _settle_refusal(response: requests.Response, part: PartFile) -> None:
    """A 416 that shows the part complete returns; any other status raises its typed error."""
    try:
        response.content  # the whole (small) answer, so a cut one is not taken for a refusal
    except requests.RequestException as exc:
        raise DownloadInterrupted(f"the answer was cut short: {exc}", url=part.url) from exc
    if response.status_code == 416 and part.length:
        _unsatisfiable(response, part)
        return
    raise _refusal(response, part.url)


def _accept(response: requests.Response, part: PartFile, size: int | None, first: bytes) -> int | None:
    """Check a 200 or 206 against the part and the caller's expectations; returns the file's size
    when the answer says it. Only then is the part restarted or discarded."""
    url, status = part.url, response.status_code
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        raise DownloadRefused("the server compressed the file although asked not to", url=url, status=status)
    length = response.headers.get("Content-Length", "")
    if status == 206:
        span = _content_range(response)
        total = span[1] if span else None
    else:
        span, total = None, int(length) if length.isdigit() else None
    if not first and (status == 206 or total != 0):
        raise DownloadInterrupted(f"the answer ended before its body; the part of {part.length} bytes is kept",
                                  url=url)
    if status == 206 and span is None:
        raise DownloadRefused("a partial answer without a valid Content-Range: "
                              f"{response.headers.get('Content-Range')!r}", url=url, status=206)
    etag = _header(response, "ETag", _ENTITY_TAG)
    if status == 200 and part.length:
        log.info("%s: the server sent the whole file instead of resuming at %d", url, part.length)
        part.restart()
    if span is not None:
        _check_continues(part, etag, span[0])
    _check_identity(part, _header(response, "X-Content-SHA256", _SHA256), total, size)
    if etag != part.etag:
        part.remember(etag)  # durable before the first byte is appended, so the next run can send If-Range
    return total


def _header(response: requests.Response, name: str, form: re.Pattern[str]) -> str | None:
    """The header's value; None when absent or malformed (the body proved the header block whole,
    so a malformed value is the server's own, and the final SHA-256 check does not need it)."""
    value = (response.headers.get(name) or "").strip()
    return value if form.fullmatch(value) else None


def _content_range(response: requests.Response) -> tuple[int, int] | None:
    """(first byte, total size) of a 206; None when missing, malformed or inconsistent."""
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None:
        return None
    first, last, total = (int(group) for group in match.groups())
    return (first, total) if first <= last < total else None


def _check_continues(part: PartFile, etag: str | None, start: int) -> None:
    """A 206 must continue the part: same ETag, starting where the part ends."""
    if part.etag and etag and etag != part.etag:
        had = part.etag
        part.discard()
        raise DownloadCorrupt(f"the server's copy changed (ETag {had} became {etag}) yet it sent a "
                              "range of the new copy; the partial file was discarded", url=part.url)
    if start != part.length:
        raise DownloadRefused(f"asked for bytes from {part.length}, the server sent them from {start}",
                              url=part.url, status=206)


def _check_identity(part: PartFile, announced: str | None, total: int | None, size: int | None) -> None:
    """What the server says the content is must be what the caller asked for."""
    if announced and announced.lower() != part.sha256:
        part.discard()
        raise DownloadCorrupt(f"the server serves content with SHA-256 {announced}, not the expected "
                              f"{part.sha256}; the partial file was discarded", url=part.url, retryable=False)
    if size is not None and total is not None and total != size:
        part.discard()
        raise DownloadCorrupt(f"the server's file has {total} bytes, not the expected {size}; the "
                              "partial file was discarded", url=part.url, retryable=False)


def _unsatisfiable(response: requests.Response, part: PartFile) -> int:
    """416 to `bytes=N-`: the part is complete if the file has exactly N bytes, else it is wrong."""
    match = _UNSATISFIED_RANGE.match(response.headers.get("Content-Range", ""))
    total = int(match.group(1)) if match else None
    if total == part.length:
        return total  # it finished before an interruption; the hash check decides
    had = part.length
    part.discard()
    raise DownloadCorrupt(f"the server refused to resume at byte {had} (416: the file has "
                          f"{'an unknown number of' if total is None else total} bytes); the partial file "
                          "was discarded", url=part.url)


def _refusal(response: requests.Response, url: str) -> DownloadRefused:
    code, detail = None, (response.reason or "").strip()
    try:
        body = response.json()
        code, detail = str(body["error"]), str(body.get("detail") or detail)
    except (ValueError, KeyError, TypeError):
        pass
    words = f"the server refused the download: {response.status_code} {detail}".rstrip()
    return DownloadRefused(words + (f" [{code}]" if code else ""), url=url, status=response.status_code,
                           code=code)


def _read(response: requests.Response, part: PartFile, total: int | None, chunk_size: int) -> bytes:
    """The next bytes that arrived (up to `chunk_size`), b"" at the end. `read1` does not wait for
    a full chunk, so a cut loses only the bytes still in flight, not a chunk's worth."""
    try:
        return response.raw.read1(chunk_size, decode_content=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        of_total = "" if total is None else f" of {total}"
        raise DownloadInterrupted(f"the connection failed at byte {part.length}{of_total}; the part is "
                                  f"kept: {exc}", url=part.url) from exc


def _stream(response: requests.Response, part: PartFile, chunk: bytes, total: int | None,
            progress: Callable[[DownloadProgress], None] | None, cancel: CancelFlag | None,
            chunk_size: int) -> None:
    """Append `chunk` and the rest of the body to the part, reporting and polling `cancel` as it goes."""
    resumed_from, url = part.length, part.url
    while chunk:
        if total is not None and part.length + len(chunk) > total:
            part.discard()
            raise DownloadCorrupt(f"the server sent more than the {total} bytes expected; the "
                                  "partial file was discarded", url=url, retryable=False)
        part.append(chunk)
        if progress is not None:
            progress(DownloadProgress(part.length, total, part.length - resumed_from, resumed_from))
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled(f"cancelled at byte {part.length}; the part is kept", url=url)
        chunk = _read(response, part, total, chunk_size)
    if total is not None and part.length < total:
        raise DownloadInterrupted(f"the body ended at byte {part.length} of {total}; the part is kept", url=url)


def _finish(part: PartFile) -> Path:
    """Verify the whole part against the expected SHA-256, then publish it at the destination."""
    actual = part.digest.hexdigest()
    if actual != part.sha256:
        part.discard()
        raise DownloadCorrupt(f"the downloaded file's SHA-256 is {actual}, not the expected {part.sha256}; "
                              "the partial file was discarded", url=part.url)
    return part.publish()
