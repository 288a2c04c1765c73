"""Connections to the workspace database.

Every connection gets the same pragmas (WAL, synchronous=FULL, foreign keys, busy timeout)
because SQLite scopes most of them to the connection, not the file. Writes go through
`Database.write()`: one writer per process (a lock) and `BEGIN IMMEDIATE`, so a writer
never discovers half-way through that another process holds the write lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError as SAOperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from app.core.errors import StorageError

DEFAULT_BUSY_TIMEOUT_MS = 5000


def _configure(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; we issue BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"the database cannot use write-ahead logging (journal mode {mode})")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The engine of one SQLite file plus the process-wide writer lock."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.engine = create_engine(
            f"sqlite:///{self.path}",
            poolclass=QueuePool,
            pool_size=4,
            max_overflow=8,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _configure(self.engine, busy_timeout_ms)
        self._writer_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer_engine, expire_on_commit=False)
        self._write_lock = threading.RLock()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot: WAL readers never block the writer, nor it them."""
        with self._read_sessions() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """The single writer (ORM): commits on success, rolls back on any exception."""
        with self._write_lock, self._storage_errors(), self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """The single writer (Core): for hot paths and migrations, where ORM bookkeeping costs."""
        with self._write_lock, self._storage_errors(), self._writer_engine.begin() as conn:
            yield conn

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.OperationalError, SAOperationalError) as exc:  # disk full, read-only, locked
            reason = getattr(exc, "orig", None) or exc
            raise StorageError(f"cannot write to {self.path}: {reason}") from exc

    def integrity_check(self) -> list[str]:
        """`PRAGMA integrity_check` messages; ['ok'] for a sound file."""
        with self.engine.connect() as conn:
            return [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]

    def pragma(self, name: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(f"PRAGMA {name}")).scalar()

    def close(self) -> None:
        self.engine.dispose()
