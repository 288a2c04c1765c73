"""What the audio label formats (RTTM, Praat TextGrid, Audacity labels) share.

Times: written as the shortest decimal that reads back to the same float (`repr`'s digits,
always in positional notation, since some readers of these formats do not take exponents),
and read with a strict number syntax ("1_0", "nan" and "inf" are refused). Durations are
computed in decimal arithmetic, so "onset + duration" gives back the exact end.

Naming: a label file is named after its item with the extension replaced ("talk/a.wav" ->
"talk/a.TextGrid"); when two items would share that file, the whole item name is kept
("a.wav.TextGrid"). Reading back, the item name is the label file's path without its
extension, plus the extension of an audio file of that stem found beside it (or, failing
that, no extension: the store bridge then matches the item by stem).
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path, PurePosixPath
from typing import Any

from app.annotators.audio.segments import Segment
from app.core.errors import ValidationError
from app.formats.base import (
    DEFAULT_SUBSET, Dataset, ExportReport, Item, Progress, located_in,
)
from app.core.files import atomic_file

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".caf",
                  ".m4a", ".aac")
SKIPPED = "skipped"  # Dataset.meta key: "file:line: why" for input an importer could not keep
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_EXACT = 2000  # decimal digits: enough for any difference of two doubles, subnormals included



@dataclass(frozen=True)
class AudioFormat:
    """The `Format` object of an audio label module: its words, and its two functions."""

    name: str
    title: str
    precision: str
    write: Callable[[Dataset, Path, Progress | None], ExportReport] = field(repr=False)
    read: Callable[[Path], Dataset] = field(repr=False)
    media: frozenset[str] = frozenset({"audio"})
    can_import: bool = True
    can_export: bool = True

    def export(self, dataset: Dataset, out: Path, *, progress: Progress | None = None
               ) -> ExportReport:
        return self.write(dataset, out, progress)

    def load(self, path: Path) -> Dataset:
        return self.read(path)


# -- numbers -------------------------------------------------------------------------------


def format_time(value: float) -> str:
    """The shortest decimal that reads back as `value`, without an exponent."""
    text = format(Decimal(repr(float(value) + 0.0)), "f")  # + 0.0 turns -0.0 into 0.0
    return text if "." in text else text + ".0"


def parse_decimal(text: str, where: str, what: str = "time") -> Decimal:
    """A finite decimal number, or an error naming `where`."""
    if not NUMBER.fullmatch(text):
        raise ValidationError(f"{what} is not a number: {text!r}", where=where)
    value = Decimal(text)
    if not value.is_finite() or not _finite(float(value)):
        raise ValidationError(f"{what} is out of range: {text!r}", where=where)
    return value


def parse_time(text: str, where: str, what: str = "time") -> float:
    return float(parse_decimal(text, where, what))


def duration_text(start: float, end: float) -> str:
    """`end - start` in exact decimal arithmetic on the written digits of both."""
    with localcontext() as ctx:
        ctx.prec = _EXACT
        return format(Decimal(format_time(end)) - Decimal(format_time(start)), "f")


def end_time(onset: Decimal, duration: Decimal) -> float:
    """The end a duration written by `duration_text` stands for, exactly."""
    with localcontext() as ctx:
        ctx.prec = _EXACT
        return float(onset + duration)


def _finite(value: float) -> bool:
    return value not in (float("inf"), float("-inf"))


def make_segment(where: str, **fields: Any) -> Segment:
    """A `Segment`, with its own validation errors (end before start...) located at `where`."""
    try:
        return Segment(**fields)
    except ValidationError as err:
        raise ValidationError(str(err), where=where) from None


# -- reading -------------------------------------------------------------------------------


def read_text(path: Path, *, utf16: bool = False) -> str:
    """The file as text: UTF-8 (BOM or not), or UTF-16 with a BOM when `utf16` (Praat
    writes it for text outside Latin-1). Undecodable bytes are an error naming the line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read: {exc.strerror or exc}", where=str(path)) from None
    encoding = "utf-8-sig"
    if utf16 and raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        expected = "UTF-8 or UTF-16 with a byte-order mark" if utf16 else "UTF-8"
        raise ValidationError(f"not {expected} text (byte {exc.start})",
                              where=located_in(path, line)) from None


def label_files(path: Path, suffix: str) -> tuple[Path, list[Path]]:
    """(root, files): `path` itself, or every `*suffix` file under the folder `path`."""
    if path.is_file():
        return path.parent, [path]
    if not path.is_dir():
        raise ValidationError("no such file or folder", where=str(path))
    found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == suffix.lower())
    if not found:
        raise ValidationError(f"no {suffix} files in this folder", where=str(path))
    return path, found


def item_name(root: Path, rel_stem: str) -> str:
    """The item a label file stands for: `rel_stem` (POSIX, relative to `root`) plus the
    extension of the audio file `root/rel_stem.<ext>`, when there is one."""
    if PurePosixPath(rel_stem).suffix.lower() in AUDIO_SUFFIXES:
        return rel_stem  # written as "a.wav.txt" because two items shared "a.txt"
    for suffix in AUDIO_SUFFIXES:
        for candidate in (suffix, suffix.upper()):
            if (root / f"{rel_stem}{candidate}").is_file():
                return rel_stem + candidate
    return rel_stem


def load_per_item(path: Path, suffix: str, parse: Callable[[Path, Item, Dataset], None]
                  ) -> Dataset:
    """A dataset of one audio item per label file under `path`; `parse` fills each item."""
    root, files = label_files(path, suffix)
    dataset = Dataset(meta={SKIPPED: []})
    for file in files:
        rel = file.relative_to(root).with_suffix("").as_posix()
        item = Item(name=item_name(root, rel), media="audio")
        parse(file, item, dataset)
        dataset.items.append(item)
    return dataset


# -- writing -------------------------------------------------------------------------------


def output_paths(dataset: Dataset, suffix: str) -> tuple[dict[int, PurePosixPath], list[str]]:
    """Relative label-file path per item index (see the module note), and items refused."""
    subsets = dataset.subsets() != [DEFAULT_SUBSET] and len(dataset.items) > 0
    paths: dict[int, PurePosixPath] = {}
    refused = []
    for index, item in enumerate(dataset.items):
        name = PurePosixPath(item.name)
        if name.is_absolute() or ".." in name.parts or not name.name:
            refused.append(f"{item.name}: the name would leave the output folder")
            continue
        folder = PurePosixPath(item.subset) if subsets else PurePosixPath()
        paths[index] = folder / name.with_suffix(suffix)
    taken = Counter(paths.values())
    for index, rel in paths.items():
        if taken[rel] > 1:  # "a.wav" and "a.flac": keep the whole name
            paths[index] = rel.with_name(PurePosixPath(dataset.items[index].name).name + suffix)
    return paths, refused


def wanted(item: Item) -> bool:
    """Audio items, and any other item that carries segments (the sound track of a video)."""
    return item.media == "audio" or bool(item.segments)


def export_per_item(dataset: Dataset, out: Path, suffix: str,
                    render: Callable[[Item, list[str]], tuple[str, int] | None],
                    progress: Progress | None = None) -> ExportReport:
    """One label file per audio item under the folder `out`, each written atomically.
    `render(item, skipped)` returns (text, segments written), or None to write nothing."""
    paths, skipped = output_paths(dataset, suffix)
    files: list[Path] = []
    items = shapes = 0
    total = len(dataset.items)
    for done, (index, item) in enumerate(enumerate(dataset.items), start=1):
        skipped.extend(shapes_not_carried(item))
        rendered = render(item, skipped) if index in paths and wanted(item) else None
        if rendered is not None:
            target = out / Path(*paths[index].parts)
            with atomic_file(target) as handle:
                handle.write(rendered[0])
            files.append(target)
            items, shapes = items + 1, shapes + rendered[1]
        if progress is not None:
            progress(done, total)
    return ExportReport(files=tuple(files), items=items, shapes=shapes, skipped=tuple(skipped))


def shapes_not_carried(item: Item) -> Iterator[str]:
    count = len(item.annotations) + len(item.tracks)
    if count:
        yield f"{item.name}: {count} shapes and tracks not written (audio segments only)"


def lost_fields(item: Item, fmt: str, lost: Callable[[Segment], Iterable[str]]) -> list[str]:
    """One "item: fmt cannot keep ..." line summing, per field, the segments that lose it."""
    counts: Counter[str] = Counter()
    for segment in item.segments:
        counts.update(lost(segment))
    if not counts:
        return []
    parts = ", ".join(f"{what} ({n} segments)" for what, n in counts.items())
    return [f"{item.name}: {fmt} cannot keep {parts}"]
