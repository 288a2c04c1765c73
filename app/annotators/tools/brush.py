"""Brush and eraser: paint pixels into a mask, or take them out, with a round brush.

A stroke works on a numpy buffer: the press decodes the target mask once (a new mask starts
empty), every move paints the capsule from the previous pointer position to the new one, so
a fast drag leaves no gaps however far apart the events are, and the release encodes once
and pushes one command, so a stroke is one undo step:
- brush into a new mask: `AddAnnotation` of the current label (the new mask is selected, so
  the next stroke adds to it);
- into an existing mask: `PatchMask`, which keeps only the stroke's bounding rectangle
  before and after (see `app.annotators.mask_patch` for why not the whole mask);
- an eraser stroke that empties its mask: `RemoveAnnotations`.

Targets. The brush paints into the one selected mask when its label is the current label,
and otherwise starts a new mask. The eraser erases from the one selected mask, or else from
the topmost mask under the press. Hidden or locked targets are refused, with a message.
A pixel is painted when its centre lies within `radius` image pixels of the stroke's path.
Preview: `cursor_ring` follows the pointer; during a stroke `path` is its centre line, which
the view draws `radius` wide until the release puts the real pixels in the document.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from app.annotators.annotation import Annotation
from app.annotators.commands import RemoveAnnotations
from app.annotators.mask_patch import PatchMask, buffer_mask, empty_buffer, mask_buffer
from app.annotators.shapes import Mask, Point
from app.annotators.tools.base import KeyEvent, PointerEvent, Preview, Tool
from app.annotators.tools.drawing import create_annotation
from app.annotators.tools.hit import HitIndex
from app.core.errors import AlayaError

MIN_RADIUS, MAX_RADIUS = 1.0, 500.0
DEFAULT_RADIUS = 10.0
RADIUS_STEP = 1.25  # `[` and `]` scale the radius by this (and always by at least 1 px)
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, end-exclusive


def paint_segment(buffer: np.ndarray, a: Point, b: Point, radius: float, value: int
                  ) -> Rect | None:
    """Set to `value` the pixels whose centres lie within `radius` of the segment a-b;
    returns the rectangle examined (clipped to the buffer), or None when it is off it."""
    height, width = buffer.shape
    (ax, ay), (bx, by) = a, b
    x0, x1 = max(math.floor(min(ax, bx) - radius), 0), min(math.ceil(max(ax, bx) + radius), width)
    y0, y1 = max(math.floor(min(ay, by) - radius), 0), min(math.ceil(max(ay, by) + radius), height)
    if x0 >= x1 or y0 >= y1:
        return None
    px = np.arange(x0, x1, dtype=np.float64)[None, :] + (0.5 - ax)  # centre minus a
    py = np.arange(y0, y1, dtype=np.float64)[:, None] + (0.5 - ay)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 > 0 else 0.0
    inside = (px - t * dx) ** 2 + (py - t * dy) ** 2 <= radius * radius
    buffer[y0:y1, x0:x1][inside] = value
    return (x0, y0, x1, y1)


def _union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


@dataclass
class _Stroke:
    target: Annotation | None  # None: the brush is drawing a new mask
    buffer: np.ndarray  # (h, w) uint8, Fortran order (see mask_patch.mask_buffer)
    original: np.ndarray | None  # the target's pixels at the press, for the undo patch
    last: Point
    path: list[Point]
    rect: Rect | None = None  # pixels touched so far


@dataclass
class _MaskStrokeTool(Tool, ABC):
    """What the brush and the eraser share; subclasses pick the target and the value."""

    cursor: str = field(default="none", init=False)  # the preview's ring is the cursor
    _radius: float = field(default=DEFAULT_RADIUS, init=False, repr=False)
    _pointer: Point | None = field(default=None, init=False, repr=False)
    _stroke: _Stroke | None = field(default=None, init=False, repr=False)
    _index: HitIndex | None = field(default=None, init=False, repr=False)
    value: int = field(default=1, init=False)  # what the stroke writes: 1 paint, 0 erase

    @property
    def radius(self) -> float:
        """Brush radius in image pixels, kept within [MIN_RADIUS, MAX_RADIUS]."""
        return self._radius

    @radius.setter
    def radius(self, value: float) -> None:
        self._radius = min(max(float(value), MIN_RADIUS), MAX_RADIUS)

    @property
    def busy(self) -> bool:
        return self._stroke is not None

    def cancel(self) -> None:
        """Drop the stroke: nothing has reached the document before the release."""
        self._stroke = None

    def on_pointer(self, ev: PointerEvent) -> bool:
        self._pointer = ev.pos
        # Qt delivers the second press of a quick double tap as a double_click.
        if ev.kind in ("press", "double_click") and ev.button == "left":
            if self._stroke is None:
                self._begin(ev.pos)
            return True
        if ev.kind == "move":
            if self._stroke is not None:
                self._paint_to(ev.pos)
            return True  # the ring follows the pointer even without a stroke
        if ev.kind == "release" and ev.button == "left" and self._stroke is not None:
            self._paint_to(ev.pos)
            self._finish()
            return True
        return False

    def on_key(self, ev: KeyEvent) -> bool:
        if ev.key == "]":
            self.radius = max(self._radius + 1, self._radius * RADIUS_STEP)
        elif ev.key == "[":
            self.radius = min(self._radius - 1, self._radius / RADIUS_STEP)
        elif ev.key == "Escape" and self._stroke is not None:
            self.cancel()
        else:
            return False
        return True

    def preview(self) -> Preview | None:
        ring = None if self._pointer is None else (*self._pointer, self._radius)
        path = tuple(self._stroke.path) if self._stroke is not None else ()
        if ring is None and not path:
            return None
        return Preview(path=path, cursor_ring=ring, hint=f"{self.name} {self._radius:g} px")

    # -- the stroke --------------------------------------------------------------------------

    @abstractmethod
    def _target(self, pos: Point) -> tuple[Annotation | None, bool]:
        """(mask to edit or None for a new one, whether the stroke may go ahead)."""
        ...

    def _begin(self, pos: Point) -> None:
        target, ok = self._target(pos)
        if not ok:
            return
        if target is None:
            width, height = self.ctx.image_size
            buffer, original = empty_buffer(height, width), None
        else:
            assert isinstance(target.shape, Mask)
            buffer = mask_buffer(target.shape)
            original = buffer.copy(order="F")
        self._stroke = _Stroke(target, buffer, original, pos, [pos])
        self._paint_to(pos)

    def _paint_to(self, pos: Point) -> None:
        stroke = self._stroke
        assert stroke is not None
        touched = paint_segment(stroke.buffer, stroke.last, pos, self._radius, self.value)
        stroke.rect = _union(stroke.rect, touched)
        if pos != stroke.last:
            stroke.path.append(pos)
        stroke.last = pos

    def _finish(self) -> None:
        stroke, self._stroke = self._stroke, None
        assert stroke is not None
        if stroke.rect is None:
            return  # the whole stroke was off the image
        x0, y0, x1, y1 = stroke.rect
        after = stroke.buffer[y0:y1, x0:x1]
        try:
            if stroke.target is None:
                if after.any():
                    create_annotation(self.ctx, buffer_mask(stroke.buffer), "Paint mask")
                return
            assert stroke.original is not None
            if stroke.target.id not in self.ctx.document or (
                    self.ctx.document.get(stroke.target.id) is not stroke.target):
                self.ctx.notify("The mask changed during the stroke: the stroke was dropped")
                return
            before = stroke.original[y0:y1, x0:x1]
            if np.array_equal(before, after):
                return  # painted over what was already there
            self._commit(stroke.target, (x0, y0), before, after, stroke.buffer)
        except AlayaError as err:  # a refusal the user should read (e.g. history busy)
            self.ctx.notify(f"The {self.name} stroke was not applied: {err}")

    def _commit(self, target: Annotation, origin: tuple[int, int], before: np.ndarray,
                after: np.ndarray, buffer: np.ndarray) -> None:
        if not buffer.any():
            self.ctx.push(RemoveAnnotations([target.id], "Erase mask"))
            self.ctx.set_selection([i for i in self.ctx.selection if i != target.id])
            self.ctx.notify("The mask was erased completely and removed")
            return
        verb = "Paint" if self.value else "Erase"
        self.ctx.push(PatchMask(target.id, *origin, before, after,
                                description=f"{verb} {target.label}",
                                result=buffer_mask(buffer)))

    def _selected_mask(self) -> Annotation | None:
        selection = self.ctx.selection
        if len(selection) != 1:
            return None
        (only,) = selection
        if only not in self.ctx.document:
            return None
        annotation = self.ctx.document.get(only)
        return annotation if isinstance(annotation.shape, Mask) else None

    def _usable(self, annotation: Annotation) -> bool:
        """Whether the stroke may edit it; says why not."""
        if annotation.locked:
            self.ctx.notify(f"The {annotation.label} mask is locked: unlock it to edit it")
            return False
        if annotation.hidden:
            self.ctx.notify(f"The {annotation.label} mask is hidden: show it to edit it")
            return False
        return True


@dataclass
class BrushTool(_MaskStrokeTool):
    name: str = field(default="brush", init=False)

    def _target(self, pos: Point) -> tuple[Annotation | None, bool]:
        selected = self._selected_mask()
        if selected is not None and selected.label == self.ctx.label:
            return selected, self._usable(selected)
        if not self.ctx.label or not self.ctx.label.strip():
            self.ctx.notify("Pick a label before painting")
            return None, False
        return None, True


@dataclass
class EraserTool(_MaskStrokeTool):
    name: str = field(default="eraser", init=False)
    value: int = field(default=0, init=False)

    def _target(self, pos: Point) -> tuple[Annotation | None, bool]:
        target = self._selected_mask()
        if target is None:
            if self._index is None or self._index.document is not self.ctx.document:
                self._index = HitIndex(self.ctx.document)
            target = self._index.pick(*pos, kinds=("mask",))
        if target is None:
            self.ctx.notify("No mask here to erase: select one, or press on one")
            return None, False
        return target, self._usable(target)
