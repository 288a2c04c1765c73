"""WAL in practice: a reader is never blocked by a writer, and sees only committed data."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.store._rows import utcnow
from app.store.tables import ProjectRow
from app.store.workspace import Workspace


def test_a_reader_reads_while_a_writer_writes(workspace: Workspace) -> None:
    workspace.projects.create("before")
    in_txn = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with workspace.db.write() as s:
            s.add(ProjectRow(name="during", created_at=utcnow(), options={}))
            s.flush()
            in_txn.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert in_txn.wait(10)
    # a second Workspace = a second connection pool, as another process would have
    other = Workspace.open(workspace.root)
    try:
        with other.db.read() as s:  # does not wait for the writer
            assert s.scalars(select(ProjectRow.name)).all() == ["before"]
        release.set()
        t.join(10)
        assert sorted(p.name for p in other.projects.list()) == ["before", "during"]
    finally:
        release.set()
        other.close()


def test_a_second_writer_waits_for_the_first_instead_of_failing(workspace: Workspace) -> None:
    other = Workspace.open(workspace.root)
    holding = threading.Event()
    release = threading.Event()

    def first() -> None:
        with workspace.db.write():
            holding.set()
            release.wait(10)

    t = threading.Thread(target=first)
    t.start()
    assert holding.wait(10)
    threading.Timer(0.3, release.set).start()
    other.projects.create("second")  # blocks on the busy timeout until the first commits
    t.join(10)
    assert [p.name for p in workspace.projects.list()] == ["second"]
    other.close()
