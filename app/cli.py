"""The `alaya` command line. Errors are one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import platformdirs
import typer

from app.cli_coordinator import coordinator_cli
from app.cli_formats import export, import_annotations
from app.cli_models import models_cli, prelabel
from app.cli_sync import sync
from app.cli_wallet import wallet_cli
from app.context import AppContext
from app.core.errors import AlayaError, LockedSettingError, ValidationError

cli = typer.Typer(name="alaya", help="Alaya Workstation: label images, video and audio for the Alaya network.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
projects_cli = typer.Typer(help="List and create projects.", no_args_is_help=False)
schema_cli = typer.Typer(help="Validate, install and show label schemas.", no_args_is_help=True)
cli.add_typer(projects_cli, name="projects")
cli.add_typer(schema_cli, name="schema")
cli.add_typer(models_cli, name="models")
cli.add_typer(coordinator_cli, name="coordinator")
cli.add_typer(wallet_cli, name="wallet")
cli.command("prelabel")(prelabel)
cli.command("export")(export)
cli.command("import-annotations")(import_annotations)
cli.command("sync")(sync)

INTERNAL_ERROR = 70  # EX_SOFTWARE


def _ctx(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if obj is None:  # built lazily: `--help` must not read settings or open the database
        params = ctx.find_root().params
        obj = AppContext.load(workspace=params.get("workspace"))
        ctx.find_root().obj = obj
        ctx.find_root().call_on_close(obj.close)
    return obj


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@cli.callback()
def root(
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace folder "
                         "(default: ALAYA_HOME, then the settings, then the platform's user data folder).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@cli.command("gui")
def gui(
    ctx: typer.Context,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace folder "
                         "(overrides the one given before the command).")] = None,
) -> None:
    """Start the workstation window."""
    # Qt loads only here, so `alaya --help` and every other command stay Qt-free
    # (the one import the Qt contract in pyproject.toml allows).
    from app.ui.app import run

    if workspace is not None:
        app_ctx = AppContext.load(workspace=workspace)
        ctx.call_on_close(app_ctx.close)
    else:
        app_ctx = _ctx(ctx)
    code = run(app_ctx, sys.argv[:1])
    if code:
        raise typer.Exit(code)


@projects_cli.callback(invoke_without_command=True)
def projects_list(ctx: typer.Context,
                  as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """List the projects in the workspace with their asset and task counts."""
    if ctx.invoked_subcommand is not None:
        return
    ws = _ctx(ctx).workspace
    rows = [{"id": p.id, "name": p.name, "assets": ws.assets.count(p.id), "tasks": ws.tasks.counts(p.id),
             "options": p.options} for p in ws.projects.list()]
    if as_json:
        return _print_json(rows)
    if not rows:
        typer.echo(f"no projects in {ws.root}; create one with `alaya projects create NAME`")
    for r in rows:
        tasks = ", ".join(f"{n} {s}" for s, n in sorted(r["tasks"].items())) or "no tasks"
        typer.echo(f"{r['name']}  ({r['assets']} assets; {tasks})")


@projects_cli.command("create")
def projects_create(
    ctx: typer.Context,
    name: str,
    copy_mode: Annotated[Optional[str], typer.Option(help="copy (managed, content-addressed) or reference")] = None,
    strip_metadata: Annotated[Optional[bool], typer.Option("--strip-metadata/--keep-metadata",
                                                           help="Strip GPS and personal EXIF from copies.")] = None,
) -> None:
    """Create a project."""
    options: dict[str, Any] = {}
    if copy_mode is not None:
        options["copy_mode"] = copy_mode
    if strip_metadata is not None:
        options["strip_private_metadata"] = strip_metadata
    project = _ctx(ctx).workspace.projects.create(name, options=options)
    typer.echo(f"created project {project.name!r} (id {project.id})")


@cli.command("tasks")
def tasks(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", "-p", help="Project name.")],
    state: Annotated[Optional[str], typer.Option(help="Only tasks in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List a project's tasks (asset, kind, state, lease)."""
    ws = _ctx(ctx).workspace
    p = ws.projects.get(project)
    rows = ws.tasks.list(p.id, state=state, limit=limit)
    if as_json:
        return _print_json([r.__dict__ for r in rows])
    counts = ws.tasks.counts(p.id)
    typer.echo(f"{p.name}: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no tasks"))
    for t in rows:
        asset = ws.assets.get(t.asset_id)
        typer.echo(f"  #{t.id:<6} {t.kind:<7} {t.state:<12} {asset.modality:<6} {asset.original_name}")


@schema_cli.command("validate")
def schema_validate(path: Path) -> None:
    """Check a label schema file (YAML or JSON) and summarise it."""
    from app.annotators.ontology import load_schema

    schema = load_schema(path)
    typer.echo(f"{path}: ok, schema {schema.name!r} v{schema.version}, {len(schema.classes)} classes: "
               + ", ".join(schema.class_names))


@schema_cli.command("set")
def schema_set(ctx: typer.Context, path: Path,
               project: Annotated[str, typer.Option("--project", "-p", help="Project name.")]) -> None:
    """Install a label schema file as the project's next schema version."""
    from app.annotators.ontology import load_schema

    schema = load_schema(path)
    ws = _ctx(ctx).workspace
    stored = ws.schemas.add_version(ws.projects.get(project).id, schema)
    typer.echo(f"project {project!r} now uses schema {schema.name!r} (version {stored.version})")


@schema_cli.command("show")
def schema_show(ctx: typer.Context, project: Annotated[str, typer.Option("--project", "-p")],
                version: Annotated[Optional[int], typer.Option(help="Default: the current one.")] = None) -> None:
    """Print a project's label schema as JSON."""
    ws = _ctx(ctx).workspace
    p = ws.projects.get(project)
    stored = ws.schemas.get(p.id, version) if version else ws.schemas.current(p.id)
    if stored is None:
        raise ValidationError(f"project {project!r} has no label schema yet; install one with `alaya schema set`")
    _print_json({"version": stored.version, "content_hash": stored.content_hash, "schema": stored.body})


@cli.command("import")
def import_(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to import (folders recursively).")],
    project: Annotated[str, typer.Option("--project", "-p", help="Project name (created when missing).")],
    copy_mode: Annotated[Optional[str], typer.Option(help="copy (managed) or reference (in place); "
                                                     "default: the project's, then the settings.")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Processes (default: the CPU count).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report on stdout.")] = False,
) -> None:
    """Validate media by decoding it, deduplicate it, and add it to a project with one task per asset."""
    from app.intake import ImportOptions, import_paths

    app_ctx = _ctx(ctx)
    ws, s = app_ctx.workspace, app_ctx.settings.settings
    p = ws.projects.get_or_create(project)
    if copy_mode not in (None, "copy", "reference"):
        raise ValidationError("must be copy or reference", where="--copy-mode")
    options = ImportOptions(
        copy_mode=_effective(app_ctx, "intake.copy_mode", copy_mode, p.options, "--copy-mode"),
        strip_private_metadata=_effective(app_ctx, "intake.strip_private_metadata", None, p.options, ""),
        near_duplicate_threshold=s.intake.near_duplicate_threshold,
        workers=workers or s.intake.workers, max_image_pixels=s.intake.max_image_pixels)
    with _progress_bar(enabled=not as_json) as progress:
        report = import_paths(ws, p, paths, options, progress=progress)
    if as_json:
        return _print_json(report.to_dict())
    _print_import_summary(report)
    if report.found and not report.imported and report.rejected:
        raise typer.Exit(1)


def _effective(app_ctx: AppContext, key: str, flag: Any, project_options: dict[str, Any], flag_name: str) -> Any:
    """Policy lock > command-line flag > project option > settings."""
    loaded = app_ctx.settings
    if loaded.is_locked(key):
        if flag is not None and flag != loaded.get(key):
            raise LockedSettingError(f"{flag_name} cannot be used: {loaded.lock_reason(key)}")
        return loaded.get(key)
    if flag is not None:
        return flag
    return project_options.get(key.split(".", 1)[1], loaded.get(key))


def _print_import_summary(report: Any) -> None:
    typer.echo(f"{report.project}: {len(report.imported)} imported, {len(report.rejected)} rejected, "
               f"{len(report.duplicates)} duplicates skipped, {len(report.near_duplicates)} near duplicates "
               f"(of {report.found} files)")
    for r in report.rejected:
        typer.echo(f"  rejected  {r['path']}: {r['reason']}")
    for d in report.duplicates:
        typer.echo(f"  duplicate {d['path']} = {d['duplicate_of']}")
    for d in report.near_duplicates:
        typer.echo(f"  similar   {d['path']} ~ {d['similar_to']} ({d['distance_bits']} bits apart)")
    for f in report.unreadable_folders:
        typer.echo(f"  unreadable folder {f['path']}: {f['reason']}")


@contextmanager
def _progress_bar(*, enabled: bool) -> Iterator[Any]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        yield None
        return
    with Progress(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def main(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(cli)
    try:
        # without standalone mode click returns a command's `typer.Exit(code)` instead of raising it
        code = command.main(args=argv, prog_name="alaya", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except AlayaError as exc:
        typer.echo(f"alaya: error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("alaya: interrupted", err=True)
        return 130
    except typer.TyperException as exc:  # usage errors: typer prints usage and the problem
        exc.show()
        return exc.exit_code
    except Exception as exc:  # a bug: one line on screen, the traceback in a log file
        log = Path(platformdirs.user_log_dir("alaya", appauthor=False)) / "crash.log"
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(traceback.format_exc())
            where = f" (details in {log})"
        except OSError:
            where = ""
        typer.echo(f"alaya: internal error: {type(exc).__name__}: {exc}{where}", err=True)
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
