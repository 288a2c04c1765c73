"""AssetSession: one open asset — document, history, selection, current label — saved as it changes.

Every mutation of the document reaches `_on_changed`, which snapshots the touched
annotations and queues one store transaction on the database executor; the GUI thread never
waits for the disk. `save_state` says whether everything the user sees is on disk; a write
that fails keeps the edit in the document and reports the error, and the next change retries
the whole unsaved set, so nothing the user did is dropped.

The session is the `ToolContext` the canvas tools work through.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from app.annotators.annotation import Annotation
from app.annotators.changes import ChangeSet
from app.annotators.document import DOCUMENT_CHANGED, AnnotationDocument
from app.annotators.ontology import LabelSchema
from app.core.errors import AlayaError
from app.core.events import Emitter
from app.core.history import History
from app.core.tasks import TaskRunner
from app.store.records import Asset
from app.store.workspace import Workspace

log = logging.getLogger(__name__)

SELECTION_CHANGED = "selection_changed"
LABEL_CHANGED = "label_changed"
SAVE_STATE_CHANGED = "save_state_changed"
NOTIFIED = "notified"
DEFAULT_LABEL = "object"


class AssetSession:
    """Events: selection_changed(frozenset ids), label_changed(str), save_state_changed(str),
    notified(str). With a `post` function they are delivered on the owner's thread."""

    def __init__(self, ws: Workspace, runner: TaskRunner, asset: Asset, annotations: Iterable[Annotation], *,
                 author: str, schema: LabelSchema | None = None, task_id: int | None = None,
                 undo_budget_bytes: int = 256 * 2**20, post: Callable[[Callable[[], None]], None] | None = None):
        self.ws, self.runner, self.asset, self.schema, self.task_id = ws, runner, asset, schema, task_id
        self.author = author
        self.asset_id = asset.id
        self.image_size = (asset.width or 0, asset.height or 0)
        self.document = AnnotationDocument(asset.id, annotations)
        self.history = History(self.document, budget_bytes=undo_budget_bytes)
        self.events = Emitter((SELECTION_CHANGED, LABEL_CHANGED, SAVE_STATE_CHANGED, NOTIFIED))
        self._post = post or (lambda fn: fn())
        self._selection: frozenset[str] = frozenset()
        self._label = schema.class_names[0] if schema and schema.class_names else DEFAULT_LABEL
        self._lock = threading.Lock()  # guards the counters below (db thread vs owner thread)
        self._unsaved: dict[str, Annotation | None] = {}  # id -> snapshot to save (None: delete)
        self._in_flight = 0
        self._error: str | None = None
        self.saved_changes = 0  # change sets durably stored (acknowledged edits)
        self.assist: Any = None  # what the smart tool asks for proposals (set by the window)
        self.document.events.subscribe(DOCUMENT_CHANGED, self._on_changed)

    @classmethod
    def load(cls, ws: Workspace, runner: TaskRunner, asset_id: int, **kwargs: Any) -> AssetSession:
        """Read the asset and its annotations (disk: call it on a worker, not the GUI thread)."""
        asset = ws.assets.get(asset_id)
        return cls(ws, runner, asset, ws.annotations.for_asset(asset_id), **kwargs)

    # -- ToolContext ---------------------------------------------------------------------

    @property
    def label(self) -> str:
        return self._label

    def set_label(self, label: str) -> None:
        if self.schema is not None:
            self.schema.get_class(label)  # ValidationError for an unknown label
        if label != self._label:
            self._label = label
            self.events.emit(LABEL_CHANGED, label)

    @property
    def selection(self) -> frozenset[str]:
        return self._selection

    def set_selection(self, ids: Sequence[str] | Iterable[str]) -> None:
        new = frozenset(i for i in ids if i in self.document)
        if new != self._selection:
            self._selection = new
            self.events.emit(SELECTION_CHANGED, new)

    def push(self, command: Any) -> Any:
        return self.history.push(command)

    def group(self, description: str) -> Any:
        return self.history.group(description)

    def notify(self, message: str) -> None:
        self.events.emit(NOTIFIED, message)

    def undo(self) -> None:
        if self.history.can_undo:
            self.history.undo()

    def redo(self) -> None:
        if self.history.can_redo:
            self.history.redo()

    # -- saving --------------------------------------------------------------------------

    @property
    def save_state(self) -> str:
        """"saved", "saving", or "error: <reason>"."""
        with self._lock:
            if self._error:
                return f"error: {self._error}"
            return "saving" if (self._in_flight or self._unsaved) else "saved"

    def _on_changed(self, changes: ChangeSet) -> None:
        self.set_selection(self._selection - changes.removed)
        with self._lock:
            for ann_id in changes.added | changes.changed:
                self._unsaved[ann_id] = self.document.get(ann_id)
            for ann_id in changes.removed:
                self._unsaved[ann_id] = None
            batch, self._unsaved = self._unsaved, {}
            self._in_flight += 1
        self.events.emit(SAVE_STATE_CHANGED, self.save_state)
        self.runner.submit_db(self._persist, batch).add_done_callback(
            lambda f, batch=batch: self._post(lambda: self._persisted(f, batch)))

    def _persist(self, batch: dict[str, Annotation | None]) -> None:
        saves = [a for a in batch.values() if a is not None]
        deletes = [ann_id for ann_id, a in batch.items() if a is None]
        self.ws.annotations.apply(saves, deletes, task_id=self.task_id)

    def _persisted(self, future: Any, batch: dict[str, Annotation | None]) -> None:
        exc = future.exception()
        with self._lock:
            self._in_flight -= 1
            if exc is None:
                self.saved_changes += 1
                self._error = None
            else:
                # keep the edits: the next change (or `retry_save`) writes them again
                for ann_id, snapshot in batch.items():
                    self._unsaved.setdefault(ann_id, snapshot)
                self._error = str(exc) if isinstance(exc, AlayaError) else f"{type(exc).__name__}: {exc}"
                log.error("saving annotations of asset %s failed: %s", self.asset_id, self._error)
        self.events.emit(SAVE_STATE_CHANGED, self.save_state)

    def retry_save(self) -> None:
        """Write whatever is unsaved again (after the user freed disk space, say)."""
        if self._unsaved:
            self._on_changed(ChangeSet())

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for queued writes (closing the asset, tests); True when all are on disk."""
        self.runner.submit_db(lambda: None).result(timeout)
        return self.save_state == "saved"

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Apply changes without saving them (loading a server copy that is already stored)."""
        self.document.events.unsubscribe(DOCUMENT_CHANGED, self._on_changed)
        try:
            yield
        finally:
            self.document.events.subscribe(DOCUMENT_CHANGED, self._on_changed)
