"""Polygon tool: click or drag to add vertices; close on the first vertex, double-click or Return.

The gesture is `VertexPathTool`'s (see `vertex_path.py`): Backspace, Ctrl+Z or a right-click
takes back the last vertex, Escape cancels, vertices are clamped to the image, and it takes
three distinct vertices enclosing some area. The polygon is one part without holes, stored
as drawn (`geometry.make_valid` repairs a self-crossing outline when the user asks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from app.annotators.shapes import Point, Polygon
from app.annotators.tools.vertex_path import VertexPathTool


@dataclass
class PolygonTool(VertexPathTool):
    name: str = field(default="polygon", init=False)
    closed: ClassVar[bool] = True
    min_points: ClassVar[int] = 3
    noun: ClassVar[str] = "polygon"
    finish_hint: ClassVar[str] = "click the first point, double-click or Return finishes"

    def make_shape(self, points: tuple[Point, ...]) -> Polygon:
        return Polygon.from_rings(points)
