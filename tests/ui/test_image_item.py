"""ImageItem renders tiles at the right place and level: QPainter into a QImage, offscreen."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsScene, QGraphicsView

from app.media.raster import Window, to_display
from app.media.raster_source import RasterSource
from app.ui.canvas.image_item import ImageItem, qimage_view

MAGENTA = (255, 0, 255)  # the render background: any left in the image area means a hole
RED_BLOCK = (300, 200, 400, 260)  # x0, y0, x1, y1
CHECKER = (600, 400, 632, 432)


@pytest.fixture(scope="module")
def qt_app() -> QApplication:
    return QApplication.instance() or QApplication([])


@pytest.fixture(scope="module")
def picture_png(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """1200 x 900 BGR: a grey ramp, a red block, a 1-pixel black/white checkerboard."""
    y, x = np.mgrid[0:900, 0:1200]
    img = np.empty((900, 1200, 3), np.uint8)
    img[..., 0] = 60 + x * 80 // 1200
    img[..., 1] = 60 + y * 80 // 900
    img[..., 2] = 90
    x0, y0, x1, y1 = RED_BLOCK
    img[y0:y1, x0:x1] = (0, 0, 255)
    x0, y0, x1, y1 = CHECKER
    img[y0:y1, x0:x1] = (((x[y0:y1, x0:x1] + y[y0:y1, x0:x1]) % 2) * 255)[..., None]
    path = tmp_path_factory.mktemp("img") / "picture.png"
    assert cv2.imwrite(str(path), img)
    return path, img


def _wait(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        QApplication.processEvents()
        time.sleep(0.002)
        assert time.monotonic() < deadline, "timed out"


def _open(path: Path, **kw) -> tuple[ImageItem, QGraphicsScene]:
    item = ImageItem(RasterSource(path, **kw).start(), owns_source=True)
    _wait(lambda: item.source.state in ("full", "failed"))
    QApplication.processEvents()
    scene = QGraphicsScene()
    scene.addItem(item)
    return item, scene


def _render(scene: QGraphicsScene, source: QRectF, width: int, height: int) -> QImage:
    img = QImage(width, height, QImage.Format.Format_RGB32)
    img.fill(QColor(*MAGENTA))
    painter = QPainter(img)
    scene.render(painter, QRectF(0, 0, width, height), source)
    painter.end()
    return img


def _settled(item: ImageItem, scene: QGraphicsScene, source: QRectF, width: int, height: int) -> np.ndarray:
    """Render until no tile is missing any more (workers build them between renders)."""
    for _ in range(500):
        before = item.stats["missing"]
        img = _render(scene, source, width, height)
        if item.stats["missing"] == before:
            return _rgb(img)
        time.sleep(0.005)
        QApplication.processEvents()
    raise AssertionError("tiles never settled")


def _rgb(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    a = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return a[:, :w * 3].reshape(h, w, 3).copy()


def test_bounds_are_the_image_in_pixels_and_painting_uses_the_exposed_rect(qt_app, picture_png):
    item, _ = _open(picture_png[0])
    assert item.boundingRect() == QRectF(0, 0, 1200, 900)
    assert item.flags() & QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption
    assert item.pixel_at(350, 230) == (255, 0, 0)  # R, G, B at 8 bits


@pytest.mark.parametrize("out_width", [600, 300, 150])  # zoom 1/2, 1/4, 1/8: levels 1, 2, 3
def test_zoomed_out_the_red_block_is_where_it_belongs(qt_app, picture_png, out_width):
    item, scene = _open(picture_png[0], tile_size=128)
    z = out_width / 1200
    img = _settled(item, scene, QRectF(0, 0, 1200, 900), out_width, int(900 * z))
    assert not (img[:-1, :-1] == MAGENTA).all(axis=2).any()  # no hole (the edge may be a part pixel)
    x0, y0, x1, y1 = RED_BLOCK
    inside = img[int((y0 + 8) * z):int((y1 - 8) * z), int((x0 + 8) * z):int((x1 - 8) * z)]
    assert inside.size and (np.abs(inside.astype(int) - (255, 0, 0)) <= 3).all()
    left = img[int(230 * z), int((x0 - 16) * z)]
    assert left[0] < 120  # outside the block: the grey ramp
    level = int(np.log2(1200 / out_width))
    assert item.source.pyramid.has_tile(level, 0, 0)  # drawn from the level the zoom asks for


@pytest.mark.parametrize("zoom", [0.37, 0.73, 1.3, 2.7])
def test_no_seams_or_holes_between_tiles_at_fractional_zooms(qt_app, picture_png, zoom):
    item, scene = _open(picture_png[0], tile_size=128)
    w, h = 400, 300
    img = _settled(item, scene, QRectF(101.3, 77.7, w / zoom, h / zoom), w, h)
    assert not (img == MAGENTA).all(axis=2).any()
    ramp = img[5:60, 5:60, 2].astype(int)  # smooth grey ramp area: no line stands out
    assert np.abs(np.diff(ramp, axis=1)).max() <= 3 and np.abs(np.diff(ramp, axis=0)).max() <= 3


def test_actual_size_is_pixel_exact(qt_app, picture_png):
    path, stored = picture_png
    item, scene = _open(path)
    img = _settled(item, scene, QRectF(280, 180, 200, 120), 200, 120)
    assert np.array_equal(img, stored[180:300, 280:480, ::-1])


def test_16x_zoom_is_crisp_nearest_neighbour(qt_app, picture_png):
    path, stored = picture_png
    item, scene = _open(path)
    x0, y0 = CHECKER[:2]
    img = _settled(item, scene, QRectF(x0, y0, 20, 12), 320, 192)
    assert set(np.unique(img)) <= {0, 255}  # no blended values between black and white
    blocks = img.reshape(12, 16, 20, 16, 3)
    assert (blocks == blocks[:, :1, :, :1]).all()  # each image pixel is one flat 16x16 square
    assert np.array_equal(blocks[:, 0, :, 0], stored[y0:y0 + 12, x0:x0 + 20, ::-1])


def test_pixel_grid_only_when_asked_and_from_8x(qt_app, picture_png):
    item, scene = _open(picture_png[0])
    x0, y0 = RED_BLOCK[:2]
    block = QRectF(x0 + 10, y0 + 10, 20, 12)
    plain = _settled(item, scene, block, 320, 192)
    assert (plain == (255, 0, 0)).all()
    item.show_pixel_grid = True
    grid = _rgb(_render(scene, block, 320, 192))
    lines = ~(grid == (255, 0, 0)).all(axis=2)
    assert lines[:, 16].all() and lines[8, :].any() and not lines[8, 8]  # boundaries only
    at_4x = _rgb(_render(scene, QRectF(x0 + 10, y0 + 10, 80, 48), 320, 192))
    assert (at_4x == (255, 0, 0)).all()  # below 8x the grid is not drawn


def test_only_exposed_tiles_become_pixmaps(qt_app, picture_png):
    item, scene = _open(picture_png[0], tile_size=128)
    _render(scene, QRectF(130, 130, 100, 100), 100, 100)  # inside tile (1, 1) only
    assert item.stats["pixmaps_made"] == 1


def test_jpeg_preview_first_then_full_resolution(qt_app, tmp_path):
    x, y = np.arange(4000)[None, :], np.arange(3000)[:, None]
    img = np.empty((3000, 4000, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = x * 255 // 4000, y * 255 // 3000, 128
    img[1000:1400, 2000:2600] = (0, 255, 0)
    path = tmp_path / "photo.jpg"
    assert cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
    order: list[str] = []
    item = ImageItem.open(path, fit_within=(800, 600))
    item.loaded.connect(lambda: order.append("loaded"))
    item.sharpened.connect(lambda: order.append("sharpened"))
    _wait(lambda: "loaded" in order)
    scene = QGraphicsScene()
    scene.addItem(item)
    first = _rgb(_render(scene, QRectF(0, 0, 4000, 3000), 800, 600))  # from the 1/4 preview
    assert not (first == MAGENTA).all(axis=2).any()
    assert (np.abs(first[240, 460].astype(int) - (0, 255, 0)) <= 12).all()
    _wait(lambda: "sharpened" in order)
    assert order == ["loaded", "sharpened"]
    near = _settled(item, scene, QRectF(1990, 990, 40, 30), 40, 30)  # 1:1 from the full decode
    assert (np.abs(near[20, 30].astype(int) - (0, 255, 0)) <= 12).all()
    assert near[5, 5][1] < 200  # just outside the green block
    item.close()


def test_16_bit_window_level_and_raw_values(qt_app, tmp_path):
    ramp = (np.arange(256 * 64, dtype=np.uint32).reshape(64, 256) * 4).astype(np.uint16)
    path = tmp_path / "ramp16.png"
    assert cv2.imwrite(str(path), ramp)
    item, scene = _open(path)
    auto = item.source.window
    assert auto is not None and 600 < auto.low < 700 and 64_800 < auto.high < 65_000
    shown = _settled(item, scene, QRectF(0, 0, 256, 64), 256, 64)
    assert np.array_equal(shown[..., 0], to_display(ramp, auto))
    item.set_window(20_000, 10_000)
    shown = _settled(item, scene, QRectF(0, 0, 256, 64), 256, 64)
    assert np.array_equal(shown[..., 1], to_display(ramp, Window(20_000, 10_000)))
    assert item.pixel_at(10, 20) == (int(ramp[20, 10]),)


def test_a_file_that_does_not_decode_reports_failed(qt_app, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    messages: list[str] = []
    item = ImageItem.open(bad)
    item.failed.connect(messages.append)
    _wait(lambda: bool(messages))
    assert "cannot decode broken.png" in messages[0]
    assert item.boundingRect().isEmpty()
    _render(QGraphicsScene(), QRectF(0, 0, 10, 10), 10, 10)  # nothing to draw, nothing breaks


def test_in_a_real_view_fitted_to_the_window(qt_app, picture_png):
    item, scene = _open(picture_png[0])
    view = QGraphicsView(scene)
    view.resize(620, 470)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.show()
    view.fitInView(item, Qt.AspectRatioMode.KeepAspectRatio)
    for _ in range(5):  # paint, let workers build tiles, paint again
        QApplication.processEvents()
        time.sleep(0.01)
        shot = view.viewport().grab().toImage()
    centre = view.mapFromScene(350, 230)
    assert shot.pixelColor(centre).getRgb()[:3] == (255, 0, 0)
    view.close()


def test_qimage_view_shares_memory_with_a_strided_tile(qt_app):
    level = np.zeros((50, 67, 3), np.uint8)  # odd row length: 201 bytes per row
    tile = level[10:20, 5:15]
    img = qimage_view(tile)
    assert (img.width(), img.height(), img.bytesPerLine()) == (10, 10, 201)
    level[12, 7] = (1, 2, 3)  # B, G, R
    assert img.pixelColor(2, 2).getRgb()[:3] == (3, 2, 1)
