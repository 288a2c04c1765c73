"""Annotation save latency: an edit until its row and outbox row are committed (fsync'd).

Target (issue 2): p50 <= 5 ms, p99 <= 25 ms. Baseline, same run and same disk: the floor,
raw `sqlite3` executing two INSERTs and a COMMIT with the same pragmas (no ORM, no versioning).
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import Measurement


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _ours(root: Path, n: int) -> list[float]:
    from app.annotators.annotation import Annotation
    from app.annotators.shapes import Polygon, PolygonPart
    from app.store.assets import NewAsset
    from app.store.workspace import Workspace

    rng = random.Random(1)
    with Workspace.open(root) as ws:
        project = ws.projects.create("bench")
        sha = hashlib.sha256(b"bench").hexdigest()
        (asset,) = ws.assets.add_many(project.id, [NewAsset(sha256=sha, modality="image", storage="reference",
                                                            path="/x.jpg", original_name="x.jpg", size_bytes=1,
                                                            metadata={"width": 1000, "height": 1000})])

        def polygon(x: float) -> Polygon:
            ring = tuple((x + 50 * (1 + (i % 2)) * (i / 16), x + 30 * (i % 3)) for i in range(16))
            return Polygon(parts=(PolygonPart(exterior=ring, holes=()),))

        live = [ws.annotations.save(Annotation.new(asset_id=asset.id, label="car", shape=polygon(i),
                                                   author="bench")) for i in range(50)]
        times = []
        for _ in range(n):
            i = rng.randrange(len(live))
            edited = live[i].replace(shape=polygon(rng.uniform(0, 900)))
            t0 = time.perf_counter()
            live[i] = ws.annotations.save(edited)
            times.append((time.perf_counter() - t0) * 1000)
        return times


def _floor(root: Path, n: int) -> list[float]:
    root.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(root / "floor.sqlite3", isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=5000"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, payload TEXT)")
    conn.execute("CREATE TABLE o (id INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT)")
    payload = "x" * 900  # about the size of a 16-vertex polygon annotation as JSON
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO a (payload) VALUES (?)", (payload,))
        conn.execute("INSERT INTO o (payload) VALUES (?)", (payload,))
        conn.execute("COMMIT")
        times.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return times


def run(quick: bool = False) -> list[Measurement]:
    n = 300 if quick else 3000
    with tempfile.TemporaryDirectory(prefix="alaya-bench-") as tmp:
        floor = _floor(Path(tmp) / "floor", n)
        ours = _ours(Path(tmp) / "ws", n)
    label = "raw sqlite3, 2 INSERTs + COMMIT, same pragmas"
    common = {"saves": n}
    return [
        Measurement("annotation save p50", "ms", _percentile(ours, 50), 5.0, _percentile(floor, 50), label,
                    higher_is_better=False, details=common),
        Measurement("annotation save p99", "ms", _percentile(ours, 99), 25.0, _percentile(floor, 99), label,
                    higher_is_better=False, details=common | {"max_ms": max(ours)}),
    ]
