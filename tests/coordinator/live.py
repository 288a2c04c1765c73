"""A real uvicorn on 127.0.0.1 for end-to-end tests, and a `requests` client for it.

The server runs in a background thread with its own event loop, on a socket bound before
the app is built (so the sign-in domain can name the real port and no other process can take
the port in between); `should_exit` stops it, which runs the app's shutdown (engine disposed).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import uvicorn


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_in_thread(app: Any, sock: socket.socket, *, start_timeout_s: float = 30) -> Iterator[str]:
    """Serve `app` on `sock` until the block ends; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="live-uvicorn")
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it started serving")
        if time.monotonic() > deadline:
            raise TimeoutError(f"uvicorn did not start within {start_timeout_s} s")
        time.sleep(0.01)
    try:
        yield "http://%s:%d" % sock.getsockname()[:2]
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


class LiveClient(requests.Session):
    """`requests` with paths relative to the live server, like TestClient: `client.get("/v1/health")`;
    it takes TestClient's `content=` for raw bytes too, so the tests' helpers work with both."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith("/"):
            url = self.base_url + url
        if "content" in kwargs:
            kwargs["data"] = kwargs.pop("content")
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, **kwargs)


def wait_healthy(base: str, proc: subprocess.Popen[Any], timeout_s: float = 90) -> None:
    """Until `base` answers /v1/health (a server process started with its output piped)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.communicate()[0] if proc.stdout is not None else ""
            raise AssertionError(f"the server exited with {proc.returncode}:\n{(output or '')[-3000:]}")
        try:
            if requests.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"no answer from {base}/v1/health within {timeout_s} s")
