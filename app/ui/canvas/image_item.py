"""ImageItem: the picture on the canvas, drawn by tiles at the level of detail the zoom needs.

Item coordinates are image pixels (`boundingRect` is 0..W x 0..H), so scene coordinates are
image coordinates. `paint` draws only the exposed part: it picks the pyramid level from the
painter's scale (the coarsest level still as sharp as the screen), draws the tiles it has
as QPixmaps (an LRU bounded in bytes), and for a tile not built yet draws a coarser or finer
one that exists, then asks the `RasterSource` for the missing ones; worker threads build
them and a queued signal repaints their area. The GUI thread only wraps numpy tiles as
QImages (no copy) and turns them into pixmaps; it never decodes or resizes.

Smooth filtering only when zoomed out; zoomed in, pixels stay crisp squares, and from
`PIXEL_GRID_MIN_ZOOM` on `show_pixel_grid` outlines each one.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QLineF, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

from app.media.raster import ImagePyramid, TileKey, Window, choose_level
from app.media.raster_source import RasterSource

PIXEL_GRID_MIN_ZOOM = 8.0
DEFAULT_PIXMAP_BUDGET = 128 << 20
_FORMATS = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_BGR888,
            4: QImage.Format.Format_RGB32}  # BGRA in memory is 0xAARRGGBB: alpha ignored


def qimage_view(a: np.ndarray) -> QImage:
    """Wrap uint8 samples (grey, BGR or BGRA; rows may be strided) as a QImage, no copy.

    The QImage borrows the memory: keep `a` alive while it is used (PySide6 holds a
    reference to the buffer it was given, so a QImage kept alone stays valid too).
    """
    h, w = a.shape[:2]
    c = 1 if a.ndim == 2 else a.shape[2]
    if a.dtype != np.uint8 or c not in _FORMATS:
        raise ValueError(f"cannot show {a.dtype} samples with {c} channels")
    if a.strides[-1] != a.itemsize or (a.ndim == 3 and a.strides[1] != c) or a.strides[0] < w * c:
        a = np.ascontiguousarray(a)
    span = (h - 1) * a.strides[0] + w * c  # from the first sample to the last, rows and gaps
    flat = np.lib.stride_tricks.as_strided(a, shape=(span,), strides=(1,), writeable=False)
    return QImage(flat.data, w, h, a.strides[0], _FORMATS[c])


class _PixmapCache:
    """Tile pixmaps, least recently used first out, bounded in bytes."""

    def __init__(self, budget: int) -> None:
        self.budget, self.used = budget, 0
        self._items: OrderedDict[TileKey, QPixmap] = OrderedDict()

    def get(self, key: TileKey) -> QPixmap | None:
        pm = self._items.get(key)
        if pm is not None:
            self._items.move_to_end(key)
        return pm

    def put(self, key: TileKey, pm: QPixmap) -> None:
        self.used += pm.width() * pm.height() * max(1, pm.depth() // 8)
        self._items[key] = pm
        while self.used > self.budget and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self.used -= old.width() * old.height() * max(1, old.depth() // 8)

    def clear(self) -> None:
        self._items.clear()
        self.used = 0

    def __len__(self) -> int:
        return len(self._items)


class _Relay(QObject):
    """Carries the source's worker-thread events to the GUI thread."""

    event = Signal(str, object)


class ImageItem(QGraphicsObject):
    """One image on the canvas; see the module docstring."""

    loaded = Signal()  # the size is known and a first picture can be drawn
    sharpened = Signal()  # full resolution is decoded
    failed = Signal(str)  # why the image cannot be shown, for the user

    def __init__(self, source: RasterSource, parent: QGraphicsItem | None = None, *,
                 pixmap_budget: int = DEFAULT_PIXMAP_BUDGET, owns_source: bool = False) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._source, self._owns_source = source, owns_source
        self._rect = QRectF()
        self._pixmaps = _PixmapCache(pixmap_budget)
        self._pixmaps_of: ImagePyramid | None = None  # the pyramid the cached pixmaps show
        self._grid = False
        self.grid_colour = QColor(128, 128, 128, 140)
        self.stats = {"tiles_drawn": 0, "missing": 0, "fallbacks": 0, "pixmaps_made": 0}
        self._relay = _Relay()
        self._relay.event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        source.subscribe(self._forward)
        # A source already open: replay its events (queued), so `loaded` reaches listeners
        # connected after this constructor, just as it would for a source still decoding.
        if source.state in ("preview", "full"):
            self._relay.event.emit("preview_decoded", None)
        if source.state == "full":
            self._relay.event.emit("full_decoded", None)
        elif source.state == "failed" and source.error is not None:
            self._relay.event.emit("decode_failed", source.error)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, fit_within: tuple[int, int] | None = (1920, 1080),
             parent: QGraphicsItem | None = None) -> ImageItem:
        """Start decoding `path` in the background; the item shows it when it can."""
        source = RasterSource(path, fit_within=fit_within)
        item = cls(source, parent, owns_source=True)
        source.start()
        return item

    def _forward(self, event: str, detail: object) -> None:  # on a worker thread
        try:
            self._relay.event.emit(event, detail)
        except RuntimeError:  # the item is gone
            pass

    def close(self) -> None:
        """Stop listening; close the source too if this item opened it."""
        self._source.unsubscribe(self._forward)
        if self._owns_source:
            self._source.close()
        self._pixmaps.clear()

    # public state -------------------------------------------------------------------------
    @property
    def source(self) -> RasterSource:
        return self._source

    @property
    def show_pixel_grid(self) -> bool:
        return self._grid

    @show_pixel_grid.setter
    def show_pixel_grid(self, on: bool) -> None:
        if on != self._grid:
            self._grid = on
            self.update()

    def set_window(self, center: float, width: float) -> None:
        """Window/level for the display (deep images); repaints with new tiles."""
        self._source.set_window(center, width)
        self._pixmaps.clear()
        self.update()

    @property
    def window(self) -> Window | None:
        """The current window/level; None for 8-bit images shown as stored."""
        return self._source.window

    def reset_window(self) -> None:
        self._source.reset_window()
        self._pixmaps.clear()
        self.update()

    def pixel_at(self, x: float, y: float) -> tuple[int | float, ...] | None:
        """Raw samples under image point (x, y), R, G, B order; None where unknown."""
        return self._source.pixel_at(x, y)

    # events from the source ---------------------------------------------------------------
    def _on_event(self, event: str, detail: object) -> None:
        if event == "preview_decoded":
            self._set_size()
        elif event == "full_decoded":
            self._set_size()
            self.update()
            self.sharpened.emit()
        elif event == "tile_built":
            p = self._source.pyramid
            if p is not None:
                x0, y0, x1, y1 = p.tile_extent(*detail)  # type: ignore[misc]
                self.update(QRectF(x0, y0, x1 - x0, y1 - y0))
        elif event == "decode_failed":
            self.failed.emit(str(detail))

    def _set_size(self) -> None:
        size = self._source.size
        if size is None:
            return
        rect = QRectF(0, 0, *size)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
            self.update()
            self.loaded.emit()

    # painting -----------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF(self._rect)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        p = self._source.pyramid
        finest = None if p is None else p.finest
        if p is None or finest is None or self._rect.isEmpty():
            return
        if p is not self._pixmaps_of:  # a new pyramid (the decode started afresh)
            self._pixmaps.clear()
            self._pixmaps_of = p
        t = painter.worldTransform()
        scale = max(math.hypot(t.m11(), t.m12()), math.hypot(t.m21(), t.m22()))
        area = self._visible(painter, option)
        if scale <= 0 or area.isEmpty():
            return
        level = choose_level(scale, finest, p.coarsest)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # no seams between tiles
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0)
        missing: list[TileKey] = []
        for tx, ty in p.tiles_in(level, area.left(), area.top(), area.right(), area.bottom()):
            if not self._draw(painter, p, (level, tx, ty), None):
                missing.append((level, tx, ty))
                self.stats["missing"] += 1
                self.stats["fallbacks"] += self._draw_fallback(painter, p, (level, tx, ty), finest)
        self._request(p, level, area, missing)
        if self._grid and scale >= PIXEL_GRID_MIN_ZOOM:
            self._draw_grid(painter, area)
        painter.restore()

    def _visible(self, painter: QPainter, option: QStyleOptionGraphicsItem) -> QRectF:
        """The part of the image to paint, in image pixels: exposed, unclipped, on the device."""
        area = QRectF(option.exposedRect).intersected(self._rect)
        if painter.hasClipping():
            area = area.intersected(painter.clipBoundingRect())
        inverse, ok = painter.worldTransform().inverted()
        device = painter.device()
        if ok and device is not None:
            area = area.intersected(inverse.mapRect(QRectF(0, 0, device.width(), device.height())))
        return area

    def _pixmap(self, key: TileKey) -> QPixmap | None:
        pm = self._pixmaps.get(key)
        if pm is None:
            a = self._source.display_tile(*key)
            if a is None:
                return None
            pm = QPixmap.fromImage(qimage_view(a))
            self._pixmaps.put(key, pm)
            self.stats["pixmaps_made"] += 1
        return pm

    def _draw(self, painter: QPainter, p: ImagePyramid, key: TileKey,
              region: tuple[int, int, int, int] | None) -> bool:
        """Draw tile `key`, or only the part of it inside `region` (level-0 pixels)."""
        pm = self._pixmap(key)
        if pm is None:
            return False
        k = key[0]
        tx0, ty0, tx1, ty1 = p.tile_extent(*key)
        x0, y0, x1, y1 = region if region else (tx0, ty0, tx1, ty1)
        x0, y0, x1, y1 = max(x0, tx0), max(y0, ty0), min(x1, tx1), min(y1, ty1)
        if x1 <= x0 or y1 <= y0:
            return True
        s = float(1 << k)
        painter.drawPixmap(QRectF(x0, y0, x1 - x0, y1 - y0), pm,
                           QRectF((x0 - tx0) / s, (y0 - ty0) / s, (x1 - x0) / s, (y1 - y0) / s))
        self.stats["tiles_drawn"] += 1
        return True

    def _draw_fallback(self, painter: QPainter, p: ImagePyramid, key: TileKey, finest: int) -> int:
        """Cover a missing tile with what exists: a coarser tile, else finer installed ones."""
        k, tx, ty = key
        region = p.tile_extent(*key)
        for up in range(k + 1, p.coarsest + 1):
            d = up - k
            if self._draw(painter, p, (up, tx >> d, ty >> d), region):
                return 1
        if finest < k and (k - finest) <= 2:  # at most 16 finer tiles
            below = p.tiles_in(finest, *region)
            drawn = [self._draw(painter, p, (finest, cx, cy), region) for cx, cy in below]
            return int(any(drawn))
        return 0

    def _request(self, p: ImagePyramid, level: int, area: QRectF, missing: list[TileKey]) -> None:
        """Ask for the missing tiles, centre first, then a ring around the view (prefetch)."""
        span = float(p.tile_size << level)
        cx, cy = area.center().x(), area.center().y()

        def dist(key: TileKey) -> float:
            x0, y0, x1, y1 = p.tile_extent(*key)
            return math.hypot((x0 + x1) / 2 - cx, (y0 + y1) / 2 - cy)

        ring = [(level, tx, ty) for tx, ty in p.tiles_in(level, area.left() - span, area.top() - span,
                                                        area.right() + span, area.bottom() + span)]
        seen = set(missing)
        extra = [k for k in ring if k not in seen and self._pixmaps.get(k) is None
                 and self._source.display_tile(*k) is None]
        if missing or extra:
            self._source.request_tiles(sorted(missing, key=dist) + sorted(extra, key=dist))

    def _draw_grid(self, painter: QPainter, area: QRectF) -> None:
        x0, y0 = max(0, math.floor(area.left())), max(0, math.floor(area.top()))
        x1 = min(int(self._rect.width()), math.ceil(area.right()))
        y1 = min(int(self._rect.height()), math.ceil(area.bottom()))
        painter.setPen(QPen(self.grid_colour, 0))  # cosmetic: one device pixel wide
        lines = [QLineF(x, y0, x, y1) for x in range(x0, x1 + 1)]
        lines += [QLineF(x0, y, x1, y) for y in range(y0, y1 + 1)]
        painter.drawLines(lines)
