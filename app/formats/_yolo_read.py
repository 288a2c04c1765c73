"""Reading YOLO datasets in the Ultralytics layout (see `app.formats.yolo`): data.yaml, the
image folders or lists it names, and one label file per image beside them under labels/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from app.annotators.annotation import Annotation
from app.annotators.geometry import bounds
from app.annotators.shapes import Box, Points, Polygon, Shape
from app.core.errors import ValidationError
from app.formats._media_files import IMAGE_SUFFIXES, image_size, read_text, relative
from app.formats._shape_parts import rotated_box_from_corners
from app.formats.base import Dataset, Item, located_in

TASKS = ("detect", "segment", "pose", "obb")
SPLITS = ("train", "val", "test")  # the data.yaml keys Ultralytics reads
RESERVED_KEYS = {"path", "download", "names", "nc", "kpt_shape", "flip_idx", "task", "channels"}
_SAME_BOX = 2e-6  # normalized: a pose box this close to its keypoints' bounds was derived


def read_dataset(path: Path) -> Dataset:
    """A YOLO dataset from its folder or its data.yaml."""
    config_path = Path(path)
    if config_path.is_dir():
        config_path = config_path / "data.yaml"
    root = config_path.parent
    config = _read_config(config_path)
    names = _names(config, config_path.name)
    kpt = _kpt_shape(config, config_path.name)
    task = config.get("task") if config.get("task") in TASKS else ("pose" if kpt else None)
    dataset = Dataset(labels=list(names.values()))
    base = _base_folder(config, root)
    seen: set[Path] = set()
    for split in _split_keys(config, base):
        for image, name in _split_images(config, split, base, root, config_path.name):
            if image in seen:  # `val: images/train` repeats the train images
                continue
            seen.add(image)
            dataset.items.append(_read_item(image, name, split, root, names, task, kpt))
    return dataset


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ValidationError("no data.yaml: not a YOLO (Ultralytics) dataset", where=str(path))
    try:
        config = yaml.safe_load(read_text(path, path.name))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(f"not valid YAML: {getattr(exc, 'problem', exc)}",
                              where=located_in(path.name, mark.line + 1 if mark else None)) from None
    if not isinstance(config, dict):
        raise ValidationError("expected a mapping of keys", where=path.name)
    return config


def _names(config: dict[str, Any], where: str) -> dict[int, str]:
    names = config.get("names")
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise ValidationError("expected a list or an index -> name mapping",
                              where=located_in(where, field_path="names"))
    for key, value in names.items():
        if isinstance(key, bool) or not isinstance(key, int) or key < 0 or \
                not isinstance(value, str) or not value.strip():
            raise ValidationError(f"entry {key!r}: {value!r} is not index: name",
                                  where=located_in(where, field_path="names"))
    return dict(sorted(names.items()))


def _kpt_shape(config: dict[str, Any], where: str) -> tuple[int, int] | None:
    shape = config.get("kpt_shape")
    if shape is None:
        return None
    if (not isinstance(shape, list) or len(shape) != 2 or
            not all(isinstance(v, int) and not isinstance(v, bool) for v in shape) or
            shape[0] < 1 or shape[1] not in (2, 3)):
        raise ValidationError(f"expected [keypoints, 2 or 3], got {shape!r}",
                              where=located_in(where, field_path="kpt_shape"))
    return shape[0], shape[1]


def _base_folder(config: dict[str, Any], root: Path) -> Path:
    """Where `train`/`val` paths start: `path` when it exists (a moved dataset's stale
    absolute path does not), else the folder of data.yaml."""
    given = config.get("path")
    if isinstance(given, str) and given:
        base = (root / given) if not Path(given).is_absolute() else Path(given)
        if base.is_dir():
            return base
    return root


def _split_keys(config: dict[str, Any], base: Path) -> list[str]:
    """train/val/test, and any other key naming an image folder (a subset of ours), in the
    file's order: the first key to name a folder gets its images."""
    return [key for key, value in config.items() if key in SPLITS or (
        isinstance(key, str) and key not in RESERVED_KEYS and isinstance(value, str)
        and value.startswith("images/") and (base / value).is_dir())]


def _split_images(config: dict[str, Any], split: str, base: Path, root: Path, where: str
                  ) -> list[tuple[Path, str]]:
    """(image path, item name) for one split: the names are relative to the image folder."""
    sources = config.get(split)
    if sources is None:
        return []
    found: list[tuple[Path, str]] = []
    for source in sources if isinstance(sources, list) else [sources]:
        if not isinstance(source, str):
            raise ValidationError("expected a folder or a .txt list of images",
                                  where=located_in(where, field_path=split))
        place = base / source
        if place.is_dir():
            _check_orphans(place, root)
            found += [(p, p.relative_to(place).as_posix()) for p in sorted(place.rglob("*"))
                      if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
        elif place.is_file():
            found += _listed_images(place, base, split, root)
        else:
            raise ValidationError(f"{source} does not exist", where=located_in(where, field_path=split))
    return found


def _listed_images(listing: Path, base: Path, split: str, root: Path) -> list[tuple[Path, str]]:
    found = []
    images_dir = base / "images" / split
    for line in read_text(listing, relative(listing, root)).splitlines():
        entry = line.strip()
        if entry:
            # Ultralytics: "./x" is relative to the list file, other relative paths to `path`
            image = (listing.parent / entry[2:]) if entry.startswith("./") else base / entry
            image = Path(os.path.normpath(image))
            inside = image.is_relative_to(images_dir)
            found.append((image, (image.relative_to(images_dir) if inside
                                  else Path(relative(image, base))).as_posix()))
    return found


def _check_orphans(images: Path, root: Path) -> None:
    """A label file whose image is missing cannot be read (no size): say which one."""
    labels = _label_path(images / "x.jpg").parent
    if labels == images or not labels.is_dir():
        return
    for label in sorted(labels.rglob("*.txt")):
        stem = label.relative_to(labels).as_posix()[:-len(".txt")]
        if not any((images / f"{stem}{s}").is_file() or (images / f"{stem}{s.upper()}").is_file()
                   for s in IMAGE_SUFFIXES):
            raise ValidationError(f"no image {relative(images, root)}/{stem}.* to read the size from",
                                  where=relative(label, root))


def _label_path(image: Path) -> Path:
    """Ultralytics' rule: the last /images/ in the path becomes /labels/, the suffix .txt."""
    text = str(image)
    head, sep, tail = text.rpartition(f"{os.sep}images{os.sep}")
    text = f"{head}{os.sep}labels{os.sep}{tail}" if sep else text
    return Path(text).with_suffix(".txt")


def _read_item(image: Path, name: str, split: str, root: Path, names: dict[int, str],
               task: str | None, kpt: tuple[int, int] | None) -> Item:
    label = _label_path(image)
    where = relative(label, root)
    if not image.is_file():
        raise ValidationError(f"its image {relative(image, root)} is missing (needed for the "
                              "image size)", where=where)
    width, height = image_size(image, where)
    item = Item(name=name, width=width, height=height, subset=split, media_path=image)
    if label.is_file():
        for number, line in enumerate(read_text(label, where).splitlines(), 1):
            if line.strip():
                at = located_in(where, number)
                fields = line.split()
                label_name = _class_name(fields[0], names, at)
                for shape in _shapes(fields[1:], task, kpt, width, height, at):
                    item.annotations.append(Annotation.new(asset_id=0, author="",
                                                           label=label_name, shape=shape))
    return item


def _shapes(fields: list[str], task: str | None, kpt: tuple[int, int] | None, width: int,
            height: int, where: str) -> list[Shape]:
    """`_decode`, with a shape's own complaint (three equal points...) placed at the line."""
    try:
        return _decode(fields, task, kpt, width, height, where)
    except ValidationError as exc:
        if exc.where and exc.where.startswith(where):
            raise
        raise ValidationError(str(exc), where=where) from None


def _class_name(field: str, names: dict[int, str], where: str) -> str:
    try:
        index = int(field)
    except ValueError:
        raise ValidationError(f"class {field!r} is not an integer", where=where) from None
    if index not in names:
        raise ValidationError(f"unknown class id {index} (data.yaml names {min(names)}.."
                              f"{max(names)})", where=where)
    return names[index]


def _decode(fields: list[str], task: str | None, kpt: tuple[int, int] | None, width: int,
            height: int, where: str) -> list[Shape]:
    try:
        values = [float(f) for f in fields]
    except ValueError as exc:
        raise ValidationError(f"not a number: {exc}", where=where) from None
    if any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise ValidationError("numbers must be finite", where=where)
    n = len(values)
    xy = [(values[i] * width, values[i + 1] * height) for i in range(0, n - 1, 2)]
    if task == "pose" and kpt:
        if n != 4 + kpt[0] * kpt[1]:
            raise ValidationError(f"expected {5 + kpt[0] * kpt[1]} fields for kpt_shape "
                                  f"{list(kpt)}, got {n + 1}", where=where)
        return _pose_shapes(values, kpt, width, height, where)
    if task == "obb" and n == 8:
        return [rotated_box_from_corners(xy)]
    if n == 4:
        return [_box(values, width, height, where)]
    if n >= 6 and n % 2 == 0:
        return [Polygon.from_rings(xy)]
    raise ValidationError(f"expected 5 fields (box) or an odd count of 7 or more (polygon), "
                          f"got {n + 1}", where=where)


def _box(values: list[float], width: int, height: int, where: str) -> Box:
    cx, cy, w, h = values[:4]
    if w < 0 or h < 0:
        raise ValidationError("box width and height must not be negative", where=where)
    return Box((cx - w / 2) * width, (cy - h / 2) * height,
               (cx + w / 2) * width, (cy + h / 2) * height)


def _pose_shapes(values: list[float], kpt: tuple[int, int], width: int, height: int,
                 where: str) -> list[Shape]:
    count, ndim = kpt
    box = _box(values, width, height, where)
    rest = values[4:]
    pts = [(rest[i * ndim] * width, rest[i * ndim + 1] * height) for i in range(count)]
    vis = [int(rest[i * ndim + 2]) if ndim == 3 else 2 for i in range(count)]
    if any(v not in (0, 1, 2) or (ndim == 3 and v != rest[i * ndim + 2])
           for i, v in enumerate(vis)):
        raise ValidationError("keypoint visibility must be 0, 1 or 2", where=where)
    if not any(vis):
        return [box]
    points = Points(tuple(pts), tuple(vis))
    derived = bounds(points)
    same = all(abs(a - b) <= _SAME_BOX * s for a, b, s in zip(
        (box.x1, box.y1, box.x2, box.y2), derived, (width, height, width, height)))
    return [points] if same else [box, points]
