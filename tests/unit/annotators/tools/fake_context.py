"""A real ToolContext for tool tests: a real AnnotationDocument and a real History.

Not a mock: `push` and `group` go through `History`, so tests see exactly the undo steps a
user would. Also holds small builders of synthetic pointer and key events, and helpers that
play a gesture (click, drag) into a tool, so each test reads like what the user does.

API (kept stable; the select/brush tool tests use it too):
    ctx = FakeContext(document=None, label="car", image_size=(640, 480), author="tester")
    ctx.history, ctx.document, ctx.selection, ctx.messages, ctx.label (settable)
    ctx.snapshot()  -> the document's annotations, for exact before/after comparisons
    ctx.only        -> the one annotation in the document (asserts there is exactly one)
    assert_undo_redo_exact(ctx, before): one undo step restores `before`, redo restores now
    press/move/release/double_click/hover(x, y, ...), key(name, ...), click(tool, x, y, ...),
    drag(tool, start, end, steps=..., ...)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from app.annotators.annotation import Annotation
from app.annotators.document import AnnotationDocument
from app.annotators.ontology import LabelSchema
from app.annotators.tools.base import Button, KeyEvent, Modifier, PointerEvent, Tool
from app.core.history import History

DEFAULT_ASSET = 1


class FakeContext:
    """ToolContext over a real document and history; records notifications in `messages`."""

    def __init__(
        self,
        document: AnnotationDocument | None = None,
        label: str = "car",
        image_size: tuple[int, int] = (640, 480),
        author: str = "tester",
        schema: LabelSchema | None = None,
    ) -> None:
        self.schema = schema
        self.document = document if document is not None else AnnotationDocument(DEFAULT_ASSET)
        self.asset_id = self.document.asset_id
        self.author = author
        self.image_size = image_size
        self.history: History[AnnotationDocument] = History(self.document)
        self.messages: list[str] = []
        self._label = label
        self._selection: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value: str) -> None:
        self._label = value

    @property
    def selection(self) -> frozenset[str]:
        return self._selection

    def set_selection(self, ids: Sequence[str]) -> None:
        self._selection = frozenset(ids)

    def push(self, command: Any) -> Any:
        return self.history.push(command)

    @contextmanager
    def group(self, description: str) -> Iterator[None]:
        with self.history.group(description):
            yield

    def notify(self, message: str) -> None:
        self.messages.append(message)

    # -- test conveniences -----------------------------------------------------------------

    def snapshot(self) -> list[Annotation]:
        """The annotations in drawing order (immutable values, so equality is exact)."""
        return self.document.annotations()

    @property
    def only(self) -> Annotation:
        """The single annotation in the document (fails the test when there is not one)."""
        annotations = self.document.annotations()
        assert len(annotations) == 1, f"expected one annotation, got {len(annotations)}"
        return annotations[0]


# -- synthetic events --------------------------------------------------------------------------

def _mods(modifiers: Iterable[Modifier]) -> frozenset[Modifier]:
    return frozenset(modifiers)


def press(x: float, y: float, button: Button = "left", modifiers: Iterable[Modifier] = (),
          pixel_size: float = 1.0) -> PointerEvent:
    return PointerEvent("press", x, y, button, _mods(modifiers), pixel_size)


def move(x: float, y: float, button: Button = "left", modifiers: Iterable[Modifier] = (),
         pixel_size: float = 1.0) -> PointerEvent:
    """A move with `button` held; use `hover` for a move with no button."""
    return PointerEvent("move", x, y, button, _mods(modifiers), pixel_size)


def hover(x: float, y: float, modifiers: Iterable[Modifier] = (),
          pixel_size: float = 1.0) -> PointerEvent:
    return PointerEvent("move", x, y, "none", _mods(modifiers), pixel_size)


def release(x: float, y: float, button: Button = "left", modifiers: Iterable[Modifier] = (),
            pixel_size: float = 1.0) -> PointerEvent:
    return PointerEvent("release", x, y, button, _mods(modifiers), pixel_size)


def double_click(x: float, y: float, button: Button = "left",
                 modifiers: Iterable[Modifier] = (), pixel_size: float = 1.0) -> PointerEvent:
    return PointerEvent("double_click", x, y, button, _mods(modifiers), pixel_size)


def key(name: str, modifiers: Iterable[Modifier] = ()) -> KeyEvent:
    return KeyEvent(name, _mods(modifiers))


def click(tool: Tool, x: float, y: float, button: Button = "left",
          modifiers: Iterable[Modifier] = (), pixel_size: float = 1.0) -> None:
    """Press and release at one spot, as a Qt view delivers a single click."""
    tool.on_pointer(press(x, y, button, modifiers, pixel_size))
    tool.on_pointer(release(x, y, button, modifiers, pixel_size))


def dbl_click(tool: Tool, x: float, y: float, modifiers: Iterable[Modifier] = (),
              pixel_size: float = 1.0) -> None:
    """What Qt delivers for a double-click: press, release, double_click, release."""
    click(tool, x, y, modifiers=modifiers, pixel_size=pixel_size)
    tool.on_pointer(double_click(x, y, modifiers=modifiers, pixel_size=pixel_size))
    tool.on_pointer(release(x, y, modifiers=modifiers, pixel_size=pixel_size))


def drag(tool: Tool, start: tuple[float, float], end: tuple[float, float], *, steps: int = 5,
         button: Button = "left", modifiers: Iterable[Modifier] = (),
         pixel_size: float = 1.0) -> None:
    """Press at `start`, move in `steps` straight-line steps, release at `end`."""
    (x0, y0), (x1, y1) = start, end
    tool.on_pointer(press(x0, y0, button, modifiers, pixel_size))
    for i in range(1, steps + 1):
        t = i / steps
        tool.on_pointer(move(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, button, modifiers,
                             pixel_size))
    tool.on_pointer(release(x1, y1, button, modifiers, pixel_size))


def assert_undo_redo_exact(ctx: FakeContext, before: list[Annotation]) -> None:
    """The last gesture is one undo step: undo gives `before` back, redo the state after it."""
    after = ctx.snapshot()
    assert after != before, "the gesture changed nothing"
    steps = len(ctx.history.undo_labels())
    ctx.history.undo()
    assert ctx.snapshot() == before
    assert len(ctx.history.undo_labels()) == steps - 1
    ctx.history.redo()
    assert ctx.snapshot() == after
