"""The tiled image pyramid, window/level, and opening images in the background (no Qt)."""

from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.core.errors import MediaError
from app.media import images, raster_io
from app.media.raster import ImagePyramid, Window, auto_window, choose_level, to_display, window_lut
from app.media.raster_source import RasterSource
from tests.media_factory import picture, write_exif_jpeg, write_image


def _reference(level0: np.ndarray, p: ImagePyramid, k: int, tx: int, ty: int) -> np.ndarray:
    """Tile (k, tx, ty) by one direct INTER_AREA resize of its level-0 region (edges repeated)."""
    x0, y0, x1, y1 = p.tile_bounds(k, tx, ty)
    s = 1 << k
    region = level0[y0 * s:y1 * s, x0 * s:x1 * s]
    pad_y, pad_x = (y1 - y0) * s - region.shape[0], (x1 - x0) * s - region.shape[1]
    region = cv2.copyMakeBorder(region, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
    return cv2.resize(region, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)


def _gradient_jpeg(path: Path, width: int, height: int) -> Path:
    """A large JPEG made fast (smooth ramps in each channel)."""
    x, y = np.arange(width, dtype=np.int32)[None, :], np.arange(height, dtype=np.int32)[:, None]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = x * 255 // width, y * 255 // height, (x + y) % 256
    assert cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path


def _open(path: Path, **kw) -> RasterSource:
    source = RasterSource(path, **kw).start()
    source.wait("full", timeout=30)
    return source


def _wait_tiles(source: RasterSource, keys: list[tuple[int, int, int]]) -> None:
    done, lock, all_in = set(), threading.Lock(), threading.Event()

    def on_event(event: str, detail: object) -> None:
        if event == "tile_built":
            with lock:
                done.add(detail)
                if set(keys) <= done:
                    all_in.set()

    source.subscribe(on_event)
    source.request_tiles(keys)
    assert all_in.wait(10), f"tiles never built: {set(keys) - done}"


# geometry -------------------------------------------------------------------------------------
def test_level_shapes_round_up_and_stop_when_one_tile_holds_the_image():
    p = ImagePyramid(1001, 300, 3, np.uint8, tile_size=128)
    assert p.coarsest == 3  # 1001 -> 501 -> 251 -> 126 <= 128
    assert [p.level_shape(k) for k in range(4)] == [(300, 1001), (150, 501), (75, 251), (38, 126)]
    assert p.grid(0) == (8, 3) and p.grid(3) == (1, 1)
    assert p.tile_bounds(0, 7, 2) == (896, 256, 1001, 300)
    assert p.tile_extent(1, 3, 1) == (768, 256, 1001, 300)  # level-1 tile in level-0 pixels, clipped
    assert p.tiles_in(0, 100, 0, 300, 10) == [(0, 0), (1, 0), (2, 0)]
    assert p.tiles_in(1, -50, -50, 5000, 5000) == [(tx, ty) for ty in range(2) for tx in range(4)]
    assert ImagePyramid(512, 512, 1, np.uint8).coarsest == 0


@pytest.mark.parametrize(("scale", "level"), [(4.0, 0), (1.0, 0), (0.99, 0), (0.5, 1), (0.3, 1),
                                              (0.25, 2), (0.045, 4), (1e-6, 6)])
def test_choose_level_is_the_coarsest_still_as_sharp_as_the_screen(scale, level):
    assert choose_level(scale, 0, 6) == level


def test_choose_level_stays_within_what_exists():
    assert choose_level(1.0, 3, 6) == 3  # only a preview at 1/8 so far
    assert choose_level(0.001, 0, 2) == 2


# tiles ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [8, 16])
def test_tiles_equal_a_direct_resize_of_their_region(depth):
    level0 = picture(1501, 1103, seed=4, depth=depth)  # odd sizes: edges get repeated
    p = ImagePyramid.from_array(level0, tile_size=128)
    tol = 2 if depth == 8 else 2 * 257
    for k in range(1, p.coarsest + 1):
        cols, rows = p.grid(k)
        for tx, ty in {(0, 0), (cols - 1, rows - 1), (cols // 2, rows // 2), (cols - 1, 0)}:
            tile = p.tile(k, tx, ty)
            assert tile.dtype == level0.dtype
            ref = _reference(level0, p, k, tx, ty)
            assert tile.shape == ref.shape
            assert np.abs(tile.astype(np.int32) - ref).max() <= tol, (k, tx, ty)


def test_tiles_are_built_lazily_and_once():
    p = ImagePyramid.from_array(picture(1024, 1024, seed=1), tile_size=128)
    assert p.coarsest == 3 and p.grid(2) == (2, 2)
    assert p.peek(2, 0, 0) is None and p.level_nbytes(2) == 0
    p.tile(2, 1, 1)
    assert p.has_tile(1, 2, 2) and p.has_tile(1, 3, 3) and not p.has_tile(1, 0, 0)
    view = p.peek(2, 1, 1)
    assert view is not None and np.shares_memory(view, p.level(2))
    with pytest.raises(IndexError):
        p.tile(2, 2, 0)
    with pytest.raises(LookupError):
        ImagePyramid(100, 100, 1, np.uint8).tile(0, 0, 0)  # nothing decoded yet


def test_concurrent_builders_agree():
    p = ImagePyramid.from_array(picture(2048, 2048, seed=2), tile_size=256)
    ref = _reference(p.level(0), p, 3, 0, 0)
    threads = [threading.Thread(target=p.tile, args=(3, 0, 0)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.abs(p.tile(3, 0, 0).astype(int) - ref).max() <= 2


def test_memory_bound_for_an_8000_by_6000_jpeg(tmp_path):
    path = _gradient_jpeg(tmp_path / "big.jpg", 8000, 6000)
    decoded = 8000 * 6000 * 3
    tracemalloc.start()
    try:
        source = _open(path)  # preview at 1/4, then full size decoded in place
        p = source.pyramid
        for k in range(1, p.coarsest + 1):
            cols, rows = p.grid(k)
            for ty in range(rows):
                for tx in range(cols):
                    p.tile(k, tx, ty)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert p.finest == 0 and p.level0_nbytes == decoded
    extra = p.nbytes - p.level0_nbytes
    assert extra <= decoded / 3 * 1.01, extra / decoded
    assert peak <= 2 * decoded, peak / decoded
    source.close()


# window / level -------------------------------------------------------------------------------
def test_window_maps_its_range_linearly_onto_0_255():
    w = Window(1000, 200)
    lut = window_lut(w, 65536)
    assert lut[0] == 0 and lut[900] == 0 and lut[1100] == 255 and lut[65535] == 255
    assert lut[950] == 64 and lut[1050] == 191  # 50 * 255 / 200 = 63.75, 150 * 255 / 200 = 191.25
    tile = np.array([[0, 900, 1000], [1100, 1200, 65535]], np.uint16)
    assert to_display(tile, w).tolist() == [[0, 0, 128], [255, 255, 255]]
    colour = np.full((2, 2, 3), 1050, np.uint16)
    assert (to_display(colour, w) == 191).all() and to_display(colour, w).shape == (2, 2, 3)
    floats = np.array([[900.0, 1000.0, 2000.0]], np.float32)
    assert to_display(floats, w).tolist() == [[0, 128, 255]]
    with pytest.raises(ValueError):
        Window(10, 0)


def test_eight_bit_tiles_pass_through_unless_windowed():
    tile = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert to_display(tile, None) is tile
    shown = to_display(tile, Window(64, 128))  # 0..128 -> 0..255
    assert shown[0, 0] == 0 and shown[4, 0] == 128 and shown[15, 15] == 255


def test_auto_window_spans_the_1st_to_99th_percentile():
    a = np.arange(10_000, dtype=np.uint16).reshape(100, 100)
    w = auto_window(a)
    assert w.low == pytest.approx(99.99, abs=1) and w.high == pytest.approx(9899, abs=1)
    flat = auto_window(np.full((10, 10), 7, np.uint16))
    assert flat.width == 1 and 6 <= flat.low <= 7


# opening files --------------------------------------------------------------------------------
def test_16_bit_colour_png_keeps_its_samples_and_gets_an_auto_window(tmp_path):
    path = write_image(tmp_path / "deep.png", 300, 200, seed=6, depth=16)
    stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    source = _open(path)
    p = source.pyramid
    assert p.dtype == np.uint16 and p.channels == 3 and source.size == (300, 200)
    b, g, r = stored[50, 70].tolist()
    assert source.pixel_at(70.6, 50.2) == (r, g, b)  # raw 16-bit, R G B order
    assert source.pixel_at(-1, 0) is None and source.pixel_at(300, 0) is None
    expected_window = auto_window(stored)
    assert source.window == expected_window
    assert source.display_tile(0, 0, 0) is None  # converted on a worker, never on the caller
    _wait_tiles(source, [(0, 0, 0)])
    shown = source.display_tile(0, 0, 0)
    assert shown.dtype == np.uint8 and shown.shape == (200, 300, 3)
    assert np.array_equal(shown, to_display(stored, expected_window))
    source.set_window(30000, 1000)  # invalidates
    assert source.display_tile(0, 0, 0) is None
    _wait_tiles(source, [(0, 0, 0)])
    assert np.array_equal(source.display_tile(0, 0, 0), to_display(stored, Window(30000, 1000)))


def test_16_bit_grey_png_stays_grey(tmp_path):
    a = (np.arange(120 * 80, dtype=np.uint32).reshape(80, 120) * 7).astype(np.uint16)
    path = tmp_path / "grey16.png"
    assert cv2.imwrite(str(path), a)
    source = _open(path)
    assert source.pyramid.channels == 1 and source.pixel_at(5, 3) == (int(a[3, 5]),)


def test_jpeg_preview_comes_first_and_serves_its_level(tmp_path):
    path = _gradient_jpeg(tmp_path / "photo.jpg", 4000, 3000)
    events: list[str] = []
    source = RasterSource(path, fit_within=(800, 600))
    source.subscribe(lambda event, detail: events.append(event))
    source.start().wait("full", timeout=30)
    assert events[:2] == ["preview_decoded", "full_decoded"]
    p = source.pyramid
    assert p.finest == 0 and 2 in p._installed  # 4000 -> fit 0.2 -> decoded at 1/4  # noqa: SLF001
    full = cv2.imread(str(path))
    reduced = cv2.resize(full, (1000, 750), interpolation=cv2.INTER_AREA)
    assert np.abs(p.level(2).astype(int) - reduced).mean() < 2  # DCT-domain scaling ~ area average
    assert source.timings["preview_s"] < source.timings["full_s"]


@pytest.mark.parametrize("fit", [(800, 600), None])
def test_jpeg_exif_orientation_is_applied(tmp_path, fit):
    path = write_exif_jpeg(tmp_path / "turned.jpg", 2400, 1600)  # stored landscape, Orientation 6
    stored = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    shown = images.apply_orientation(stored, 6)
    source = _open(path, fit_within=fit)
    assert source.size == (1600, 2400)
    assert np.array_equal(source.pyramid.level(0), shown)
    if fit:  # the preview is turned the same way
        assert source.pyramid.level(2).shape[:2] == (600, 400)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_orientation_is_applied(tmp_path, suffix):
    stored = np.zeros((40, 60), np.uint16)
    stored[:10, :20] = 60000  # a mark in the top-left corner as stored
    path = tmp_path / f"turned16{suffix}"
    if suffix == ".png":
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(stored).save(path, exif=exif.tobytes())
    else:  # OpenCV 5.0 refuses TIFFs with orientation 5-8: the tag is cleared, we turn it
        Image.fromarray(stored).save(path, tiffinfo={274: 6})
    source = _open(path)
    assert source.size == (40, 60) and source.pyramid.dtype == np.uint16
    assert np.array_equal(source.pyramid.level(0), images.apply_orientation(stored, 6))
    assert source.pixel_at(39, 0) == (60000,)  # turned clockwise: the mark is now top-right


@pytest.mark.parametrize(("content", "message"), [
    (b"this is not an image at all", "cannot decode"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "cannot decode"),  # a JPEG cut inside its header
    (b"", "empty"),
])
def test_bad_files_fail_with_a_media_error(tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    events: list[tuple[str, object]] = []
    source = RasterSource(path)
    source.subscribe(lambda event, detail: events.append((event, detail)))
    with pytest.raises(MediaError, match=message):
        source.start().wait("full", timeout=10)
    assert source.state == "failed" and events[-1][0] == "decode_failed"
    assert isinstance(events[-1][1], MediaError)


def test_missing_file_and_folder_are_media_errors(tmp_path):
    with pytest.raises(MediaError, match="not found"):
        raster_io.read_info(tmp_path / "nope.png")
    with pytest.raises(MediaError, match="folder"):
        raster_io.read_info(tmp_path)
    with pytest.raises(MediaError):
        RasterSource(tmp_path / "nope.png").start().wait("preview", timeout=10)


def test_damaged_png_is_a_media_error(tmp_path):
    good = write_image(tmp_path / "good.png", 64, 64).read_bytes()
    bad = tmp_path / "bad.png"
    bad.write_bytes(good[:60] + b"\x00" * 40)  # IDAT data destroyed
    with pytest.raises(MediaError, match="cannot decode bad.png"):
        raster_io.decode_full(raster_io.read_info(bad))


def test_latest_request_wins_and_close_stops_work(tmp_path):
    path = write_image(tmp_path / "a.png", 2048, 2048, seed=9)
    source = _open(path, tile_size=256)
    _wait_tiles(source, [(3, 0, 0)])
    assert source.display_tile(3, 0, 0) is not None
    source.request_tiles([(2, tx, ty) for tx in range(2) for ty in range(2)])
    source.request_tiles([(1, 3, 3)])  # replaces the earlier request
    _wait_tiles(source, [(1, 3, 3)])
    source.close()
    assert source.state == "closed" and source.pyramid is None
    source.request_tiles([(1, 0, 0)])  # harmless after close
