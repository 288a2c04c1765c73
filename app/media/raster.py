"""An image as a tiled pyramid, and the window/level mapping of its samples to 8-bit.

Level k holds the picture at 1/2**k of its size (`ceil(W / 2**k)` by `ceil(H / 2**k)`);
level-k pixel (x, y) covers level-0 pixels [x * 2**k, (x + 1) * 2**k). A level is one
array, allocated on first use and filled tile by tile (`tile_size` square, 512 by default):
tile (k, tx, ty) is the INTER_AREA half of the 2x2 tiles below it, built on demand and kept.
All levels above 0 together hold at most a third of level 0 (1/4 + 1/16 + ... plus edge
rounding), and a page of a level array is only resident once a tile in it is built.

Any level can be installed whole (`install`): the full decode as level 0, or a JPEG decoded
at reduced size in the DCT domain as level 1-3 (a preview). Levels coarser than the finest
installed one can be built; finer ones cannot until a finer level is installed.

Samples keep their depth (uint8, uint16, float). `to_display` maps a tile to uint8 through a
`Window` (center, width): a 65,536-entry table for uint16, cv2.LUT for uint8, arithmetic for
the rest. Qt-free and thread-safe: decoding and tile building run on worker threads while
the GUI thread only `peek`s at tiles that exist.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np

DEFAULT_TILE = 512
TileKey = tuple[int, int, int]  # (level, tx, ty)


@dataclass(frozen=True)
class Window:
    """Samples in [center - width/2, center + width/2] map linearly onto 0..255."""

    center: float
    width: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.center) and math.isfinite(self.width)) or self.width <= 0:
            raise ValueError(f"window width must be positive and finite, not {self.width!r}")

    @property
    def low(self) -> float:
        return self.center - self.width / 2

    @property
    def high(self) -> float:
        return self.center + self.width / 2


def auto_window(a: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0,
                max_samples: int = 1 << 20) -> Window:
    """The window spanning the given percentiles of the samples (all channels pooled)."""
    step = max(1, int(math.sqrt(a.shape[0] * a.shape[1] / max_samples)))
    sample = np.asarray(a[::step, ::step], dtype=np.float64).ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return Window(0.5, 1.0)
    lo, hi = (float(v) for v in np.percentile(sample, [low_pct, high_pct]))
    if hi - lo < 1e-6:  # a flat image: a unit-wide window around its value
        hi = lo + (1.0 if np.issubdtype(a.dtype, np.integer) else 1e-6)
    return Window((lo + hi) / 2, hi - lo)


@functools.lru_cache(maxsize=8)
def window_lut(window: Window, levels: int) -> np.ndarray:
    """uint8 table of `levels` entries (256 or 65,536) for this window."""
    v = np.arange(levels, dtype=np.float64)
    return np.clip(np.rint((v - window.low) * 255.0 / window.width), 0, 255).astype(np.uint8)


def to_display(tile: np.ndarray, window: Window | None) -> np.ndarray:
    """uint8 samples for the screen; the tile itself when it is uint8 and has no window."""
    if tile.dtype == np.uint8:
        return tile if window is None else cv2.LUT(tile, window_lut(window, 256))
    if window is None:
        info = np.iinfo(tile.dtype) if np.issubdtype(tile.dtype, np.integer) else None
        window = Window((info.min + info.max) / 2, info.max - info.min) if info else Window(0.5, 1.0)
    if tile.dtype == np.uint16:
        return np.take(window_lut(window, 65536), tile)
    scaled = (tile.astype(np.float32) - np.float32(window.low)) * np.float32(255.0 / window.width)
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def choose_level(scale: float, finest: int, coarsest: int) -> int:
    """The coarsest level still at least as sharp as the screen at this zoom (1.0 = 100%)."""
    k = int(math.floor(math.log2(1.0 / scale) + 1e-9)) if 0 < scale < 1 else 0
    return max(finest, min(k, coarsest))


class ImagePyramid:
    """Levels 0..`coarsest` of one image; see the module docstring."""

    def __init__(self, width: int, height: int, channels: int, dtype: np.dtype | type,
                 *, tile_size: int = DEFAULT_TILE) -> None:
        if width <= 0 or height <= 0 or channels not in (1, 3, 4):
            raise ValueError(f"bad pyramid geometry {width}x{height}x{channels}")
        self.width, self.height, self.channels = width, height, channels
        self.dtype = np.dtype(dtype)
        self.tile_size = tile_size
        longest = max(width, height)
        self.coarsest = max(0, math.ceil(math.log2(longest / tile_size))) if longest > tile_size else 0
        n = self.coarsest + 1
        self._levels: list[np.ndarray | None] = [None] * n
        self._built: list[np.ndarray | None] = [None] * n
        self._installed: set[int] = set()
        self._lock = threading.Lock()
        self._building: dict[TileKey, threading.Event] = {}

    @classmethod
    def from_array(cls, a: np.ndarray, *, tile_size: int = DEFAULT_TILE) -> ImagePyramid:
        p = cls(a.shape[1], a.shape[0], 1 if a.ndim == 2 else a.shape[2], a.dtype, tile_size=tile_size)
        p.install(0, a)
        return p

    # geometry -------------------------------------------------------------------------
    def level_shape(self, k: int) -> tuple[int, int]:
        """(height, width) of level k."""
        s = 1 << k
        return (self.height + s - 1) >> k, (self.width + s - 1) >> k

    def grid(self, k: int) -> tuple[int, int]:
        """(columns, rows) of tiles at level k."""
        h, w = self.level_shape(k)
        return -(-w // self.tile_size), -(-h // self.tile_size)

    def tile_bounds(self, k: int, tx: int, ty: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the tile in level-k pixels."""
        h, w = self.level_shape(k)
        t = self.tile_size
        return tx * t, ty * t, min(tx * t + t, w), min(ty * t + t, h)

    def tile_extent(self, k: int, tx: int, ty: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) the tile covers in level-0 pixels, clipped to the image."""
        x0, y0, x1, y1 = self.tile_bounds(k, tx, ty)
        return x0 << k, y0 << k, min(x1 << k, self.width), min(y1 << k, self.height)

    def tiles_in(self, k: int, x0: float, y0: float, x1: float, y1: float) -> list[tuple[int, int]]:
        """Tiles of level k meeting the level-0 rectangle [x0, x1) x [y0, y1), row by row."""
        span = self.tile_size << k
        cols, rows = self.grid(k)
        c0, c1 = max(0, int(x0 // span)), min(cols, int(math.ceil(x1 / span)))
        r0, r1 = max(0, int(y0 // span)), min(rows, int(math.ceil(y1 / span)))
        return [(tx, ty) for ty in range(r0, r1) for tx in range(c0, c1)]

    # state ------------------------------------------------------------------------------
    @property
    def finest(self) -> int | None:
        """The finest installed level; None before any."""
        with self._lock:
            return min(self._installed) if self._installed else None

    def can_build(self, k: int) -> bool:
        f = self.finest
        return f is not None and f <= k <= self.coarsest

    @property
    def level0_nbytes(self) -> int:
        return self.width * self.height * self.channels * self.dtype.itemsize

    def level_nbytes(self, k: int) -> int:
        """Bytes level k takes once all its tiles are built (0 while it is not allocated)."""
        a = self._levels[k]
        return 0 if a is None else a.nbytes

    @property
    def nbytes(self) -> int:
        return sum(self.level_nbytes(k) for k in range(self.coarsest + 1))

    def install(self, k: int, a: np.ndarray) -> None:
        """Make `a` level k, whole; it must have that level's shape and the pyramid's type."""
        h, w = self.level_shape(k)
        want = (h, w) if self.channels == 1 else (h, w, self.channels)
        if a.shape != want or a.dtype != self.dtype:
            raise ValueError(f"level {k} must be {want} {self.dtype}, not {a.shape} {a.dtype}")
        cols, rows = self.grid(k)
        with self._lock:
            self._levels[k] = a
            self._built[k] = np.ones((rows, cols), bool)
            self._installed.add(k)

    def level(self, k: int) -> np.ndarray:
        """Level k's array (tiles not yet built hold garbage); LookupError if not allocated."""
        a = self._levels[k]
        if a is None:
            raise LookupError(f"level {k} is not allocated")
        return a

    def has_tile(self, k: int, tx: int, ty: int) -> bool:
        built = self._built[k]
        return built is not None and bool(built[ty, tx])

    def peek(self, k: int, tx: int, ty: int) -> np.ndarray | None:
        """The tile's samples if it is built (a view, no copy); never builds."""
        if not self.has_tile(k, tx, ty):
            return None
        x0, y0, x1, y1 = self.tile_bounds(k, tx, ty)
        return self._levels[k][y0:y1, x0:x1]  # type: ignore[index]

    def pixel(self, x: int, y: int) -> np.ndarray | None:
        """Level-0 samples at (x, y) (stored channel order); None outside or before level 0."""
        a = self._levels[0]
        if a is None or 0 not in self._installed or not (0 <= x < self.width and 0 <= y < self.height):
            return None
        return np.atleast_1d(a[y, x])

    # building -----------------------------------------------------------------------------
    def tile(self, k: int, tx: int, ty: int) -> np.ndarray:
        """The tile's samples, building it (and the tiles below it) first if needed.

        Blocking and CPU-bound: call it on a worker thread. Two threads asking for the same
        tile build it once; the second waits for the first.
        """
        key = (k, tx, ty)
        cols, rows = self.grid(k)
        if not (0 <= tx < cols and 0 <= ty < rows):
            raise IndexError(f"no tile ({tx}, {ty}) at level {k}: the grid is {cols} x {rows}")
        while True:
            view = self.peek(k, tx, ty)
            if view is not None:
                return view
            if not self.can_build(k):
                raise LookupError(f"level {k} cannot be built before a finer level is decoded")
            with self._lock:
                event = self._building.get(key)
                mine = event is None
                if mine:
                    event = self._building[key] = threading.Event()
            if not mine:
                event.wait()
                continue
            try:
                self._build(k, tx, ty)
            finally:
                with self._lock:
                    del self._building[key]
                event.set()

    def _build(self, k: int, tx: int, ty: int) -> None:
        cols_below, rows_below = self.grid(k - 1)
        for cy in (2 * ty, 2 * ty + 1):
            for cx in (2 * tx, 2 * tx + 1):
                if cx < cols_below and cy < rows_below:
                    self.tile(k - 1, cx, cy)
        below = self._levels[k - 1]
        assert below is not None
        x0, y0, x1, y1 = self.tile_bounds(k, tx, ty)
        src = below[2 * y0:2 * y1, 2 * x0:2 * x1]
        pad_y, pad_x = 2 * (y1 - y0) - src.shape[0], 2 * (x1 - x0) - src.shape[1]
        if pad_y or pad_x:  # an odd edge: repeat it, so every output pixel averages 2x2
            src = cv2.copyMakeBorder(src, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
        out = cv2.resize(src, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        with self._lock:
            level = self._levels[k]
            if level is None:
                h, w = self.level_shape(k)
                shape = (h, w) if self.channels == 1 else (h, w, self.channels)
                level = self._levels[k] = np.empty(shape, self.dtype)  # pages fill as tiles do
                cols, rows = self.grid(k)
                self._built[k] = np.zeros((rows, cols), bool)
        level[y0:y1, x0:x1] = out.reshape(level[y0:y1, x0:x1].shape)
        with self._lock:
            self._built[k][ty, tx] = True  # type: ignore[index]
