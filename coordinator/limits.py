"""Guards in front of every route: a cap on body size, and token buckets per account or address."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from coordinator.config import RateLimit
from coordinator.errors import ApiError

Scope = dict[str, Any]


class BodyLimit:
    """ASGI middleware: 413 for a declared or streamed body over `max_bytes`, before any route
    reads it; upload routes may allow `chunk_max` instead."""

    def __init__(self, app: Any, max_bytes: int, chunk_max: int, upload_prefix: str) -> None:
        self.app, self.max_bytes, self.chunk_max, self.upload_prefix = app, max_bytes, chunk_max, upload_prefix

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.chunk_max if scope["path"].startswith(self.upload_prefix) else self.max_bytes
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _too_large(send, limit)
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(send, limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Callable, limit: int) -> None:
    body = json.dumps({"error": "too_large", "detail": f"the body is over {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """Token buckets keyed by account (or client address before sign-in), in this process."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> None:
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.limit.burst), now))
            tokens = min(float(self.limit.burst), tokens + (now - at) * self.limit.per_second)
            if tokens < cost:
                wait = (cost - tokens) / self.limit.per_second
                self._buckets[key] = (tokens, now)
                raise ApiError(429, "rate_limited", f"too many requests; retry in {wait:.1f} s",
                               {"Retry-After": str(max(1, round(wait + 0.5)))})
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 3600}
