"""The bridge between the store and the neutral `Dataset`: export a project, import a dataset.

Export names every asset by its original file name, except where two assets share a stem
(YOLO, VOC and labelme pair files by stem, and file systems may ignore case): then each of
them is `stem-<sha256[:12]>.ext`, so every name in an export means exactly one asset.

Import matches each item to one asset: by SHA-256 when the format keeps it, else by file name
(narrowed by the folders the item names), by our export name, then by stem (RTTM and CVAT
video name files without extension). Items that match no asset or several are skipped and
reported, never guessed. Labels outside the project's schema stop the import unless mapped.
Everything is written in one transaction, so a failure leaves the store as it was.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from app.annotators.annotation import Annotation
from app.annotators.ontology import LabelSchema
from app.annotators.shapes import TIMELINE_KINDS
from app.annotators.timeline import (
    SEGMENT, TRACK, TrackShape, segment_from_annotation, segment_to_annotation, track_from_annotation,
    track_to_annotation,
)
from app.core.errors import ValidationError
from app.core.identity import local_user
from app.formats.base import Dataset, ExportReport, Format, Item, Progress
from app.formats.splits import assign_subsets
from app.store.records import Asset, Project
from app.store.workspace import Workspace

MEDIA = ("image", "video", "audio")


default_author = local_user  # the name the workstation window records as the author of edits


# -- export -------------------------------------------------------------------------------------

def export_names(assets: Iterable[Asset]) -> dict[int, str]:
    """asset id -> the item name it gets in an export (unique, stable; see the module doc)."""
    assets = list(assets)
    base = {a.id: PurePosixPath(a.original_name.replace("\\", "/")).name or a.sha256 for a in assets}
    stems = Counter(PurePosixPath(name).stem.lower() for name in base.values())
    names = {}
    for a in assets:
        path = PurePosixPath(base[a.id])
        shared = stems[path.stem.lower()] > 1
        names[a.id] = f"{path.stem}-{a.sha256[:12]}{path.suffix}" if shared else path.name
    return names


def dataset_from_project(ws: Workspace, project: Project, *, split: Sequence[float] | None = None,
                         progress: Progress | None = None) -> Dataset:
    """Every asset with its live annotations, tracks and segments; labels in schema order first.

    Assets no format can carry (text) are left out and named in `meta["skipped"]`.
    """
    stored = ws.schemas.current(project.id)
    schema = ws.schemas.current_schema(project.id)
    assets = ws.assets.list(project.id)
    heads = ws.annotations.heads_for_project(project.id)
    names = export_names(assets)
    dataset = Dataset(labels=list(schema.class_names) if schema else [], schema=schema,
                      meta={"project": project.name, "schema_version": stored.version if stored else None,
                            "skipped": []})
    for done, asset in enumerate(assets, 1):
        if asset.modality in MEDIA:
            dataset.items.append(_item(ws, asset, names[asset.id], heads.get(asset.id, [])))
        else:
            dataset.meta["skipped"].append(f"{names[asset.id]}: {asset.modality} assets have no export format")
        if progress is not None:
            progress(done, len(assets))
    dataset.labels = dataset.used_labels()
    if split is not None:
        assign_subsets(dataset.items, split)
    return dataset


def _item(ws: Workspace, asset: Asset, name: str, heads: list[Annotation]) -> Item:
    path = Path(asset.path)
    if asset.storage == "managed" and not path.is_absolute():
        path = ws.root / path
    return Item(name=name, media=asset.modality,  # type: ignore[arg-type]  # checked against MEDIA
                width=asset.width, height=asset.height, frame_count=asset.frame_count, fps=asset.fps,
                duration=asset.duration, sample_rate=asset.sample_rate, channels=asset.channels,
                sha256=asset.sha256, media_path=path,
                annotations=[a for a in heads if a.shape.kind not in TIMELINE_KINDS],
                tracks=[track_from_annotation(a) for a in heads if a.shape.kind == TRACK],
                segments=[segment_from_annotation(a) for a in heads if a.shape.kind == SEGMENT])


def export_project(ws: Workspace, project: Project, fmt: Format, out: Path, *,
                   split: Sequence[float] | None = None,
                   progress: Callable[[str, int, int], None] | None = None) -> ExportReport:
    """Build the project's dataset and write it with `fmt`; items of a media the format does
    not carry are skipped and reported (all of them: an error)."""
    if not fmt.can_export:
        raise ValidationError(f"{fmt.name} can only be imported, not exported", where="format")
    dataset = dataset_from_project(ws, project, split=split, progress=_stage(progress, "reading"))
    skipped = list(dataset.meta.pop("skipped"))
    carried = [i for i in dataset.items if i.media in fmt.media]
    for item in dataset.items:
        if item.media not in fmt.media:
            skipped.append(f"{item.name}: {fmt.name} carries {_media_words(fmt.media)}, not {item.media}")
    if dataset.items and not carried:
        raise ValidationError(f"{fmt.name} carries {_media_words(fmt.media)} and project {project.name!r} "
                              f"has none", where="format")
    dataset.items = carried
    report = fmt.export(dataset, out, progress=_stage(progress, "exporting"))
    return dataclasses.replace(report, skipped=(*skipped, *report.skipped))


def _media_words(media: Iterable[str]) -> str:
    return " and ".join(sorted(media)) or "no media"


def _stage(progress: Callable[[str, int, int], None] | None, name: str) -> Progress | None:
    return None if progress is None else (lambda done, total: progress(name, done, total))


# -- import -------------------------------------------------------------------------------------

@dataclass
class ImportReport:
    project: str
    items: int = 0  # items in the dataset
    matched: int = 0  # items matched to an asset (their annotations were written)
    annotations: int = 0
    tracks: int = 0
    segments: int = 0
    skipped: list[str] = field(default_factory=list)  # "item: why" (no match, several, wrong media)
    mapped: dict[str, int] = field(default_factory=dict)  # old label -> annotations renamed
    unused_map: list[str] = field(default_factory=list)  # --map entries no label needed

    @property
    def shapes(self) -> int:
        return self.annotations + self.tracks + self.segments

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "shapes": self.shapes}


def import_dataset(ws: Workspace, project: Project, dataset: Dataset, *,
                   label_map: Mapping[str, str] | None = None, progress: Progress | None = None,
                   author: str | None = None) -> ImportReport:
    """Write `dataset`'s annotations onto the matching assets, in one transaction.

    Annotations keep their author when the format recorded one; the others (and every track
    and segment) get `author`, by default the workspace user.
    """
    report = ImportReport(project=project.name, items=len(dataset.items),
                          skipped=list(dataset.meta.get("skipped", [])))  # what the reader could not keep
    schema = ws.schemas.current_schema(project.id)
    mapping = _checked_map(label_map or {}, schema)
    assets = ws.assets.list(project.id)
    matcher = _Matcher(assets, export_names(assets))
    pairs: list[tuple[Item, Asset]] = []
    for item in dataset.items:
        asset, problem = matcher.match(item)
        if asset is None:
            report.skipped.append(f"{item.name}: {problem}")
        else:
            pairs.append((item, asset))
    _check_labels([i for i, _ in pairs], schema, mapping, report)
    tasks: dict[int, int] = {}
    for task in ws.tasks.list(project.id):
        tasks.setdefault(task.asset_id, task.id)
    who = author or default_author()
    groups = [(tasks.get(asset.id), _annotations(item, asset.id, who, mapping, _known_tracks(ws, item, asset)))
              for item, asset in pairs]
    saved = ws.annotations.import_groups(groups, progress=progress)
    kinds = Counter(a.shape.kind for a in saved)
    report.matched = len(pairs)
    report.tracks, report.segments = kinds.pop(TRACK, 0), kinds.pop(SEGMENT, 0)
    report.annotations = sum(kinds.values())
    return report


def _checked_map(label_map: Mapping[str, str], schema: LabelSchema | None) -> dict[str, str]:
    for old, new in label_map.items():
        if not old or not new:
            raise ValidationError(f"a label mapping needs both names, got {old!r} -> {new!r}")
        if schema is not None and new not in schema.class_names:
            raise ValidationError(f"cannot map {old!r} to {new!r}: not a label of the project schema "
                                  f"(labels: {', '.join(schema.class_names)})")
    return dict(label_map)


def _check_labels(items: Sequence[Item], schema: LabelSchema | None, mapping: dict[str, str],
                  report: ImportReport) -> None:
    """Unknown labels (after the mapping) stop the import; without a schema any label goes."""
    used = Counter(label for item in items for label in _labels(item))
    report.mapped = {old: used[old] for old in mapping if used[old]}
    report.unused_map = [f"{old}={new}" for old, new in mapping.items() if not used[old]]
    if schema is None:
        return
    known = set(schema.class_names)
    unknown = sorted({mapping.get(label, label) for label in used} - known)
    if unknown:
        raise ValidationError(
            f"labels not in the project schema: {', '.join(unknown)}; map each one to a schema label "
            f"with --map OLD=NEW (schema labels: {', '.join(schema.class_names)})")


def _labels(item: Item) -> Iterable[str]:
    yield from (a.label for a in item.annotations)
    yield from (t.label for t in item.tracks)
    yield from (s.label for s in item.segments if s.label)


def _known_tracks(ws: Workspace, item: Item, asset: Asset) -> dict[str, Annotation]:
    """The asset's stored tracks by track id: a track id names one object in one video, so
    re-importing a file makes new versions of its tracks instead of doubling them."""
    if not item.tracks:
        return {}
    return {a.track_id: a for a in ws.annotations.timeline_for_asset(asset.id)
            if a.shape.kind == TRACK and a.track_id}


def _annotations(item: Item, asset_id: int, author: str, mapping: dict[str, str],
                 known: dict[str, Annotation]) -> list[Annotation]:
    out = [a.replace(asset_id=asset_id, author=a.author or author, label=mapping.get(a.label, a.label))
           for a in item.annotations]
    for track in item.tracks:
        label = mapping.get(track.label, track.label)
        if track.id in known:
            out.append(known[track.id].replace(label=label, shape=TrackShape(track.keyframes), author=author))
        else:
            out.append(track_to_annotation(dataclasses.replace(track, label=label), asset_id=asset_id,
                                           author=author))
    out += [segment_to_annotation(dataclasses.replace(s, label=mapping.get(s.label, s.label)),
                                  asset_id=asset_id, author=author) for s in item.segments]
    return out


class _Matcher:
    """Finds the one asset an item names (see the module doc for the order of the rules)."""

    def __init__(self, assets: Sequence[Asset], names: dict[int, str]) -> None:
        self.by_sha = {a.sha256: a for a in assets}
        self.by_export = {names[a.id]: a for a in assets}
        self.by_base: dict[str, list[Asset]] = {}
        self.by_stem: dict[str, list[Asset]] = {}
        for a in assets:
            base = PurePosixPath(a.original_name.replace("\\", "/")).name
            self.by_base.setdefault(base, []).append(a)
            self.by_stem.setdefault(PurePosixPath(base).stem, []).append(a)

    def match(self, item: Item) -> tuple[Asset | None, str]:
        if item.sha256 and item.sha256 in self.by_sha:
            asset = self.by_sha[item.sha256]
        else:
            found = self._by_name(str(PurePosixPath(item.name.replace("\\", "/"))))  # drops "./"
            if not isinstance(found, Asset):
                return None, found
            asset = found
        if item.media != asset.modality and not (item.media == "audio" and asset.modality == "video"):
            return None, f"a {item.media} item, but the asset it names ({asset.original_name}) is {asset.modality}"
        return asset, ""

    def _by_name(self, name: str) -> Asset | str:
        path = PurePosixPath(name)
        candidates = self.by_base.get(path.name, [])
        if len(candidates) > 1 and len(path.parts) > 1:  # the folders the item names may decide
            candidates = [a for a in candidates if _source(a).endswith("/" + name)] or candidates
        if not candidates and name in self.by_export:
            return self.by_export[name]
        if not candidates and not path.suffix:
            candidates = self.by_stem.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            shown = ", ".join(_source(a) for a in candidates[:3]) + (", ..." if len(candidates) > 3 else "")
            return f"ambiguous: {len(candidates)} assets have this name ({shown})"
        return "no asset in the project has this content or name"


def _source(asset: Asset) -> str:
    return str(asset.extra.get("source_path") or asset.path).replace("\\", "/")
