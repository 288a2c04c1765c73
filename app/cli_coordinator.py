"""`alaya coordinator serve`: the service this workstation syncs to, from the same command.

The `coordinator` package is imported only inside the command (rule 12: `app` does not depend
on the coordinator; import-linter allows this one lazy edge).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from app.core.errors import ValidationError

coordinator_cli = typer.Typer(help="The coordinator service (data requests, leases, consensus, credits).",
                              no_args_is_help=True)


@coordinator_cli.command("serve")
def serve(
    db: Annotated[str, typer.Option("--db", help="Database URL: sqlite:///coordinator.sqlite3 (default) "
                                    "or postgresql+psycopg://user:pass@host/db.")] = "sqlite:///coordinator.sqlite3",
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8470,
    storage: Annotated[Optional[Path], typer.Option("--storage", help="Folder for uploaded assets.")] = None,
    domain: Annotated[Optional[str], typer.Option("--domain", help="The domain sign-in messages must name "
                                                  "(default host:port).")] = None,
    chain_id: Annotated[int, typer.Option("--chain-id", help="Chain id sign-in messages must name.")] = 31337,
    admin: Annotated[Optional[list[str]], typer.Option("--admin", help="Address that gets the admin role.")] = None,
    chain_rpc: Annotated[Optional[str], typer.Option("--chain-rpc", help="Chain node URL: tiers read from chain, "
                         "vouchers signed, epochs anchored (needs --contracts and a key).")] = None,
    contracts: Annotated[Optional[Path], typer.Option("--contracts", help="JSON file of the six contract "
                         "addresses.")] = None,
    signer_keystore: Annotated[Optional[Path], typer.Option("--signer-keystore", help="Keystore v3 file of the "
                               "voucher key (password: ALAYA_COORDINATOR_SIGNER_PASSWORD or "
                               "--signer-password-fd); without it the key is ALAYA_COORDINATOR_SIGNER_KEY.")] = None,
    signer_password_fd: Annotated[Optional[int], typer.Option("--signer-password-fd", min=0, help="Read the "
                                  "keystore's password from this file descriptor.")] = None,
    chain_poa: Annotated[bool, typer.Option("--chain-poa", help="The chain is PoA (BSC, Polygon).")] = False,
    chain_from_block: Annotated[int, typer.Option("--chain-from-block", min=0, help="The block the contracts were "
                                "deployed in: event searches start there.")] = 0,
) -> None:
    """Serve the coordinator API (OpenAPI at /openapi.json, docs at /docs)."""
    from coordinator.chain.config import ChainConfigError
    from coordinator.config import CoordinatorConfig
    from coordinator.server import chain_settings, default_storage, serve as run

    where = domain or f"{host}:{port}"
    try:
        chain = None if chain_rpc is None else chain_settings(chain_rpc, contracts, signer_keystore,
                                                              signer_password_fd, poa=chain_poa,
                                                              deployed_at_block=chain_from_block)
        config = CoordinatorConfig(db_url=db, storage_dir=storage or default_storage(db), domain=where,
                                   uri=f"http://{where}", chain_id=chain_id, admin_addresses=tuple(admin or ()),
                                   chain=chain)
        run(config, host=host, port=port)
    except ChainConfigError as exc:  # one line, never the key
        raise ValidationError(str(exc), where="chain") from None
