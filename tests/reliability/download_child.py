"""One download in a child process, under a file-size limit if asked; prints the outcome as JSON.

`python -m tests.reliability.download_child URL DEST --sha256 H --size N --authorization "Bearer T"
[--fsize-limit BYTES]`. The limit is `RLIMIT_FSIZE` with SIGXFSZ ignored, so a write past it
fails with EFBIG, as a full disk fails with ENOSPC, instead of killing the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
from pathlib import Path

import requests

from app.sync.download import download
from app.sync.download_errors import DownloadError


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("dest", type=Path)
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--authorization", required=True)
    parser.add_argument("--fsize-limit", type=int)
    args = parser.parse_args()
    if args.fsize_limit is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize_limit, args.fsize_limit))
    try:
        download(requests.Session(), args.url, args.dest, sha256=args.sha256, size=args.size,
                 headers={"Authorization": args.authorization})
        outcome: dict[str, object] = {"ok": True}
    except DownloadError as exc:
        outcome = {"error": type(exc).__name__, "message": str(exc), "retryable": exc.retryable}
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
