"""A workspace: one folder holding the database, managed media and backups."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import StorageError
from app.store.annotations import AnnotationRepository
from app.store.assets import AssetRepository, TaskRepository
from app.store.db import DEFAULT_BUSY_TIMEOUT_MS, Database
from app.store.feedback import FeedbackRepository
from app.store.migrate import migrate
from app.store.outbox import OutboxRepository
from app.store.projects import ProjectRepository, SchemaRepository
from app.store.sync_queue import SyncRepository

DB_NAME = "alaya.sqlite3"


@dataclass
class Workspace:
    root: Path
    db: Database
    last_backup: Path | None = None
    projects: ProjectRepository = field(init=False)
    schemas: SchemaRepository = field(init=False)
    assets: AssetRepository = field(init=False)
    tasks: TaskRepository = field(init=False)
    annotations: AnnotationRepository = field(init=False)
    outbox: OutboxRepository = field(init=False)
    feedback: FeedbackRepository = field(init=False)
    sync: SyncRepository = field(init=False)

    def __post_init__(self) -> None:
        self.projects = ProjectRepository(self.db)
        self.schemas = SchemaRepository(self.db)
        self.assets = AssetRepository(self.db)
        self.tasks = TaskRepository(self.db)
        self.annotations = AnnotationRepository(self.db)
        self.outbox = OutboxRepository(self.db)
        self.feedback = FeedbackRepository(self.db)
        self.sync = SyncRepository(self.db)

    @property
    def blobs_dir(self) -> Path:
        return self.root / "blobs"

    @property
    def backups_dir(self) -> Path:
        return self.root / "backups"

    @classmethod
    def open(cls, root: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
             backup_before_migration: bool = True) -> Workspace:
        """Create the folder when missing and migrate the database (after a backup copy)."""
        root = Path(root).expanduser()
        try:
            root.mkdir(parents=True, exist_ok=True)
            (root / "blobs").mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the workspace folder {root}: {exc.strerror}") from exc
        db = Database(root / DB_NAME, busy_timeout_ms=busy_timeout_ms)
        try:
            taken = migrate(db, backup_dir=(root / "backups") if backup_before_migration else None)
        except Exception:
            db.close()
            raise
        return cls(root=root, db=db, last_backup=taken)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
