"""One download in a child process, under a file-size limit if asked; prints the outcome as JSON.

`python -m tests.reliability.download_child URL DEST --sha256 H --size N --authorization "Bearer T"
[--fsize-limit BYTES] [--pace-ms MS]`. The limit is `RLIMIT_FSIZE` with SIGXFSZ ignored, so a
write past it fails with EFBIG, as a full disk fails with ENOSPC, instead of killing the process.
`--pace-ms` sleeps that long after each 16 KiB chunk and prints "started" after the first, so a
parent can kill the download at a moment of its choosing.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from app.sync.download import DownloadProgress, download
from app.sync.download_errors import DownloadError


ROOT = Path(__file__).resolve().parents[2]  # the working directory the command needs


def command(base_url: str, asset: dict[str, Any], dest: Path, authorization: str, *options: str) -> list[str]:
    """The command line that downloads the leased `asset` (a wire AssetRef as a dict) to `dest`."""
    return [sys.executable, "-m", "tests.reliability.download_child", base_url + asset["url"], str(dest),
            "--sha256", asset["sha256"], "--size", str(asset["size"]), "--authorization", authorization, *options]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("dest", type=Path)
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--authorization", required=True)
    parser.add_argument("--fsize-limit", type=int)
    parser.add_argument("--pace-ms", type=float)
    args = parser.parse_args()
    if args.fsize_limit is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize_limit, args.fsize_limit))
    try:
        paced = {} if args.pace_ms is None else {"chunk_size": 1 << 14, "progress": _pacer(args.pace_ms / 1000)}
        download(requests.Session(), args.url, args.dest, sha256=args.sha256, size=args.size,
                 headers={"Authorization": args.authorization}, **paced)
        outcome: dict[str, object] = {"ok": True}
    except DownloadError as exc:
        outcome = {"error": type(exc).__name__, "message": str(exc), "retryable": exc.retryable}
    print(json.dumps(outcome))


def _pacer(seconds: float) -> Callable[[DownloadProgress], None]:
    said = []

    def report(progress: DownloadProgress) -> None:
        if not said:
            print("started", flush=True)
            said.append(True)
        time.sleep(seconds)
    return report


if __name__ == "__main__":
    main()
