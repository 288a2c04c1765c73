"""`alaya sync [--once]`: push the queued submissions and lease offline work, from a terminal.

The signing key comes from an eth-account keystore v3 file (`--keystore`); its passphrase
from a prompt or a file descriptor (`--passphrase-fd`), never from the command line. The
wallet of issue 8 plugs in behind the same `Signer` protocol.
Exit status with --once: 0 when everything due was sent, 8 when a sync error remains.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from app.core.errors import ValidationError
from app.sync.status import Phase, SyncStatus


def _ctx(ctx: typer.Context) -> Any:
    from app.cli import _ctx  # app.cli registers this module, so import it only when running

    return _ctx(ctx)


def read_passphrase(fd: int | None, keystore: Path) -> str:
    """From the descriptor (its first line), else a hidden prompt."""
    if fd is None:
        return typer.prompt(f"Passphrase for {keystore}", hide_input=True)
    try:
        with os.fdopen(fd, "r", encoding="utf-8", closefd=True) as handle:
            return handle.readline().rstrip("\r\n")
    except OSError as exc:
        raise ValidationError(f"cannot read the passphrase: {exc.strerror or exc}", where="--passphrase-fd") from None


def _printer() -> Callable[[SyncStatus], None]:
    """Prints each new state on stderr once (not every idle cycle, not the "syncing" blips)."""
    last: list[tuple[object, ...]] = []

    def show(status: SyncStatus) -> None:
        key = (status.phase, status.queued, status.attention, status.last_error, status.last_success)
        if status.phase is not Phase.syncing and key not in last[-1:]:
            last.append(key)
            typer.echo(f"sync: {status.summary()}", err=True)

    return show


def sync(
    ctx: typer.Context,
    keystore: Annotated[Path, typer.Option("--keystore", help="Wallet key: an Ethereum keystore v3 JSON file.")],
    passphrase_fd: Annotated[Optional[int], typer.Option(
        "--passphrase-fd", min=0, help="Read the keystore's passphrase from this file descriptor (default: prompt).",
    )] = None,
    once: Annotated[bool, typer.Option("--once", help="One cycle (send, then lease), then exit.")] = False,
    url: Annotated[Optional[str], typer.Option("--url", help="Coordinator URL (default: sync.coordinator_url).")
                   ] = None,
    no_pull: Annotated[bool, typer.Option("--no-pull", help="Only send; lease no new work.")] = False,
) -> None:
    """Send queued submissions to the coordinator and lease work for offline use."""
    from app.sync.engine import SyncConfig, Syncer
    from app.sync.signer import keystore_signer

    app_ctx = _ctx(ctx)
    config = SyncConfig.from_settings(app_ctx.settings.settings.sync, url=url)
    signer = keystore_signer(keystore, read_passphrase(passphrase_fd, keystore))
    syncer = Syncer(app_ctx.workspace, signer, config, pull=not no_pull)
    syncer.board.changed.subscribe(_printer())
    if once:
        status = syncer.run_once()
        if status.last_error and status.phase.value != "online":
            raise typer.Exit(8)
        return
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: (stop.set(), syncer.sync_now()))
    try:
        syncer.run(stop)
    except KeyboardInterrupt:
        typer.echo("sync: stopped", err=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
