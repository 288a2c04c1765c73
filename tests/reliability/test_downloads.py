"""Downloads from the real coordinator on 127.0.0.1 through the fault proxy: interrupted at random
offsets they resume where they stopped and end with the right SHA-256; every refusal is typed, and
no file that is not the content ever sits at the destination."""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from app.core.errors import ValidationError
from app.sync.download import DownloadProgress, download
from app.sync.download_errors import (DownloadBusy, DownloadCancelled, DownloadCorrupt, DownloadInterrupted,
                                      DownloadRefused)
from app.sync.partfile import PartFile
from tests.reliability.coordinator_site import FILES, Site
from tests.reliability.fault_proxy import Fault, FaultKind, FaultProxy

CHUNK = 1 << 16


class Fetch:
    """One asset through the proxy, on its own connection each call (so a scripted fault meets it),
    keeping each call's progress reports."""

    def __init__(self, site: tuple[Site, list[dict[str, Any]]], proxy: FaultProxy, index: int, dest: Path) -> None:
        self.task, self.dest = site[1][index], dest
        self.data = FILES[index]
        self.url = proxy.url + self.task["asset"]["url"]
        self.headers = {**site[0].contributor, "Connection": "close"}
        self.calls: list[list[DownloadProgress]] = []
        self.session = requests.Session()

    def __call__(self, **overrides: Any) -> Path:
        self.calls.append([])
        fields: dict[str, Any] = dict(sha256=self.task["asset"]["sha256"], size=len(self.data),
                                      headers=self.headers, progress=self.calls[-1].append, chunk_size=CHUNK,
                                      timeout=(5.0, 5.0))
        fields.update(overrides)
        url = fields.pop("url", self.url)
        return download(self.session, url, self.dest, **fields)

    @property
    def part(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part")

    def fetched(self) -> int:
        """Bytes taken from the network and kept, over all calls."""
        return sum(reports[-1].fetched for reports in self.calls if reports)


def _interrupted(fetch: Fetch, proxy: FaultProxy, offset: int) -> Fetch:
    """`fetch` after one call cut `offset` bytes into the response."""
    proxy.script(Fault(FaultKind.CUT_RESPONSE, offset=offset))
    with pytest.raises(DownloadInterrupted):
        fetch()
    return fetch


def _part_length(fetch: Fetch) -> int:
    return fetch.part.stat().st_size if fetch.part.exists() else 0


@pytest.mark.slow
def test_a_hundred_interruptions_at_random_offsets_then_every_hash_matches(
        site: tuple[Site, list[Any]], proxy: FaultProxy, tmp_path: Path) -> None:
    rng = random.Random(2026)
    for index in range(10):
        fetch = Fetch(site, proxy, index, tmp_path / f"asset-{index}.bin")
        for stop in sorted(rng.sample(range(1, len(fetch.data)), 10)):  # cut at these bytes of the file
            reset = rng.random() < 0.5
            proxy.script(Fault(FaultKind.CUT_RESPONSE, offset=stop - _part_length(fetch), reset=reset, in_body=True))
            with pytest.raises(DownloadInterrupted):
                fetch()
            assert not fetch.dest.exists()  # never a partial file at the destination
            kept = _part_length(fetch)
            assert kept == stop if not reset else kept <= stop  # a reset may lose the bytes in flight
            assert fetch.part.read_bytes() == fetch.data[:kept]
        assert fetch() == fetch.dest
        assert hashlib.sha256(fetch.dest.read_bytes()).hexdigest() == fetch.task["asset"]["sha256"]
        assert not fetch.part.exists()
        assert fetch.fetched() == len(fetch.data)  # each call resumed where the last stopped: no byte kept twice
    proxy.close()  # its connection threads have finished counting
    counts = proxy.counters()
    assert counts.cut_response == 100 and counts.passed == 10
    refetched = counts.bytes_down - sum(map(len, FILES[:10]))  # headers, plus bytes lost in each reset
    print(f"re-fetched {refetched} bytes over 110 responses of {sum(map(len, FILES[:10]))} bytes")
    assert refetched < 110 * 1024 + 50 * (256 << 10), refetched


def test_a_truncated_body_keeps_exactly_what_arrived(site: tuple[Site, list[Any]], proxy: FaultProxy,
                                                     tmp_path: Path) -> None:
    fetch = Fetch(site, proxy, 9, tmp_path / "t.bin")
    proxy.script(Fault(FaultKind.CUT_RESPONSE, offset=123_457, reset=False, in_body=True))  # FIN: a short body
    with pytest.raises(DownloadInterrupted, match=f"at byte 123457 of {len(fetch.data)}; the part is kept") as cut:
        fetch()
    assert cut.value.retryable and fetch.part.read_bytes() == fetch.data[:123_457] and not fetch.dest.exists()


def test_cancel_keeps_the_part_and_the_next_call_resumes(site: tuple[Site, list[Any]], proxy: FaultProxy,
                                                         tmp_path: Path) -> None:
    fetch, flag = Fetch(site, proxy, 0, tmp_path / "a.bin"), threading.Event()
    with pytest.raises(DownloadCancelled):
        fetch(cancel=flag, progress=lambda report: flag.set() if report.received >= 5 * CHUNK else None)
    kept = _part_length(fetch)
    assert kept >= 5 * CHUNK and not fetch.dest.exists()
    assert fetch.part.read_bytes() == fetch.data[:kept]
    fetch()
    assert fetch.calls[-1][0].resumed_from == kept and fetch.dest.read_bytes() == fetch.data
    before = proxy.counters().connections
    assert fetch() == fetch.dest and proxy.counters().connections == before  # already there: no request


def test_wrong_size_or_hash_is_refused_before_the_body(site: tuple[Site, list[Any]], proxy: FaultProxy,
                                                       tmp_path: Path) -> None:
    fetch = Fetch(site, proxy, 1, tmp_path / "b.bin")
    with pytest.raises(DownloadCorrupt, match="not the expected 1000; the partial file was discarded") as size:
        fetch(size=1000)
    other = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(DownloadCorrupt, match=f"not the expected {other}") as sha:
        fetch(sha256=other)
    assert not size.value.retryable and not sha.value.retryable
    assert not fetch.dest.exists() and not fetch.part.exists()


def test_a_corrupted_part_is_discarded_and_the_retry_starts_over(site: tuple[Site, list[Any]], proxy: FaultProxy,
                                                                 tmp_path: Path) -> None:
    fetch = _interrupted(Fetch(site, proxy, 2, tmp_path / "c.bin"), proxy, 300_000)
    with open(fetch.part, "r+b") as part:  # a bit flipped on disk while the download waited
        part.seek(1000)
        part.write(bytes([fetch.data[1000] ^ 1]))
    with pytest.raises(DownloadCorrupt, match="SHA-256 is .* the partial file was discarded"):
        fetch()
    assert not fetch.dest.exists() and not fetch.part.exists()
    fetch()
    assert fetch.dest.read_bytes() == fetch.data


def test_a_changed_etag_gets_the_whole_file_again(site: tuple[Site, list[Any]], proxy: FaultProxy,
                                                  tmp_path: Path) -> None:
    fetch = _interrupted(Fetch(site, proxy, 3, tmp_path / "d.bin"), proxy, 500_000)
    meta = fetch.dest.with_name("d.bin.part.json")
    meta.write_text(meta.read_text().replace(fetch.task["asset"]["sha256"] + '\\"', 'an-older-copy\\"'))
    assert "an-older-copy" in meta.read_text()
    fetch()  # If-Range no longer matches: the server sends everything, the part starts over
    assert fetch.calls[-1][0].resumed_from == 0 and fetch.calls[-1][-1].fetched == len(fetch.data)
    assert fetch.dest.read_bytes() == fetch.data


def test_416_completes_a_finished_part_and_discards_a_longer_one(site: tuple[Site, list[Any]],
                                                                 proxy: FaultProxy, tmp_path: Path) -> None:
    fetch = Fetch(site, proxy, 4, tmp_path / "e.bin")
    sha = fetch.task["asset"]["sha256"]
    _plant_part(fetch, fetch.data, sha)  # every byte there, the rename never happened (a crash)
    fetch(size=None)
    assert fetch.dest.read_bytes() == fetch.data and fetch.calls == [[]]
    fetch.dest.unlink()
    _plant_part(fetch, fetch.data + b"junk", sha)
    with pytest.raises(DownloadCorrupt, match="refused to resume at byte 2097156 .416: the file has 2097152"):
        fetch(size=None)
    assert not fetch.part.exists() and not fetch.dest.exists()
    fetch(size=None)
    assert fetch.dest.read_bytes() == fetch.data


def _plant_part(fetch: Fetch, content: bytes, sha256: str) -> None:
    with PartFile.opened(fetch.dest, sha256, fetch.url) as part:
        part.append(content)


def test_refusals_are_typed(site: tuple[Site, list[Any]], proxy: FaultProxy, tmp_path: Path) -> None:
    fetch = Fetch(site, proxy, 5, tmp_path / "f.bin")
    with pytest.raises(DownloadRefused, match="404 .*not_found") as missing:
        fetch(url=proxy.url + "/v1/assets/no-such-asset")
    with pytest.raises(DownloadRefused, match="401") as anonymous:
        fetch(headers={})
    assert (missing.value.status, missing.value.code, missing.value.retryable) == (404, "not_found", False)
    assert anonymous.value.status == 401 and not fetch.dest.exists()


def test_unreachable_and_silent_servers_interrupt_within_the_timeout(site: tuple[Site, list[Any]],
                                                                     proxy: FaultProxy, tmp_path: Path) -> None:
    fetch = Fetch(site, proxy, 6, tmp_path / "g.bin")
    with FaultProxy(site[0].port) as closed:
        dead_url = closed.url + fetch.task["asset"]["url"]
    with pytest.raises(DownloadInterrupted, match="could not reach"):
        fetch(url=dead_url)
    proxy.blackhole(30)
    with pytest.raises(DownloadInterrupted) as silent:
        fetch(timeout=(1.0, 0.5))
    assert silent.value.retryable
    proxy.blackhole(0)
    fetch()
    assert fetch.dest.read_bytes() == fetch.data


def test_a_second_download_of_the_same_destination_is_refused(site: tuple[Site, list[Any]], proxy: FaultProxy,
                                                              tmp_path: Path) -> None:
    fetch = Fetch(site, proxy, 7, tmp_path / "h.bin")
    with PartFile.opened(fetch.dest, fetch.task["asset"]["sha256"], fetch.url):
        with pytest.raises(DownloadBusy, match="being downloaded"):
            fetch()
    fetch()
    assert fetch.dest.read_bytes() == fetch.data


@pytest.mark.parametrize(("overrides", "where"), [
    ({"sha256": "abc"}, "sha256"), ({"size": -1}, "size"), ({"url": "ftp://x/y"}, "url"),
    ({"chunk_size": 0}, "chunk_size"), ({"timeout": (1.0, 0)}, "timeout"), ({"timeout": 5}, "timeout"),
])
def test_bad_arguments_are_refused(site: tuple[Site, list[Any]], proxy: FaultProxy, tmp_path: Path,
                                   overrides: dict[str, Any], where: str) -> None:
    fetch = Fetch(site, proxy, 8, tmp_path / "i.bin")
    with pytest.raises(ValidationError, match=f"^{where}:"):
        fetch(**overrides)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_is_not_a_destination(site: tuple[Site, list[Any]], proxy: FaultProxy, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="^dest:"):
        Fetch(site, proxy, 8, tmp_path)()
