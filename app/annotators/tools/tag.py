"""Tag tool: a click anywhere (or Return) tags the whole image with the current label.

A label's tag exists at most once per image: asking again selects the existing tag and says
so instead of adding a duplicate. Never busy: each tag is done in one click, one undo step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.annotators.annotation import Annotation
from app.annotators.shapes import Tag
from app.annotators.tools.base import KeyEvent, PointerEvent, Preview, Tool
from app.annotators.tools.drawing import FINISH_KEYS, create_annotation


@dataclass
class TagTool(Tool):
    name: str = field(default="tag", init=False)
    cursor: str = field(default="pointing", init=False)

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.button != "left":
            return False
        if ev.kind == "press":
            self.tag()
        # The rest of the click (release, a double click's second half) must not tag twice.
        return ev.kind in ("press", "release", "double_click")

    def on_key(self, ev: KeyEvent) -> bool:
        if ev.key in FINISH_KEYS:
            self.tag()
            return True
        return False

    def preview(self) -> Preview | None:
        return Preview(hint=f"Click or press Return to tag the image as '{self.ctx.label}'")

    def tag(self) -> Annotation | None:
        """Add the current label's tag; None (and a message) if it exists or cannot be added."""
        label = self.ctx.label
        existing = next((a for a in self.ctx.document
                         if a.label == label and a.shape.kind == Tag.kind), None)
        if existing is not None:
            self.ctx.set_selection([existing.id])
            self.ctx.notify(f"The image is already tagged '{label}'")
            return None
        return create_annotation(self.ctx, Tag(), f"Tag {label}")
