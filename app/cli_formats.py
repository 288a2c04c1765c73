"""`alaya export` and `alaya import-annotations`: a project to and from interchange formats.

Both print one summary line (items, shapes, skipped with the reasons below it) and show a
progress bar on stderr when it is a terminal, unless `--quiet`. Bad input is one error line
and a non-zero exit (the format names the file and the line or field); an import that fails
writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from app.core.errors import NotFoundError, ValidationError
from app.formats.registry import names as format_names

SHOWN_SKIPS = 20  # more go to --json

_FORMAT_HELP = "Format: " + ", ".join(format_names()) + "."
_QUIET_HELP = "No progress bar."
_JSON_HELP = "Machine-readable report on stdout."


def _app(ctx: typer.Context) -> Any:
    from app.cli import _ctx  # app.cli registers this module, so import it only when running

    return _ctx(ctx)


def export(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", "-p", help="Project name.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=_FORMAT_HELP)],
    out: Annotated[Path, typer.Option("--out", "-o", help="File or folder to write (as the format is).")],
    split: Annotated[Optional[str], typer.Option(help="train/val/test ratios, e.g. 0.8/0.1/0.1; "
                                                 "assigned by content hash, the same on every export.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Write a project's annotations, tracks and segments in an interchange format."""
    from app.cli import _print_json, _progress_bar
    from app.formats import registry
    from app.formats.project_io import export_project
    from app.formats.splits import parse_split

    ratios = parse_split(split) if split is not None else None
    chosen = registry.get(fmt)
    ws = _app(ctx).workspace
    p = ws.projects.get(project)
    with _progress_bar(enabled=not (quiet or as_json)) as progress:
        report = export_project(ws, p, chosen, out, split=ratios, progress=progress)
    if as_json:
        return _print_json({"project": p.name, "format": chosen.name, "files": [str(f) for f in report.files],
                            "items": report.items, "shapes": report.shapes, "skipped": list(report.skipped)})
    typer.echo(f"{p.name}: exported {report.items} items, {report.shapes} shapes as {chosen.name} to {out}; "
               f"{len(report.skipped)} skipped")
    _print_skipped(report.skipped)


def import_annotations(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The file or folder to read.")],
    project: Annotated[str, typer.Option("--project", "-p", help="Project name.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=_FORMAT_HELP)],
    mapping: Annotated[Optional[list[str]], typer.Option(
        "--map", help="OLD=NEW: store the file's label OLD as the schema label NEW (repeat it).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Add annotations from a file onto the project's assets, all or nothing."""
    from app.cli import _print_json, _progress_bar
    from app.formats import registry
    from app.formats.project_io import import_dataset

    label_map = parse_map(mapping or [])
    chosen = registry.get(fmt)
    if not chosen.can_import:
        raise ValidationError(f"{chosen.name} can only be exported, not imported", where="--format")
    ws = _app(ctx).workspace
    p = ws.projects.get(project)
    if not path.exists():
        raise NotFoundError(f"no such file or folder: {path}")
    with _progress_bar(enabled=not (quiet or as_json)) as progress:
        dataset = _load(chosen, path)
        stage = None if progress is None else (lambda done, total: progress("importing", done, total))
        report = import_dataset(ws, p, dataset, label_map=label_map, progress=stage)
    if as_json:
        return _print_json({"format": chosen.name, **report.to_dict()})
    typer.echo(f"{p.name}: imported {report.shapes} shapes ({report.annotations} annotations, {report.tracks} "
               f"tracks, {report.segments} segments) onto {report.matched} of {report.items} items from "
               f"{path} ({chosen.name}); {len(report.skipped)} skipped")
    for old, count in report.mapped.items():
        typer.echo(f"  mapped    {old} -> {label_map[old]} ({count})")
    for entry in report.unused_map:
        typer.echo(f"  unused    --map {entry}: no such label in the file")
    _print_skipped(report.skipped)
    if report.items and not report.matched:
        raise typer.Exit(1)


def parse_map(entries: list[str]) -> dict[str, str]:
    """["old=new", ...] -> {"old": "new"}; each OLD once."""
    out: dict[str, str] = {}
    for entry in entries:
        old, sep, new = entry.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValidationError(f"expected OLD=NEW, got {entry!r}", where="--map")
        if old.strip() in out:
            raise ValidationError(f"{old.strip()!r} is mapped twice", where="--map")
        out[old.strip()] = new.strip()
    return out


def _load(fmt: Any, path: Path) -> Any:
    try:
        return fmt.load(path)
    except (OSError, UnicodeDecodeError) as exc:  # a format should say this itself; never a traceback
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ValidationError(f"cannot read: {reason}", where=str(path)) from exc


def _print_skipped(skipped: Any) -> None:
    for entry in list(skipped)[:SHOWN_SKIPS]:
        typer.echo(f"  skipped   {entry}")
    if len(skipped) > SHOWN_SKIPS:
        typer.echo(f"  ... and {len(skipped) - SHOWN_SKIPS} more (--json lists them all)")
