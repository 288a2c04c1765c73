"""Strategies and helpers for the image formats with files beside the labels (YOLO, Pascal VOC,
labelme): datasets of small images that exist on disk, attribute values every text format
can spell, and comparisons of shapes within a stated precision."""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from app.annotators import masks
from app.annotators.annotation import Annotation
from app.annotators.shapes import Box, Mask, Points, Polygon, RotatedBox, Shape
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies import LABELS, annotations

ShapesIn = Callable[[int, int], st.SearchStrategy[Shape]]
NAMES = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=6)
# Text a reader cannot mistake for a number or a boolean, and that XML can hold.
PLAIN_TEXT = st.text(string.ascii_letters + " _-", min_size=1, max_size=8).filter(
    lambda s: s.lower() not in ("true", "false", "inf", "nan", "infinity"))


def attribute_values() -> st.SearchStrategy[bool | int | float | str]:
    finite = st.floats(allow_nan=False, allow_infinity=False)
    return st.one_of(st.booleans(), st.integers(-10**9, 10**9), finite, PLAIN_TEXT)


def plain_attributes(*, exclude: Sequence[str] = ()) -> st.SearchStrategy[dict]:
    names = st.text(string.ascii_letters + "_", min_size=1, max_size=8).filter(
        lambda n: n not in exclude)
    return st.dictionaries(names, attribute_values(), max_size=3)


@st.composite
def image_items(draw: st.DrawFn, shapes: ShapesIn, *, labels: Sequence[str] = LABELS,
                max_annotations: int = 4, subsets: Sequence[str] = ("default", "train", "val"),
                folders: bool = True, attrs: st.SearchStrategy[dict] | None = None,
                sizes: tuple[int, int] = (16, 96)) -> Item:
    """An image item with a known size; the image file is written later by `with_images`."""
    width, height = draw(st.integers(*sizes)), draw(st.integers(*sizes))
    anns = draw(st.lists(annotations(shapes(width, height), labels=labels), max_size=max_annotations))
    if attrs is not None:
        anns = [a.replace(attributes=draw(attrs)) for a in anns]
    folder = draw(st.sampled_from(["", "a/", "b/c/"])) if folders else ""
    return Item(name=f"{folder}{draw(NAMES)}.png", width=width, height=height,
                subset=draw(st.sampled_from(subsets)), annotations=anns)


def datasets(items: st.SearchStrategy[Item], *, labels: Sequence[str] = LABELS,
             max_items: int = 3) -> st.SearchStrategy[Dataset]:
    """Items with unique stems (YOLO, VOC and datumaro pair files by them)."""
    found = st.lists(items, min_size=1, max_size=max_items,
                     unique_by=lambda i: Path(i.name).stem)
    return found.map(lambda items: Dataset(labels=list(labels), items=items))


def with_images(dataset: Dataset, folder: Path) -> Dataset:
    """Write a PNG of each item's size under `folder` and point `media_path` at it."""
    for i, item in enumerate(dataset.items):
        path = folder / f"src{i}" / Path(item.name).name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (item.width, item.height), (i * 40 % 256, 90, 160)).save(path)
        item.media_path = path
    return dataset


def annotation(label: str, shape: Shape, **attributes) -> Annotation:
    return Annotation.new(asset_id=0, author="", label=label, shape=shape,
                          attributes=attributes or None)


# -- comparing shapes ---------------------------------------------------------------------------

def close(a: Sequence[float], b: Sequence[float], tol: float) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def box_values(box: Box) -> tuple[float, float, float, float]:
    return (box.x1, box.y1, box.x2, box.y2)


def flat(points: Sequence[tuple[float, float]]) -> list[float]:
    return [v for p in points for v in p]


def same_shape(ours: Shape, back: Shape, tol: float) -> bool:
    """Geometry equal within `tol` pixels (masks bit for bit)."""
    if type(ours) is not type(back):
        return False
    if isinstance(ours, Box):
        return close(box_values(ours), box_values(back), tol)
    if isinstance(ours, RotatedBox):
        return close(flat(ours.corners()), flat(back.corners()), tol)
    if isinstance(ours, Polygon):
        return len(ours.parts) == len(back.parts) and all(
            close(flat(a.exterior), flat(b.exterior), tol) and len(a.holes) == len(b.holes)
            for a, b in zip(ours.parts, back.parts))
    if isinstance(ours, Points):
        return (close(flat(ours.points), flat(back.points), tol)
                and ours.visibility == back.visibility)
    if hasattr(ours, "points"):
        return close(flat(ours.points), flat(back.points), tol)
    if isinstance(ours, Mask):
        return np.array_equal(masks.decode(ours), masks.decode(back))
    return ours == back
