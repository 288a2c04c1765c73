"""An image opening in the background: preview first, full resolution next, tiles on demand.

`RasterSource(path).start()` returns at once. A decode thread reads the header, decodes a
JPEG at 1/2, 1/4 or 1/8 in the DCT domain (just sharp enough for `fit_within`) and installs
it as that pyramid level ("preview_decoded"), then decodes the full image as level 0
("full_decoded"). 16-bit images get a window from their 1st..99th percentiles on open.

Tiles for the screen come from `display_tile`, which never blocks: it answers with a tile
that exists (uint8 samples, a view when no conversion is needed) or None. The caller then
names what it wants with `request_tiles`; worker threads build those tiles (latest request
wins: tiles no longer wanted are skipped) and report each with "tile_built".

Listeners are called on worker threads with (event, detail): "preview_decoded" (None),
"full_decoded" (None), "tile_built" (TileKey), "decode_failed" (MediaError). A GUI passes
them on to its own thread (the Qt canvas uses a queued signal).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from app.core.errors import MediaError
from app.media import raster_io
from app.media.raster import DEFAULT_TILE, ImagePyramid, TileKey, Window, auto_window, to_display

log = logging.getLogger(__name__)
Listener = Callable[[str, object], None]
DEFAULT_FIT = (1920, 1080)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def tile_pool() -> ThreadPoolExecutor:
    """The process-wide pool that builds tiles (created on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)),
                                       thread_name_prefix="raster-tiles")
        return _pool


def _fits(p: ImagePyramid, a: np.ndarray) -> bool:
    channels = 1 if a.ndim == 2 else a.shape[2]
    return a.shape[:2] == (p.height, p.width) and channels == p.channels and a.dtype == p.dtype


class RasterSource:
    """One image for the canvas; see the module docstring. Thread-safe."""

    def __init__(self, path: str | os.PathLike[str], *, fit_within: tuple[int, int] | None = DEFAULT_FIT,
                 tile_size: int = DEFAULT_TILE, executor: Executor | None = None, workers: int = 2,
                 display_cache_bytes: int = 64 << 20) -> None:
        self.path = Path(path)
        self.fit_within = fit_within
        self.tile_size = tile_size
        self._executor = executor
        self._workers = workers
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._state = "new"
        self._info: raster_io.ImageInfo | None = None
        self._pyramid: ImagePyramid | None = None
        self._error: MediaError | None = None
        self._window: Window | None = None
        self._window_gen = 0
        self._cache: OrderedDict[TileKey, np.ndarray] = OrderedDict()
        self._cache_bytes, self._cache_budget = 0, display_cache_bytes
        self._wanted: list[TileKey] = []
        self._in_progress: set[TileKey] = set()
        self._active_jobs = 0
        self._stage_events = {"preview": threading.Event(), "full": threading.Event()}
        self._closed = False
        self.timings: dict[str, float] = {}

    # life cycle ---------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def start(self) -> RasterSource:
        with self._lock:
            if self._state != "new":
                return self
            self._state = "loading"
        threading.Thread(target=self._decode, name=f"raster-decode {self.path.name}", daemon=True).start()
        return self

    def close(self) -> None:
        """Stop building tiles and let go of the pixels (a running decode is discarded)."""
        with self._lock:
            self._closed = True
            self._wanted.clear()
            self._cache.clear()
            self._cache_bytes = 0
            self._listeners.clear()
            self._pyramid = None

    def wait(self, stage: str = "full", timeout: float | None = None) -> None:
        """Block until "preview" or "full" is reached; raise its MediaError if it failed.

        For tests, benchmarks and command-line tools; a GUI listens for events instead.
        """
        if not self._stage_events[stage].wait(timeout):
            raise TimeoutError(f"{self.path.name}: {stage} not decoded within {timeout} s")
        if self._error is not None:
            raise self._error

    @property
    def state(self) -> str:
        """"new", "loading", "preview", "full", "failed" or "closed"."""
        return "closed" if self._closed else self._state

    @property
    def info(self) -> raster_io.ImageInfo | None:
        return self._info

    @property
    def pyramid(self) -> ImagePyramid | None:
        return self._pyramid

    @property
    def error(self) -> MediaError | None:
        return self._error

    @property
    def size(self) -> tuple[int, int] | None:
        p = self._pyramid
        return None if p is None else (p.width, p.height)

    def _emit(self, event: str, detail: object = None) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event, detail)

    def _decode(self) -> None:
        t0 = time.perf_counter()
        try:
            info = self._info = raster_io.read_info(self.path)
            scale = raster_io.preview_scale(info, self.fit_within)
            if scale > 1:
                preview = raster_io.decode_preview(info, scale)
                if self._closed:
                    return
                self._install_first(info, preview, scale.bit_length() - 1)
                self.timings["preview_s"] = time.perf_counter() - t0
                self._reach("preview", "preview_decoded")
            full = raster_io.decode_full(info, in_place=scale > 1)
            with self._lock:
                if self._closed:
                    return
            if full.dtype != np.uint8:  # before any tile can be converted with no window
                self._set_window(auto_window(full))
            p = self._pyramid
            if p is not None and _fits(p, full):
                p.install(0, full)
            else:  # no preview, or one that disagrees with the full decode: start afresh
                self._install_first(info, full, 0)
                if p is not None:
                    self._emit("preview_decoded")  # the size may have changed
            self.timings["full_s"] = time.perf_counter() - t0
            if scale == 1:
                self.timings["preview_s"] = self.timings["full_s"]
                self._reach("preview", "preview_decoded")
            self._reach("full", "full_decoded")
        except MediaError as exc:
            self._fail(exc)
        except MemoryError:
            self._fail(MediaError(f"not enough memory to open {self.path.name}"))
        except Exception as exc:  # a bug or a decoder surprise: say so, and keep the trace
            log.exception("decoding %s failed", self.path)
            self._fail(MediaError(f"cannot open {self.path.name}: {type(exc).__name__}: {exc}"))

    def _install_first(self, info: raster_io.ImageInfo, a: np.ndarray, level: int) -> None:
        """Create the pyramid around the first decoded level."""
        h, w = a.shape[:2]
        width = info.width if level and info.width else w
        height = info.height if level and info.height else h
        pyramid = ImagePyramid(width, height, 1 if a.ndim == 2 else a.shape[2], a.dtype,
                               tile_size=self.tile_size)
        want = pyramid.level_shape(level)
        if (h, w) != want:  # a decoder that rounds the reduced size its own way
            a = cv2.resize(a, (want[1], want[0]), interpolation=cv2.INTER_AREA)
        pyramid.install(level, a)
        self._pyramid = pyramid

    def _reach(self, stage: str, event: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._state = stage
        self._stage_events[stage].set()
        self._emit(event)

    def _fail(self, exc: MediaError) -> None:
        with self._lock:
            self._error, self._state = exc, "failed"
        for ev in self._stage_events.values():
            ev.set()
        self._emit("decode_failed", exc)

    # window -------------------------------------------------------------------------------
    @property
    def window(self) -> Window | None:
        """The mapping of samples to 8-bit; None means as stored (8-bit images)."""
        return self._window

    def set_window(self, center: float, width: float) -> None:
        """Map [center - width/2, center + width/2] onto 0..255; drops the converted tiles."""
        self._set_window(Window(center, width))

    def reset_window(self) -> None:
        """Back to the automatic window (percentiles) for deep images, as stored for 8-bit."""
        p = self._pyramid
        finest = None if p is None else p.finest
        if p is None or finest is None or p.dtype == np.uint8:
            self._set_window(None)
        else:
            self._set_window(auto_window(p.level(finest)))

    def _set_window(self, window: Window | None) -> None:
        with self._lock:
            self._window = window
            self._window_gen += 1
            self._cache.clear()
            self._cache_bytes = 0

    # tiles --------------------------------------------------------------------------------
    def display_tile(self, level: int, tx: int, ty: int) -> np.ndarray | None:
        """uint8 samples of the tile if ready now (never blocks); else None: request it."""
        p = self._pyramid
        if p is None:
            return None
        if self._window is None and p.dtype == np.uint8:
            return p.peek(level, tx, ty)
        with self._lock:
            a = self._cache.get((level, tx, ty))
            if a is not None:
                self._cache.move_to_end((level, tx, ty))
            return a

    def request_tiles(self, keys: Iterable[TileKey]) -> None:
        """Build these tiles, in this order, replacing any earlier request (latest wins)."""
        p = self._pyramid
        if p is None:
            return
        wanted = [k for k in keys if p.can_build(k[0])]
        with self._lock:
            if self._closed:
                return
            self._wanted = wanted
            start = min(self._workers - self._active_jobs, len(wanted))
            self._active_jobs += max(0, start)
        for _ in range(start):
            (self._executor or tile_pool()).submit(self._work)

    def _next_key(self) -> TileKey | None:
        with self._lock:
            while self._wanted and not self._closed:
                key = self._wanted.pop(0)
                if key not in self._in_progress:
                    self._in_progress.add(key)
                    return key
            self._active_jobs -= 1
            return None

    def _work(self) -> None:
        while (key := self._next_key()) is not None:
            try:
                self._make_tile(key)
            except Exception as exc:  # a worker must not die silently
                log.exception("building tile %s of %s failed", key, self.path)
                self._fail(MediaError(f"cannot build a tile of {self.path.name}: {exc}"))
                with self._lock:
                    self._active_jobs -= 1
                return
            finally:
                with self._lock:
                    self._in_progress.discard(key)

    def _make_tile(self, key: TileKey) -> None:
        p = self._pyramid
        if p is None or self._closed:
            return
        with self._lock:
            window, gen = self._window, self._window_gen
            cached = key in self._cache
        raw = p.tile(*key)  # at once if it exists: the event still tells the asker it is there
        if not cached and (window is not None or p.dtype != np.uint8):
            shown = np.ascontiguousarray(to_display(raw, window))
            with self._lock:
                if gen != self._window_gen or self._closed:
                    return
                self._cache[key] = shown
                self._cache_bytes += shown.nbytes
                while self._cache_bytes > self._cache_budget and len(self._cache) > 1:
                    self._cache_bytes -= self._cache.popitem(last=False)[1].nbytes
        self._emit("tile_built", key)

    # status bar ---------------------------------------------------------------------------
    def pixel_at(self, x: float, y: float) -> tuple[int | float, ...] | None:
        """Samples at image point (x, y) at their stored depth, in R, G, B order (grey: one
        value); None outside the image or before full resolution has been decoded."""
        p = self._pyramid
        if p is None:
            return None
        v = p.pixel(int(np.floor(x)), int(np.floor(y)))
        if v is None:
            return None
        if v.size >= 3:
            v = v[[2, 1, 0]] if v.size == 3 else v[[2, 1, 0, 3]]
        return tuple(v.tolist())
