"""The partial file of a download, and what `download()` settles without the network."""

from __future__ import annotations

import errno
import hashlib
import threading
from pathlib import Path

import pytest
import requests

from app.sync.download import download
from app.sync.download_errors import (DownloadCancelled, DownloadDiskFull, DownloadNotWritable,
                                      DownloadRefused)
from app.sync.partfile import PartFile, disk_errors

DATA = b"0123456789" * 1000
SHA = hashlib.sha256(DATA).hexdigest()
URL = "http://127.0.0.1:9/nothing-listens-here"


def _part(dest: Path, content: bytes, sha256: str = SHA, etag: str | None = '"e"') -> None:
    with PartFile.opened(dest, sha256, URL) as part:
        part.append(content)
        part.remember(etag)


def test_a_part_of_the_same_content_is_adopted_with_its_hash_and_etag(tmp_path: Path) -> None:
    dest = tmp_path / "a.bin"
    _part(dest, DATA[:4000])
    with PartFile.opened(dest, SHA, URL) as part:
        assert (part.length, part.etag) == (4000, '"e"')
        assert part.digest.hexdigest() == hashlib.sha256(DATA[:4000]).hexdigest()
        part.append(DATA[4000:])
        assert part.publish() == dest
    assert dest.read_bytes() == DATA and sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


@pytest.mark.parametrize("sidecar", ['{"sha256": "%s", "etag": null}' % ("0" * 64), "not json", "[1, 2]"])
def test_a_part_of_other_or_unknown_content_starts_over(tmp_path: Path, sidecar: str) -> None:
    dest = tmp_path / "a.bin"
    _part(dest, DATA[:4000])
    dest.with_name("a.bin.part.json").write_text(sidecar)
    with PartFile.opened(dest, SHA, URL) as part:
        assert (part.length, part.etag) == (0, None)
    assert dest.with_name("a.bin.part").stat().st_size == 0


@pytest.mark.parametrize(("code", "error", "words"), [
    (errno.ENOSPC, DownloadDiskFull, "the disk is full"),
    (errno.EDQUOT, DownloadDiskFull, "the disk quota is exceeded"),
    (errno.EFBIG, DownloadDiskFull, "the file-size limit is reached"),
    (errno.EROFS, DownloadNotWritable, "read-only file system"),
    (errno.EACCES, DownloadNotWritable, "permission denied"),
])
def test_disk_refusals_become_typed_errors(tmp_path: Path, code: int, error: type, words: str) -> None:
    with pytest.raises(error, match=words) as raised, disk_errors(tmp_path / "x.part", URL):
        raise OSError(code, "from the kernel")
    assert raised.value.url == URL and not raised.value.retryable


def test_other_os_errors_pass_through(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), disk_errors(tmp_path / "x.part", URL):
        raise FileNotFoundError(errno.ENOENT, "gone")


def test_what_is_already_there_needs_no_network(tmp_path: Path) -> None:
    empty = download(requests.Session(), URL, tmp_path / "empty.bin", sha256=hashlib.sha256(b"").hexdigest(), size=0)
    assert empty.read_bytes() == b""
    (tmp_path / "done.bin").write_bytes(DATA)
    (tmp_path / "done.bin.part.json").write_text("{}")  # left by a crash right after the rename
    assert download(requests.Session(), URL, tmp_path / "done.bin", sha256=SHA.upper()) == tmp_path / "done.bin"
    assert not (tmp_path / "done.bin.part.json").exists()
    _part(tmp_path / "whole.bin", DATA)  # every byte arrived, the rename did not happen
    download(requests.Session(), URL, tmp_path / "whole.bin", sha256=SHA, size=len(DATA))
    assert (tmp_path / "whole.bin").read_bytes() == DATA and not (tmp_path / "whole.bin.part").exists()


def test_a_request_that_cannot_be_sent_or_is_cancelled_at_once_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadRefused, match="cannot be sent") as unsendable:
        download(requests.Session(), "http://", tmp_path / "a.bin", sha256=SHA)
    assert unsendable.value.status == 0 and not unsendable.value.retryable
    flag = threading.Event()
    flag.set()
    with pytest.raises(DownloadCancelled, match="before it started"):
        download(requests.Session(), URL, tmp_path / "b.bin", sha256=SHA, cancel=flag)
    assert not (tmp_path / "a.bin").exists() and not (tmp_path / "b.bin.part").exists()
