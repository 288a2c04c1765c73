"""Mirrors an AssetSession's document and selection into AnnotationItems, incrementally."""

from __future__ import annotations

import hashlib

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene

from app.annotators.changes import ChangeSet
from app.annotators.shapes import Tag
from app.editing.session import SELECTION_CHANGED, AssetSession
from app.ui.canvas.annotation_item import AnnotationItem, ViewScale

MARGIN_PX = 12.0  # cosmetic pen + handles, in screen pixels


def label_colour(session: AssetSession | None, label: str) -> QColor:
    """The schema's colour, else a stable colour derived from the label's name."""
    if session is not None and session.schema is not None:
        try:
            return QColor(session.schema.get_class(label).colour)
        except Exception:  # noqa: BLE001 - unknown label: fall through to the hashed colour
            pass
    hue = int(hashlib.sha1(label.encode()).hexdigest()[:4], 16) % 360
    return QColor.fromHsv(hue, 170, 240)


class AnnotationLayer:
    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self.session: AssetSession | None = None
        self.items: dict[str, AnnotationItem] = {}
        self._margin = MARGIN_PX
        self.scale = ViewScale()
        self._unsubscribe: list = []
        self._selected: frozenset[str] = frozenset()

    def set_session(self, session: AssetSession | None) -> None:
        for off in self._unsubscribe:
            off()
        self._unsubscribe = []
        for item in self.items.values():
            self.scene.removeItem(item)
        self.items.clear()
        self._selected = frozenset()
        self.session = session
        if session is None:
            return
        doc = session.document
        self._unsubscribe = [
            doc.events.subscribe("document_changed", self._on_changed),
            session.events.subscribe(SELECTION_CHANGED, self._on_selection),
        ]
        for annotation in doc.annotations():
            self._add(annotation.id)
        self._on_selection(session.selection)

    def set_pixel_size(self, pixel_size: float) -> None:
        """Grow item margins when zooming out far enough that cosmetic pens would spill."""
        self.scale.value = 1.0 / pixel_size
        needed = MARGIN_PX * pixel_size
        if needed > self._margin or needed < self._margin / 8:
            self._margin = needed * 2  # hysteresis: not on every wheel step
            for item in self.items.values():
                item.set_margin(self._margin)

    def _add(self, annotation_id: str) -> None:
        assert self.session is not None
        annotation = self.session.document.get(annotation_id)
        if isinstance(annotation.shape, Tag):
            return  # whole-image tags live in the annotation list, not on the canvas
        item = AnnotationItem(annotation, label_colour(self.session, annotation.label), self._margin, self.scale)
        self.items[annotation_id] = item
        self.scene.addItem(item)

    def _on_changed(self, changes: ChangeSet) -> None:
        assert self.session is not None
        for ann_id in changes.removed:
            item = self.items.pop(ann_id, None)
            if item is not None:
                self.scene.removeItem(item)
        for ann_id in changes.added:
            self._add(ann_id)
        for ann_id in changes.changed:
            item = self.items.get(ann_id)
            if item is None:
                continue
            annotation = self.session.document.get(ann_id)
            if annotation.label != item.annotation.label:
                item.set_colour(label_colour(self.session, annotation.label))
            item.set_annotation(annotation)
        if changes.added:  # re-added items (redo) may be selected already
            for ann_id in changes.added & self._selected:
                if ann_id in self.items:
                    self.items[ann_id].set_selected(True)

    def _on_selection(self, selection: frozenset[str]) -> None:
        # only the difference: a click must not touch thousands of items
        for ann_id in self._selected ^ selection:
            item = self.items.get(ann_id)
            if item is not None:
                item.set_selected(ann_id in selection)
        self._selected = frozenset(selection)
