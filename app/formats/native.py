"""Native JSON: the whole `Dataset`, lossless (labels, schema, items, annotations, tracks,
segments, meta), with a format version so older readers refuse newer files clearly.

Layout: one JSON object; `items` holds one item per line, written as the export walks the
items, so a big dataset is never held as one string. Floats are written with `repr`
(json's default), which reads back bit for bit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.annotators.annotation import Annotation
from app.annotators.audio.segments import segment_from_dict
from app.annotators.ontology import parse_schema
from app.annotators.shapes import check_fields, integer, items, located, real
from app.annotators.video.tracks import track_from_dict
from app.core.errors import ValidationError
from app.core.files import atomic_file
from app.formats.base import (
    DEFAULT_SUBSET, Dataset, ExportReport, Item, Progress, count_shapes, located_in,
)

FORMAT_VERSION = 1  # bump when the layout changes; readers refuse anything newer
MAGIC = "alaya-native"
MEDIA = ("image", "video", "audio")
_TOP_FIELDS = ("format", "version", "labels", "schema", "meta", "items")
_SCALARS = ("media", "width", "height", "frame_count", "fps", "duration", "sample_rate",
            "channels", "sha256", "subset")
_ITEM_FIELDS = (*_SCALARS, "media_path", "annotations", "tracks", "segments")


def read_text(path: Path) -> str:
    """A file's UTF-8 text, or a ValidationError naming the file and the line of a bad byte."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read: {exc.strerror or exc}", where=str(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ValidationError(f"not UTF-8 text (byte {exc.start})",
                              where=located_in(path, line)) from None


MAX_NESTING = 200  # far beyond any real file; deeper input could overflow the C stack


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest, strings skipped, at C speed (regex + numpy): the
    json module's recursion guard follows `sys.getrecursionlimit()`, which a library may raise
    far past what the stack holds, and then a hostile file crashes the process."""
    import numpy as np

    bare = np.frombuffer(_STRINGS.sub("", text).encode("utf-8", "replace"), np.uint8)
    steps = np.isin(bare, _OPEN).astype(np.int32) - np.isin(bare, _CLOSE)
    return int(np.cumsum(steps).max(initial=0))


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_OPEN, _CLOSE = list(b"[{"), list(b"]}")


def read_json(path: Path) -> Any:
    """Parsed JSON, or a ValidationError naming the file and the line."""
    text = read_text(path)
    if nesting_depth(text) > MAX_NESTING:
        raise ValidationError(f"nested more than {MAX_NESTING} levels deep", where=str(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"invalid JSON: {exc.msg} (column {exc.colno})",
                              where=located_in(path, exc.lineno)) from None
    except RecursionError:
        raise ValidationError("nested too deeply to read", where=str(path)) from None


def dumps(value: Any, where: str) -> str:
    """Compact JSON; NaN, infinities and non-JSON values are refused (they would not read back)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"cannot be written as JSON: {exc}", where=where) from None


# -- export ---------------------------------------------------------------------------------

def export(dataset: Dataset, out: Path, *, progress: Progress | None = None) -> ExportReport:
    out = Path(out)
    schema = None if dataset.schema is None else dataset.schema.model_dump(mode="json")
    head = {"format": MAGIC, "version": FORMAT_VERSION, "labels": list(dataset.labels),
            "schema": schema, "meta": dataset.meta}
    total = len(dataset.items)
    with atomic_file(out) as handle:
        handle.write(dumps(head, "dataset")[:-1] + ',"items":[')
        for done, item in enumerate(dataset.items, 1):
            handle.write(("\n," if done > 1 else "\n") + dumps(_item_dict(item), item.name))
            if progress:
                progress(done, total)
        handle.write("\n]}\n")
    return ExportReport(files=(out,), items=total, shapes=count_shapes(dataset.items))


def _item_dict(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"name": item.name}
    data.update({name: getattr(item, name) for name in _SCALARS})
    data["media_path"] = None if item.media_path is None else str(item.media_path)
    data["annotations"] = [a.to_dict() for a in item.annotations]
    data["tracks"] = [t.to_dict() for t in item.tracks]
    data["segments"] = [s.to_dict() for s in item.segments]
    return data


# -- import ---------------------------------------------------------------------------------

def load(path: Path) -> Dataset:
    path = Path(path)
    data = read_json(path)
    with in_file(path):
        return _dataset(data)


@contextmanager
def in_file(path: Path) -> Iterator[None]:
    """Put the file's name in front of the field errors raised inside: "d.json: items[3].width"."""
    try:
        yield
    except ValidationError as err:
        message = str(err).removeprefix(f"{err.where}: ") if err.where else str(err)
        raise ValidationError(message, where=located_in(path, field_path=err.where)) from None


def _dataset(data: Any) -> Dataset:
    top = check_fields(data, "dataset", required=_TOP_FIELDS)
    if top["format"] != MAGIC:
        raise ValidationError(f"not a native Alaya file (format {top['format']!r})",
                              where="format")
    version = integer(top["version"], "version", minimum=1)
    if version > FORMAT_VERSION:
        raise ValidationError(
            f"written by a newer Alaya (native format version {version}; this version reads "
            f"up to {FORMAT_VERSION}): update Alaya to import it", where="version")
    labels = [_text(v, f"labels[{i}]") for i, v in enumerate(items(top["labels"], "labels"))]
    schema = None if top["schema"] is None else parse_schema(top["schema"], "schema")
    if not isinstance(top["meta"], Mapping):
        raise ValidationError("expected an object", where="meta")
    found = [_item(v, f"items[{i}]") for i, v in enumerate(items(top["items"], "items"))]
    return Dataset(labels=labels, items=found, schema=schema, meta=dict(top["meta"]))


def _item(data: Any, where: str) -> Item:
    values = check_fields(data, where, required=("name",), optional=_ITEM_FIELDS)
    with located(where):
        name = _text(values["name"], "name")
        media = values.get("media", "image")
        if media not in MEDIA:
            raise ValidationError(f"must be one of {', '.join(MEDIA)}", where="media")
        item = Item(name=name, media=media, subset=_text(values.get("subset", DEFAULT_SUBSET),
                                                         "subset"))
        for field_name in ("width", "height", "frame_count", "sample_rate", "channels"):
            setattr(item, field_name, _optional(values.get(field_name), field_name, integer))
        for field_name in ("fps", "duration"):
            setattr(item, field_name, _optional(values.get(field_name), field_name, real))
        item.sha256 = _optional(values.get("sha256"), "sha256", _text)
        media_path = _optional(values.get("media_path"), "media_path", _text)
        item.media_path = None if media_path is None else Path(media_path)
    item.annotations = [_annotation(v, f"{where}.annotations[{i}]") for i, v in
                        enumerate(items(values.get("annotations", []), f"{where}.annotations"))]
    item.tracks = [track_from_dict(v, where=f"{where}.tracks[{i}]") for i, v in
                   enumerate(items(values.get("tracks", []), f"{where}.tracks"))]
    item.segments = [segment_from_dict(v, where=f"{where}.segments[{i}]") for i, v in
                     enumerate(items(values.get("segments", []), f"{where}.segments"))]
    return item


def _annotation(data: Any, where: str) -> Annotation:
    with located(where):
        return Annotation.from_dict(data)


def _optional(value: Any, where: str, kind: Any) -> Any:
    return None if value is None else kind(value, where)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"expected a string, got {type(value).__name__}", where=where)
    return value


class _Native:
    name = "native"
    title = f"Alaya native JSON (format version {FORMAT_VERSION})"
    media = frozenset(MEDIA)
    can_import = True
    can_export = True
    precision = "exact: every field of every item, annotation, track and segment, and the schema"
    export = staticmethod(export)
    load = staticmethod(load)


FORMAT = _Native()
