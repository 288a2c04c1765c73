"""Connections to the coordinator's database, SQLite or PostgreSQL, and its migrations.

SQLite: WAL, synchronous=FULL (an acknowledged submission survives a crash), and every
write transaction starts with BEGIN IMMEDIATE under a process-wide lock, so writers queue
instead of failing with "database is locked" half-way. PostgreSQL: READ COMMITTED; the
services take row locks (`FOR UPDATE SKIP LOCKED` for leasing) where they race, and rely on
unique constraints for everything the protocol promises.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
ATTEMPTS = 5
RACE_PAUSE_S = 0.005  # up to this many seconds per attempt, at random, before a deadlock victim runs again
RETRYABLE = {"40P01", "40001"}  # PostgreSQL: deadlock_detected, serialization_failure
T = TypeVar("T")
log = logging.getLogger(__name__)


class ChangedMeanwhile(Exception):
    """A row read without a lock changed before this transaction wrote it: run it again."""


class CoordinatorDB:
    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = create_engine(url, pool_size=8, max_overflow=16,
                                        connect_args={"check_same_thread": False,
                                                      "timeout": BUSY_TIMEOUT_MS / 1000})
            _sqlite_pragmas(self.engine)
            self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
            self._lock: threading.Lock | None = threading.Lock()
        else:
            # no pre-ping (a round trip on every checkout): a connection found dead when used
            # (a server restart) invalidates the pool, and `retried` / `read_once` run again
            self.engine = create_engine(url, pool_size=16, max_overflow=16)
            self._writer = self.engine
            self._lock = None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: commits on success, rolls back on any exception."""
        with self._lock or nullcontext(), self._writer.begin() as conn:
            yield conn

    def retried(self, work: Callable[[Connection], T]) -> T:
        """`work` in a write transaction, run again when it lost a race that a second run
        resolves: a PostgreSQL deadlock or serialization failure (one of two transactions is
        chosen to fail), a unique constraint hit by a concurrent twin (the second run sees
        the twin's row), a row read without a lock that changed meanwhile, or a pooled
        connection found dead before the commit (after the commit the outcome is unknown)."""
        for attempt in range(1, ATTEMPTS + 1):
            committing = False
            try:
                with self.write() as conn:
                    result = work(conn)
                    committing = True
                return result
            except ChangedMeanwhile:
                if attempt == ATTEMPTS:
                    raise
                log.info("a row changed under the write transaction; running it again")
            except IntegrityError:
                if attempt == ATTEMPTS:
                    raise
                log.info("write transaction hit a unique constraint; running it again")
            except DBAPIError as exc:
                if not _worth_another_run(exc, committing) or attempt == ATTEMPTS:
                    raise
                log.warning("write transaction failed (%s); running it again", _why(exc))
                if not exc.connection_invalidated:  # two victims that rerun at once may meet again
                    time.sleep(random.uniform(0, RACE_PAUSE_S * attempt))
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def read_once(self, work: Callable[[Connection], T]) -> T:
        """`work`, one read-only statement. PostgreSQL: in autocommit, without the BEGIN and
        COMMIT round trips (at READ COMMITTED a statement sees what a transaction around it
        would), and once more on a fresh connection when the pooled one was dead."""
        if self.is_sqlite:
            with self.read() as conn:
                return work(conn)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    return work(conn)
            except DBAPIError as exc:
                if not exc.connection_invalidated or attempt == ATTEMPTS:
                    raise
                log.warning("a pooled connection was dead; reading again on a fresh one")
        raise AssertionError("unreachable")

    def for_update(self, statement: Any, *, skip_locked: bool = False) -> Any:
        """`SELECT … FOR UPDATE` on PostgreSQL; on SQLite the IMMEDIATE transaction already
        holds the only write lock, so the statement is returned unchanged."""
        return statement if self.is_sqlite else statement.with_for_update(skip_locked=skip_locked)

    def migrate(self) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()


def _worth_another_run(exc: DBAPIError, committing: bool) -> bool:
    if exc.connection_invalidated:
        return not committing
    return isinstance(exc, OperationalError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE


def _why(exc: DBAPIError) -> str:
    return "connection lost" if exc.connection_invalidated else str(getattr(exc.orig, "sqlstate", ""))


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for what was written as UTC; PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
