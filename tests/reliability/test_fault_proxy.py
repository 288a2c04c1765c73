"""The fault proxy itself, against a small real HTTP server that records what reached it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.reliability.fault_proxy import Fault, FaultKind, FaultProxy, FaultRates

BODY = bytes(range(256)) * 400  # 102,400 bytes


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, bytes]]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.seen.append((self.command, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = do_POST = _answer

    def date_time_string(self, timestamp: float | None = None) -> str:
        return "Thu, 01 Jan 2026 00:00:00 GMT"  # every answer byte-identical, whatever the second

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[tuple[int, list[tuple[str, bytes]]]]:
    seen: list[tuple[str, bytes]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream: tuple[int, list[Any]]) -> Iterator[FaultProxy]:
    with FaultProxy(upstream[0], seed=7) as running:
        yield running


def _raw_get(port: int) -> bytes:
    """Everything a raw client receives for one GET until the connection ends (FIN or RST)."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    return received


def test_passes_traffic_through_and_counts_it(proxy: FaultProxy, upstream: tuple[int, list[Any]]) -> None:
    response = requests.get(proxy.url + "/x", timeout=5)
    assert response.status_code == 200 and response.content == BODY
    assert [method for method, _ in upstream[1]] == ["GET"]
    counts = proxy.counters()
    assert counts.connections == 1 and counts.bytes_down > len(BODY) and counts.bytes_up > 0
    assert counts.cut_request == counts.cut_response == counts.cut_after_commit == counts.blackholed == 0


def test_cut_response_at_a_given_offset(proxy: FaultProxy) -> None:
    whole = _raw_get(proxy.port)
    proxy.script(Fault(FaultKind.CUT_RESPONSE, offset=5000, reset=False))
    assert _raw_get(proxy.port) == whole[:5000]  # an orderly close: exactly the first 5,000 bytes
    proxy.script(Fault(FaultKind.CUT_RESPONSE, offset=70_000))
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.get(proxy.url + "/x", timeout=5).raise_for_status()
    assert proxy.cuts == [(FaultKind.CUT_RESPONSE, 5000), (FaultKind.CUT_RESPONSE, 70_000)]
    assert proxy.counters().cut_response == 2


def test_cut_at_a_byte_of_the_body(proxy: FaultProxy) -> None:
    whole = _raw_get(proxy.port)
    body_starts = whole.index(b"\r\n\r\n") + 4
    proxy.script(Fault(FaultKind.CUT_RESPONSE, offset=1000, reset=False, in_body=True))
    assert _raw_get(proxy.port) == whole[:body_starts + 1000]
    assert proxy.cuts == [(FaultKind.CUT_RESPONSE, body_starts + 1000)]


def test_cut_request_never_reaches_the_server(proxy: FaultProxy, upstream: tuple[int, list[Any]]) -> None:
    proxy.script(Fault(FaultKind.CUT_REQUEST))
    with pytest.raises(requests.ConnectionError):
        requests.post(proxy.url + "/submit", data=b"payload", timeout=5)
    assert upstream[1] == [] and proxy.counters().cut_request == 1 and proxy.counters().bytes_up == 0


def test_cut_after_commit_reaches_the_server_but_not_the_reply(proxy: FaultProxy,
                                                               upstream: tuple[int, list[Any]]) -> None:
    proxy.script(Fault(FaultKind.CUT_AFTER_COMMIT))
    with pytest.raises(requests.ConnectionError):
        requests.post(proxy.url + "/submit", data=b"payload", timeout=5)
    assert upstream[1] == [("POST", b"payload")]
    counts = proxy.counters()
    assert counts.cut_after_commit == 1 and counts.bytes_down == 0
    assert proxy.cuts == [(FaultKind.CUT_AFTER_COMMIT, 0)]


def test_blackhole_accepts_and_forwards_nothing_then_recovers(proxy: FaultProxy,
                                                              upstream: tuple[int, list[Any]]) -> None:
    proxy.blackhole(1.0)  # long enough for a loaded machine to accept the connection within it
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=0.2) as sock:
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: test\r\n\r\n")
        with pytest.raises(TimeoutError):
            sock.recv(1)  # accepted, and silent
        sock.settimeout(5)
        with pytest.raises(ConnectionResetError):
            sock.recv(1)  # reset when the blackhole ends
    assert time.monotonic() - started >= 0.9
    assert upstream[1] == [] and proxy.counters().blackholed == 1, (upstream[1], proxy.counters())
    assert requests.get(proxy.url + "/x", timeout=5).content == BODY


def test_delay_slows_each_forwarded_chunk(upstream: tuple[int, list[Any]]) -> None:
    with FaultProxy(upstream[0], delay=(0.05, 0.1)) as slow:
        started = time.monotonic()
        assert requests.get(slow.url + "/x", timeout=5).content == BODY
        assert time.monotonic() - started >= 0.1  # the request and at least one chunk of the reply


def test_a_server_that_is_down_closes_the_connection_and_is_counted() -> None:
    with FaultProxy(_free_port()) as proxy:
        with pytest.raises(requests.ConnectionError):
            requests.get(proxy.url + "/x", timeout=5)
        assert proxy.counters().upstream_down == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_rates_are_drawn_from_a_seeded_rng(upstream: tuple[int, list[Any]]) -> None:
    def draws(seed: int) -> list[Fault]:
        proxy = FaultProxy(upstream[0], rates=FaultRates.split_cuts(0.30), seed=seed)
        try:
            return [proxy.next_fault() for _ in range(4000)]
        finally:
            proxy.close()

    first = draws(1)
    assert first == draws(1) and first != draws(2)
    share = {kind: sum(f.kind is kind for f in first) / len(first) for kind in FaultKind}
    assert 0.13 < share[FaultKind.CUT_REQUEST] < 0.17 and 0.13 < share[FaultKind.CUT_AFTER_COMMIT] < 0.17
    assert share[FaultKind.CUT_RESPONSE] == 0 and 0.67 < share[FaultKind.PASS] < 0.73


def test_response_cuts_fall_in_the_offset_range(upstream: tuple[int, list[Any]]) -> None:
    proxy = FaultProxy(upstream[0], rates=FaultRates(cut_response=1.0), response_offset=(100, 200))
    offsets = [proxy.next_fault().offset for _ in range(500)]
    proxy.close()
    assert min(offsets) >= 100 and max(offsets) <= 200 and len(set(offsets)) > 50


@pytest.mark.parametrize("make", [
    lambda: FaultRates(cut_request=0.6, cut_after_commit=0.6),
    lambda: FaultRates(cut_response=-0.1),
    lambda: FaultProxy(8000, upstream_host="10.0.0.1"),
    lambda: FaultProxy(0),
    lambda: FaultProxy(8000, response_offset=(10, 5)),
    lambda: FaultProxy(8000, delay=(0.5, 0.1)),
    lambda: Fault(FaultKind.CUT_RESPONSE, offset=-1),
])
def test_bad_settings_are_refused(make: Any) -> None:
    with pytest.raises(ValueError):
        make()
