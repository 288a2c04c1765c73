"""Proposals as annotation shapes: a mask (COCO RLE), a polygon or a box.

The polygon keeps every component and every hole (`masks.mask_to_polygon`), unlike the
anchors' largest-outer-contour step; `tolerance` is its simplification in pixels.
"""

from __future__ import annotations

from app.annotators.annotation import Annotation
from app.annotators.masks import DEFAULT_TOLERANCE, encode, mask_bbox, mask_to_polygon
from app.annotators.shapes import Box, Mask, Polygon
from app.core.errors import ValidationError
from app.models.base import Proposal

SHAPE_OUTPUTS = ("mask", "polygon", "box")


def proposal_shape(proposal: Proposal, output: str, *, tolerance: float = DEFAULT_TOLERANCE
                   ) -> Mask | Polygon | Box | None:
    """The proposal's region as the asked-for shape; None when the mask is empty."""
    if output not in SHAPE_OUTPUTS:
        raise ValidationError(f"must be one of {', '.join(SHAPE_OUTPUTS)}, got {output!r}",
                              where="output")
    if not proposal.mask.any():
        return None
    mask = encode(proposal.mask)
    if output == "mask":
        return mask
    if output == "polygon":
        return mask_to_polygon(mask, tolerance=tolerance)
    bbox = mask_bbox(mask)
    return None if bbox is None else Box(*bbox)


def proposal_to_annotation(proposal: Proposal, asset_id: int, label: str, output: str,
                           author: str | None = None, tolerance: float = DEFAULT_TOLERANCE
                           ) -> Annotation | None:
    """A model annotation (source "model", confidence = the proposal's score), or None when
    the proposal is empty. The author defaults to the model id, which is how the feedback
    loop later knows which model proposed it."""
    shape = proposal_shape(proposal, output, tolerance=tolerance)
    if shape is None:
        return None
    return Annotation.new(asset_id=asset_id, label=label, shape=shape,
                          author=author or proposal.model, source="model",
                          confidence=proposal.score)
