"""A TCP fault proxy on 127.0.0.1 for reliability tests: what a bad network does to HTTP.

It forwards each accepted connection to an upstream port and, per connection, may:
- `CUT_REQUEST`: read the client's first bytes and reset, never connecting upstream (the request
  is lost before the server sees it);
- `CUT_RESPONSE`: forward the request, then forward `offset` bytes of the response (headers
  included, counted over the connection; with `in_body`, counted from the end of the first
  HTTP header block) and cut;
- `CUT_AFTER_COMMIT`: forward the request and cut as soon as the server starts answering (it has
  committed) and before the client gets a byte of the reply;
- blackhole: for a while, accept and never forward (live connections freeze too), then reset.
Every forwarded chunk may also wait a random `delay` (latency with jitter).
A cut is a reset (RST, as when a peer dies) or, with `reset=False`, an orderly close (FIN: a
truncated body). Faults come from a script (`script()`, the next connections in order) or are
drawn at the given rates from a seeded RNG, in accept order, so a run can be replayed.
Dropping bytes inside a stream would corrupt TCP rather than emulate a network, so it does not.
`counters()` says what it did; `cuts` lists each executed cut with the bytes sent before it.
"""

from __future__ import annotations

import enum
import random
import selectors
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields, replace

_LOOPBACK = "127.0.0.1"
_POLL_S = 0.05
_BLOCK = 1 << 16


class FaultKind(enum.Enum):
    PASS = "pass"
    CUT_REQUEST = "cut_request"
    CUT_RESPONSE = "cut_response"
    CUT_AFTER_COMMIT = "cut_after_commit"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    offset: int = 0  # CUT_RESPONSE: response bytes forwarded before the cut
    reset: bool = True  # RST; False: FIN (an orderly close, the client sees a short body)
    in_body: bool = False  # the offset counts body bytes: the cut falls at a chosen byte of the file

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise ValueError(f"a cut offset is a byte count >= 0, got {self.offset}")


@dataclass(frozen=True)
class FaultRates:
    """The probability, per connection, of each fault; the rest pass untouched."""

    cut_request: float = 0.0
    cut_response: float = 0.0
    cut_after_commit: float = 0.0

    def __post_init__(self) -> None:
        values = [getattr(self, f.name) for f in fields(self)]
        if any(not 0.0 <= value <= 1.0 for value in values) or sum(values) > 1.0 + 1e-9:
            raise ValueError(f"fault rates are probabilities in [0, 1] summing to at most 1: {self}")

    @classmethod
    def split_cuts(cls, rate: float = 0.30) -> FaultRates:
        """`rate` of connections cut: half before the request arrives, half after the server commits."""
        return cls(cut_request=rate / 2, cut_after_commit=rate / 2)


@dataclass
class Counters:
    connections: int = 0
    passed: int = 0  # relayed to the end without a fault
    cut_request: int = 0
    cut_response: int = 0
    cut_after_commit: int = 0
    blackholed: int = 0
    upstream_down: int = 0  # connections closed at once: the server did not accept
    bytes_up: int = 0  # client -> server
    bytes_down: int = 0  # server -> client


@dataclass
class _Connection:
    client: socket.socket
    fault: Fault
    upstream: socket.socket | None = None
    sent_down: int = 0
    limit: int | None = None  # the stream offset of the cut, once known
    head: bytes = b""  # the response so far, while its header block is incomplete (`in_body`)
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    jitter: random.Random | None = None  # this connection's own draws of the delay
    faulted: bool = False  # a fault (cut or blackhole) ended it


class FaultProxy:
    """`with FaultProxy(port, rates=..., seed=1) as proxy: requests.get(proxy.url + "/path")`."""

    def __init__(self, upstream_port: int, *, rates: FaultRates = FaultRates(), seed: int = 0,
                 response_offset: tuple[int, int] = (0, 1 << 16), reset: bool = True,
                 delay: tuple[float, float] = (0.0, 0.0), upstream_host: str = _LOOPBACK) -> None:
        if upstream_host != _LOOPBACK:
            raise ValueError(f"the fault proxy forwards to {_LOOPBACK} only, not {upstream_host!r}")
        if not 0 < upstream_port < 65536:
            raise ValueError(f"not a TCP port: {upstream_port}")
        low, high = response_offset
        if not 0 <= low <= high:
            raise ValueError(f"response_offset is a (low, high) byte range, got {response_offset}")
        if not 0 <= delay[0] <= delay[1]:
            raise ValueError(f"delay is a (low, high) range of seconds, got {delay}")
        self.upstream_port, self.rates, self.response_offset, self.reset = upstream_port, rates, (low, high), reset
        self.delay = delay
        self.cuts: list[tuple[FaultKind, int]] = []
        self._rng = random.Random(seed)
        self._script: deque[Fault] = deque()
        self._counters = Counters()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._blackhole_until = 0.0
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((_LOOPBACK, 0))
        self._listener.settimeout(_POLL_S)  # so the accept loop sees `close()`
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{_LOOPBACK}:{self.port}"

    # -- control ----------------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._spawn(self._accept_loop, "fault-proxy-accept")

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    def script(self, *faults: Fault) -> None:
        """The faults of the next connections, in order, before the rates apply again."""
        with self._lock:
            self._script.extend(faults)

    def set_rates(self, rates: FaultRates) -> None:
        with self._lock:
            self.rates = rates

    def blackhole(self, seconds: float) -> None:
        """From now on for `seconds`: accept, forward nothing, freeze live connections; then reset them."""
        with self._lock:
            self._blackhole_until = time.monotonic() + seconds

    def blackholed(self) -> bool:
        return time.monotonic() < self._blackhole_until

    def counters(self) -> Counters:
        with self._lock:
            return replace(self._counters)

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self._counters, name, getattr(self._counters, name) + amount)

    # -- connections ------------------------------------------------------------------------------

    def _spawn(self, target: object, name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            self._count("connections")
            fault = None if self.blackholed() else self.next_fault()
            with self._lock:  # drawn in accept order too, only when delays are asked for
                jitter = random.Random(self._rng.getrandbits(64)) if self.delay[1] else None
            self._spawn(self._serve, "fault-proxy-conn", client, fault, jitter)

    def next_fault(self) -> Fault:
        """A scripted fault, else one drawn at the rates (the RNG is used in accept order only)."""
        with self._lock:
            if self._script:
                return self._script.popleft()
            draw, rates = self._rng.random(), self.rates
            offset = self._rng.randint(*self.response_offset)
        for kind, rate in ((FaultKind.CUT_REQUEST, rates.cut_request),
                           (FaultKind.CUT_AFTER_COMMIT, rates.cut_after_commit),
                           (FaultKind.CUT_RESPONSE, rates.cut_response)):
            if draw < rate:
                return Fault(kind, offset if kind is FaultKind.CUT_RESPONSE else 0, self.reset)
            draw -= rate
        return Fault(FaultKind.PASS)

    def _serve(self, client: socket.socket, fault: Fault | None, jitter: random.Random | None) -> None:
        conn = _Connection(client, fault or Fault(FaultKind.PASS), jitter=jitter)
        try:
            if fault is None:
                self._hold(conn)
            elif fault.kind is FaultKind.CUT_REQUEST:
                self._cut_request(conn)
            else:
                conn.upstream = self._connect_upstream()
                if conn.upstream is not None:
                    self._relay(conn)
        except OSError:
            pass  # a peer went away: nothing left to forward
        finally:
            if conn.upstream is not None and not conn.faulted:
                self._count("passed")  # relayed until a side closed (or the proxy stopped)
            conn.selector.close()
            for sock in (conn.client, conn.upstream):
                if sock is not None:
                    sock.close()

    def _connect_upstream(self) -> socket.socket | None:
        """The server's side of the connection; None (counted) while the server is down."""
        try:
            return socket.create_connection((_LOOPBACK, self.upstream_port), timeout=10)
        except OSError:
            self._count("upstream_down")
            return None

    def _hold(self, conn: _Connection) -> None:
        """Blackhole: keep the connection open, say nothing, until the blackhole ends; then reset."""
        conn.faulted = True
        self._count("blackholed")
        while self.blackholed() and not self._stop.wait(_POLL_S):
            pass
        _cut(conn.client, reset=True)

    def _cut_request(self, conn: _Connection) -> None:
        conn.client.settimeout(_POLL_S)
        while not self._stop.is_set():
            try:
                data = conn.client.recv(_BLOCK)
            except TimeoutError:
                continue
            if data:  # the request left the client; it never reaches the server
                self._record(FaultKind.CUT_REQUEST, 0)
                _cut(conn.client, conn.fault.reset)
            return

    def _relay(self, conn: _Connection) -> None:
        assert conn.upstream is not None
        conn.selector.register(conn.client, selectors.EVENT_READ)
        conn.selector.register(conn.upstream, selectors.EVENT_READ)
        while not self._stop.is_set():
            if self.blackholed():
                return self._hold(conn)
            for key, _ in conn.selector.select(_POLL_S):
                data = key.fileobj.recv(_BLOCK)  # type: ignore[union-attr]
                if not data:
                    return None
                if conn.jitter is not None:
                    time.sleep(conn.jitter.uniform(*self.delay))
                if key.fileobj is conn.client:
                    conn.upstream.sendall(data)
                    self._count("bytes_up", len(data))
                elif self._forward_down(conn, data):
                    return None
        return None

    def _forward_down(self, conn: _Connection, data: bytes) -> bool:
        """Send the server's bytes on, up to the fault's cut; True once the connection is cut."""
        limit = self._cut_limit(conn, data)
        if limit is None or conn.sent_down + len(data) <= limit:
            conn.client.sendall(data)
            conn.sent_down += len(data)
            self._count("bytes_down", len(data))
            return False
        head = data[:limit - conn.sent_down]
        conn.client.sendall(head)
        self._count("bytes_down", len(head))
        conn.faulted = True
        self._record(conn.fault.kind, conn.sent_down + len(head))
        _cut(conn.client, conn.fault.reset)
        return True

    @staticmethod
    def _cut_limit(conn: _Connection, data: bytes) -> int | None:
        """The stream offset to cut at (None: not yet known, or no cut)."""
        fault = conn.fault
        if fault.kind is FaultKind.PASS or conn.limit is not None:
            return conn.limit
        if fault.kind is FaultKind.CUT_AFTER_COMMIT or not fault.in_body:
            conn.limit = 0 if fault.kind is FaultKind.CUT_AFTER_COMMIT else fault.offset
            return conn.limit
        conn.head += data
        end = conn.head.find(b"\r\n\r\n")
        if end >= 0:
            conn.limit, conn.head = end + 4 + fault.offset, b""
        return conn.limit

    def _record(self, kind: FaultKind, offset: int) -> None:
        with self._lock:
            name = kind.value
            setattr(self._counters, name, getattr(self._counters, name) + 1)
            self.cuts.append((kind, offset))


def _cut(sock: socket.socket, reset: bool) -> None:
    """Reset (SO_LINGER 0 makes close send RST) or close in order (FIN)."""
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
