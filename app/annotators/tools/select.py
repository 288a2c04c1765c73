"""Select tool: pick, move and reshape annotations.

Pointer (tolerances are screen pixels times the event's pixel_size):
- click: select the topmost visible annotation under the pointer, passing through locked ones
  to an unlocked one beneath (a locked one is selected when nothing else is there); a click
  on empty space clears the selection. Shift or Ctrl+click adds or removes one annotation
  (Shift on a selected shape's handle grabs the handle, so a rotation can snap from the start).
- drag on empty space: rubber band; on release the visible annotations lying wholly inside
  it become the selection (added to it with Shift/Ctrl).
- drag a selected annotation: move every selected one that is visible and unlocked. The
  move is clamped so the selection stays on the image (`reshape.clamp_delta`), and masks move
  by whole pixels.
- drag a handle of a selected annotation: resize a box (corner or edge, flipping past the
  opposite side), resize or turn a rotated box (Shift snaps to 15 degrees), move a vertex,
  or drag an edge midpoint to insert a vertex there. Handle positions are clamped to the image.
- double-click on a selected polygon's or polyline's edge: insert a vertex there.
- Alt+click on a vertex, or Delete/Backspace while a vertex is the active handle (the last one
  pressed), deletes it, never below 3 vertices per polygon ring or 2 per polyline.
Keys: arrows nudge the selection 1 px (Shift: 10 px); Delete/Backspace removes the selected
annotations; Escape cancels a drag (the shapes go back exactly) or clears the selection.
Locked annotations are never moved, reshaped or deleted; the status bar says so.

Undo: each drag is one step. Every move event pushes an `UpdateAnnotations` of the shapes
computed from their state at the press, under one gesture id per press, so the history
merges the drag into one step (and never merges two drags). Absolute shapes rather than
`MoveAnnotations` deltas: no rounding drift across hundreds of moves, and Escape can push
the press-time shapes back, which merges the step into nothing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.annotators.annotation import Annotation
from app.annotators.commands import (
    MoveAnnotations,
    RemoveAnnotations,
    UpdateAnnotations,
)
from app.annotators.shapes import Box, Mask, Point, Shape
from app.annotators.tools import reshape
from app.annotators.tools.base import (
    HANDLE_RADIUS_PX,
    KeyEvent,
    PointerEvent,
    Preview,
    Tool,
)
from app.annotators.tools.drawing import MIN_DRAG_PX, clamp, distance
from app.annotators.tools.hit import Handle, HitIndex, shape_bounds, shape_handles
from app.core.errors import AlayaError

NUDGE_KEYS = {"Left": (-1, 0), "Right": (1, 0), "Up": (0, -1), "Down": (0, 1)}
NUDGE_BIG = 10  # Shift+arrow
DELETE_KEYS = frozenset({"Delete", "Backspace"})
MAX_HANDLE_SHAPES = 32  # beyond this many selected, the preview draws no handles


@dataclass
class _Drag:
    """A press that may become a drag: a move, a reshape, or a rubber band."""

    kind: str  # "move", "reshape" or "band"
    start: Point
    gesture: str = field(default_factory=lambda: uuid.uuid4().hex)
    originals: dict[str, Shape] = field(default_factory=dict)  # shapes at the press
    handle: Handle | None = None  # reshape
    clicked: str | None = None  # move: the annotation pressed on
    additive: bool = False  # band with Shift/Ctrl
    end: Point | None = None  # band
    area: tuple[float, float, float, float] | None = None  # move: union of bounds, to clamp
    whole_pixels: bool = False  # move: a mask is among the shapes
    started: bool = False  # travelled past MIN_DRAG_PX
    pushed: bool = False  # something reached the history


@dataclass
class SelectTool(Tool):
    name: str = field(default="select", init=False)
    cursor: str = field(default="arrow", init=False)
    _drag: _Drag | None = field(default=None, init=False, repr=False)
    _active: Handle | None = field(default=None, init=False, repr=False)  # last vertex pressed
    _index_cache: HitIndex | None = field(default=None, init=False, repr=False)
    _pixel: float = field(default=1.0, init=False, repr=False)

    @property
    def busy(self) -> bool:
        return self._drag is not None

    @property
    def active_handle(self) -> Handle | None:
        return self._active

    def claims_key(self, ev: KeyEvent) -> bool:
        # Delete with a vertex picked removes that vertex, not the whole annotation
        return self.busy or (ev.key in DELETE_KEYS and self._active is not None and self._active.kind == "vertex")

    @property
    def index(self) -> HitIndex:
        """The hit index of the context's current document (rebuilt if the host swaps it)."""
        if self._index_cache is None or self._index_cache.document is not self.ctx.document:
            self._index_cache = HitIndex(self.ctx.document)
        return self._index_cache

    def cancel(self) -> None:
        """Abandon the drag; shapes it changed go back to where they were at the press."""
        drag, self._drag = self._drag, None
        if drag is not None and drag.pushed:
            self._push_shapes(drag, dict(drag.originals), "Cancel")

    # -- pointer -----------------------------------------------------------------------------

    def on_pointer(self, ev: PointerEvent) -> bool:
        self._pixel = ev.pixel_size
        if ev.button != "left" and ev.kind != "move":
            return False
        if ev.kind == "press":
            self._press(ev)
        elif ev.kind == "move":
            return self._move(ev)
        elif ev.kind == "release":
            self._release(ev)
        else:
            return self._double_click(ev)
        return True

    def _press(self, ev: PointerEvent) -> None:
        self._drag = None
        toggle = ev.has("shift") or ev.has("ctrl")
        # Shift may be held from the press to snap a rotation, so only Ctrl skips handles.
        handle = None if ev.has("ctrl") else self.index.handle_at(self.ctx.selection, *ev.pos,
                                                                  ev.pixel_size)
        if handle is not None:
            self._press_handle(handle, ev)
            return
        hit = self.index.pick(*ev.pos, HANDLE_RADIUS_PX * ev.pixel_size)
        self._active = None
        if toggle and hit is not None:
            self.ctx.set_selection(sorted(self.ctx.selection ^ {hit.id}))
        elif hit is not None:
            if hit.id not in self.ctx.selection:
                self.ctx.set_selection([hit.id])
            self._drag = _Drag("move", ev.pos, clicked=hit.id)
        else:
            self._drag = _Drag("band", ev.pos, additive=toggle)

    def _press_handle(self, handle: Handle, ev: PointerEvent) -> None:
        annotation = self.ctx.document.get(handle.annotation_id)
        self._active = handle if handle.kind == "vertex" else None
        if ev.has("alt"):
            if handle.kind == "vertex":
                self._delete_vertex(handle)
            return
        if annotation.locked:
            self.ctx.notify(f"The {annotation.label} annotation is locked: unlock it to edit")
            return
        self._drag = _Drag("reshape", ev.pos, handle=handle,
                           originals={annotation.id: annotation.shape})

    def _move(self, ev: PointerEvent) -> bool:
        drag = self._drag
        if drag is None:
            self._hover(ev)
            return False
        if not drag.started:
            if distance(ev.pos, drag.start) < MIN_DRAG_PX * ev.pixel_size:
                return True
            drag.started = True
            if drag.kind == "move":
                self._start_move(drag)
        if drag.kind == "band":
            drag.end = ev.pos
        elif drag.kind == "move":
            self._move_to(drag, ev.pos)
        else:
            self._reshape_to(drag, ev)
        return True

    def _release(self, ev: PointerEvent) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return
        if drag.kind == "band":
            if drag.started:
                found = self.index.inside(*drag.start, *ev.pos)
                base = self.ctx.selection if drag.additive else frozenset()
                self.ctx.set_selection(sorted(base | set(found)))
            elif not drag.additive:
                self.ctx.set_selection([])
        elif drag.kind == "move" and not drag.started and drag.clicked is not None:
            self.ctx.set_selection([drag.clicked])  # a plain click on one of several
        elif drag.kind == "reshape" and drag.started and drag.handle is not None:
            handle = drag.handle
            if handle.kind == "midpoint":  # the inserted vertex becomes the active one
                self._active = reshape.inserted_handle(handle, handle.pos)

    def _double_click(self, ev: PointerEvent) -> bool:
        self._drag = None
        handle = self.index.handle_at(self.ctx.selection, *ev.pos, ev.pixel_size)
        if handle is not None and handle.kind == "vertex":
            return False  # on a vertex already: a second one there would be a duplicate
        edge = self.index.edge_at(self.ctx.selection, *ev.pos, HANDLE_RADIUS_PX * ev.pixel_size)
        if edge is None:
            return False
        annotation = self.ctx.document.get(edge.annotation_id)
        if self._refuse_locked(annotation):
            return True
        shape = reshape.insert_vertex(annotation.shape, edge, edge.pos)
        if self._push({annotation.id: {"shape": shape}}, "Insert vertex"):
            self._active = reshape.inserted_handle(edge, edge.pos)
        return True

    def _hover(self, ev: PointerEvent) -> None:
        if self.index.handle_at(self.ctx.selection, *ev.pos, ev.pixel_size) is not None:
            self.cursor = "pointing"
        elif self.index.pick(*ev.pos, HANDLE_RADIUS_PX * ev.pixel_size) is not None:
            self.cursor = "open_hand"
        else:
            self.cursor = "arrow"

    # -- moving and reshaping ----------------------------------------------------------------

    def _movable(self, ids: frozenset[str]) -> list[Annotation]:
        """The selected annotations a move or nudge may change; says why others stay."""
        chosen = [self.ctx.document.get(i) for i in sorted(ids) if i in self.ctx.document]
        locked = [a for a in chosen if a.locked]
        if locked:
            what = "annotation is" if len(locked) == 1 else "annotations are"
            self.ctx.notify(f"{len(locked)} locked {what} left in place")
        return [a for a in chosen if not a.locked and not a.hidden]

    def _start_move(self, drag: _Drag) -> None:
        drag.originals = {a.id: a.shape for a in self._movable(self.ctx.selection)}
        drag.area, drag.whole_pixels = _extent(drag.originals.values())

    def _move_to(self, drag: _Drag, pos: Point) -> None:
        if not drag.originals:
            return
        dx, dy = pos[0] - drag.start[0], pos[1] - drag.start[1]
        if drag.whole_pixels:
            dx, dy = float(round(dx)), float(round(dy))
        dx, dy = reshape.clamp_delta(drag.area, dx, dy, self.ctx.image_size)
        shapes = {i: s.translated(dx, dy) for i, s in drag.originals.items()}
        self._push_shapes(drag, shapes, "Move")

    def _reshape_to(self, drag: _Drag, ev: PointerEvent) -> None:
        assert drag.handle is not None
        (annotation_id, original), = drag.originals.items()
        x, y = ev.pos if drag.handle.kind == "rotate" else clamp(self.ctx, *ev.pos)
        try:
            shape = reshape.drag_handle(original, drag.handle, x, y, snap=ev.has("shift"))
        except (reshape.Refused, AlayaError) as err:
            self.ctx.notify(str(err))
            return
        if drag.handle.kind == "midpoint":
            drag.handle = Handle(annotation_id, "midpoint", drag.handle.index, (x, y),
                                 drag.handle.part, drag.handle.ring)
        self._push_shapes(drag, {annotation_id: shape}, "Reshape")

    def _push_shapes(self, drag: _Drag, shapes: dict[str, Shape], description: str) -> None:
        edits = {i: {"shape": s} for i, s in shapes.items()}
        if self._push(edits, description, gesture=drag.gesture):
            drag.pushed = True

    def _push(self, edits: dict[str, dict[str, Any]], description: str,
              gesture: str | None = None) -> bool:
        try:
            self.ctx.push(UpdateAnnotations(edits, description, gesture=gesture))
        except AlayaError as err:
            self.ctx.notify(f"{description} refused: {err}")
            return False
        return True

    # -- keys ------------------------------------------------------------------------------

    def on_key(self, ev: KeyEvent) -> bool:
        if ev.key == "Escape":
            if self._drag is not None:
                self.cancel()
            elif self.ctx.selection or self._active:
                self._active = None
                self.ctx.set_selection([])
            else:
                return False
            return True
        if self._drag is not None:
            return False  # no edits from the keyboard in the middle of a drag
        if ev.key in DELETE_KEYS:
            return self._delete()
        if ev.key in NUDGE_KEYS:
            step = NUDGE_BIG if "shift" in ev.modifiers else 1
            ux, uy = NUDGE_KEYS[ev.key]
            return self._nudge(ux * step, uy * step)
        return False

    def _nudge(self, dx: float, dy: float) -> bool:
        movable = self._movable(self.ctx.selection)
        if not movable:
            return bool(self.ctx.selection)
        area, _ = _extent(a.shape for a in movable)
        dx, dy = reshape.clamp_delta(area, dx, dy, self.ctx.image_size)
        if (dx, dy) != (0, 0):
            # A fresh gesture per key press: each nudge is its own undo step.
            self._try(MoveAnnotations([a.id for a in movable], dx, dy, gesture=uuid.uuid4().hex,
                                      description="Nudge"))
        return True

    def _delete(self) -> bool:
        active = self._active
        if (active is not None and active.annotation_id in self.ctx.selection
                and active.annotation_id in self.ctx.document):
            self._delete_vertex(active)
            return True
        chosen = [self.ctx.document.get(i) for i in sorted(self.ctx.selection)
                  if i in self.ctx.document]
        if not chosen:
            return False
        kept = [a.id for a in chosen if a.locked]
        if kept:
            self.ctx.notify(f"{len(kept)} locked annotation(s) not deleted: unlock them first")
        doomed = [a.id for a in chosen if not a.locked]
        if doomed and self._try(RemoveAnnotations(doomed)):
            self.ctx.set_selection(kept)
        return True

    def _delete_vertex(self, handle: Handle) -> None:
        self._active = None
        annotation = self.ctx.document.get(handle.annotation_id)
        if self._refuse_locked(annotation):
            return
        try:
            shape = reshape.delete_vertex(annotation.shape, handle)
        except reshape.Refused as err:
            self.ctx.notify(str(err))
            return
        self._push({annotation.id: {"shape": shape}}, "Delete vertex")

    def _refuse_locked(self, annotation: Annotation) -> bool:
        if annotation.locked:
            self.ctx.notify(f"The {annotation.label} annotation is locked: unlock it to edit")
        return annotation.locked

    def _try(self, command: Any) -> bool:
        try:
            self.ctx.push(command)
        except AlayaError as err:
            self.ctx.notify(f"{command.description} refused: {err}")
            return False
        return True

    # -- preview -----------------------------------------------------------------------------

    def preview(self) -> Preview | None:
        drag = self._drag
        if drag is not None and drag.kind == "band" and drag.started and drag.end is not None:
            return Preview(shape=Box(*drag.start, *drag.end), hint="Select the shapes inside")
        selected = [i for i in sorted(self.ctx.selection) if i in self.ctx.document]
        if not selected or len(selected) > MAX_HANDLE_SHAPES:
            return None
        handles = tuple(h.pos for i in selected
                        for h in shape_handles(i, self.ctx.document.get(i).shape, self._pixel))
        return Preview(handles=handles) if handles else None


def _extent(shapes: Iterable[Shape]) -> tuple[tuple[float, float, float, float] | None, bool]:
    """(union of the shapes' bounds or None, whether a mask is among them). Masks move by
    whole pixels only, so with one the area snaps out to pixel edges and clamping whole-pixel
    moves against it gives whole pixels again."""
    shapes = list(shapes)
    boxes = [b for b in map(shape_bounds, shapes) if b is not None]
    whole = any(isinstance(s, Mask) for s in shapes)
    if not boxes:
        return None, whole
    area = (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))
    if whole:
        area = (math.floor(area[0]), math.floor(area[1]), math.ceil(area[2]), math.ceil(area[3]))
    return area, whole
