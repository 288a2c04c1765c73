"""HTTP semantics of an asset download: one byte range, validators, the response headers.

The ETag is the quoted SHA-256 of the content, so it is strong and never changes. Per RFC 9110,
a Range header that is malformed, names several ranges, or is outdated by If-Range is ignored
(the whole file is sent); a range that starts past the end is unsatisfiable (416).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Response
from fastapi.responses import StreamingResponse

from coordinator.assets.storage import Storage, chunks
from coordinator.errors import ApiError

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d{0,20})\s*-\s*(\d{0,20})\s*$", re.IGNORECASE)


def etag_of(sha256: str) -> str:
    return f'"{sha256}"'


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive, None to send everything; ApiError 416 when unsatisfiable."""
    match = _RANGE.match(header or "")
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text:
        if not last_text:
            return None
        suffix = int(last_text)  # the last `suffix` bytes
        if suffix == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else None
    if last is not None and last < first:
        return None  # syntactically invalid: ignored, not refused
    if first >= size:
        raise _unsatisfiable(size)
    return first, size - 1 if last is None else min(last, size - 1)


def _unsatisfiable(size: int) -> ApiError:
    return ApiError(416, "range_not_satisfiable", f"the asset has {size} bytes",
                    {"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})


def none_match(header: str | None, etag: str) -> bool:
    """If-None-Match, compared weakly: "*" or any listed tag equal to ours."""
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


def respond(storage: Storage, asset: Any, headers: Any, *, head: bool) -> Response:
    """The 200, 206 or 304 answer to a GET (or HEAD) with these request headers."""
    etag = etag_of(asset.sha256)
    common = {"ETag": etag, "Accept-Ranges": "bytes", "X-Content-SHA256": asset.sha256,
              "Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff",
              "Content-Security-Policy": "sandbox"}  # requester-chosen media types stay inert
    if none_match(headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=common)
    wanted = headers.get("range")
    if_range = headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's partial copy is of other content: send it all
    span = parse_range(wanted, asset.size)
    status, (first, last) = (200, (0, asset.size - 1)) if span is None else (206, span)
    length = last - first + 1
    out = {**common, "Content-Length": str(length), "Content-Type": asset.media_type}
    if status == 206:
        out["Content-Range"] = f"bytes {first}-{last}/{asset.size}"
    if head:
        return Response(status_code=status, headers=out)
    try:
        handle = storage.open_final(asset.sha256)
    except FileNotFoundError:
        raise ApiError(503, "asset_unavailable", "the asset's file is missing from storage") from None
    return StreamingResponse(chunks(handle, first, length), status_code=status, headers=out,
                             media_type=asset.media_type)
