"""SQLAlchemy 2 typed tables of the workspace database.

The schema is created and evolved only by the Alembic scripts in `migrations/`; a test
checks that the migrated database matches these declarations exactly.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names so that migrations can address them (SQLite batch mode needs them).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MODALITIES = ("image", "video", "audio", "text")
TASK_KINDS = ("label", "verify", "review")
TASK_STATES = ("pending", "in_progress", "submitted", "accepted", "rejected", "skipped")
SOURCES = ("human", "model", "consensus")
OUTBOX_OPS = ("upsert", "delete")
SYNC_STATES = ("queued", "sent", "conflicted", "late", "rejected")  # of a submitted leased task
OUTBOX_OUTCOMES = ("sent", "conflicted", "late", "rejected")  # NULL: still waiting


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite itself keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class ProjectRow(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remote_request_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class LabelSchemaRow(Base):
    __tablename__ = "label_schemas"
    __table_args__ = (UniqueConstraint("project_id", "version", name="uq_label_schemas_project_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class AssetRow(Base):
    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("project_id", "sha256", name="uq_assets_project_sha256"),
        CheckConstraint(_in("modality", MODALITIES), name="modality"),
        CheckConstraint(_in("storage", ("managed", "reference")), name="storage"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    modality: Mapped[str] = mapped_column(String(10))
    storage: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    original_name: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int]
    mime: Mapped[str | None] = mapped_column(String(100))
    width: Mapped[int | None]
    height: Mapped[int | None]
    bit_depth: Mapped[int | None]
    frame_count: Mapped[int | None]
    fps: Mapped[float | None] = mapped_column(Float)
    time_base: Mapped[str | None] = mapped_column(String(40))
    duration: Mapped[float | None] = mapped_column(Float)
    sample_rate: Mapped[int | None]
    channels: Mapped[int | None]
    phash: Mapped[str | None] = mapped_column(String(32))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(_in("kind", TASK_KINDS), name="kind"),
        CheckConstraint(_in("state", TASK_STATES), name="state"),
        CheckConstraint(f"sync_state IS NULL OR {_in('sync_state', SYNC_STATES)}", name="sync_state"),
        Index("ix_tasks_project_state", "project_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(default=0)
    assignee: Mapped[str | None] = mapped_column(String(100))
    remote_id: Mapped[str | None] = mapped_column(String(100))
    lease_id: Mapped[str | None] = mapped_column(String(100))
    lease_epoch: Mapped[int | None]
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sync_state: Mapped[str | None] = mapped_column(String(12))
    sync_detail: Mapped[str | None] = mapped_column(Text)


# The task list's order (TaskRepository.list, task_queries) without a sort.
Index("ix_tasks_project_priority", TaskRow.project_id, TaskRow.priority.desc(), TaskRow.id)


class AnnotationRow(Base):
    """One version of one annotation; rows are never updated except for the head flag."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("annotation_id", "version", name="uq_annotations_id_version"),
        CheckConstraint(_in("source", SOURCES), name="source"),
        CheckConstraint("confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence"),
        Index("ix_annotations_asset_head", "asset_id", "is_head"),
    )

    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    annotation_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float | None] = mapped_column(Float)
    deleted: Mapped[bool] = mapped_column(default=False)
    is_head: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]


class OutboxRow(Base):
    """A change waiting to be pushed to the coordinator, written with the change itself."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("op", OUTBOX_OPS), name="op"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', OUTBOX_OUTCOMES)}", name="outcome"),
        Index("ix_outbox_entity_outcome", "entity", "outcome", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    entity_version: Mapped[int]
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    op: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(12))
    response: Mapped[dict[str, Any] | None]
    signature: Mapped[str | None] = mapped_column(String(132))


OUTCOMES = ("accepted", "edited", "deleted")


class ProposalOutcomeRow(Base):
    """What a human did with one model proposal: the feedback loop's raw data."""

    __tablename__ = "proposal_outcomes"
    __table_args__ = (
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        Index("ix_proposal_outcomes_project_label_model", "project_id", "label", "model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    annotation_id: Mapped[str] = mapped_column(String(32), unique=True)  # one outcome per proposal
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(10))
    iou: Mapped[float | None] = mapped_column(Float)
    vertices_changed: Mapped[int | None]
    seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]
