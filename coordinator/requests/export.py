"""The consensus labels of a data request in the workstation's native JSON (`app.formats.native`).

The coordinator cannot import the format module (rule 12), so this writes the same layout
by hand: `{"format": "alaya-native", "version": 1, "labels", "schema", "items", "meta"}`, an
item per line, annotations as `Annotation.to_dict` writes them (asset_id 0 and matched by
SHA-256 on import, as every importer does). The document is streamed page by page, so a big
request is never held in memory. What the native reader would refuse (a segment that ends
before it starts, a track with two keyframes on one frame, ...) is left out and listed in
`meta["skipped"]`, the native convention. The label schema travels in `meta["label_schema"]`
rather than in `schema`: the coordinator checks only its outline, and a schema the reader
refused would make the whole file unreadable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import Row, and_, or_, select

from app.sync.wire import Labels, WireAnnotation, WireSegment, WireTrack
from coordinator.context import Ctx
from coordinator.db import aware
from coordinator.tables import assets, items

FORMAT, VERSION = "alaya-native", 1
PAGE = 500
MAX_SKIPPED = 1000  # listed one by one; beyond that only counted


def _dumps(value: Any) -> str:
    # ASCII with \u escapes: reads back the same, and no stored text can break the stream
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def document(ctx: Ctx, request: Row) -> Iterator[bytes]:
    """The export, as UTF-8 chunks of about one item each."""
    spec = request.spec
    classes = [entry["name"] for entry in spec["label_schema"]["classes"]]
    head = {"format": FORMAT, "version": VERSION, "labels": classes, "schema": None}
    yield (_dumps(head)[:-1] + ',"items":[').encode()
    names: set[str] = set()
    skipped: list[str] = []
    count = 0
    for row in _done_items(ctx, request.id):
        item, problems = _item(row, request.modality, names)
        skipped.extend(problems)
        yield (("\n," if count else "\n") + _dumps(item)).encode()
        count += 1
    meta = {"source": "alaya-coordinator", "request_id": request.id, "request_name": spec["name"],
            "modality": request.modality, "exported_at": ctx.now().isoformat(), "items": count,
            "label_schema": spec["label_schema"], "skipped": skipped[:MAX_SKIPPED]}
    if len(skipped) > MAX_SKIPPED:
        meta["skipped_more"] = len(skipped) - MAX_SKIPPED
    yield ('\n],"meta":' + _dumps(meta) + "}\n").encode()


def _done_items(ctx: Ctx, request_id: str) -> Iterator[Row]:
    """Done, non-gold items in queue order, a page per read transaction (keyset paging)."""
    i = items.c
    base = (select(i.id, i.rank, i.consensus, i.decided_by, i.created_at, i.closed_at,
                   assets.c.sha256, assets.c.filename)
            .join(assets, assets.c.id == i.asset_id)
            .where(i.request_id == request_id, i.state == "done", i.is_gold.is_(False),
                   i.consensus.is_not(None))
            .order_by(i.rank, i.id).limit(PAGE))
    after: tuple[int, str] | None = None
    while True:
        stmt = base if after is None else base.where(
            or_(i.rank > after[0], and_(i.rank == after[0], i.id > after[1])))
        with ctx.db.read() as conn:
            rows = conn.execute(stmt).all()
        yield from rows
        if len(rows) < PAGE:
            return
        after = (rows[-1].rank, rows[-1].id)


def item_name(filename: str, sha256: str, taken: set[str]) -> str:
    """A relative POSIX path from the declared file name, unique within the export."""
    parts = [p for p in PurePosixPath(filename.replace("\\", "/")).parts if p not in ("/", ".", "..")]
    name = "/".join(parts) or sha256
    if name in taken:
        path = PurePosixPath(name)
        name = str(path.with_name(f"{path.stem}~{sha256[:12]}{path.suffix}"))
    taken.add(name)
    return name


def _item(row: Row, modality: str, names: set[str]) -> tuple[dict[str, Any], list[str]]:
    name = item_name(row.filename, row.sha256, names)
    item: dict[str, Any] = {"name": name, "media": modality, "sha256": row.sha256,
                            "annotations": [], "tracks": [], "segments": []}
    try:
        labels = Labels.model_validate(row.consensus)
    except ValueError:
        return item, [f"{name}: the stored consensus is not valid labels"]
    stamp = aware(row.closed_at or row.created_at).isoformat()
    author = row.decided_by or "consensus"
    problems: list[str] = []
    for index, annotation in enumerate(labels.annotations):
        _add(item["annotations"], problems, f"{name}: annotations[{index}]",
             lambda a=annotation: _annotation(a, row.id, author, stamp))
    for index, track in enumerate(labels.tracks):
        _add(item["tracks"], problems, f"{name}: tracks[{index}]", lambda t=track: _track(t))
    for index, segment in enumerate(labels.segments):
        _add(item["segments"], problems, f"{name}: segments[{index}]", lambda s=segment: _segment(s))
    return item, problems


class _Unfit(Exception):
    """A label the native reader would refuse."""


def _add(out: list[dict[str, Any]], problems: list[str], where: str, build: Any) -> None:
    try:
        out.append(build())
    except _Unfit as exc:
        problems.append(f"{where}: {exc}")


def _shape(shape: Any) -> dict[str, Any]:
    data = shape.model_dump(mode="json")
    if data["kind"] == "points":
        count = len(data["points"])
        data["visibility"] = data["visibility"] or [2] * count  # the wire's default: all visible
        if len(data["visibility"]) != count or (data["names"] is not None and len(data["names"]) != count):
            raise _Unfit("visibility or names do not match the number of points")
    if data["kind"] == "polygon":
        for part in data["parts"]:
            for ring in (part["exterior"], *part["holes"]):
                if len(ring) - (ring[0] == ring[-1]) < 3:  # a repeated first point is dropped
                    raise _Unfit("a polygon ring with fewer than 3 distinct points")
    return data


def _annotation(annotation: WireAnnotation, item_id: str, author: str, stamp: str) -> dict[str, Any]:
    if not annotation.label.strip():
        raise _Unfit("blank label")
    return {"id": f"{item_id}-{annotation.id}", "asset_id": 0, "label": annotation.label,
            "shape": _shape(annotation.shape), "author": author, "created_at": stamp,
            "updated_at": stamp, "attributes": dict(annotation.attributes), "source": "consensus",
            "confidence": annotation.confidence, "version": 1, "z_order": 0, "hidden": False,
            "locked": False, "track_id": None, "frame": annotation.frame}


def _track(track: WireTrack) -> dict[str, Any]:
    frames = [keyframe.frame for keyframe in track.keyframes]
    if len(set(frames)) != len(frames):
        raise _Unfit("two keyframes on one frame")
    if len({keyframe.shape.kind for keyframe in track.keyframes}) > 1:
        raise _Unfit("keyframes of different shape kinds")
    keyframes = [{"frame": k.frame, "shape": _shape(k.shape), "outside": k.outside,
                  "occluded": k.occluded, "attributes": dict(k.attributes)} for k in track.keyframes]
    return {"id": track.id, "label": track.label, "keyframes": keyframes}


def _segment(segment: WireSegment) -> dict[str, Any]:
    if segment.end <= segment.start:
        raise _Unfit("ends before it starts")
    return {"start": segment.start, "end": segment.end, "channel": segment.channel,
            "label": segment.label or "", "speaker": segment.speaker,
            "transcript": segment.transcript or "", "attributes": dict(segment.attributes)}
