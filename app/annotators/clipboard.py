"""Copy and paste annotations, without Qt.

The clipboard holds plain dicts (`Annotation.to_dict`), so the UI may also put them on the
system clipboard as JSON (`to_json`/`from_json`) and paste between windows. A paste:
- makes new annotations on the target asset: new ids, fresh timestamps, the pasting user as
  author, source "human", no confidence, version 1, shown and unlocked, no track (a copy is
  not the same object in a video track); label, attributes, z-order and frame are kept;
- clips them to the target image: boxes and polygons are cut to it, polylines keep their
  longest piece on it, points outside are dropped (named keypoints are marked not visible
  instead, so the skeleton keeps its order), masks are cropped or padded to the image size,
  rotated boxes are kept whole; what is left with nothing on the image is dropped, and the
  status bar says how many;
- lands on top of the originals only once: when a copy would coincide with a shape already
  there (pasting twice, or onto the source image), the copies shift by `PASTE_OFFSET` px,
  then twice that, and so on, so each paste is visible;
- is one `AddAnnotation`, so one undo step, and the pasted copies become the selection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import shapely

from app.annotators.annotation import Annotation
from app.annotators.commands import AddAnnotation, RemoveAnnotations
from app.annotators.geometry import bounds, polygon_from_shapely, polygon_region
from app.annotators.mask_patch import buffer_mask, empty_buffer, mask_buffer
from app.annotators.masks import mask_area
from app.annotators.shapes import Box, Mask, Points, Polygon, Polyline, RotatedBox, Shape
from app.annotators.tools.base import ToolContext
from app.core.errors import AlayaError, ValidationError

PASTE_OFFSET = 10  # px; whole pixels, so masks can take the same offset
MAX_OFFSETS = 50  # give up looking for a free spot after this many steps


class Clipboard:
    """The annotations last copied; one per workstation window."""

    def __init__(self) -> None:
        self._items: tuple[dict[str, Any], ...] = ()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> tuple[dict[str, Any], ...]:
        """The copied annotations as dicts (copies: the clipboard is not changed through it)."""
        return tuple(json.loads(json.dumps(item)) for item in self._items)

    def copy(self, ctx: ToolContext) -> int:
        """Copy the selected annotations, in drawing order; returns how many."""
        chosen = [a for a in ctx.document.annotations() if a.id in ctx.selection]
        if not chosen:
            ctx.notify("Nothing selected to copy")
            return 0
        self._items = tuple(a.to_dict() for a in chosen)
        return len(chosen)

    def cut(self, ctx: ToolContext) -> int:
        """Copy, then delete the unlocked ones among them (one undo step)."""
        count = self.copy(ctx)
        doomed = [i for i in ctx.selection if i in ctx.document
                  and not ctx.document.get(i).locked]
        if doomed:
            ctx.push(RemoveAnnotations(doomed, "Cut"))
            ctx.set_selection([i for i in ctx.selection if i not in doomed])
        return count

    def to_json(self) -> str:
        return json.dumps(list(self._items))

    @classmethod
    def from_json(cls, text: str) -> Clipboard:
        """A clipboard from `to_json` text; raises ValidationError on anything else."""
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ValidationError(f"not clipboard JSON: {err}", where="clipboard") from None
        if not isinstance(data, list) or not all(isinstance(d, Mapping) for d in data):
            raise ValidationError("expected a list of annotations", where="clipboard")
        for i, item in enumerate(data):  # refuse now rather than at paste time
            try:
                Annotation.from_dict(item)
            except ValidationError as err:
                raise ValidationError(str(err), where=f"clipboard[{i}]") from None
        board = cls()
        board._items = tuple(data)
        return board

    def paste(self, ctx: ToolContext) -> list[str]:
        """Paste into the context's document; returns the new ids (selected)."""
        if not self._items:
            ctx.notify("The clipboard is empty")
            return []
        try:
            sources = [Annotation.from_dict(item) for item in self._items]
        except ValidationError as err:
            ctx.notify(f"Cannot paste: {err}")
            return []
        shapes = _placed([a.shape for a in sources], ctx)
        pasted = [_copy_of(a, s, ctx) for a, s in zip(sources, shapes) if s is not None]
        dropped = len(sources) - len(pasted)
        if dropped:
            ctx.notify(f"{dropped} of {len(sources)} pasted annotation(s) fell outside the "
                       "image and were dropped")
        if not pasted:
            return []
        try:
            ctx.push(AddAnnotation(*pasted, description=f"Paste {len(pasted)}"))
        except AlayaError as err:
            ctx.notify(f"Paste refused: {err}")
            return []
        ids = [a.id for a in pasted]
        ctx.set_selection(ids)
        return ids


def _copy_of(source: Annotation, shape: Shape, ctx: ToolContext) -> Annotation:
    return Annotation.new(
        asset_id=ctx.asset_id, label=source.label, shape=shape, author=ctx.author,
        attributes=source.attributes, source="human", z_order=source.z_order,
        frame=source.frame)


def _placed(shapes: list[Shape], ctx: ToolContext) -> list[Shape | None]:
    """The shapes clipped to the image, shifted by the first multiple of PASTE_OFFSET at
    which none coincides with a shape already in the document."""
    taken = {a.shape for a in ctx.document.annotations()}
    placed: list[Shape | None] = []
    for step in range(MAX_OFFSETS):
        offset = step * PASTE_OFFSET
        placed = [clip_to_image(s.translated(offset, offset) if offset else s, ctx.image_size)
                  for s in shapes]
        if not any(s is not None and s in taken for s in placed):
            break
    return placed


def clip_to_image(shape: Shape, image_size: tuple[int, int]) -> Shape | None:
    """The part of `shape` on the image [0, w] x [0, h], None when nothing is left."""
    width, height = image_size
    if isinstance(shape, Mask):
        return _fit_mask(shape, height, width)
    try:
        x1, y1, x2, y2 = bounds(shape)
    except ValidationError:
        return shape  # a tag: nothing to clip
    if 0 <= x1 and 0 <= y1 and x2 <= width and y2 <= height:
        return shape
    frame = shapely.box(0, 0, width, height)
    if isinstance(shape, Box):
        left, top, right, bottom = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
        return Box(left, top, right, bottom) if left < right and top < bottom else None
    if isinstance(shape, RotatedBox):
        return shape if shapely.Polygon(shape.corners()).intersects(frame) else None
    if isinstance(shape, Polygon):
        try:
            return polygon_from_shapely(polygon_region(shape).intersection(frame))
        except ValidationError:  # no area left on the image
            return None
    if isinstance(shape, Polyline):
        pieces = _lines(shapely.LineString(shape.points).intersection(frame))
        longest = max(pieces, key=lambda p: p.length, default=None)
        return Polyline(tuple(longest.coords)) if longest is not None else None
    if isinstance(shape, Points):
        return _clip_points(shape, width, height)
    return shape


def _lines(geom: Any) -> list[Any]:
    if isinstance(geom, shapely.LineString):
        return [] if geom.is_empty or geom.length == 0 else [geom]
    return [line for g in getattr(geom, "geoms", ()) for line in _lines(g)]


def _clip_points(points: Points, width: int, height: int) -> Points | None:
    vis = points.visibility or ()
    on = [0 <= x <= width and 0 <= y <= height for x, y in points.points]
    if points.names is not None:  # keep every keypoint; those off the image are not labeled
        visibility = tuple(v if inside else 0 for v, inside in zip(vis, on))
        return Points(points.points, visibility, points.names) if any(visibility) else None
    keep = [i for i, inside in enumerate(on) if inside]
    if not keep:
        return None
    return Points(tuple(points.points[i] for i in keep), tuple(vis[i] for i in keep))


def _fit_mask(mask: Mask, height: int, width: int) -> Mask | None:
    """The mask on a canvas of the target size (cropped or padded at the right and bottom)."""
    if (mask.height, mask.width) != (height, width):
        source = mask_buffer(mask)
        fitted = empty_buffer(height, width)
        h, w = min(height, mask.height), min(width, mask.width)
        fitted[:h, :w] = source[:h, :w]
        mask = buffer_mask(fitted)
    return mask if mask_area(mask) > 0 else None
