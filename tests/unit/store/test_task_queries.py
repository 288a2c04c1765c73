"""TaskQueries: the filtered, paged reads behind the virtual task list."""

from __future__ import annotations

import time

from app.annotators.annotation import Annotation
from app.annotators.shapes import Box
from app.store._rows import utcnow
from app.store.task_queries import TaskFilter, TaskQueries
from app.store.workspace import Workspace


def insert_tasks(ws: Workspace, project_id: int, n: int) -> None:
    """`n` image assets named frame_000000.jpg... with one pending task each, generated inside SQLite
    (100,000 in about a second; the fake SHA-256s are short hex numbers, which keeps indexing cheap)."""
    now = utcnow().replace(tzinfo=None).isoformat(sep=" ")
    with ws.db.write_connection() as conn:
        start = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM assets").scalar()
        conn.exec_driver_sql(
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?)"
            " INSERT INTO assets (id, project_id, sha256, modality, storage, path, original_name, size_bytes,"
            " width, height, extra, created_at) SELECT ? + i + 1, ?, printf('%x', ? + i + 1), 'image', 'reference',"
            " '/nowhere/' || i || '.jpg', printf('frame_%06d.jpg', i), 1, 640, 480, '{}', ? FROM s",
            (n, start, project_id, start, now))
        conn.exec_driver_sql(
            "INSERT INTO tasks (project_id, asset_id, kind, state, priority, created_at, updated_at)"
            " SELECT project_id, id, 'label', 'pending', 0, ?, ? FROM assets WHERE id > ? ORDER BY id",
            (now, now, start))


def _setup(ws: Workspace) -> tuple[int, TaskQueries]:
    p = ws.projects.create("p")
    insert_tasks(ws, p.id, 30)
    tasks = ws.tasks.list(p.id)
    for t in tasks[:5]:
        ws.tasks.transition(t.id, "in_progress")
    ws.tasks.transition(tasks[0].id, "submitted")
    for t, label in ((tasks[1], "car"), (tasks[1], "car"), (tasks[2], "person")):
        ws.annotations.save(Annotation.new(asset_id=t.asset_id, label=label, shape=Box(1, 1, 5, 5), author="a"))
    return p.id, TaskQueries(ws.db)


def test_pages_count_and_label_counts(workspace: Workspace) -> None:
    pid, q = _setup(workspace)
    assert q.count(pid) == 30
    rows = q.page(pid, offset=0, limit=10)
    assert [r.name for r in rows] == [f"frame_{i:06d}.jpg" for i in range(10)]
    assert [r.label_count for r in rows[:4]] == [0, 2, 1, 0]
    assert rows[0].state == "submitted" and rows[0].modality == "image" and rows[0].width == 640
    assert [r.name for r in q.page(pid, offset=25, limit=10)] == [f"frame_{i:06d}.jpg" for i in range(25, 30)]


def test_filters_by_state_label_and_text(workspace: Workspace) -> None:
    pid, q = _setup(workspace)
    assert q.count(pid, TaskFilter(state="in_progress")) == 4
    assert q.count(pid, TaskFilter(state="submitted")) == 1
    assert [r.name for r in q.page(pid, TaskFilter(label="car"))] == ["frame_000001.jpg"]
    assert q.count(pid, TaskFilter(text="_00002")) == 10  # frame_000020 .. 000029
    assert q.count(pid, TaskFilter(text="%")) == 0  # LIKE wildcards are literal
    assert q.count(pid, TaskFilter(unlabelled=True)) == 28
    assert q.count(pid, TaskFilter(state="in_progress", label="person")) == 1
    assert q.labels(pid) == ["car", "person"]


def test_position_follows_the_filter(workspace: Workspace) -> None:
    pid, q = _setup(workspace)
    tasks = workspace.tasks.list(pid)
    assert q.position(pid, tasks[7].id) == 7
    assert q.position(pid, tasks[3].id, TaskFilter(state="in_progress")) == 2
    assert q.position(pid, tasks[20].id, TaskFilter(state="in_progress")) is None


def test_last_page_of_100k_tasks_is_fast(workspace: Workspace) -> None:
    p = workspace.projects.create("big")
    insert_tasks(workspace, p.id, 100_000)
    q = TaskQueries(workspace.db)
    t0 = time.perf_counter()
    assert q.count(p.id) == 100_000
    rows = q.page(p.id, offset=99_900, limit=200)
    elapsed = time.perf_counter() - t0
    assert len(rows) == 100 and rows[-1].name == "frame_099999.jpg"
    assert elapsed < 1.0, elapsed
