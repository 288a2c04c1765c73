"""The contract between the canvas view and the tools.

Coordinates are image pixels in the continuous convention of `app.annotators.shapes`
(pixel (0, 0) covers [0, 1) x [0, 1)). `pixel_size` is how many image pixels one screen
pixel spans at the current zoom, so hit tolerances stay constant on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from app.annotators.document import AnnotationDocument
from app.annotators.ontology import LabelSchema
from app.annotators.shapes import Shape

PointerKind = Literal["press", "move", "release", "double_click"]
Button = Literal["left", "right", "middle", "none"]
Modifier = Literal["shift", "ctrl", "alt", "meta"]

HANDLE_RADIUS_PX = 6.0  # on screen; multiply by pixel_size for image units


@dataclass(frozen=True)
class PointerEvent:
    kind: PointerKind
    x: float
    y: float
    button: Button = "left"  # the button that changed (press/release) or is held (move); "none" = hover
    modifiers: frozenset[Modifier] = frozenset()
    pixel_size: float = 1.0

    @property
    def pos(self) -> tuple[float, float]:
        return (self.x, self.y)

    def has(self, modifier: Modifier) -> bool:
        return modifier in self.modifiers


@dataclass(frozen=True)
class KeyEvent:
    """`key` is a Qt-neutral name: "Escape", "Return", "Backspace", "Delete", "Tab", "a" ..."""

    key: str
    modifiers: frozenset[Modifier] = frozenset()


@dataclass(frozen=True)
class Preview:
    """What the view draws for an unfinished gesture (rubber band, ghost outline, handles)."""

    shape: Shape | None = None
    path: tuple[tuple[float, float], ...] = ()  # an open path being drawn (polygon in progress)
    handles: tuple[tuple[float, float], ...] = ()
    cursor_ring: tuple[float, float, float] | None = None  # brush outline: (x, y, radius)
    mask: Shape | None = None  # a proposed region, drawn translucent (a `Mask`)
    prompt_points: tuple[tuple[float, float, bool], ...] = ()  # (x, y, positive) of a smart prompt
    hint: str = ""


class ToolContext(Protocol):
    """What a tool may use; the canvas controller implements it."""

    document: AnnotationDocument
    asset_id: int
    author: str
    image_size: tuple[int, int]  # (width, height)
    schema: LabelSchema | None  # the project's label schema: shape kinds allowed, attribute defaults

    @property
    def label(self) -> str:
        """The current label from the palette."""

    @property
    def selection(self) -> frozenset[str]: ...

    def set_selection(self, ids: Sequence[str]) -> None: ...

    def push(self, command: Any) -> Any:
        """Run a command through the history (undoable, saved at once)."""

    def group(self, description: str) -> AbstractContextManager[None]:
        """Everything pushed inside is one undo step (one gesture)."""

    def notify(self, message: str) -> None:
        """A short message for the status bar (e.g. why a click did nothing)."""


@dataclass
class Tool:
    """Base class: override what the tool handles. Returns True when an event was consumed."""

    ctx: ToolContext
    name: str = field(default="tool", init=False)
    cursor: str = field(default="cross", init=False)  # "arrow", "cross", "pointing", "open_hand", "none"

    def on_pointer(self, ev: PointerEvent) -> bool:
        return False

    def on_key(self, ev: KeyEvent) -> bool:
        return False

    def preview(self) -> Preview | None:
        return None

    def claims_key(self, ev: KeyEvent) -> bool:
        """Whether `ev` belongs to the tool before any window shortcut (Ctrl+Z mid-polygon
        takes back a vertex, not the previous annotation). By default: while a gesture is open."""
        return self.busy

    def cancel(self) -> None:
        """Drop any unfinished gesture (tool switch, Escape, asset change)."""

    @property
    def busy(self) -> bool:
        """True while a gesture is in progress (the host must not switch assets under it)."""
        return False
