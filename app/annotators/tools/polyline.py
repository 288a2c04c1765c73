"""Polyline tool: an open line; click or drag to add vertices, double-click or Return finishes.

The gesture is `VertexPathTool`'s (see `vertex_path.py`): Backspace, Ctrl+Z or a right-click
takes back the last vertex, Escape cancels, vertices are clamped to the image, and it takes
two distinct vertices. Clicking the first vertex adds a vertex there (a line may end where it
began); only the polygon tool closes on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from app.annotators.shapes import Point, Polyline
from app.annotators.tools.vertex_path import VertexPathTool


@dataclass
class PolylineTool(VertexPathTool):
    name: str = field(default="polyline", init=False)
    closed: ClassVar[bool] = False
    min_points: ClassVar[int] = 2
    noun: ClassVar[str] = "polyline"
    finish_hint: ClassVar[str] = "double-click or Return finishes"

    def make_shape(self, points: tuple[Point, ...]) -> Polyline:
        return Polyline(points)
