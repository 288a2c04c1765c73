"""A stand-in coordinator that answers sign-in properly and everything else with a canned,
misbehaving reply (malformed JSON, HTML, a 500, a clock far off): the replies the real
coordinator never sends, which the client must still survive."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Canned:
    status: int = 200
    content_type: str = "application/json"
    body: bytes = b"{}"
    clock_offset_s: float = 0.0  # how far the stub's Date header is from the real time
    seen: list[str] = field(default_factory=list)  # "METHOD path" of every request


@contextmanager
def stub_coordinator(canned: Canned) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self._answer()

        def do_GET(self) -> None:  # noqa: N802
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            canned.seen.append(f"{self.command} {self.path}")
            where = "127.0.0.1:%d" % self.server.server_address[1]
            now = datetime.now(timezone.utc) + timedelta(seconds=canned.clock_offset_s)
            if self.path == "/v1/auth/nonce":
                self._send(200, "application/json", json.dumps({
                    "nonce": "abcdefgh12345678", "expires_at": now.isoformat(), "domain": where,
                    "uri": f"http://{where}", "chain_id": 31337}).encode())
            elif self.path == "/v1/auth/sign-in":
                self._send(200, "application/json", json.dumps({
                    "token": "t0ken", "expires_at": (now + timedelta(hours=1)).isoformat(),
                    "address": "0x" + "00" * 20, "roles": ["contributor"]}).encode())
            else:
                self._send(canned.status, canned.content_type, canned.body)

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def date_time_string(self, timestamp: float | None = None) -> str:
            return email.utils.formatdate(time.time() + canned.clock_offset_s, usegmt=True)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
