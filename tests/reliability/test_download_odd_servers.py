"""Servers other than the coordinator (the edge we do not own): one that ignores Range (the
standard library's file server), one that ignores If-Range while its content changes, one that
sends no hash header and wrong bytes, one that sends more than the file's size."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from app.sync.download import DownloadProgress, download
from app.sync.download_errors import DownloadCorrupt, DownloadRefused
from app.sync.partfile import PartFile

DATA = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(handler_class)` -> base URL of a real HTTP server on 127.0.0.1 (stopped after the test)."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: Any) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return "http://127.0.0.1:%d" % server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class Careless(BaseHTTPRequestHandler):
    """Honours `Range: bytes=N-` but never If-Range; `content`, `etag` and `length` set per test."""

    protocol_version = "HTTP/1.0"  # the body may end with the connection (no Content-Length)
    content, etag, length, ranges = DATA, '"v1"', True, True

    def do_GET(self) -> None:
        start = int((self.headers.get("Range") or "bytes=0-")[6:].rstrip("-"))
        body = self.content[start:]
        self.send_response(206 if start else 200)
        self.send_header("ETag", self.etag)
        if start and self.ranges:
            self.send_header("Content-Range", f"bytes {start}-{len(self.content) - 1}/{len(self.content)}")
        if self.length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _half_part(dest: Path, etag: str | None) -> None:
    """A part holding the first half of DATA, as an interrupted download leaves it."""
    with PartFile.opened(dest, SHA, "http://test") as part:
        part.append(DATA[:len(DATA) // 2])
        part.remember(etag)


def test_a_server_that_ignores_range_sends_the_whole_file_which_replaces_the_part(serve: Any, tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "file.bin").write_bytes(DATA)
    url = serve(functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "www")))
    dest = tmp_path / "file.bin"
    _half_part(dest, '"stale"')
    reports: list[DownloadProgress] = []
    download(requests.Session(), url + "/file.bin", dest, sha256=SHA, progress=reports.append)
    assert dest.read_bytes() == DATA and reports[0].resumed_from == 0 and reports[-1].fetched == len(DATA)


def test_a_range_of_changed_content_is_refused_and_the_part_discarded(serve: Any, tmp_path: Path) -> None:
    url = serve(type("Changed", (Careless,), {"etag": '"v2"'}))
    dest = tmp_path / "file.bin"
    _half_part(dest, '"v1"')
    with pytest.raises(DownloadCorrupt, match='ETag "v1" became "v2".* the partial file was discarded') as error:
        download(requests.Session(), url + "/f", dest, sha256=SHA)
    assert error.value.retryable and not dest.exists() and not dest.with_name("file.bin.part").exists()
    download(requests.Session(), url + "/f", dest, sha256=SHA)  # from the beginning: the right bytes
    assert dest.read_bytes() == DATA


def test_wrong_bytes_without_a_hash_header_fail_the_final_check(serve: Any, tmp_path: Path) -> None:
    url = serve(type("Wrong", (Careless,), {"content": DATA[::-1]}))
    dest = tmp_path / "file.bin"
    with pytest.raises(DownloadCorrupt, match=f"SHA-256 is {hashlib.sha256(DATA[::-1]).hexdigest()}, not the "
                                              f"expected {SHA}; the partial file was discarded"):
        download(requests.Session(), url + "/f", dest, sha256=SHA, size=len(DATA))
    assert list(tmp_path.iterdir()) == []


def test_a_body_longer_than_the_size_is_refused(serve: Any, tmp_path: Path) -> None:
    url = serve(type("Longer", (Careless,), {"content": DATA + b"more", "length": False}))
    dest = tmp_path / "file.bin"
    with pytest.raises(DownloadCorrupt, match=f"more than the {len(DATA)} bytes expected"):
        download(requests.Session(), url + "/f", dest, sha256=SHA, size=len(DATA))
    assert list(tmp_path.iterdir()) == []


def test_a_malformed_etag_is_ignored_and_a_range_without_content_range_refused(serve: Any, tmp_path: Path) -> None:
    unquoted = serve(type("Unquoted", (Careless,), {"etag": "v1-unquoted"}))
    _half_part(tmp_path / "a.bin", None)
    download(requests.Session(), unquoted + "/f", tmp_path / "a.bin", sha256=SHA)
    assert (tmp_path / "a.bin").read_bytes() == DATA
    unlabelled = serve(type("Unlabelled", (Careless,), {"ranges": False}))
    _half_part(tmp_path / "b.bin", '"v1"')
    with pytest.raises(DownloadRefused, match="without a valid Content-Range") as refused:
        download(requests.Session(), unlabelled + "/f", tmp_path / "b.bin", sha256=SHA)
    assert refused.value.status == 206 and not (tmp_path / "b.bin").exists()
    assert (tmp_path / "b.bin.part").stat().st_size == len(DATA) // 2  # kept: the bytes are not in doubt
