"""Box tool: draw an axis-aligned box by dragging, or by two clicks.

Gestures (coordinates are clamped to the image):
- press, drag, release: a box from the press to the release;
- click, move, click: a click that travels under `MIN_DRAG_PX` screen pixels anchors the
  first corner (the status bar says so) and the next click places the opposite one;
- Shift held while moving or releasing keeps the box square;
- Return finishes a two-click box at the pointer; Escape or a right-click cancels.
A box narrower or shorter than `MIN_DRAG_PX` screen pixels creates nothing and says why.
The new box gets the current label, is one undo step, and becomes the selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.annotators.shapes import Box, Point
from app.annotators.tools.base import KeyEvent, PointerEvent, Preview, Tool
from app.annotators.tools.drawing import (
    FINISH_KEYS,
    MIN_DRAG_PX,
    clamp,
    create_annotation,
    distance,
    extent,
    right_press_cancels,
)


@dataclass
class BoxTool(Tool):
    name: str = field(default="box", init=False)
    _anchor: Point | None = field(default=None, init=False, repr=False)  # clamped first corner
    _press_at: Point = field(default=(0.0, 0.0), init=False, repr=False)  # raw, for drag test
    _pointer: Point = field(default=(0.0, 0.0), init=False, repr=False)  # raw pointer
    _pressed: bool = field(default=False, init=False, repr=False)
    _right_down: bool = field(default=False, init=False, repr=False)  # a cancelling press
    _dragged: bool = field(default=False, init=False, repr=False)
    _two_click: bool = field(default=False, init=False, repr=False)  # waiting for corner 2
    _square: bool = field(default=False, init=False, repr=False)
    _pixel: float = field(default=1.0, init=False, repr=False)  # latest pixel_size, for keys

    @property
    def busy(self) -> bool:
        return self._anchor is not None

    def cancel(self) -> None:
        self._anchor = None
        self._pressed = self._dragged = self._two_click = self._square = False

    def on_pointer(self, ev: PointerEvent) -> bool:
        self._pixel = ev.pixel_size
        if ev.button == "right" and ev.kind in ("press", "release"):
            return self._right(ev)
        if ev.button == "left" and ev.kind in ("press", "double_click"):
            # Qt sends the second press of a quick double click as a double_click.
            return self._press(ev)
        if ev.kind == "move":
            return self._move(ev)
        if ev.button == "left" and ev.kind == "release":
            return self._release(ev)
        return False

    def on_key(self, ev: KeyEvent) -> bool:
        if not self.busy:
            return False
        if ev.key == "Escape":
            self.cancel()
            return True
        if ev.key in FINISH_KEYS and self._two_click:
            self._commit()
            return True
        return False

    def preview(self) -> Preview | None:
        if self._anchor is None:
            return None
        hint = ("Click the opposite corner (Shift: square, Esc: cancel)" if self._two_click
                else "Release to finish the box (Shift: square, Esc: cancel)")
        return Preview(shape=self._box(), handles=(self._anchor,), hint=hint)

    # -- gesture ---------------------------------------------------------------------------

    def _right(self, ev: PointerEvent) -> bool:
        return right_press_cancels(self, ev)

    def _press(self, ev: PointerEvent) -> bool:
        if self._pressed:
            return True  # a second button press mid-drag changes nothing
        self._pressed, self._pointer, self._square = True, ev.pos, ev.has("shift")
        if self._anchor is None:
            self._anchor = clamp(self.ctx, *ev.pos)
            self._press_at, self._dragged = ev.pos, False
        return True

    def _move(self, ev: PointerEvent) -> bool:
        if self._anchor is None:
            return False
        self._pointer, self._square = ev.pos, ev.has("shift")
        if self._pressed and distance(ev.pos, self._press_at) >= MIN_DRAG_PX * ev.pixel_size:
            self._dragged = True
        return True

    def _release(self, ev: PointerEvent) -> bool:
        if not self._pressed:
            return False
        self._pressed, self._pointer, self._square = False, ev.pos, ev.has("shift")
        if self._two_click or self._dragged:
            self._commit()
        else:
            self._two_click = True
            self.ctx.notify("Click the opposite corner to finish the box, or drag to draw one")
        return True

    def _commit(self) -> None:
        box = self._box()
        self.cancel()
        minimum = MIN_DRAG_PX * self._pixel
        width, height = box.x2 - box.x1, box.y2 - box.y1
        if min(width, height) < minimum or width <= 0 or height <= 0:
            self.ctx.notify(f"Box too small ({width:.1f} x {height:.1f} px): nothing drawn; "
                            f"drag at least {MIN_DRAG_PX:g} screen pixels each way")
            return
        create_annotation(self.ctx, box, "Draw box")

    def _box(self) -> Box:
        assert self._anchor is not None
        return extent(self.ctx, self._anchor, *self._pointer, square=self._square)
