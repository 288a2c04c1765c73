"""AnnotationDocument: the annotations of one asset, in drawing order.

Views read it and listen to its events; only commands change it. The mutation methods carry
a leading underscore for that reason: the UI pushes a command onto the history, the command
calls `_add`/`_replace`/`_remove`, and every view hears what changed.

Drawing order is z_order, then insertion. Each annotation keeps the insertion position it
was given, so an undone removal puts it back exactly where it was, not on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from app.annotators.annotation import Annotation
from app.annotators.changes import ChangeSet
from app.core.errors import ConflictError, NotFoundError, ValidationError
from app.core.events import Emitter

ANNOTATION_ADDED = "annotation_added"
ANNOTATION_CHANGED = "annotation_changed"
ANNOTATION_REMOVED = "annotation_removed"
DOCUMENT_CHANGED = "document_changed"
EVENT_NAMES = (ANNOTATION_ADDED, ANNOTATION_CHANGED, ANNOTATION_REMOVED, DOCUMENT_CHANGED)


class AnnotationDocument:
    """The annotations of one asset.

    Events (payload: a ChangeSet): `annotation_added`, `annotation_changed` and
    `annotation_removed` carry only their own kind of id and fire only when it is non-empty;
    `document_changed` carries the whole ChangeSet of each mutation, for views that prefer one
    refresh.
    """

    def __init__(self, asset_id: int, annotations: Iterable[Annotation] = ()) -> None:
        self.asset_id = asset_id
        self.events = Emitter(EVENT_NAMES)
        self._items: dict[str, tuple[Annotation, int]] = {}  # id -> (annotation, position)
        self._next_position = 0
        self._ordered: list[Annotation] | None = None  # cache, rebuilt after each mutation
        for annotation in annotations:
            self._check_new(annotation, set())
            self._store(annotation, None)

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, annotation_id: object) -> bool:
        return annotation_id in self._items

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnnotationDocument):
            return NotImplemented
        return self.asset_id == other.asset_id and self.annotations() == other.annotations()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"AnnotationDocument(asset_id={self.asset_id}, annotations={len(self)})"

    def annotations(self) -> list[Annotation]:
        """All annotations in drawing order (bottom first)."""
        if self._ordered is None:
            entries = sorted(self._items.values(), key=lambda e: (e[0].z_order, e[1]))
            self._ordered = [annotation for annotation, _ in entries]
        return list(self._ordered)

    def ids(self) -> list[str]:
        return [annotation.id for annotation in self.annotations()]

    def get(self, annotation_id: str) -> Annotation:
        try:
            return self._items[annotation_id][0]
        except KeyError:
            raise NotFoundError(f"annotation {annotation_id} is not in this document") from None

    def position(self, annotation_id: str) -> int:
        """Insertion position (the tie-breaker under equal z_order)."""
        self.get(annotation_id)
        return self._items[annotation_id][1]

    def z_range(self) -> tuple[int, int]:
        """(lowest, highest) z_order, or (0, 0) when empty."""
        zs = [annotation.z_order for annotation, _ in self._items.values()]
        return (min(zs), max(zs)) if zs else (0, 0)

    # -- mutation: for commands only -----------------------------------------------------

    def _add(
        self, annotations: Iterable[Annotation], positions: Mapping[str, int] | None = None
    ) -> ChangeSet:
        """Insert new annotations, at their old `positions` when restoring a removal."""
        batch = list(annotations)
        seen: set[str] = set()
        for annotation in batch:
            self._check_new(annotation, seen)
        for annotation in batch:
            self._store(annotation, (positions or {}).get(annotation.id))
        return self._changed(ChangeSet.of(added=seen))

    def _replace(self, annotations: Iterable[Annotation]) -> ChangeSet:
        """Swap in new values of existing annotations (matched by id); keeps positions."""
        batch = list(annotations)
        for annotation in batch:
            old = self.get(annotation.id)
            if annotation.asset_id != old.asset_id:
                raise ValidationError("cannot move an annotation to another asset",
                                      where="asset_id")
        changed = {a.id for a in batch if a != self._items[a.id][0]}
        for annotation in batch:
            self._items[annotation.id] = (annotation, self._items[annotation.id][1])
        return self._changed(ChangeSet.of(changed=changed))

    def _remove(self, annotation_ids: Iterable[str]) -> ChangeSet:
        """Remove annotations by id; all must exist, or nothing is removed."""
        ids = list(dict.fromkeys(annotation_ids))
        for annotation_id in ids:
            self.get(annotation_id)
        for annotation_id in ids:
            del self._items[annotation_id]
        return self._changed(ChangeSet.of(removed=ids))

    # -- internals -----------------------------------------------------------------------

    def _check_new(self, annotation: Annotation, seen: set[str]) -> None:
        if not isinstance(annotation, Annotation):
            raise ValidationError("not an Annotation", where="annotation")
        if annotation.asset_id != self.asset_id:
            raise ValidationError(
                f"belongs to asset {annotation.asset_id}, not {self.asset_id}", where="asset_id"
            )
        if annotation.id in self._items or annotation.id in seen:
            raise ConflictError(f"annotation {annotation.id} is already in this document")
        seen.add(annotation.id)

    def _store(self, annotation: Annotation, position: int | None) -> None:
        if position is None:
            position = self._next_position
        self._next_position = max(self._next_position, position + 1)
        self._items[annotation.id] = (annotation, position)

    def _changed(self, changes: ChangeSet) -> ChangeSet:
        self._ordered = None
        if not changes:
            return changes
        if changes.added:
            self.events.emit(ANNOTATION_ADDED, ChangeSet(added=changes.added))
        if changes.changed:
            self.events.emit(ANNOTATION_CHANGED, ChangeSet(changed=changes.changed))
        if changes.removed:
            self.events.emit(ANNOTATION_REMOVED, ChangeSet(removed=changes.removed))
        self.events.emit(DOCUMENT_CHANGED, changes)
        return changes
