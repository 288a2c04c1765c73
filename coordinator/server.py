"""Run the coordinator under uvicorn: what `alaya coordinator serve` calls."""

from __future__ import annotations

from pathlib import Path

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
