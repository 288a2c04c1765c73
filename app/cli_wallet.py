"""`alaya wallet ...`: create, import and inspect the workspace's wallet from the command line.

Secrets never come from argv (it is visible to every user in the process list and lands in
shell history): a passphrase, recovery phrase or private key is read from a hidden prompt or,
for automation, from a file descriptor (`--passphrase-fd 3 3<file`), first line only.
The recovery phrase of a new wallet is printed once, then the user types back a few of its
words. With a real OS keychain (and no `--passphrase-fd`/`--ask-passphrase`) the wallet
password is generated and kept there; otherwise the user sets a passphrase.
`alaya wallet chain [NAME]` shows or switches the chain of this workspace: it is written to
`<workspace>/settings.toml`, so other workspaces keep theirs.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, Optional

import typer

from app.core.errors import ValidationError
from app.core.settings import LoadedSettings, Source, save_workspace_settings
from app.wallet.chains import Chain, get_chain, load_chains
from app.wallet.keys import check_confirmation, confirmation_positions, new_mnemonic
from app.wallet.wallet import Wallet, check_passphrase

wallet_cli = typer.Typer(help="The wallet: create or import keys, list accounts, lock.", no_args_is_help=True)
accounts_cli = typer.Typer(help="The wallet's accounts (BIP-44 indices).", no_args_is_help=False)
wallet_cli.add_typer(accounts_cli, name="accounts")

FdOption = Annotated[Optional[int], typer.Option(min=0, help="Read it from this file descriptor (first line).")]
PassphraseFd = Annotated[Optional[int], typer.Option("--passphrase-fd", min=0,
                         help="Read the wallet passphrase from this file descriptor instead of a prompt.")]
AskPassphrase = Annotated[bool, typer.Option("--ask-passphrase", help="Protect the wallet with a passphrase "
                          "even when an OS keychain exists.")]


def _wallet(ctx: typer.Context) -> tuple[Wallet, Any]:
    from app.cli import _ctx  # app.cli registers this module, so import it only when running

    app_ctx = _ctx(ctx)
    return app_ctx.wallet, app_ctx.settings.settings


def read_fd(fd: int, what: str) -> str:
    """The first line readable from `fd`, without its line ending."""
    try:
        with os.fdopen(os.dup(fd), "r", encoding="utf-8") as handle:
            line = handle.readline()
    except OSError as exc:
        raise ValidationError(f"cannot read {what} from file descriptor {fd}: {exc.strerror}") from None
    value = line.rstrip("\r\n")
    if not value:
        raise ValidationError(f"file descriptor {fd} gave an empty {what}")
    return value


def _secret(fd: int | None, prompt: str, what: str, *, confirm: bool = False) -> str:
    if fd is not None:
        return read_fd(fd, what)
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)


def _new_password(wallet: Wallet, fd: int | None, ask: bool) -> str | None:
    """None: keep a generated password in the keychain; else the passphrase the user sets."""
    if fd is None and not ask and wallet.keychain is not None:
        return None
    passphrase = _secret(fd, "New wallet passphrase", "passphrase", confirm=True)
    check_passphrase(passphrase)
    return passphrase


def _unlock(wallet: Wallet, fd: int | None) -> None:
    if wallet.record().protected_by == "passphrase":
        wallet.unlock(_secret(fd, "Wallet passphrase", "passphrase"))
    else:
        wallet.unlock()


@wallet_cli.command("create")
def create(ctx: typer.Context, passphrase_fd: PassphraseFd = None, ask_passphrase: AskPassphrase = False,
           confirm_words: Annotated[int, typer.Option(min=1, max=24, help="Words to type back.")] = 3) -> None:
    """Create a wallet: a new 24-word recovery phrase, shown once and confirmed."""
    wallet, settings = _wallet(ctx)
    if wallet.exists():
        raise ValidationError(f"{wallet.folder} already holds a wallet; it was left as it is")
    password = _new_password(wallet, passphrase_fd, ask_passphrase)
    mnemonic = new_mnemonic()
    typer.echo("Your recovery phrase (write it down now; it is shown only this once and never stored):\n")
    for row in range(0, 24, 6):
        typer.echo("  " + "  ".join(f"{n + 1:>2}. {w:<9}" for n, w in enumerate(mnemonic.split()[row:row + 6], row)))
    positions = confirmation_positions(confirm_words)
    typer.echo(f"\nType back words {', '.join(map(str, positions))} to confirm you wrote it down.")
    check_confirmation(mnemonic, {p: typer.prompt(f"word {p}", err=True) for p in positions})
    record = wallet.create_from_mnemonic(mnemonic, password=password)
    wallet.lock()  # a command never leaves the wallet open
    _print_summary(wallet, record, settings, "created")


@wallet_cli.command("import")
def import_(
    ctx: typer.Context,
    mnemonic: Annotated[bool, typer.Option("--mnemonic", help="Import a recovery phrase (BIP-39).")] = False,
    private_key: Annotated[bool, typer.Option("--private-key", help="Import a raw private key (hex).")] = False,
    keystore: Annotated[Optional[typer.FileBinaryRead], typer.Option(help="Import a keystore v3 JSON file.")] = None,
    secret_fd: Annotated[Optional[int], typer.Option(min=0, help="Read the phrase, key or the keystore's "
                         "password from this file descriptor.")] = None,
    bip39_passphrase: Annotated[bool, typer.Option("--bip39-passphrase", help="The phrase has a BIP-39 "
                                "passphrase (asked for, or read from --bip39-passphrase-fd).")] = False,
    bip39_passphrase_fd: FdOption = None,
    passphrase_fd: PassphraseFd = None, ask_passphrase: AskPassphrase = False,
) -> None:
    """Import a wallet from a recovery phrase, a private key or a keystore file."""
    if sum((mnemonic, private_key, keystore is not None)) != 1:
        raise ValidationError("give exactly one of --mnemonic, --private-key, --keystore FILE")
    wallet, settings = _wallet(ctx)
    if wallet.exists():
        raise ValidationError(f"{wallet.folder} already holds a wallet; it was left as it is")
    if keystore is not None:
        document = keystore.read(1 << 20)
        secret = _secret(secret_fd, "Password of the keystore file", "keystore password")
        password = _new_password(wallet, passphrase_fd, ask_passphrase)
        record = wallet.import_keystore(document, secret, password=password)
    elif private_key:
        secret = _secret(secret_fd, "Private key (hex)", "private key")
        record = wallet.import_private_key(secret, password=_new_password(wallet, passphrase_fd, ask_passphrase))
    else:
        secret = _secret(secret_fd, "Recovery phrase", "recovery phrase")
        extra = ""
        if bip39_passphrase or bip39_passphrase_fd is not None:
            extra = _secret(bip39_passphrase_fd, "BIP-39 passphrase", "BIP-39 passphrase")
        password = _new_password(wallet, passphrase_fd, ask_passphrase)
        record = wallet.create_from_mnemonic(secret, bip39_passphrase=extra, password=password)
    wallet.lock()
    _print_summary(wallet, record, settings, "imported")


@wallet_cli.command("show")
def show(ctx: typer.Context,
         as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """The wallet's addresses, chain and protection; never a secret."""
    wallet, settings = _wallet(ctx)
    _print_summary(wallet, wallet.record(), settings, None, as_json=as_json)


@wallet_cli.command("lock")
def lock(ctx: typer.Context, passphrase_fd: PassphraseFd = None) -> None:
    """Keep the wallet locked at rest: take its password out of the OS keychain and ask for a
    passphrase (set now) at every unlock. A command never leaves the wallet unlocked."""
    wallet, _ = _wallet(ctx)
    record = wallet.record()
    if record.protected_by == "passphrase":
        typer.echo("the wallet is locked: its passphrase is asked at every unlock, and no command keeps it open")
        return
    wallet.unlock()
    try:
        wallet.require_passphrase(_secret(passphrase_fd, "New wallet passphrase", "passphrase", confirm=True))
    finally:
        wallet.lock()
    typer.echo("the wallet is locked: its password left the OS keychain; your passphrase unlocks it from now on")


@wallet_cli.command("chain")
def chain(ctx: typer.Context,
          name: Annotated[Optional[str], typer.Argument(help="Switch this workspace to this chain.")] = None,
          as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show this workspace's chain and the chains known; with NAME, switch this workspace to it."""
    from app.cli import _ctx  # as in _wallet; no wallet is needed to choose a chain

    app_ctx = _ctx(ctx)
    if name is None:
        _print_chains(app_ctx.settings, load_chains(), as_json=as_json)
        return
    target = get_chain(name)  # an unknown name is refused with the list of known chains
    updated = app_ctx.settings.update("wallet.chain", target.key, scope="workspace")  # a lock says why
    path = save_workspace_settings(updated)
    app_ctx.settings = updated
    typer.echo(f"this workspace now uses {target.name} ({target.key}, chain id {target.chain_id}); saved in {path}")
    origin = updated.origin("wallet.chain")
    if origin.source is not Source.WORKSPACE:  # the environment or the command line still win
        typer.echo(f"note: {origin.where} sets the chain to {updated.get('wallet.chain')} while it is set", err=True)


_ORIGIN_WORDS = {Source.DEFAULT: "the built-in default", Source.POLICY_DEFAULT: "the administrator's default in",
                 Source.USER: "your settings file", Source.WORKSPACE: "this workspace's settings file",
                 Source.ENV: "the environment variable", Source.CLI: "the", Source.POLICY: "locked by"}


def _print_chains(loaded: LoadedSettings, chains: dict[str, Chain], *, as_json: bool) -> None:
    current, origin = loaded.get("wallet.chain"), loaded.origin("wallet.chain")
    if as_json:
        rows = [{"key": c.key, "chain_id": c.chain_id, "name": c.name, "testnet": c.testnet} for c in chains.values()]
        typer.echo(json.dumps({"chain": current, "source": str(origin.source), "where": origin.where,
                               "locked": loaded.is_locked("wallet.chain"), "chains": rows}, indent=2))
        return
    where = "" if origin.source is Source.DEFAULT else f" {origin.where}"
    typer.echo(f"chain: {current} (from {_ORIGIN_WORDS[origin.source]}{where})")
    if loaded.is_locked("wallet.chain"):
        typer.echo(f"  {loaded.lock_reason('wallet.chain')}")
    for c in chains.values():
        typer.echo(f"{'*' if c.key == current else ' '} {c.key:<18} {c.chain_id:>8}  {c.name}"
                   f"{'  (testnet)' if c.testnet else ''}")


@accounts_cli.callback(invoke_without_command=True)
def accounts_list(ctx: typer.Context,
                  as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """List the wallet's accounts."""
    if ctx.invoked_subcommand is not None:
        return
    wallet, _ = _wallet(ctx)
    rows = [a.model_dump() for a in wallet.record().accounts]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{'-' if row['index'] is None else row['index']:>4}  {row['address']}")


@accounts_cli.command("add")
def accounts_add(ctx: typer.Context, passphrase_fd: PassphraseFd = None) -> None:
    """Derive the next account from the wallet's seed (unlocks the wallet for this command)."""
    wallet, _ = _wallet(ctx)
    _unlock(wallet, passphrase_fd)
    try:
        account = wallet.add_account()
    finally:
        wallet.lock()
    typer.echo(f"added account {account.index}: {account.address}")


def _print_summary(wallet: Wallet, record: Any, settings: Any, verb: str | None, *, as_json: bool = False) -> None:
    chain = get_chain(settings.wallet.chain)
    info = {"folder": str(wallet.folder), "kind": record.kind, "protected_by": record.protected_by,
            "chain": chain.key, "chain_id": chain.chain_id, "locked": wallet.locked,
            "accounts": [a.model_dump() for a in record.accounts]}
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    if verb:
        typer.echo(f"wallet {verb} in {wallet.folder}")
    kind = "recovery phrase" if record.kind == "hd" else "single key"
    protection = "the OS keychain" if record.protected_by == "keychain" else "your passphrase"
    typer.echo(f"{kind} wallet, protected by {protection}; chain {chain.name} ({chain.chain_id}); "
               f"{'locked' if wallet.locked else 'unlocked'}")
    for account in record.accounts:
        typer.echo(f"  {'-' if account.index is None else account.index:>4}  {account.address}")


# the chain commands (balances, level, stake, unstake, withdraw, redeem, verify) live beside this module
from app.cli_wallet_chain import register as _register_chain_commands  # noqa: E402

_register_chain_commands(wallet_cli)
