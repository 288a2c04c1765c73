"""Bring a workspace database to the newest schema, after a backup copy of the file.

The backup uses SQLite's online backup API, so it is a consistent snapshot even while the
WAL holds committed pages that are not yet in the main file.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import StorageError
from app.store.db import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BACKUPS_KEPT = 5


def _config(migrations_dir: Path = MIGRATIONS_DIR) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    return cfg


def head_revision(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    head = ScriptDirectory.from_config(_config(migrations_dir)).get_current_head()
    assert head is not None, "the migrations folder holds no revision"
    return head


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def backup(db: Database, backup_dir: Path, *, tag: str) -> Path:
    """Copy the live database to `backup_dir` and keep only the newest few copies."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = backup_dir / f"{db.path.stem}-{tag}-{stamp}.sqlite3"
    src = sqlite3.connect(db.path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    old = sorted(backup_dir.glob(f"{db.path.stem}-*.sqlite3"), key=lambda p: p.stat().st_mtime_ns)[:-BACKUPS_KEPT]
    for path in old:
        path.unlink(missing_ok=True)
    return target


def migrate(db: Database, *, backup_dir: Path | None, migrations_dir: Path = MIGRATIONS_DIR) -> Path | None:
    """Upgrade to head; returns the backup taken, or None when nothing had to change."""
    cfg = _config(migrations_dir)
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    try:
        current = current_revision(db)
    except SQLAlchemyError as exc:
        raise StorageError(f"{db.path} is not a readable workspace database: {exc.orig or exc}") from exc
    if current == head:
        return None
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise StorageError(
            f"{db.path} was written by a newer Alaya (schema {current}); update the application to open it"
        )
    has_data = db.path.exists() and db.path.stat().st_size > 0 and current is not None
    taken = backup(db, backup_dir, tag=f"before-{head}") if (has_data and backup_dir) else None
    with db.write_connection() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return taken
