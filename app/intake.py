"""`alaya import`: media files -> validated, deduplicated assets with one task each.

Validation (decode, SHA-256, perceptual hash) runs in `app.media.scan`'s process pool;
this module does what must happen in one place: deduplication against the batch and the
project, managed copies, and the store writes. Managed copies are made durable before the
rows that point at them are committed, so a crash leaves at worst an unreferenced blob.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import MediaError, StorageError
from app.media.discover import discover_files
from app.media.hashing import hamming, near_duplicate_groups, sha256_bytes
from app.media.metadata import scrub_bytes
from app.media.probe import MediaInfo, Rejection
from app.media.scan import scan_files
from app.store.assets import NewAsset
from app.store.records import Project
from app.store.workspace import Workspace

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BATCH = 500  # assets per store transaction
_METADATA_FIELDS = ("mime", "width", "height", "bit_depth", "frame_count", "fps", "time_base", "duration",
                    "sample_rate", "phash", "format", "codec", "container", "keyframe_count", "frame_rate",
                    "rotation", "exif_orientation", "has_gps", "encoding", "char_count", "line_count")


@dataclass(frozen=True)
class ImportOptions:
    copy_mode: str = "copy"  # "copy": content-addressed copy in the workspace; "reference": path in place
    strip_private_metadata: bool = True
    near_duplicate_threshold: int = 6
    workers: int | None = None
    max_image_pixels: int | None = None
    # JPEGs are validated with libjpeg's DCT-domain 1/2 scaling: every byte is still
    # entropy-decoded (where truncation and corruption show), only the full-size inverse DCT
    # and colour conversion are skipped. 2.5x faster; dimensions come from the header.
    jpeg_scale: int = 2


@dataclass
class ImportReport:
    project: str
    found: int = 0
    imported: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # exact: same SHA-256, not imported again
    near_duplicates: list[dict[str, Any]] = field(default_factory=list)  # imported, and reported
    unreadable_folders: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_paths(ws: Workspace, project: Project, roots: Sequence[Path], options: ImportOptions,
                 progress: Progress | None = None) -> ImportReport:
    """Validate, deduplicate and store; batches are stored while later files are still validated."""
    report = ImportReport(project=project.name)
    files = list(discover_files(roots, on_error=lambda p, e: report.unreadable_folders.append(
        {"path": str(p), "reason": e.strerror or str(e)})))
    report.found = len(files)
    existing_phashes = ws.assets.phashes(project.id)  # before this import adds any
    scan_opts: dict[str, Any] = {"workers": options.workers, "progress": _stage(progress, "validating"),
                                 "jpeg_scale": options.jpeg_scale}
    if options.max_image_pixels:
        scan_opts["max_pixels"] = options.max_image_pixels
    first_seen: dict[str, Path] = {}
    accepted: list[MediaInfo] = []
    batch: list[MediaInfo] = []
    for _, result in scan_files(files, **scan_opts):
        if isinstance(result, Rejection):
            report.rejected.append({"path": str(result.path), "reason": result.reason})
        elif result.sha256 in first_seen:
            report.duplicates.append({"path": str(result.path), "duplicate_of": str(first_seen[result.sha256])})
        else:
            first_seen[result.sha256] = result.path
            batch.append(result)
            if len(batch) >= BATCH:
                accepted += _store_batch(ws, project, batch, options, report)
                batch = []
    accepted += _store_batch(ws, project, batch, options, report)
    _report_near_duplicates(existing_phashes, accepted, options.near_duplicate_threshold, report)
    return report


def _stage(progress: Progress | None, name: str) -> Callable[[int, int], None] | None:
    return None if progress is None else (lambda done, total: progress(name, done, total))


def _store_batch(ws: Workspace, project: Project, batch: list[MediaInfo], options: ImportOptions,
                 report: ImportReport) -> list[MediaInfo]:
    """Copies first, made durable, then the rows in one transaction; returns what was new."""
    if not batch:
        return []
    known = ws.assets.by_sha256(project.id, [i.sha256 for i in batch])
    fresh = []
    for info in batch:
        if info.sha256 in known:
            report.duplicates.append({"path": str(info.path), "duplicate_of": f"asset {known[info.sha256].id}"})
        else:
            fresh.append(info)
    new_assets = [_store_media(ws, info, options) for info in fresh]
    _sync_files(options)
    for asset in ws.assets.add_many(project.id, new_assets):
        report.imported.append({"path": asset.extra.get("source_path", asset.path), "asset_id": asset.id,
                                "sha256": asset.sha256, "modality": asset.modality})
    return fresh


def _report_near_duplicates(existing: dict[int, str], accepted: list[MediaInfo], threshold: int,
                            report: ImportReport) -> None:
    """Pairs within `threshold` bits, among the new files and against the project's assets."""
    labels = [f"asset {asset_id}" for asset_id in existing] + [str(i.path) for i in accepted]
    hashes = list(existing.values()) + [i.phash for i in accepted]
    n_existing = len(existing)
    for group in near_duplicate_groups(hashes, threshold):
        if all(k < n_existing for k in group):
            continue  # only old assets: reported when they were imported
        anchor = group[0]
        for k in group[1:]:
            if k >= n_existing:
                report.near_duplicates.append({"path": labels[k], "similar_to": labels[anchor],
                                               "distance_bits": hamming(hashes[k], hashes[anchor])})


def _store_media(ws: Workspace, info: MediaInfo, options: ImportOptions) -> NewAsset:
    metadata = {k: getattr(info, k) for k in _METADATA_FIELDS if getattr(info, k, None) is not None}
    metadata["channels"] = info.audio_channels if info.modality in ("audio", "video") else info.channels
    metadata["source_path"] = str(info.path)
    if info.warnings:
        metadata["warnings"] = list(info.warnings)
    if options.copy_mode == "reference":
        path, size = str(info.path.resolve()), info.size_bytes
    else:
        path, size, scrubbed = _managed_copy(ws, info, options.strip_private_metadata)
        if scrubbed:
            metadata["removed_metadata"] = scrubbed
    return NewAsset(sha256=info.sha256, modality=info.modality, storage="managed" if options.copy_mode == "copy"
                    else "reference", path=path, original_name=info.path.name, size_bytes=size, metadata=metadata)


def _managed_copy(ws: Workspace, info: MediaInfo, strip: bool) -> tuple[str, int, list[str]]:
    """Copy into blobs/ab/cd/<sha256><ext>; images lose private metadata when asked."""
    rel = Path(info.sha256[:2]) / info.sha256[2:4] / (info.sha256 + info.path.suffix.lower())
    target = ws.blobs_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    removed: list[str] = []
    try:
        if strip and info.modality == "image":
            data = info.path.read_bytes()
            if sha256_bytes(data) != info.sha256:
                raise MediaError(f"{info.path} changed while it was being imported")
            try:
                out, scrub = scrub_bytes(data)
                removed = list(scrub.removed)
            except MediaError:
                out = data  # a format we cannot rewrite keeps its bytes; validation already passed
            tmp.write_bytes(out)
        else:
            shutil.copyfile(info.path, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot copy {info.path} into the workspace: {exc.strerror or exc}") from exc
    return str(Path("blobs") / rel), target.stat().st_size, removed


def _sync_files(options: ImportOptions) -> None:
    # One sync per batch instead of one fsync per file: the rows that name these blobs are
    # committed only after it, so a crash cannot leave a row pointing at a missing file.
    if options.copy_mode == "copy" and hasattr(os, "sync"):
        os.sync()
