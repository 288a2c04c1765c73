"""The canvas tools as data: id, display name, default shortcut, icon, and how to build one.

The toolbar, the Tools menu and the shortcut map are generated from `TOOLS` (rule 6). Tool
classes are imported only when a tool is first created, so listing the tools costs nothing
and an entry whose module is not written yet (or fails to import) does not break the rest.
Shortcuts are single letters, never the digits 1-9, which select labels; a label schema may
also give letters to labels, and `shortcut_conflicts` names the clashes so the UI can warn.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.annotators.tools.base import Tool, ToolContext
from app.core.errors import NotFoundError

_PACKAGE = "app.annotators.tools"


@dataclass(frozen=True)
class ToolSpec:
    id: str
    name: str  # display name
    shortcut: str  # default key, as QKeySequence text ("B")
    icon: str  # icon name in resources/icons
    module: str  # under app.annotators.tools
    class_name: str
    tip: str = ""  # tooltip: what the tool does

    @property
    def factory(self) -> Callable[[ToolContext], Tool]:
        """The tool class (a callable taking the context); imports its module on first use."""
        module = importlib.import_module(f"{_PACKAGE}.{self.module}")
        factory: Callable[[ToolContext], Tool] = getattr(module, self.class_name)
        return factory

    def create(self, ctx: ToolContext) -> Tool:
        return self.factory(ctx)

    @property
    def available(self) -> bool:
        """Whether the tool's module exists (found without importing it)."""
        try:
            return importlib.util.find_spec(f"{_PACKAGE}.{self.module}") is not None
        except ImportError:
            return False


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("select", "Select", "V", "tool-select", "select", "SelectTool",
             "Select, move and reshape annotations"),
    ToolSpec("box", "Box", "B", "tool-box", "box", "BoxTool",
             "Drag, or click two corners, to draw a box (Shift: square)"),
    ToolSpec("rotated_box", "Rotated box", "R", "tool-rotated-box", "rotated_box",
             "RotatedBoxTool", "Drag the box, move to turn it, click to place"),
    ToolSpec("polygon", "Polygon", "P", "tool-polygon", "polygon", "PolygonTool",
             "Click or drag to add points; close on the first point"),
    ToolSpec("polyline", "Polyline", "L", "tool-polyline", "polyline", "PolylineTool",
             "Click or drag to add points; double-click or Return to finish"),
    ToolSpec("points", "Points", "K", "tool-points", "points", "PointsTool",
             "Click points (Shift: occluded); Return or double-click to finish"),
    ToolSpec("brush", "Brush", "U", "tool-brush", "brush", "BrushTool",
             "Paint a mask"),
    ToolSpec("eraser", "Eraser", "E", "tool-eraser", "brush", "EraserTool",
             "Erase from a mask"),
    ToolSpec("tag", "Tag", "T", "tool-tag", "tag", "TagTool",
             "Tag the whole image with the current label"),
    ToolSpec("smart", "Smart select", "S", "tool-smart", "smart", "SmartTool",
             "Click the object (right-click: not this), or drag a box; Tab: next candidate, "
             "Return: accept (SAM, or GrabCut without a checkpoint)"),
)
_BY_ID = {spec.id: spec for spec in TOOLS}


def ids() -> list[str]:
    return [spec.id for spec in TOOLS]


def get(tool_id: str) -> ToolSpec:
    try:
        return _BY_ID[tool_id]
    except KeyError:
        raise NotFoundError(f"no tool named {tool_id!r}") from None


def for_shortcut(key: str) -> ToolSpec | None:
    """The tool whose default shortcut is `key` (any letter case), if any."""
    return next((s for s in TOOLS if s.shortcut.lower() == key.lower()), None)


def cycle(current_id: str | None, step: int = 1, *, available_only: bool = True) -> str:
    """The id `step` tools after (negative: before) `current_id`, wrapping around.

    Tools whose module does not exist yet are skipped unless `available_only` is False.
    From a tool not in the list (or None), step 1 gives the first tool and -1 the last.
    """
    order = [s.id for s in TOOLS if s.available or not available_only]
    if not order:
        raise NotFoundError("no tool is available")
    if current_id in order:
        index = order.index(current_id) + step
    else:
        index = step - 1 if step > 0 else step
    return order[index % len(order)]


def shortcut_conflicts(label_hotkeys: Iterable[str]) -> list[tuple[str, str]]:
    """(tool id, key) for each tool shortcut that a label hotkey also uses."""
    taken = {key.lower() for key in label_hotkeys}
    return [(s.id, s.shortcut) for s in TOOLS if s.shortcut.lower() in taken]
