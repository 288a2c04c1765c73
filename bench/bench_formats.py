"""COCO export: 10,000 images x 20 polygons (--quick: 1,000 images), ours against datumaro.

Target (issue 5): faster than datumaro's COCO exporter, measured on the same data in the
same run. Each side runs in its own fresh subprocess, which first builds its dataset in
memory from the same seeded arrays (not timed): our `Dataset` of `Item`s and `Annotation`s,
and datumaro's `Dataset.from_iterable` of `DatasetItem`s with `Polygon`s (images given by
path and size, no pixels), its cache filled by one pass over the items. Then only the
exporter call is timed:
  ours:     app.formats.coco.FORMAT.export(dataset, out)            (fsyncs its file)
  datumaro: dataset.export(out, "coco_instances", save_media=False)
Both write `annotations/instances_default.json` with every polygon, its bbox and area.
CPU time (process_time of the child during the call) is reported beside the wall time: on
a shared machine it is the steadier of the two.
Peak memory: the highest RSS during the call minus the RSS just before it, sampled every
5 ms by a psutil thread in the child (so C allocations, orjson's and pycocotools', count).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.harness import Measurement

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT, PER_IMAGE, VERTICES = 640, 480, 20, 12
LABELS = ["person", "car", "bicycle", "dog", "traffic light"]


def make_arrays(n_images: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(n, 20, 12, 2) star-shaped polygon vertices rounded to 0.01 px, and (n, 20) labels."""
    rng = np.random.default_rng(seed)
    shape = (n_images, PER_IMAGE)
    centre = rng.uniform((40, 40), (WIDTH - 40, HEIGHT - 40), (*shape, 2))
    angles = np.sort(rng.uniform(0, 2 * np.pi, (*shape, VERTICES)), axis=-1)
    radii = rng.uniform(10, 40, (*shape, VERTICES))
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=-1) * radii[..., None]
    return np.round(centre[:, :, None, :] + ring, 2), rng.integers(0, len(LABELS), shape)


def _ours(points: np.ndarray, labels: np.ndarray):  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from app.annotators.annotation import Annotation
    from app.annotators.shapes import Polygon
    from app.formats.base import Dataset, Item

    now = datetime.now(timezone.utc)
    items = [Item(f"img_{i:05d}.jpg", width=WIDTH, height=HEIGHT, annotations=[
        Annotation.new(asset_id=i + 1, label=LABELS[labels[i, j]], author="bench", now=now,
                       shape=Polygon.from_rings(points[i, j]))
        for j in range(PER_IMAGE)]) for i in range(len(points))]
    dataset = Dataset(labels=list(LABELS), items=items)
    from app.formats.coco import FORMAT  # imported before the clock starts, like datumaro's

    def export(out: Path) -> None:
        FORMAT.export(dataset, out)
    return export


def _datumaro(points: np.ndarray, labels: np.ndarray):  # type: ignore[no-untyped-def]
    from datumaro.components.annotation import Polygon
    from datumaro.components.dataset import Dataset
    from datumaro.components.dataset_base import DatasetItem
    from datumaro.components.media import Image

    flat = points.reshape(len(points), PER_IMAGE, -1).tolist()
    items = [DatasetItem(id=f"img_{i:05d}", subset="default",
                         media=Image.from_file(path=f"img_{i:05d}.jpg", size=(HEIGHT, WIDTH)),
                         annotations=[Polygon(flat[i][j], label=int(labels[i, j]))
                                      for j in range(PER_IMAGE)]) for i in range(len(points))]
    dataset = Dataset.from_iterable(items, categories=list(LABELS))
    assert sum(len(item.annotations) for item in dataset) == points.shape[0] * PER_IMAGE
    import datumaro.plugins.data_formats.coco.exporter  # noqa: F401  (imports not timed)

    def export(out: Path) -> None:
        dataset.export(str(out), "coco_instances", save_media=False)
    return export


def _child(side: str, n_images: int, out: Path) -> dict[str, float]:
    """Build one side's dataset, then time its export and sample its RSS."""
    import psutil

    export = {"ours": _ours, "datumaro": _datumaro}[side](*make_arrays(n_images))
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0, c0 = time.perf_counter(), time.process_time()
    export(out)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    done.set()
    sampler.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    written = out / "annotations" / "instances_default.json"
    doc = json.loads(written.read_text(encoding="utf-8"))
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": (peak[0] - before) / 2**20,
            "file_mb": written.stat().st_size / 2**20, "annotations": len(doc["annotations"]),
            "images": len(doc["images"])}


def _run_child(side: str, n_images: int, out: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-m", "bench.bench_formats", "--child", side,
                           str(n_images), str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{side} child failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[Measurement]:
    n = 1000 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="alaya-bench-formats-") as tmp:
        theirs = _run_child("datumaro", n, Path(tmp) / "datumaro")
        ours = _run_child("ours", n, Path(tmp) / "ours")
    for got in (ours, theirs):
        assert got["annotations"] == n * PER_IMAGE and got["images"] == n, got
    tag = f"{n // 1000}k images x {PER_IMAGE} polygons"
    details = {"images": n, "polygons": n * PER_IMAGE, "vertices": VERTICES,
               "ours_file_mb": round(ours["file_mb"], 1),
               "datumaro_file_mb": round(theirs["file_mb"], 1),
               "memory": "peak RSS rise during the call, psutil every 5 ms, fresh subprocess"}
    return [
        Measurement(f"COCO export {tag}", "s", ours["seconds"], theirs["seconds"],
                    theirs["seconds"], "datumaro coco_instances exporter, same data",
                    higher_is_better=False, details=details),
        Measurement(f"COCO export {tag}, CPU time", "s", ours["cpu_seconds"],
                    theirs["cpu_seconds"], theirs["cpu_seconds"],
                    "datumaro coco_instances exporter, same data", higher_is_better=False,
                    details=details),
        Measurement(f"COCO export {tag} peak memory", "MB", ours["peak_mb"], None,
                    theirs["peak_mb"], "datumaro coco_instances exporter, same data",
                    higher_is_better=False, details=details),
    ]


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--child":
    print(json.dumps(_child(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
