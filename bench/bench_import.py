"""Import throughput: 2,000 generated 1-megapixel JPEGs through `alaya import`'s pipeline.

Target (issue 2): >= 150 files/s on this 2-core machine for the whole import (validation by
decoding, SHA-256, perceptual hash, managed copy with metadata scrubbing, store writes).
Baseline, same run: the same validation done sequentially in one process (no store, no copies).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from app.intake import ImportOptions
from bench.harness import Measurement


def make_jpegs(folder: Path, n: int, *, width: int = 1152, height: int = 864) -> list[Path]:
    """Photo-like 1-megapixel JPEGs (smooth gradients, shapes, mild noise), all distinct."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    paths = []
    for i in range(n):
        base = np.stack([(xx * (0.1 + i % 7 * 0.02)) % 255, (yy * (0.15 + i % 5 * 0.03)) % 255,
                         ((xx + yy) * 0.07 + i * 3) % 255], axis=-1)
        img = np.clip(base + np.roll(noise, i * 13, axis=1), 0, 255).astype(np.uint8)
        cv2.circle(img, (int(rng.integers(100, width - 100)), int(rng.integers(100, height - 100))),
                   int(rng.integers(30, 150)), tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
        path = folder / f"img_{i:05d}.jpg"
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def _validation(paths: list[Path], mode: str, jpeg_scale: int) -> float:
    from app.media.scan import scan_files

    t0 = time.perf_counter()
    results = list(scan_files(paths, mode=mode, jpeg_scale=jpeg_scale))
    elapsed = time.perf_counter() - t0
    assert all(r.accepted for _, r in results)
    return elapsed


def _full_import(paths: list[Path], root: Path) -> float:
    from app.intake import ImportOptions, import_paths
    from app.store.workspace import Workspace

    with Workspace.open(root) as ws:
        project = ws.projects.create("bench")
        t0 = time.perf_counter()
        report = import_paths(ws, project, [paths[0].parent], ImportOptions(copy_mode="copy"))
        elapsed = time.perf_counter() - t0
        assert len(report.imported) == len(paths), (len(report.imported), report.rejected[:3])
    return elapsed


def run(quick: bool = False) -> list[Measurement]:
    n = 200 if quick else 2000
    with tempfile.TemporaryDirectory(prefix="alaya-bench-import-") as tmp:
        paths = make_jpegs(Path(tmp) / "jpegs", n)
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        scale = ImportOptions().jpeg_scale
        _validation(paths[:20], "sequential", scale)  # warm the page cache and the decoders equally
        baseline = n / _validation(paths, "sequential", scale)
        ours = n / _full_import(paths, Path(tmp) / "ws")
        full_seq = n / _validation(paths, "sequential", 1)
        full_par = n / _validation(paths, "parallel", 1)
    details = {"files": n, "megabytes": round(size_mb, 1), "cores": os.cpu_count() or 0}
    return [
        Measurement("import 1-MP JPEGs (full pipeline)", "files/s", ours, 150.0, baseline,
                    "same validation, sequential, one process", details=details),
        Measurement("validation only, full-size decode", "files/s", full_par, None, full_seq,
                    "full-size decode, sequential", details=details),
    ]
