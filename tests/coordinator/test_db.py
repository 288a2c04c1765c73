"""CoordinatorDB: what `retried` runs again, and pooled PostgreSQL connections that died (as
after a server restart) replaced without an error reaching the caller."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from coordinator.db import ATTEMPTS, ChangedMeanwhile, CoordinatorDB


def test_a_transaction_that_read_a_changed_row_runs_again(db: CoordinatorDB) -> None:
    runs: list[int] = []

    def changed_once(conn: Connection) -> int:
        runs.append(conn.execute(text("SELECT 1")).scalar_one())
        if len(runs) == 1:
            raise ChangedMeanwhile("a concurrent call wrote the row")
        return len(runs)

    assert db.retried(changed_once) == 2

    def always_changed(conn: Connection) -> None:
        runs.append(1)
        raise ChangedMeanwhile("always")

    runs.clear()
    with pytest.raises(ChangedMeanwhile):
        db.retried(always_changed)
    assert len(runs) == ATTEMPTS


@pytest.fixture
def pg_db(db: CoordinatorDB) -> CoordinatorDB:
    if db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    return db


def fill_pool(db: CoordinatorDB, n: int = 3) -> None:
    connections = [db.engine.connect() for _ in range(n)]
    for conn in connections:
        conn.execute(text("SELECT 1"))
        conn.close()  # back to the pool, alive


def kill_pooled(db: CoordinatorDB) -> int:
    """Ends every other session of the database, as a server restart would; how many."""
    conninfo = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        return len(admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


def one(conn: Connection) -> Any:
    return conn.execute(text("SELECT 1")).scalar_one()


def test_dead_pooled_connections_are_replaced_for_writes_and_reads(pg_db: CoordinatorDB) -> None:
    fill_pool(pg_db)
    assert kill_pooled(pg_db) >= 3
    assert pg_db.retried(one) == 1  # the first run met a dead connection; the second a fresh one
    fill_pool(pg_db)
    assert kill_pooled(pg_db) >= 3
    assert pg_db.read_once(one) == 1


def test_a_dead_connection_in_a_plain_transaction_is_reported(pg_db: CoordinatorDB) -> None:
    """Outside `retried` and `read_once` nothing is run twice behind the caller's back."""
    fill_pool(pg_db, 1)
    kill_pooled(pg_db)
    with pytest.raises(OperationalError) as failed:
        with pg_db.write() as conn:
            one(conn)
    assert failed.value.connection_invalidated
    with pg_db.write() as conn:  # the pool was invalidated: the next checkout is a fresh connection
        assert one(conn) == 1
