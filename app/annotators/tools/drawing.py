"""What the drawing tools share: tolerances in screen pixels, clamping, and creation.

Tolerances are written in screen pixels and multiplied by the event's `pixel_size`, so a
gesture feels the same at every zoom. A new annotation always goes through
`create_annotation`: one `AddAnnotation` pushed on the history (one undo step), the current
label and author, source "human", and it becomes the selection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from app.annotators.annotation import Annotation
from app.annotators.commands import AddAnnotation
from app.annotators.shapes import Box, Point, Shape
from app.annotators.tools.base import KeyEvent, PointerEvent, ToolContext
from app.core.errors import AlayaError

MIN_DRAG_PX = 3.0  # a press that travels less than this is a click, not a drag
VERTEX_SPACING_PX = 5.0  # distance between the points a held-down drag adds
SAME_POINT_PX = 1.0  # a vertex this close to the previous one is a repeat, not a new vertex
FINISH_KEYS = frozenset({"Return", "Enter"})  # Enter is the keypad's


def distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def clamp(ctx: ToolContext, x: float, y: float) -> Point:
    """The nearest point of the image rectangle [0, w] x [0, h]."""
    width, height = ctx.image_size
    return (min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height)))


def is_undo_key(ev: KeyEvent) -> bool:
    """Ctrl+Z (Cmd+Z): mid-gesture it takes back the last vertex, as labelme and CVAT do."""
    return ev.key.lower() == "z" and bool(ev.modifiers & {"ctrl", "meta"}) and (
        "shift" not in ev.modifiers)


def extent(ctx: ToolContext, anchor: Point, x: float, y: float, *, square: bool) -> Box:
    """The box from `anchor` (inside the image) to the pointer, clamped to the image.

    With `square` the side is the larger of the two drag lengths, shrunk to the room left
    in both directions so that clamping cannot turn the square back into a rectangle.
    """
    if not square:
        return Box(*anchor, *clamp(ctx, x, y))
    width, height = ctx.image_size
    ax, ay = anchor
    dx, dy = x - ax, y - ay
    room_x = width - ax if dx >= 0 else ax
    room_y = height - ay if dy >= 0 else ay
    side = min(max(abs(dx), abs(dy)), room_x, room_y)
    return Box(ax, ay, ax + math.copysign(side, dx), ay + math.copysign(side, dy))


def polygon_area(points: Sequence[Point]) -> float:
    """Unsigned shoelace area of a ring."""
    twice = sum(x1 * y2 - x2 * y1
                for (x1, y1), (x2, y2) in zip(points, (*points[1:], points[0])))
    return abs(twice) / 2.0


def distinct(points: Sequence[Point], *, closed: bool) -> tuple[Point, ...]:
    """The points without consecutive repeats (and, when `closed`, last == first)."""
    kept: list[Point] = []
    for p in points:
        if not kept or p != kept[-1]:
            kept.append(p)
    if closed and len(kept) > 1 and kept[0] == kept[-1]:
        kept.pop()
    return tuple(kept)


def create_annotation(ctx: ToolContext, shape: Shape, description: str) -> Annotation | None:
    """Add `shape` as a new annotation of the current label and select it.

    Returns None, after telling the user why, when there is no label or the edit is
    refused; the document is then untouched.
    """
    label = ctx.label
    if not label or not label.strip():
        ctx.notify("Pick a label before drawing")
        return None
    try:
        attributes = {}
        if ctx.schema is not None:  # the schema decides which shapes a label takes, and defaults
            allowed = ctx.schema.get_class(label).allowed_kinds
            if shape.kind not in allowed:
                kinds = ", ".join(k.replace("_", " ") for k in allowed)
                ctx.notify(f"{label} takes {kinds}, not a {shape.kind.replace('_', ' ')}")
                return None
            attributes = ctx.schema.apply_defaults(label, {})  # required ones are set afterwards
        annotation = Annotation.new(asset_id=ctx.asset_id, label=label, shape=shape,
                                    author=ctx.author, source="human", attributes=attributes)
        ctx.push(AddAnnotation(annotation, description=description))
    except AlayaError as err:  # a user-facing refusal (bad value, history busy): say it
        ctx.notify(f"Could not add the {shape.kind.replace('_', ' ')}: {err}")
        return None
    ctx.set_selection([annotation.id])
    return annotation


def pending_key(ev: KeyEvent, *, busy: bool, cancel: Callable[[], None], pop: Callable[[], None],
                finish: Callable[[], None]) -> bool:
    """The keys of a tool collecting points: Escape cancels, Backspace or Ctrl+Z takes back the
    last point, Return finishes. Only while something is pending; True when handled."""
    if not busy:
        return False
    if ev.key == "Escape":
        cancel()
    elif ev.key == "Backspace" or is_undo_key(ev):
        pop()
    elif ev.key in FINISH_KEYS:
        finish()
    else:
        return False
    return True


def right_press_cancels(tool: Any, ev: PointerEvent) -> bool:
    """A right press cancels the gesture; its release is swallowed (no context menu).

    Uses the tool's `_right_down` flag, `busy` and `cancel()`."""
    if ev.kind == "press":
        tool._right_down = tool.busy
        tool.cancel()
        return tool._right_down
    was_down, tool._right_down = tool._right_down, False
    return was_down
