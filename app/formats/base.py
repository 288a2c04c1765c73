"""The neutral dataset every format module reads and writes.

Exporters take a `Dataset` (built from the store by `app.formats.project_io`); importers
return one. An item is the media file as the dataset names it (`name`, a relative POSIX
path); the store bridge matches items to assets by SHA-256 when a format keeps it, else by
name. Annotations built by an importer carry `asset_id=0` until that match.

Video: an object followed over time is a `Track` (keyframes, outside, occluded); a shape on
one frame that belongs to no track is an `Annotation` with `frame` set. Audio: `Segment`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from app.annotators.annotation import Annotation
from app.annotators.audio.segments import Segment
from app.annotators.ontology import LabelSchema
from app.annotators.video.tracks import Track
from app.core.errors import ValidationError

Media = Literal["image", "video", "audio"]
Progress = Callable[[int, int], None]  # (done, total); exporters call it per item
DEFAULT_SUBSET = "default"


@dataclass
class Item:
    name: str  # relative POSIX path of the media file inside the dataset ("train/0001.jpg")
    media: Media = "image"
    width: int | None = None
    height: int | None = None
    frame_count: int | None = None  # video
    fps: float | None = None  # video; frames are decode-order indices from 0
    duration: float | None = None  # audio (and video) seconds
    sample_rate: int | None = None  # audio
    channels: int | None = None  # audio
    sha256: str | None = None  # content hash when known: the exact asset
    media_path: Path | None = None  # the file on disk, for exporters that copy media beside labels
    subset: str = DEFAULT_SUBSET  # train / val / test, set by --split
    annotations: list[Annotation] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @property
    def stem(self) -> str:
        """The name without folders and extension (YOLO, VOC and labelme pair files by it)."""
        return Path(self.name).stem

    def require_size(self, fmt: str) -> tuple[int, int]:
        """(width, height), or a clear error: normalized formats cannot be written without it."""
        if not self.width or not self.height:
            raise ValidationError(f"{fmt} needs the image size of {self.name!r}, which is unknown",
                                  where=self.name)
        return self.width, self.height


@dataclass
class Dataset:
    labels: list[str] = field(default_factory=list)  # order matters: COCO ids, YOLO indices
    items: list[Item] = field(default_factory=list)
    schema: LabelSchema | None = None  # kept by formats that can (native)
    # free-form; by convention meta["skipped"] lists "file:line: why" for what an importer read
    # but could not turn into annotations (the CLI prints it with the import's own skips)
    meta: dict[str, Any] = field(default_factory=dict)

    def label_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.labels)}

    def subsets(self) -> list[str]:
        seen: dict[str, None] = {}
        for item in self.items:
            seen.setdefault(item.subset, None)
        return list(seen)

    def items_in(self, subset: str) -> list[Item]:
        return [item for item in self.items if item.subset == subset]

    def add_label(self, name: str) -> None:
        if name not in self.labels:
            self.labels.append(name)

    def used_labels(self) -> list[str]:
        """Labels in use, in `labels` order first, then any that only annotations name."""
        found: dict[str, None] = dict.fromkeys(self.labels)
        for item in self.items:
            for label in _item_labels(item):
                found.setdefault(label, None)
        return list(found)


def _item_labels(item: Item) -> Iterator[str]:
    yield from (a.label for a in item.annotations)
    yield from (t.label for t in item.tracks)
    yield from (s.label for s in item.segments if s.label)


@dataclass(frozen=True)
class ExportReport:
    files: tuple[Path, ...]  # what was written
    items: int
    shapes: int
    skipped: tuple[str, ...] = ()  # "item: why" for anything the format cannot express


class Format(Protocol):
    """What every `app.formats.<name>` module exposes as `FORMAT`."""

    name: str  # the CLI name: "coco", "yolo", ...
    title: str  # "COCO instances 1.0"
    media: frozenset[str]  # which item media it carries
    can_import: bool
    can_export: bool
    precision: str  # what survives a round trip, in words ("exact", "boxes to 1e-6 of the size")

    def export(self, dataset: Dataset, out: Path, *, progress: Progress | None = None) -> ExportReport:
        """Write `dataset` to `out` (a file or a folder, as the format is); atomic per file."""
        ...

    def load(self, path: Path) -> Dataset:
        """Read a file or folder; `ValidationError` naming the file and the line or field."""
        ...


def located_in(path: Path | str, line: int | None = None, field_path: str | None = None) -> str:
    """The `where` of an import error: "file.json:12" or "file.json: images[3].width"."""
    where = str(path)
    if line is not None:
        where += f":{line}"
    if field_path:
        where += f": {field_path}"
    return where


def count_shapes(items: Iterable[Item]) -> int:
    return sum(len(i.annotations) + len(i.tracks) + len(i.segments) for i in items)
