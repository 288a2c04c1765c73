"""The click-or-drag vertex gesture shared by the polygon and polyline tools.

Gestures (every vertex is clamped to the image):
- a left click adds a vertex; holding the button down and dragging adds one every
  `VERTEX_SPACING_PX` screen pixels (freehand tracing), and the path stays open on release;
- Backspace, Ctrl+Z or a right-click takes back the last vertex (the last one left: the
  drawing is cancelled); Escape cancels the whole drawing;
- double-click or Return finishes; the polygon also closes by clicking its first vertex
  (within `HANDLE_RADIUS_PX` on screen) once it has three vertices. A double-click aimed at
  the last vertex (within that radius of it) finishes there without adding a near-copy.
Finishing with too few distinct vertices (or, for a polygon, no area) says why and keeps the
drawing open, so nothing already clicked is lost. The result is one `AddAnnotation`: one
undo step, whatever the number of clicks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from app.annotators.shapes import Point, Shape
from app.annotators.tools.base import (
    HANDLE_RADIUS_PX,
    KeyEvent,
    PointerEvent,
    Preview,
    Tool,
)
from app.annotators.tools.drawing import (
    SAME_POINT_PX,
    VERTEX_SPACING_PX,
    clamp,
    create_annotation,
    distance,
    distinct,
    pending_key,
    polygon_area,
)

_HINT = ("Click or drag to add points; {finish}; Backspace or right-click removes the last "
         "point; Esc cancels")


@dataclass
class VertexPathTool(Tool, ABC):
    """Subclasses set `closed`, `min_points`, `noun` and build the shape in `make_shape`."""

    closed: ClassVar[bool] = False
    min_points: ClassVar[int] = 2
    noun: ClassVar[str] = "line"
    finish_hint: ClassVar[str] = "double-click or Return finishes"

    _vertices: list[Point] = field(default_factory=list, init=False, repr=False)
    _pointer: Point | None = field(default=None, init=False, repr=False)  # clamped
    _pressed: bool = field(default=False, init=False, repr=False)  # left held: freehand
    _right_down: bool = field(default=False, init=False, repr=False)
    _press_added: bool = field(default=False, init=False, repr=False)  # last press's vertex
    _pixel: float = field(default=1.0, init=False, repr=False)

    @abstractmethod
    def make_shape(self, points: tuple[Point, ...]) -> Shape:
        ...

    @property
    def vertices(self) -> tuple[Point, ...]:
        """The vertices placed so far (read-only view, for the host and tests)."""
        return tuple(self._vertices)

    @property
    def busy(self) -> bool:
        return bool(self._vertices)

    def cancel(self) -> None:
        self._vertices.clear()
        self._pointer = None
        self._pressed = self._press_added = False

    # -- events ----------------------------------------------------------------------------

    def on_pointer(self, ev: PointerEvent) -> bool:
        self._pixel = ev.pixel_size
        if ev.button == "right" and ev.kind in ("press", "release"):
            return self._right(ev)
        if ev.kind == "move":
            return self._move(ev)
        if ev.button != "left":
            return False
        if ev.kind == "press":
            return self._press(ev)
        if ev.kind == "double_click":
            return self._double_click()
        if ev.kind == "release":
            was_pressed, self._pressed = self._pressed, False
            return was_pressed or self.busy
        return False

    def on_key(self, ev: KeyEvent) -> bool:
        return pending_key(ev, busy=self.busy, cancel=self.cancel, pop=self._pop, finish=self.finish)

    def preview(self) -> Preview | None:
        if not self._vertices:
            return None
        path = list(self._vertices)
        if self._pointer is not None and self._pointer != path[-1]:
            path.append(self._pointer)  # the ghost segment to the pointer
        hint = ("Click to close the polygon" if self._pointer is not None and self._closes_at(
            self._pointer) else _HINT.format(finish=self.finish_hint))
        return Preview(path=tuple(path), handles=tuple(self._vertices), hint=hint)

    def finish(self) -> bool:
        """Create the shape from the vertices so far; False (and a message) if too few."""
        points = distinct(self._vertices, closed=self.closed)
        if len(points) < self.min_points:
            self.ctx.notify(f"A {self.noun} needs at least {self.min_points} distinct points "
                            f"(it has {len(points)}): add more, or press Esc to cancel")
            return False
        if self.closed and polygon_area(points) <= 0.0:
            self.ctx.notify(f"This {self.noun} has no area (its points lie on one line): "
                            "add a point off the line, or press Esc to cancel")
            return False
        # On failure (say, no label picked) the drawing stays, so the user can retry.
        if create_annotation(self.ctx, self.make_shape(points), f"Draw {self.noun}") is None:
            return False
        self.cancel()
        return True

    # -- gesture ---------------------------------------------------------------------------

    def _press(self, ev: PointerEvent) -> bool:
        p = clamp(self.ctx, *ev.pos)
        self._pointer, self._press_added = p, False
        if self._closes_at(p):
            self.finish()
            return True
        if self.closed and len(self._vertices) in (1, 2) and self._near_first(p):
            self.ctx.notify(f"A {self.noun} needs at least 3 points before it can close")
            return True
        self._press_added = self._add(p)
        self._pressed = True
        return True

    def _double_click(self) -> bool:
        if not self.busy:
            return False  # the first click closed the polygon: nothing left to finish
        # Qt's first press of the double click placed a vertex. Aimed at the last vertex
        # (to finish on it, as in labelme) and missed by a hair, it is jitter: drop it.
        if (self._press_added and len(self._vertices) >= 2 and distance(
                self._vertices[-1], self._vertices[-2]) <= HANDLE_RADIUS_PX * self._pixel):
            self._vertices.pop()
        self._press_added = False
        self.finish()
        return True

    def _move(self, ev: PointerEvent) -> bool:
        if not self._vertices:
            return False
        p = clamp(self.ctx, *ev.pos)
        self._pointer = p
        if (self._pressed and ev.button == "left"
                and distance(p, self._vertices[-1]) >= VERTEX_SPACING_PX * ev.pixel_size):
            self._vertices.append(p)
            self._press_added = False
        return True

    def _right(self, ev: PointerEvent) -> bool:
        if ev.kind == "press":
            self._right_down = self.busy
            if self.busy:
                self._pop()
            return self._right_down
        was_down, self._right_down = self._right_down, False
        return was_down  # swallow the release of a press we used (no context menu)

    def _add(self, p: Point) -> bool:
        if self._vertices and distance(p, self._vertices[-1]) < SAME_POINT_PX * self._pixel:
            return False  # a repeat click on the last vertex adds nothing
        self._vertices.append(p)
        return True

    def _pop(self) -> None:
        self._vertices.pop()
        # A freehand drag must not re-add what was just taken back.
        self._pressed = self._press_added = False
        if not self._vertices:
            self.cancel()

    def _near_first(self, p: Point) -> bool:
        return distance(p, self._vertices[0]) <= HANDLE_RADIUS_PX * self._pixel

    def _closes_at(self, p: Point) -> bool:
        return (self.closed and len(distinct(self._vertices, closed=True)) >= 3
                and self._near_first(p))
