"""Images of any size on the canvas (issue 3): time to first paint, pan frames, peak memory.

Each measurement runs in a fresh child process (offscreen QApplication), so one image's
memory does not inflate the next figure and the peak-RSS counter starts clean. A "frame"
renders the scene into a 1600 x 900 QImage through `QGraphicsScene.render`: a full repaint
of the viewport every frame (a QGraphicsView would scroll and repaint only a strip), with
pending tile events handled first, so pixmap creation from new tiles is counted.

Rows (targets from issue 3), each with its baseline measured in the same run:
- open 24 MP JPEG to first paint: from "open this file" to a painted fit-to-window frame.
  Ours: DCT-reduced decode in the background, tiles of that level. Baseline:
  `QPixmap(path)` then painting it whole, scaled, into the same frame. Medians of 5,
  interleaved.
- 20k x 20k first paint: same path on a 20,000 x 20,000 JPEG. Baseline: `cv2.imread` of the
  whole file (decoding only, no paint); `QPixmap(path)` cannot load it at all (null: Qt's
  256 MB image allocation limit), noted in the details.
- 20k x 20k median pan frame: at 100% after full resolution arrived, 120 frames on a 60 Hz
  clock moving (23, 13) screen pixels each. Baseline: the whole decoded array wrapped as one QImage (no
  copy) and `drawImage` of the visible part per frame. Details: a pan at 25% (tiles built
  by workers meanwhile) and p95s.
- 20k x 20k peak memory / decoded size: (peak RSS - RSS just before opening) / (W * H * 3).
  Peak RSS is the kernel's high-water mark (VmHWM, reset to the current RSS just before
  opening), not a sampled value, so short spikes count. Baseline: the same ratio for a bare
  `cv2.imread` of the file (its Python binding copies the decoded image: about 2x).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench.harness import Measurement

VIEWPORT = (1600, 900)
ROOT = Path(__file__).resolve().parent.parent


# --- inputs -------------------------------------------------------------------------------
def make_jpeg(path: Path, width: int, height: int, *, quality: int = 90, seed: int = 3) -> Path:
    """Photo-like content (ramps, noise, discs) in 2048-pixel blocks that all differ."""
    rng = np.random.default_rng(seed)
    t = 2048
    yy, xx = np.mgrid[0:t, 0:t].astype(np.float32)
    base = np.stack([(xx * 0.11) % 255, (yy * 0.17) % 255, ((xx + yy) * 0.07) % 255], axis=-1)
    base = np.clip(base + rng.normal(0, 7, (t, t, 3)), 0, 255).astype(np.uint8)
    img = np.empty((height, width, 3), np.uint8)
    for i, by in enumerate(range(0, height, t)):
        for j, bx in enumerate(range(0, width, t)):
            block = cv2.add(np.roll(base, (i * 7 + j * 13) * 29, axis=1),
                            tuple(int(c) for c in rng.integers(0, 60, 3)) + (0,))
            for _ in range(3):
                cv2.circle(block, tuple(int(c) for c in rng.integers(100, t - 100, 2)),
                           int(rng.integers(20, 300)), tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
            h, w = min(t, height - by), min(t, width - bx)
            img[by:by + h, bx:bx + w] = block[:h, :w]
    assert cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return path


def _child(mode: str, path: Path, timeout: float = 600) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "bench.bench_canvas_image", "--child", mode, str(path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[Measurement]:
    photo_size = (3000, 2000) if quick else (6000, 4000)
    side = 6000 if quick else 20_000
    with tempfile.TemporaryDirectory(prefix="alaya-bench-canvas-") as tmp:
        photo = make_jpeg(Path(tmp) / "photo.jpg", *photo_size)
        t0 = time.perf_counter()
        big = make_jpeg(Path(tmp) / "big.jpg", side, side, quality=85)
        made_s = time.perf_counter() - t0
        p = _child("photo", photo)
        b = _child("big_baseline", big)
        o = _child("big", big)
    mp = photo_size[0] * photo_size[1] / 1e6
    tag = f"{side // 1000}k x {side // 1000}k"
    return [
        Measurement(f"open {mp:.0f} MP JPEG to first paint", "ms", p["ours_ms"], 300.0, p["baseline_ms"],
                    "QPixmap(path) + paint whole", higher_is_better=False,
                    details={k: v for k, v in p.items() if k not in ("ours_ms", "baseline_ms")}),
        Measurement(f"{tag} first paint", "ms", o["first_paint_ms"], 3000.0, b["imread_ms"],
                    "cv2.imread full decode (no paint)", higher_is_better=False,
                    details={"sharp_at_fit_ms": o["sharp_at_fit_ms"], "full_resolution_ms": o["full_ms"],
                             "first_paint_missing_tiles": o["first_missing"],
                             "qpixmap_load": b["qpixmap"], "file_mb": round(o["file_mb"], 1),
                             "generate_s": round(made_s, 1)}),
        Measurement(f"{tag} median pan frame", "ms", o["pan_median_ms"], 33.0, b["pan_median_ms"],
                    "one QImage over the whole array, drawImage", higher_is_better=False,
                    details={"pan_p95_ms": o["pan_p95_ms"], "pan25_median_ms": o["pan25_median_ms"],
                             "pan25_p95_ms": o["pan25_p95_ms"], "pan25_frames_with_stand_ins": o["pan25_stand_in_frames"],
                             "baseline_p95_ms": b["pan_p95_ms"], "frames": o["frames"]}),
        Measurement(f"{tag} peak memory / decoded size", "ratio", o["peak_ratio"], 2.0, b["peak_ratio"],
                    "cv2.imread alone", higher_is_better=False,
                    details={"decoded_mb": round(side * side * 3 / 2**20), "peak_delta_mb": o["peak_delta_mb"],
                             "pyramid_extra_mb": o["pyramid_extra_mb"], "pixmap_cache_mb": o["pixmap_mb"]}),
    ]


# --- child processes ----------------------------------------------------------------------
def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> None:
    """Make the high-water mark start at the current RSS (Linux >= 4.0; else a no-op)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak() -> int:
    """Peak RSS of this process image: VmHWM, kept by the kernel at every page fault.

    Not `ru_maxrss`: that one survives exec, so a child would inherit its parent's peak.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _frame(scene, rect):  # noqa: ANN001, ANN202 - Qt types imported in the child only
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    img = QImage(*VIEWPORT, QImage.Format.Format_RGB32)
    img.fill(0)
    painter = QPainter(img)
    scene.render(painter, QRectF(0, 0, *VIEWPORT), rect)
    painter.end()
    return img


def _fit(w: int, h: int):  # noqa: ANN202
    from PySide6.QtCore import QRectF

    z = min(VIEWPORT[0] / w, VIEWPORT[1] / h)
    vw, vh = VIEWPORT[0] / z, VIEWPORT[1] / z
    return QRectF((w - vw) / 2, (h - vh) / 2, vw, vh)


def _open_and_paint(path: str):  # noqa: ANN202
    """(item, scene, first-paint seconds) for the real path: open, wait for `loaded`, paint."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QGraphicsScene

    from app.ui.canvas.image_item import ImageItem

    t0 = time.perf_counter()
    item = ImageItem.open(path, fit_within=VIEWPORT)
    loop = QEventLoop()
    item.loaded.connect(loop.quit)
    item.failed.connect(loop.quit)
    loop.exec()
    scene = QGraphicsScene()
    scene.addItem(item)
    w, h = item.source.size
    _frame(scene, _fit(w, h))
    return item, scene, time.perf_counter() - t0


def _child_photo(path: str) -> dict:
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QImage, QPainter, QPixmap

    Path(path).read_bytes()  # page cache warm for both
    ours, base, preview, full = [], [], [], []
    for _ in range(5):
        item, _scene, first = _open_and_paint(path)
        ours.append(first)
        item.source.wait("full", timeout=60)
        preview.append(item.source.timings["preview_s"])
        full.append(item.source.timings["full_s"])
        item.close()
        t0 = time.perf_counter()
        pm = QPixmap(path)
        img = QImage(*VIEWPORT, QImage.Format.Format_RGB32)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        size = pm.size().scaled(*VIEWPORT, Qt.AspectRatioMode.KeepAspectRatio)
        painter.drawPixmap(QRectF(0, 0, size.width(), size.height()), pm, QRectF(pm.rect()))
        painter.end()
        base.append(time.perf_counter() - t0)
        assert not pm.isNull()
        del pm
    return {"ours_ms": 1e3 * float(np.median(ours)), "baseline_ms": 1e3 * float(np.median(base)),
            "preview_decode_ms": round(1e3 * float(np.median(preview)), 1),
            "full_resolution_ms": round(1e3 * float(np.median(full)), 1),
            "preview_scale": _preview_scale(path)}


def _preview_scale(path: str) -> int:
    from app.media import raster_io

    return raster_io.preview_scale(raster_io.read_info(path), VIEWPORT)


def _pan(app, scene, item, centre: tuple[float, float], zoom: float, frames: int):  # noqa: ANN001, ANN202
    """Frame times, and how many frames showed a stand-in for a tile still being built.

    Frames start on a 60 Hz clock, as a drag delivers them; the wait between is not counted.
    """
    from PySide6.QtCore import QRectF

    vw, vh = VIEWPORT[0] / zoom, VIEWPORT[1] / zoom
    times, stand_ins = [], 0
    start = time.perf_counter()
    for i in range(frames):
        time.sleep(max(0.0, start + i / 60 - time.perf_counter()))
        t0 = time.perf_counter()
        before = item.stats["missing"]
        app.processEvents()
        x, y = centre[0] + i * 23 / zoom - vw / 2, centre[1] + i * 13 / zoom - vh / 2
        _frame(scene, QRectF(x, y, vw, vh))
        times.append(time.perf_counter() - t0)
        stand_ins += item.stats["missing"] > before
    return times, stand_ins


def _child_big(path: str) -> dict:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    _reset_peak()
    rss0 = _rss()
    t0 = time.perf_counter()
    item, scene, first = _open_and_paint(path)
    w, h = item.source.size
    missing0 = item.stats["missing"]
    sharp = None
    for _ in range(2000):  # repaint until the fit view has every tile at its own level
        before = item.stats["missing"]
        app.processEvents()
        _frame(scene, _fit(w, h))
        if item.stats["missing"] == before:
            sharp = time.perf_counter() - t0
            break
        time.sleep(0.002)
    if item.source.state != "full":
        loop = QEventLoop()
        item.sharpened.connect(loop.quit)
        loop.exec()
    full = time.perf_counter() - t0
    frames = 120
    pan, _ = _pan(app, scene, item, (w / 2, h / 2), 1.0, frames)
    pan25, stand_ins25 = _pan(app, scene, item, (w / 4, h / 4), 0.25, frames)
    p = item.source.pyramid
    out = {"first_paint_ms": 1e3 * first, "sharp_at_fit_ms": round(1e3 * (sharp or float("nan")), 1),
           "full_ms": round(1e3 * full, 1), "first_missing": missing0,
           "pan_median_ms": 1e3 * float(np.median(pan)), "pan_p95_ms": round(1e3 * float(np.percentile(pan, 95)), 1),
           "pan25_median_ms": round(1e3 * float(np.median(pan25)), 1),
           "pan25_p95_ms": round(1e3 * float(np.percentile(pan25, 95)), 1), "pan25_stand_in_frames": stand_ins25,
           "frames": frames, "file_mb": Path(path).stat().st_size / 2**20,
           "pyramid_extra_mb": round((p.nbytes - p.level0_nbytes) / 2**20, 1),
           "pixmap_mb": round(item._pixmaps.used / 2**20, 1)}  # noqa: SLF001
    peak = _peak() - rss0
    out |= {"peak_delta_mb": round(peak / 2**20), "peak_ratio": peak / (w * h * 3)}
    return out


def _child_big_baseline(path: str) -> dict:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter, QPixmap

    _reset_peak()
    rss0 = _rss()
    t0 = time.perf_counter()
    a = cv2.imread(path)
    imread = time.perf_counter() - t0
    peak = _peak() - rss0
    h, w = a.shape[:2]
    whole = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_BGR888)
    times, start = [], time.perf_counter()
    for i in range(120):  # the same path and 60 Hz clock as `_pan`
        time.sleep(max(0.0, start + i / 60 - time.perf_counter()))
        t0 = time.perf_counter()
        img = QImage(*VIEWPORT, QImage.Format.Format_RGB32)
        painter = QPainter(img)
        x, y = w / 2 + i * 23 - VIEWPORT[0] / 2, h / 2 + i * 13 - VIEWPORT[1] / 2
        painter.drawImage(QRectF(0, 0, *VIEWPORT), whole, QRectF(x, y, *VIEWPORT))
        painter.end()
        times.append(time.perf_counter() - t0)
    del whole, a
    t0 = time.perf_counter()  # last: a successful load would have raised the peak above
    pm = QPixmap(path)
    qpixmap = f"{'null' if pm.isNull() else 'loaded'} after {1e3 * (time.perf_counter() - t0):.0f} ms"
    return {"imread_ms": 1e3 * imread, "peak_ratio": peak / (w * h * 3), "qpixmap": qpixmap,
            "pan_median_ms": 1e3 * float(np.median(times)), "pan_p95_ms": round(1e3 * float(np.percentile(times, 95)), 1)}


def _child_main(mode: str, path: str) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication([])  # noqa: F841 - alive for the whole child
    result = {"photo": _child_photo, "big": _child_big, "big_baseline": _child_big_baseline}[mode](path)
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child_main(sys.argv[2], sys.argv[3])
    else:
        from bench.harness import print_table

        print_table(run(quick="--quick" in sys.argv))
