"""Projects and their versioned label schemas."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.annotators.ontology import LabelSchema, parse_schema
from app.core.errors import ConflictError, NotFoundError, ValidationError
from app.store._rows import to_record, utcnow
from app.store.db import Database
from app.store.records import Project, SchemaVersion
from app.store.tables import LabelSchemaRow, ProjectRow

PROJECT_OPTIONS = {"copy_mode": ("copy", "reference"), "strip_private_metadata": (True, False)}


def _check_options(options: dict[str, Any]) -> None:
    for key, value in options.items():
        if key not in PROJECT_OPTIONS:
            raise ValidationError(f"unknown project option (known: {', '.join(PROJECT_OPTIONS)})", where=key)
        if value not in PROJECT_OPTIONS[key]:
            raise ValidationError(f"must be one of {PROJECT_OPTIONS[key]}", where=key)


class ProjectRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, *, options: dict[str, Any] | None = None) -> Project:
        name = name.strip()
        if not name or len(name) > 200:
            raise ValidationError("a project name needs 1 to 200 characters", where="name")
        options = dict(options or {})
        _check_options(options)
        try:
            with self.db.write() as s:
                row = ProjectRow(name=name, created_at=utcnow(), options=options)
                s.add(row)
                s.flush()
                return to_record(row, Project)
        except IntegrityError as exc:
            raise ConflictError(f"a project named {name!r} already exists") from exc

    def get(self, name_or_id: str | int) -> Project:
        with self.db.read() as s:
            column = ProjectRow.id if isinstance(name_or_id, int) else ProjectRow.name
            row = s.scalar(select(ProjectRow).where(column == name_or_id))
            if row is None:
                raise NotFoundError(f"no project {name_or_id!r}")
            return to_record(row, Project)

    def get_or_create(self, name: str, *, options: dict[str, Any] | None = None) -> Project:
        try:
            return self.get(name)
        except NotFoundError:
            return self.create(name, options=options)

    def list(self) -> list[Project]:
        with self.db.read() as s:
            return [to_record(r, Project) for r in s.scalars(select(ProjectRow).order_by(ProjectRow.name))]

    def set_options(self, project_id: int, options: dict[str, Any]) -> Project:
        _check_options(options)
        with self.db.write() as s:
            row = s.get(ProjectRow, project_id)
            if row is None:
                raise NotFoundError(f"no project {project_id}")
            row.options = {**row.options, **options}
            s.flush()
            return to_record(row, Project)


class SchemaRepository:
    """Label schemas are append-only: a change is a new version, old ones stay readable."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_version(self, project_id: int, schema: LabelSchema) -> SchemaVersion:
        """Store `schema` as the project's next version (unless it equals the current one)."""
        digest = schema.content_hash()
        body = schema.model_dump(mode="json")
        with self.db.write() as s:
            if s.get(ProjectRow, project_id) is None:
                raise NotFoundError(f"no project {project_id}")
            latest = s.scalar(
                select(LabelSchemaRow)
                .where(LabelSchemaRow.project_id == project_id)
                .order_by(LabelSchemaRow.version.desc())
                .limit(1)
            )
            if latest is not None and latest.content_hash == digest:
                return to_record(latest, SchemaVersion)  # unchanged: no new version
            row = LabelSchemaRow(
                project_id=project_id,
                version=(latest.version + 1) if latest else 1,
                name=schema.name,
                content_hash=digest,
                body=body,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            return to_record(row, SchemaVersion)

    def current(self, project_id: int) -> SchemaVersion | None:
        with self.db.read() as s:
            row = s.scalar(
                select(LabelSchemaRow)
                .where(LabelSchemaRow.project_id == project_id)
                .order_by(LabelSchemaRow.version.desc())
                .limit(1)
            )
            return None if row is None else to_record(row, SchemaVersion)

    def current_schema(self, project_id: int) -> LabelSchema | None:
        """The current version, parsed; None for a project without a schema."""
        stored = self.current(project_id)
        return None if stored is None else parse_schema(stored.body, source=f"schema v{stored.version}")

    def get(self, project_id: int, version: int) -> SchemaVersion:
        with self.db.read() as s:
            row = s.scalar(
                select(LabelSchemaRow).where(
                    LabelSchemaRow.project_id == project_id, LabelSchemaRow.version == version
                )
            )
            if row is None:
                raise NotFoundError(f"project {project_id} has no label schema version {version}")
            return to_record(row, SchemaVersion)

    def count(self, project_id: int) -> int:
        with self.db.read() as s:
            stmt = select(func.count()).select_from(LabelSchemaRow).where(LabelSchemaRow.project_id == project_id)
            return int(s.scalar(stmt) or 0)
