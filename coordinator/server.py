"""Run the coordinator under uvicorn: what `alaya coordinator serve` calls."""

from __future__ import annotations

from pathlib import Path

import os

from pydantic import SecretStr

from coordinator.chain.config import KEY_ENV, PASSWORD_ENV, ChainConfig, ChainConfigError, read_contracts_file
from coordinator.config import CoordinatorConfig


def default_storage(db_url: str) -> Path:
    """Assets beside a SQLite file; for a server database, in the working folder."""
    if db_url.startswith("sqlite:///") and db_url != "sqlite:///:memory:":
        path = Path(db_url.removeprefix("sqlite:///"))
        return path.with_name(path.stem + "-assets")
    return Path("coordinator-assets")


def serve(config: CoordinatorConfig, *, host: str, port: int, log_level: str = "info") -> None:
    import uvicorn

    from coordinator.main import create_app

    app = create_app(config)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                timeout_graceful_shutdown=5)


def _read_fd(fd: int) -> str:
    try:
        with os.fdopen(os.dup(fd), "r", encoding="utf-8") as handle:
            return handle.readline().rstrip("\r\n")
    except OSError as exc:
        raise ChainConfigError(f"cannot read the keystore password from file descriptor {fd}: {exc.strerror}") from None


def chain_settings(rpc_url: str, contracts: Path | None, keystore: Path | None, password_fd: int | None, *,
                   poa: bool = False, deployed_at_block: int = 0) -> ChainConfig:
    """The chain settings of `alaya coordinator serve`; secrets from the environment or a descriptor."""
    if contracts is None:
        raise ChainConfigError("--chain-rpc needs --contracts FILE (the six contract addresses)")
    key = os.environ.get(KEY_ENV) if keystore is None else None
    if keystore is None and not key:
        raise ChainConfigError(f"--chain-rpc needs the voucher key: --signer-keystore PATH or {KEY_ENV}")
    password = _read_fd(password_fd) if password_fd is not None else os.environ.get(PASSWORD_ENV)
    return ChainConfig(rpc_url=rpc_url, contracts=read_contracts_file(contracts), poa=poa,
                       deployed_at_block=deployed_at_block,
                       signer_key=SecretStr(key) if key else None, signer_keystore=keystore,
                       signer_password=SecretStr(password) if password and keystore else None)
