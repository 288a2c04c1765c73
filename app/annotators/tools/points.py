"""Points tool: click points into a pending set, then commit the set as one annotation.

Gestures:
- a left click adds a point: visible (COCO visibility 2); Shift+click adds one that is
  labelled but not visible (1), for an occluded keypoint;
- Return, or a double-click (its first click adds the point), commits the set as one
  `Points` annotation, in click order: a single click then Return gives a one-point set;
- Backspace, Ctrl+Z or a right-click takes back the last point; Escape drops the set.
A click just off the image (within `HANDLE_RADIUS_PX` on screen) lands on the edge; one
further out is refused with a message, since a point there is almost always a slip.
Keypoint names from the label schema are not assigned here: the set is unnamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.annotators.shapes import Point, Points
from app.annotators.tools.base import (
    HANDLE_RADIUS_PX,
    KeyEvent,
    PointerEvent,
    Preview,
    Tool,
)
from app.annotators.tools.drawing import (
    clamp,
    create_annotation,
    distance,
    pending_key,
)

VISIBLE, OCCLUDED = 2, 1  # COCO: labelled and visible / labelled but not visible


@dataclass
class PointsTool(Tool):
    name: str = field(default="points", init=False)
    _points: list[Point] = field(default_factory=list, init=False, repr=False)
    _visibility: list[int] = field(default_factory=list, init=False, repr=False)
    _right_down: bool = field(default=False, init=False, repr=False)

    @property
    def busy(self) -> bool:
        return bool(self._points)

    def cancel(self) -> None:
        self._points.clear()
        self._visibility.clear()

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.button == "right" and ev.kind in ("press", "release"):
            return self._right(ev)
        if ev.button != "left":
            return False
        if ev.kind == "press":
            self._add(ev)
            return True
        if ev.kind == "double_click":
            if not self.busy:
                return False
            self.commit()
            return True
        return ev.kind == "release" and self.busy

    def on_key(self, ev: KeyEvent) -> bool:
        return pending_key(ev, busy=self.busy, cancel=self.cancel, pop=self._pop, finish=self.commit)

    def preview(self) -> Preview | None:
        if not self._points:
            return None
        return Preview(shape=self._shape(), handles=tuple(self._points),
                       hint=f"{len(self._points)} point(s): click to add (Shift: occluded), "
                            "Return or double-click to finish, Backspace removes the last, "
                            "Esc cancels")

    def commit(self) -> bool:
        """Add the pending set as one annotation; False when there is none or it failed."""
        if not self._points:
            return False
        count = len(self._points)
        noun = "point" if count == 1 else f"{count} points"
        if create_annotation(self.ctx, self._shape(), f"Draw {noun}") is None:
            return False  # the set stays pending, so the user can fix the cause and retry
        self.cancel()
        return True

    def _add(self, ev: PointerEvent) -> None:
        p = clamp(self.ctx, *ev.pos)
        if distance(p, ev.pos) > HANDLE_RADIUS_PX * ev.pixel_size:
            self.ctx.notify("That click is outside the image: no point added")
            return
        self._points.append(p)
        self._visibility.append(OCCLUDED if ev.has("shift") else VISIBLE)

    def _pop(self) -> None:
        self._points.pop()
        self._visibility.pop()

    def _right(self, ev: PointerEvent) -> bool:
        if ev.kind == "press":
            self._right_down = self.busy
            if self.busy:
                self._pop()
            return self._right_down
        was_down, self._right_down = self._right_down, False
        return was_down

    def _shape(self) -> Points:
        return Points(tuple(self._points), tuple(self._visibility))
