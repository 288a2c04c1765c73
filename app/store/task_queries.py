"""Read-only queries behind the task list: filtered, counted pages of tasks joined with their asset.

The task list is virtual: it asks for the row count, then for pages by offset as the user
scrolls, so 100,000 tasks never travel at once. Everything here only reads (WAL readers never
block the writer) and is meant to run on a worker thread, never the GUI thread.
Rows come in the order `TaskRepository.list` uses: priority first, then id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, func, or_, select

from app.store.db import Database
from app.store.tables import AnnotationRow, AssetRow, TaskRow

_T = TaskRow.__table__
_A = AssetRow.__table__
_N = AnnotationRow.__table__
_JOINED = _T.join(_A, _A.c.id == _T.c.asset_id)


@dataclass(frozen=True)
class TaskFilter:
    """What the task list shows: a state, a label present on the asset, and a name fragment."""

    state: str | None = None
    label: str | None = None
    text: str = ""
    unlabelled: bool = False  # only assets without any annotation

    @property
    def is_empty(self) -> bool:
        return not (self.state or self.label or self.text.strip() or self.unlabelled)


@dataclass(frozen=True)
class TaskListRow:
    task_id: int
    asset_id: int
    name: str
    modality: str
    state: str
    label_count: int
    sha256: str
    path: str
    storage: str
    width: int | None = None
    height: int | None = None
    priority: int = 0
    sync_state: str | None = None  # a leased task's: queued, sent, conflicted, late, rejected
    sync_detail: str | None = None


def _live_annotations_of(asset_id: object) -> object:
    return and_(_N.c.asset_id == asset_id, _N.c.is_head.is_(True), _N.c.deleted.is_(False))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(stmt: Select, project_id: int, flt: TaskFilter) -> Select:
    """`stmt` (selecting from tasks) restricted to the project and the filter."""
    stmt = stmt.where(_T.c.project_id == project_id)
    if flt.state:
        stmt = stmt.where(_T.c.state == flt.state)
    text = flt.text.strip()
    if text:  # only this condition needs the asset row
        stmt = stmt.where(exists().where(_A.c.id == _T.c.asset_id,
                                         _A.c.original_name.like(f"%{_escape_like(text)}%", escape="\\")))
    if flt.label:
        stmt = stmt.where(exists().where(_live_annotations_of(_T.c.asset_id), _N.c.label == flt.label))
    if flt.unlabelled:
        stmt = stmt.where(~exists().where(_live_annotations_of(_T.c.asset_id)))
    return stmt


class TaskQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def count(self, project_id: int, flt: TaskFilter = TaskFilter()) -> int:
        stmt = _filtered(select(func.count()).select_from(_T), project_id, flt)
        with self.db.read() as s:
            return int(s.execute(stmt).scalar() or 0)

    def page(self, project_id: int, flt: TaskFilter = TaskFilter(), *, offset: int = 0,
             limit: int = 200) -> list[TaskListRow]:
        """Rows `offset` .. `offset + limit - 1` of the filtered list."""
        # Sort narrow rows (priority, id) first; join the asset and count labels for this page only.
        ids = (_filtered(select(_T.c.id), project_id, flt).order_by(_T.c.priority.desc(), _T.c.id)
               .limit(limit).offset(offset).subquery())
        label_count = select(func.count()).where(_live_annotations_of(_T.c.asset_id)).scalar_subquery()
        stmt = (select(_T.c.id.label("task_id"), _T.c.asset_id, _T.c.state, _T.c.priority, _T.c.sync_state,
                       _T.c.sync_detail,
                       _A.c.original_name.label("name"), _A.c.modality, _A.c.sha256, _A.c.path, _A.c.storage,
                       _A.c.width, _A.c.height, label_count.label("label_count"))
                .select_from(_JOINED.join(ids, ids.c.id == _T.c.id))
                .order_by(_T.c.priority.desc(), _T.c.id))
        with self.db.read() as s:
            return [TaskListRow(**row._mapping) for row in s.execute(stmt)]

    def position(self, project_id: int, task_id: int, flt: TaskFilter = TaskFilter()) -> int | None:
        """The row index of `task_id` in the filtered list, or None when the filter hides it."""
        with self.db.read() as s:
            me = s.execute(_filtered(select(_T.c.priority), project_id, flt).where(_T.c.id == task_id)).first()
            if me is None:
                return None
            before = or_(_T.c.priority > me.priority, and_(_T.c.priority == me.priority, _T.c.id < task_id))
            stmt = _filtered(select(func.count()).select_from(_T), project_id, flt).where(before)
            return int(s.execute(stmt).scalar() or 0)

    def labels(self, project_id: int) -> list[str]:
        """The labels in use on the project's assets, sorted."""
        stmt = (select(_N.c.label).distinct().select_from(_N.join(_A, _A.c.id == _N.c.asset_id))
                .where(_A.c.project_id == project_id, _N.c.is_head.is_(True), _N.c.deleted.is_(False))
                .order_by(_N.c.label))
        with self.db.read() as s:
            return list(s.execute(stmt).scalars())
