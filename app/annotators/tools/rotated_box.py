"""Rotated box tool: drag the extent, then turn it with the pointer and click to place it.

Two phases, so that no modifier key is needed (Alt is taken by many window managers):
1. press, drag, release draws the axis-aligned extent, clamped to the image (Shift: square).
   A drag under `MIN_DRAG_PX` screen pixels in either direction creates nothing and says why.
2. After the release the box turns with the pointer around its centre: the angle is how far
   the pointer has swept around the centre since the release, taken along the shortest arc
   and kept in [-180, 180) degrees (so releasing and clicking on the spot gives 0). Shift
   snaps to `SNAP_DEGREES`. A left click (or Return) places the box; near the centre the
   pointer does not turn it, since the direction there is noise.
Escape or a right-click cancels either phase. Turning may take corners past the image edge:
the extent is clamped, the rotation is what the user aimed at. The new box gets the current
label, is one undo step, and becomes the selection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.annotators.shapes import Box, Point, RotatedBox, normalize_angle
from app.annotators.tools.base import (
    HANDLE_RADIUS_PX,
    KeyEvent,
    PointerEvent,
    Preview,
    Tool,
)
from app.annotators.tools.drawing import (
    FINISH_KEYS,
    MIN_DRAG_PX,
    clamp,
    create_annotation,
    distance,
    extent,
    right_press_cancels,
)

SNAP_DEGREES = 15.0


@dataclass
class RotatedBoxTool(Tool):
    name: str = field(default="rotated_box", init=False)
    _anchor: Point | None = field(default=None, init=False, repr=False)  # phase 1 corner
    _pointer: Point = field(default=(0.0, 0.0), init=False, repr=False)
    _square: bool = field(default=False, init=False, repr=False)
    _box: RotatedBox | None = field(default=None, init=False, repr=False)  # phase 2
    _reference: float = field(default=0.0, init=False, repr=False)  # pointer bearing at 0 deg
    _pressed: bool = field(default=False, init=False, repr=False)
    _right_down: bool = field(default=False, init=False, repr=False)  # a cancelling press

    @property
    def busy(self) -> bool:
        return self._anchor is not None or self._box is not None

    def cancel(self) -> None:
        self._anchor = self._box = None
        self._pressed = self._square = False

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.button == "right" and ev.kind in ("press", "release"):
            return self._right(ev)
        if ev.kind == "move":
            return self._move(ev)
        if ev.button != "left":
            return False
        if ev.kind in ("press", "double_click"):
            return self._press(ev)
        if ev.kind == "release":
            return self._release(ev)
        return False

    def on_key(self, ev: KeyEvent) -> bool:
        if not self.busy:
            return False
        if ev.key == "Escape":
            self.cancel()
            return True
        if ev.key in FINISH_KEYS and self._box is not None:
            self._place()
            return True
        return False

    def preview(self) -> Preview | None:
        if self._box is not None:
            return Preview(shape=self._box, handles=((self._box.cx, self._box.cy),),
                           hint=f"{self._box.angle:.0f}\N{DEGREE SIGN}: move to turn, click to "
                                f"place (Shift: {SNAP_DEGREES:g}\N{DEGREE SIGN} steps, "
                                "Esc: cancel)")
        if self._anchor is not None:
            return Preview(shape=self._extent(), handles=(self._anchor,),
                           hint="Release, then turn the box (Shift: square, Esc: cancel)")
        return None

    # -- gesture ---------------------------------------------------------------------------

    def _right(self, ev: PointerEvent) -> bool:
        return right_press_cancels(self, ev)

    def _press(self, ev: PointerEvent) -> bool:
        if self._box is not None:
            self._pressed = True
            self._turn(ev)
        elif self._anchor is None and ev.kind == "press":  # a double click's 2nd half: no
            self._anchor = clamp(self.ctx, *ev.pos)
            self._pointer, self._square = ev.pos, ev.has("shift")
        return True

    def _move(self, ev: PointerEvent) -> bool:
        if self._box is not None:
            self._turn(ev)
            return True
        if self._anchor is None:
            return False
        self._pointer, self._square = ev.pos, ev.has("shift")
        return True

    def _release(self, ev: PointerEvent) -> bool:
        if self._box is not None:
            if self._pressed:  # the click that places the box
                self._turn(ev)
                self._place()
            return True
        if self._anchor is None:
            return False
        self._pointer, self._square = ev.pos, ev.has("shift")
        self._start_turning(self._extent(), ev)
        return True

    def _start_turning(self, box: Box, ev: PointerEvent) -> None:
        self._anchor = None
        width, height = box.x2 - box.x1, box.y2 - box.y1
        if min(width, height) < MIN_DRAG_PX * ev.pixel_size or width <= 0 or height <= 0:
            self.ctx.notify("Drag to draw the box, then move the pointer to turn it and click "
                            f"to place it (nothing drawn: {width:.1f} x {height:.1f} px)")
            self.cancel()
            return
        cx, cy = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
        self._box = RotatedBox(cx, cy, width, height, 0.0)
        self._reference = _bearing((cx, cy), clamp(self.ctx, *ev.pos))

    def _turn(self, ev: PointerEvent) -> None:
        box = self._box
        assert box is not None
        centre = (box.cx, box.cy)
        if distance(centre, ev.pos) < HANDLE_RADIUS_PX * ev.pixel_size:
            return
        # normalize_angle wraps the sweep to the shortest arc: 350 degrees is -10.
        angle = normalize_angle(_bearing(centre, ev.pos) - self._reference)
        if ev.has("shift"):
            angle = normalize_angle(round(angle / SNAP_DEGREES) * SNAP_DEGREES)
        self._box = RotatedBox(box.cx, box.cy, box.w, box.h, angle + 0.0)  # no -0.0

    def _place(self) -> None:
        box = self._box
        self.cancel()
        if box is not None:
            create_annotation(self.ctx, box, "Draw rotated box")

    def _extent(self) -> Box:
        assert self._anchor is not None
        return extent(self.ctx, self._anchor, *self._pointer, square=self._square)


def _bearing(centre: Point, p: Point) -> float:
    """Direction from centre to p in degrees, clockwise on screen (y points down)."""
    return math.degrees(math.atan2(p[1] - centre[1], p[0] - centre[0]))
