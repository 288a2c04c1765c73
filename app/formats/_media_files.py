"""Files beside the labels, shared by the YOLO, Pascal VOC and labelme modules: atomic writes,
media placed next to the labels, and image sizes read from file headers.

Exports are written file by file through a temporary name in the same folder and
`os.replace`, so a crash leaves each file either complete or absent, never half-written.
No fsync per file: an export is re-runnable, and 10,000 fsyncs would dominate its time.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from app.core.errors import ValidationError
from app.core.files import atomic_file
from app.formats.base import Dataset, ExportReport, Item, Progress

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_EXIF_ORIENTATION = 0x0112
# Hard links can fail for many reasons (another filesystem, no permission, FAT): then copy.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Replace `path` with `data` (text is written as UTF-8 with LF line ends)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_file(path, binary=True, durable=False) as handle:
        handle.write(payload)
    return path


def place_media(item: Item, dest: Path) -> Path | None:
    """Hard-link (same filesystem) or copy `item.media_path` to `dest`; None when the item
    has no media file. A missing source is the user's problem to fix: a clear error."""
    src = item.media_path
    if src is None:
        return None
    src = Path(src)
    if not src.is_file():
        raise ValidationError(f"media file {src} is missing", where=item.name)
    if dest.exists() and os.path.samefile(src, dest):
        return dest
    return _replace(dest, lambda tmp: _link_or_copy(src, tmp))


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        shutil.copyfile(src, dest)


def _replace(dest: Path, fill: Callable[[Path], object]) -> Path:
    """Fill a temporary file beside `dest`, then rename it over `dest` (atomic on one disk)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        fill(tmp)
        os.replace(tmp, dest)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest


@dataclass
class ImageExport:
    """The loop every exporter of image items runs, and what it has written so far.

    `write_item(item)` writes one image's files and returns them with its shape count; notes
    on what it could not write go to `skipped`. Video and audio items are skipped here."""

    fmt: str  # as the notes name it: "Pascal VOC"
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    items: int = 0
    shapes: int = 0

    def run(self, dataset: Dataset, write_item: Callable[[Item], tuple[list[Path], int]],
            progress: Progress | None) -> None:
        for done, item in enumerate(dataset.items, 1):
            if item.media != "image":
                self.skipped.append(f"{item.name}: {item.media} items have no place in {self.fmt}")
            else:
                files, shapes = write_item(item)
                self.files += files
                self.items, self.shapes = self.items + 1, self.shapes + shapes
                if item.tracks or item.segments:
                    self.skipped.append(f"{item.name}: tracks and segments have no place in {self.fmt}")
            if progress:
                progress(done, len(dataset.items))

    def report(self) -> ExportReport:
        return ExportReport(tuple(self.files), self.items, self.shapes, tuple(self.skipped))


def safe_name(item: Item) -> PurePosixPath:
    """The item's relative path, refused when it would leave the export folder."""
    name = PurePosixPath(item.name)
    if not item.name or name.is_absolute() or ".." in name.parts or "\\" in item.name:
        raise ValidationError("the item name must be a relative path inside the dataset",
                              where=item.name or "item")
    return name


def image_size(path: Path, where: str) -> tuple[int, int]:
    """(width, height) as the labeler saw the image: EXIF orientations 5-8 (a quarter turn)
    swap them, as `app.media` and Ultralytics do. Only the header is read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about odd but readable headers
            with Image.open(path) as im:
                width, height = im.size
                orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
    except FileNotFoundError:
        raise ValidationError(f"image {path} is missing", where=where) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(f"cannot read the size of image {path}: {exc}", where=where) from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height


def item_size(item: Item, fmt: str) -> tuple[int, int]:
    """The item's (width, height); read from its media file when the dataset lacks it."""
    if (not item.width or not item.height) and item.media_path is not None:
        return image_size(Path(item.media_path), item.name)
    return item.require_size(fmt)


def find_image(folder: Path, stem: str) -> Path | None:
    """The image `folder/stem.<ext>` for any usual image extension (either case), if any."""
    for suffix in IMAGE_SUFFIXES:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def read_text(path: Path, where: str) -> str:
    """A UTF-8 text file (a BOM is dropped), or a clear error for unreadable or non-UTF-8 files."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text (byte {exc.start})", where=where) from None
    except OSError as exc:
        raise ValidationError(f"cannot read: {exc.strerror or exc}", where=where) from None


def relative(path: Path, root: Path) -> str:
    """`path` relative to `root` in POSIX form, for error messages and item names."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
