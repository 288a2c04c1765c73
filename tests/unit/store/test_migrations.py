"""The workspace database is created, reopened and upgraded by Alembic, with a backup first."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.core.errors import StorageError
from app.store.db import Database
from app.store.migrate import MIGRATIONS_DIR, current_revision, head_revision, migrate
from app.store.tables import Base
from app.store.workspace import DB_NAME, Workspace


def test_migrates_up_from_empty_and_matches_the_declared_tables(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    assert current_revision(ws.db) == head_revision()
    assert ws.last_backup is None  # a new file has nothing to back up
    with ws.db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    ws.close()


def test_every_connection_has_the_house_pragmas(workspace: Workspace) -> None:
    with workspace.db.engine.connect() as conn:
        get = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert get("journal_mode") == "wal"
        assert get("synchronous") == 2  # FULL
        assert get("foreign_keys") == 1
        assert get("busy_timeout") == 5000


def test_reopen_keeps_data_and_takes_no_backup(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        ws.projects.create("birds")
    with Workspace.open(tmp_path / "ws") as ws:
        assert [p.name for p in ws.projects.list()] == ["birds"]
        assert ws.last_backup is None
        assert not (tmp_path / "ws" / "backups").exists()


def _migrations_with_a_new_revision(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9999_test_column.py").write_text(
        '"""test"""\nimport sqlalchemy as sa\nfrom alembic import op\n'
        f'revision = "9999"\ndown_revision = "{head_revision()}"\nbranch_labels = None\ndepends_on = None\n\n'
        "def upgrade():\n"
        '    with op.batch_alter_table("projects") as b:\n'
        '        b.add_column(sa.Column("colour", sa.String(7), nullable=True))\n\n'
        "def downgrade():\n"
        '    with op.batch_alter_table("projects") as b:\n'
        '        b.drop_column("colour")\n'
    )
    return folder


def test_an_upgrade_backs_up_the_file_first(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        ws.projects.create("birds")
    db = Database(tmp_path / "ws" / DB_NAME)
    taken = migrate(db, backup_dir=tmp_path / "ws" / "backups",
                    migrations_dir=_migrations_with_a_new_revision(tmp_path))
    assert taken is not None and taken.exists()
    assert current_revision(db) == "9999"
    with db.engine.connect() as conn:
        cols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(projects)")]
        assert "colour" in cols
        assert conn.exec_driver_sql("SELECT name FROM projects").scalars().all() == ["birds"]
    backup = sqlite3.connect(taken)
    assert backup.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()
    assert backup.execute("SELECT name FROM projects").fetchall() == [("birds",)]
    assert backup.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    backup.close()
    db.close()


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        with ws.db.write_connection() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StorageError, match="newer Alaya"):
        Workspace.open(tmp_path / "ws")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a readable workspace database"):
        Workspace.open(folder)
    assert (folder / DB_NAME).read_bytes() == b"this is not sqlite" * 100  # left untouched
