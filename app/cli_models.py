"""`alaya models ...` and `alaya prelabel`: the pre-labelers from the command line.

`prelabel` prompts each image with the boxes of its salient regions (a classical detector,
`grabcut.salient_boxes`) and lets the model cut each one out; `--everything` asks the model
for its own "segment everything" instead (SAM's automatic masks; for GrabCut the same
salient-box prompts). Each asset's proposals are saved in one transaction, with source
"model", the model id as author and the model's score as confidence.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from app.core.errors import AlayaError, ValidationError

models_cli = typer.Typer(help="Pre-labelers: list them, and how humans judged their proposals.",
                         no_args_is_help=True)


def _app(ctx: typer.Context) -> Any:
    from app.cli import _ctx  # app.cli registers this module, so import it only when running

    return _ctx(ctx)


@models_cli.command("list")
def models_list(ctx: typer.Context) -> None:
    """The pre-labelers this installation knows, and which one `prelabel` uses and why."""
    from app.models.registry import ENTRIES, choose

    prelabel = _app(ctx).settings.settings.prelabel
    active = choose(prelabel)
    for e in ENTRIES:
        mark = "*" if e.id == active.entry.id else " "
        prompts = ",".join(sorted(k.value for k in e.prompt_kinds))
        weights = "needs a checkpoint" if e.needs_checkpoint else "no weights"
        typer.echo(f"{mark} {e.id:<10} {e.name:<34} prompts: {prompts:<16} outputs: "
                   f"{','.join(e.outputs):<16} {weights}")
    typer.echo(f"active: {active.entry.id} ({active.reason})")


@models_cli.command("stats")
def models_stats(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", "-p", help="Project name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Acceptance of model proposals per class and model, and the classes ready for verify-only."""
    from app.editing.outcomes import record_outcomes
    from app.models.feedback import verify_only_classes

    app_ctx = _app(ctx)
    ws, settings = app_ctx.workspace, app_ctx.settings.settings.prelabel
    p = ws.projects.get(project)
    judged = record_outcomes(ws, p.id)
    rows = ws.feedback.stats(p.id)
    verify = verify_only_classes(rows, settings.verify_only_threshold, settings.verify_only_min_proposals)
    if as_json:
        from app.cli import _print_json

        return _print_json({"rows": [r.__dict__ for r in rows], "verify_only": verify,
                            "threshold": settings.verify_only_threshold,
                            "min_proposals": settings.verify_only_min_proposals})
    typer.echo(f"{p.name}: {judged} proposals judged from submitted tasks")
    typer.echo(f"{'label':<20} {'model':<10} {'proposals':>9} {'accepted':>8} {'edited':>6} "
               f"{'deleted':>7} {'accept':>7} {'mean IoU':>8}")
    for r in rows:
        mean = "-" if r.mean_iou is None else f"{r.mean_iou:.3f}"
        typer.echo(f"{r.label:<20} {r.model:<10} {r.proposals:>9} {r.accepted:>8} {r.edited:>6} "
                   f"{r.deleted:>7} {r.accept_rate:>7.1%} {mean:>8}")
    if not rows:
        typer.echo("(no judged proposals yet: proposals count once their task is submitted)")
    typer.echo(f"verify-only (accepted unchanged >= {settings.verify_only_threshold:.0%} over >= "
               f"{settings.verify_only_min_proposals} proposals): " + (", ".join(verify) or "none yet"))


def prelabel(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", "-p", help="Project name.")],
    model: Annotated[Optional[str], typer.Option(help="Pre-labeler id (default: the settings').")] = None,
    output: Annotated[str, typer.Option(help="mask, polygon or box.")] = "polygon",
    label: Annotated[str, typer.Option(help="Label given to the proposals.")] = "object",
    everything: Annotated[bool, typer.Option("--everything", help="The model's own segment-everything "
                                             "mode instead of salient-region prompts.")] = False,
    tolerance: Annotated[Optional[float], typer.Option(min=0.0, help="Polygon simplification in "
                                                       "pixels (default: 0.5).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many proposals per image.")] = 8,
) -> None:
    """Store model proposals (source=model, with confidence) for every image of a project."""
    from app.cli import _progress_bar
    from app.models.registry import create

    if output not in ("mask", "polygon", "box"):
        raise ValidationError("must be mask, polygon or box", where="--output")
    app_ctx = _app(ctx)
    ws = app_ctx.workspace
    p = ws.projects.get(project)
    labeler = create(app_ctx.settings.settings.prelabel, model)
    assets = ws.assets.list(p.id, modality="image")
    tasks = {t.asset_id: t.id for t in ws.tasks.list(p.id)}
    counts = {"proposals": 0, "assets": 0, "skipped": 0, "failed": 0}
    with _progress_bar(enabled=True) as progress:
        for done, asset in enumerate(assets, 1):
            if any(a.source == "model" and a.author == labeler.id for a in ws.annotations.for_asset(asset.id)):
                counts["skipped"] += 1  # pre-labeled already: running twice must not duplicate
            else:
                try:
                    anns = _proposals_for(ws, asset, labeler, output, label, everything, tolerance, limit)
                except AlayaError as exc:  # one bad image must not stop the rest
                    typer.echo(f"  {asset.original_name}: {exc}", err=True)
                    counts["failed"] += 1
                else:
                    ws.annotations.save_many(anns, task_id=tasks.get(asset.id))
                    counts["proposals"] += len(anns)
                    counts["assets"] += 1
            if progress:
                progress("prelabel", done, len(assets))
    typer.echo(f"{p.name}: {counts['proposals']} proposals from {labeler.id} on {counts['assets']} images "
               f"({counts['skipped']} already pre-labeled, {counts['failed']} failed)")
    if counts["failed"] and not counts["assets"]:
        raise typer.Exit(1)


def _proposals_for(ws: Any, asset: Any, labeler: Any, output: str, label: str, everything: bool,
                   tolerance: float | None, limit: int) -> list[Any]:
    from app.annotators.masks import DEFAULT_TOLERANCE
    from app.media.raster_io import decode_full, read_info
    from app.models.base import Prompt
    from app.models.grabcut import salient_boxes, to_bgr8
    from app.models.outputs import proposal_to_annotation

    image = decode_full(read_info(asset.media_path(ws.root)))
    if everything and hasattr(labeler, "segment_everything"):
        proposals = labeler.segment_everything(image)
    else:
        state = labeler.prepare(image)
        proposals = [best for box in salient_boxes(to_bgr8(image), limit=limit)
                     for best in labeler.propose(state, Prompt(box=box))[:1]]
    tol = DEFAULT_TOLERANCE if tolerance is None else tolerance
    anns = [proposal_to_annotation(pr, asset.id, label, output, tolerance=tol)
            for pr in sorted(proposals, key=lambda pr: -pr.score)[:limit]]
    return [a for a in anns if a is not None]
