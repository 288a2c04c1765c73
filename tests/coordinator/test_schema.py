"""The migration builds exactly the schema that `coordinator.tables` declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from coordinator.db import CoordinatorDB
from coordinator.tables import metadata


def test_migrations_match_the_declared_tables(db_url: str) -> None:
    db = CoordinatorDB(db_url)
    try:
        db.migrate()
        db.migrate()  # a second run is a no-op
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == [], "tables.py and the migrations differ: regenerate or add a migration"
    finally:
        db.close()


def test_sqlite_connections_are_durable(tmp_path) -> None:
    db = CoordinatorDB(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.close()
