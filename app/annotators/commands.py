"""Undoable edits of an AnnotationDocument, named as verbs.

Each command stores a diff: the annotations it added or removed (with their positions), or,
for an edit, the before and after values of only the fields that differ. Never a copy of the
document. An edit computes its diff on its first `do`, against the document as it then is;
redo replays the stored after-values, undo the before-values, so both are exact.

Merging (one gesture, one undo step): `MoveAnnotations` merges with the next move of the same
ids and the same `gesture` (None matches None, as Qt's mergeWith does); tools pass a fresh
gesture id on each press so that two separate drags stay two steps. `UpdateAnnotations`
merges only when both carry the same non-None gesture (e.g. the moves of one vertex drag).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.annotators.annotation import FIELD_NAMES, Annotation, approx_size
from app.annotators.changes import ChangeSet
from app.annotators.document import AnnotationDocument
from app.core.errors import ValidationError
from app.core.history import Command

# Identity and bookkeeping fields are not edited: the store owns version and timestamps.
EDITABLE_FIELDS = FIELD_NAMES - {"id", "asset_id", "created_at", "updated_at", "version"}

Fields = dict[str, Any]


class AddAnnotation(Command[AnnotationDocument]):
    """Add one or more new annotations."""

    def __init__(self, *annotations: Annotation, description: str | None = None) -> None:
        if not annotations:
            raise ValidationError("nothing to add", where="annotations")
        self.annotations = annotations
        self.description = description or (
            f"Add {annotations[0].label}" if len(annotations) == 1
            else f"Add {len(annotations)} annotations")
        self._positions: dict[str, int] | None = None
        self._size: int | None = None

    def do(self, doc: AnnotationDocument) -> ChangeSet:
        # Redo reuses the first run's positions, so the drawing order comes back identical.
        changes = doc._add(self.annotations, self._positions)
        if self._positions is None:
            self._positions = {a.id: doc.position(a.id) for a in self.annotations}
        return changes

    def undo(self, doc: AnnotationDocument) -> ChangeSet:
        return doc._remove(a.id for a in self.annotations)

    def size_bytes(self) -> int:
        if self._size is None:
            self._size = 128 + sum(a.size_bytes() for a in self.annotations)
        return self._size


class RemoveAnnotations(Command[AnnotationDocument]):
    """Remove annotations; undo puts them back at their old drawing positions."""

    def __init__(self, annotation_ids: Iterable[str], description: str | None = None) -> None:
        self.ids = tuple(dict.fromkeys(annotation_ids))
        if not self.ids:
            raise ValidationError("nothing to remove", where="annotation_ids")
        self.description = description or (
            "Delete annotation" if len(self.ids) == 1 else f"Delete {len(self.ids)} annotations")
        self._removed: list[Annotation] = []
        self._positions: dict[str, int] = {}

    def do(self, doc: AnnotationDocument) -> ChangeSet:
        removed = [doc.get(i) for i in self.ids]
        positions = {i: doc.position(i) for i in self.ids}
        changes = doc._remove(self.ids)
        self._removed, self._positions = removed, positions
        return changes

    def undo(self, doc: AnnotationDocument) -> ChangeSet:
        return doc._add(self._removed, self._positions)

    def size_bytes(self) -> int:
        return 128 + sum(a.size_bytes() for a in self._removed)


class UpdateAnnotations(Command[AnnotationDocument]):
    """Set fields of several annotations: `edits` maps id -> {field: new value}."""

    def __init__(
        self,
        edits: Mapping[str, Mapping[str, Any]],
        description: str = "Edit annotation",
        *,
        gesture: str | None = None,
    ) -> None:
        self.ids = tuple(edits)
        if not self.ids:
            raise ValidationError("nothing to edit", where="edits")
        for changes in edits.values():
            _check_editable(changes)
        self.description = description
        self.gesture = gesture
        self._edits = {i: dict(changes) for i, changes in edits.items()}
        self._diff: dict[str, tuple[Fields, Fields]] | None = None  # id -> (before, after)

    def do(self, doc: AnnotationDocument) -> ChangeSet:
        if self._diff is None:
            wanted = {i: self._after_values(doc.get(i)) for i in self.ids}
            self._diff = _diff(doc, wanted)
        return _apply(doc, {i: after for i, (_, after) in self._diff.items()})

    def undo(self, doc: AnnotationDocument) -> ChangeSet:
        assert self._diff is not None, "undo before do"
        return _apply(doc, {i: before for i, (before, _) in self._diff.items()})

    @property
    def diff(self) -> dict[str, tuple[Fields, Fields]]:
        """id -> (before, after) of the fields that changed; empty until the first `do`."""
        return {i: (dict(b), dict(a)) for i, (b, a) in (self._diff or {}).items()}

    def size_bytes(self) -> int:
        diff = self._diff or {}
        return 160 + sum(
            64 + sum(approx_size(v) + 48 for side in sides for v in side.values())
            for sides in diff.values()
        )

    @property
    def obsolete(self) -> bool:
        return self._diff is not None and not self._diff

    def merge_with(self, other: Command[AnnotationDocument]) -> bool:
        if not (type(other) is type(self) and self._can_merge(other)):
            return False
        assert isinstance(other, UpdateAnnotations)
        if self._diff is None or other._diff is None:
            return False
        self._diff = _compose(self._diff, other._diff)
        return True

    def _can_merge(self, other: UpdateAnnotations) -> bool:
        return self.gesture is not None and self.gesture == other.gesture and (
            set(self.ids) == set(other.ids))

    def _after_values(self, annotation: Annotation) -> Fields:
        return self._edits[annotation.id]


class UpdateAnnotation(UpdateAnnotations):
    """Set fields of one annotation: `UpdateAnnotation(id, label="car", hidden=True)`."""

    def __init__(
        self,
        annotation_id: str,
        description: str = "Edit annotation",
        *,
        gesture: str | None = None,
        **changes: Any,
    ) -> None:
        if not changes:
            raise ValidationError("no field to change", where="changes")
        super().__init__({annotation_id: changes}, description, gesture=gesture)


class MoveAnnotations(UpdateAnnotations):
    """Translate the shapes of annotations by (dx, dy) in image pixels."""

    def __init__(
        self,
        annotation_ids: Iterable[str],
        dx: float,
        dy: float,
        *,
        gesture: str | None = None,
        description: str = "Move",
    ) -> None:
        ids = tuple(dict.fromkeys(annotation_ids))
        super().__init__({i: {} for i in ids}, description, gesture=gesture)
        self.dx, self.dy = dx, dy

    def _after_values(self, annotation: Annotation) -> Fields:
        shape: Any = annotation.shape  # every shape in app.annotators.shapes has `translated`
        return {"shape": shape.translated(self.dx, self.dy)}

    def _can_merge(self, other: UpdateAnnotations) -> bool:
        return self.gesture == other.gesture and set(self.ids) == set(other.ids)

    def merge_with(self, other: Command[AnnotationDocument]) -> bool:
        merged = super().merge_with(other)
        if merged:
            assert isinstance(other, MoveAnnotations)
            self.dx += other.dx
            self.dy += other.dy
        return merged


class SetZOrder(UpdateAnnotations):
    """Give annotations a z_order; `to_front`/`to_back` compute it from the document."""

    def __init__(self, annotation_ids: Iterable[str], z_order: int,
                 description: str = "Change drawing order") -> None:
        super().__init__({i: {"z_order": z_order} for i in annotation_ids}, description)

    @classmethod
    def to_front(cls, doc: AnnotationDocument, annotation_ids: Iterable[str]) -> SetZOrder:
        return cls(annotation_ids, doc.z_range()[1] + 1, "Bring to front")

    @classmethod
    def to_back(cls, doc: AnnotationDocument, annotation_ids: Iterable[str]) -> SetZOrder:
        return cls(annotation_ids, doc.z_range()[0] - 1, "Send to back")


class Relabel(UpdateAnnotations):
    """Change the label of annotations (check it against the schema before pushing)."""

    def __init__(self, annotation_ids: Iterable[str], label: str) -> None:
        super().__init__({i: {"label": label} for i in annotation_ids}, f"Label as {label}")


class SetHidden(UpdateAnnotations):
    def __init__(self, annotation_ids: Iterable[str], hidden: bool) -> None:
        super().__init__({i: {"hidden": hidden} for i in annotation_ids},
                         "Hide" if hidden else "Show")


class SetLocked(UpdateAnnotations):
    def __init__(self, annotation_ids: Iterable[str], locked: bool) -> None:
        super().__init__({i: {"locked": locked} for i in annotation_ids},
                         "Lock" if locked else "Unlock")


class SetAttribute(UpdateAnnotations):
    """Set (or, with value None, clear) one attribute on several annotations."""

    def __init__(self, annotation_ids: Iterable[str], name: str, value: Any) -> None:
        super().__init__({i: {} for i in annotation_ids}, f"Set {name}")
        self.name, self.value = name, value

    def _after_values(self, annotation: Annotation) -> Fields:
        attributes = dict(annotation.attributes)
        if self.value is None:
            attributes.pop(self.name, None)
        else:
            attributes[self.name] = self.value
        return {"attributes": attributes}


def _check_editable(changes: Mapping[str, Any]) -> None:
    for name in changes:
        if name not in EDITABLE_FIELDS:
            what = "is not editable" if name in FIELD_NAMES else "is not an annotation field"
            raise ValidationError(what, where=name)


def _diff(
    doc: AnnotationDocument, wanted: Mapping[str, Fields]
) -> dict[str, tuple[Fields, Fields]]:
    """Before/after values of just the fields that would change; validates the after side."""
    diff: dict[str, tuple[Fields, Fields]] = {}
    for annotation_id, fields in wanted.items():
        current = doc.get(annotation_id)
        new = current.replace(**fields)  # raises ValidationError before anything changes
        changed = [f for f in fields if not _same(getattr(new, f), getattr(current, f))]
        if changed:
            diff[annotation_id] = ({f: getattr(current, f) for f in changed},
                                   {f: getattr(new, f) for f in changed})
    return diff


def _apply(doc: AnnotationDocument, values: Mapping[str, Fields]) -> ChangeSet:
    # Build every new annotation first, so a bad value leaves the document untouched.
    updated = [doc.get(i).replace(**fields) for i, fields in values.items()]
    return doc._replace(updated)


def _compose(
    first: dict[str, tuple[Fields, Fields]], second: dict[str, tuple[Fields, Fields]]
) -> dict[str, tuple[Fields, Fields]]:
    """The diff of applying `first` then `second`; fields that end where they began drop."""
    merged: dict[str, tuple[Fields, Fields]] = {}
    for annotation_id in dict.fromkeys([*first, *second]):
        before1, after1 = first.get(annotation_id, ({}, {}))
        before2, after2 = second.get(annotation_id, ({}, {}))
        before = {**before2, **before1}  # the earliest value of each field
        after = {**after1, **after2}  # the latest
        kept = [f for f in before if not _same(before[f], after[f])]
        if kept:
            merged[annotation_id] = ({f: before[f] for f in kept}, {f: after[f] for f in kept})
    return merged


def _same(a: Any, b: Any) -> bool:
    # 1 == 1.0 == True in Python, but they are different values to store and export.
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b
