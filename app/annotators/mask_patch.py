"""PatchMask: an undoable edit of one rectangle of a mask annotation's pixels.

Why not `UpdateAnnotation(shape=...)`: it would keep the whole mask twice (its RLE before and
after) for the life of the undo step, and a mask's RLE grows with the image and with how
ragged the mask is (kilobytes for a blob on a 4000x3000 image, megabytes for a speckled one).
A stroke changes a thin band of pixels, so this command keeps only which pixels of the
stroke's bounding rectangle flipped: their XOR, itself COCO-RLE encoded, which for a band is
a few runs per column. Doing and undoing are then the same operation (flip those pixels).
The price is that undo and redo decode the mask, flip the rectangle and encode it again
(about 15 ms at 12 megapixels for a typical mask), which is fine for an undo.

Exactness: COCO RLE is canonical for what pycocotools writes, so re-encoding the restored
pixels gives back the very string the document held. A mask written elsewhere might not be
canonical; the first `do` checks, and in that rare case keeps the whole old mask for undo.

`mask_buffer`/`buffer_mask` convert between a Mask and a (height, width) uint8 array in
Fortran order, the layout of COCO RLE: neither direction copies or transposes the pixels.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

from app.annotators.changes import ChangeSet
from app.annotators.document import AnnotationDocument
from app.annotators.shapes import Mask, rle_runs_array
from app.core.errors import ValidationError
from app.core.history import Command


def run_lengths(counts: str) -> np.ndarray:
    """The run lengths of a COCO compressed RLE string as an array (validated, vectorized)."""
    return rle_runs_array(counts)


def mask_buffer(mask: Mask) -> np.ndarray:
    """A writable (height, width) uint8 array (0/1) in Fortran order, decoded from the runs."""
    runs = run_lengths(mask.counts)
    values = (np.arange(len(runs)) % 2).astype(np.uint8)  # runs alternate 0, 1, 0, ...
    return np.repeat(values, runs).reshape(mask.width, mask.height).T


def empty_buffer(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width), dtype=np.uint8, order="F")


def buffer_mask(buffer: np.ndarray) -> Mask:
    """The Mask of a (height, width) bool or 0/1 uint8 buffer, such as `mask_buffer` gives."""
    return Mask(buffer.shape[0], buffer.shape[1], _counts(buffer))


def _counts(buffer: np.ndarray) -> str:
    # No copy for a Fortran-order uint8 buffer; pycocotools needs 0/1 values.
    bits = np.asfortranarray(buffer, dtype=np.uint8)
    return coco_mask.encode(bits)["counts"].decode("ascii")


class PatchMask(Command[AnnotationDocument]):
    """Set the pixels of a mask annotation inside the rectangle at (x, y) of `after`'s size.

    `before` is what the rectangle held, `after` what it holds now (2-D arrays of equal
    shape, non-zero = set). `result`, when the caller has already encoded the new mask, spares
    the first `do` the work.
    """

    def __init__(self, annotation_id: str, x: int, y: int, before: np.ndarray,
                 after: np.ndarray, *, description: str = "Paint mask",
                 result: Mask | None = None) -> None:
        before, after = np.asarray(before) != 0, np.asarray(after) != 0
        if before.shape != after.shape or before.ndim != 2 or x < 0 or y < 0:
            raise ValidationError("before and after must be 2-D patches of one size",
                                  where="patch")
        self.annotation_id = annotation_id
        self.description = description
        self.x, self.y = int(x), int(y)
        flips = before != after
        self._any = bool(flips.any())
        self._flips = Mask(*flips.shape, _counts(flips))  # tiny: a band is a few runs a column
        self._result = result
        self._whole_before: Mask | None = None  # only for a non-canonical original
        self._checked = False

    @property
    def obsolete(self) -> bool:
        return not self._any

    def do(self, doc: AnnotationDocument) -> ChangeSet:
        current = doc.get(self.annotation_id)
        new = self._result or self._flipped(current.shape)
        self._result = None  # used once: redo rebuilds it from the flips
        if not self._checked:
            self._checked = True
            if self._flipped_counts(new) != current.shape.counts:
                self._whole_before = current.shape
        return doc._replace([current.replace(shape=new)])

    def undo(self, doc: AnnotationDocument) -> ChangeSet:
        current = doc.get(self.annotation_id)
        old = self._whole_before or self._flipped(current.shape)
        return doc._replace([current.replace(shape=old)])

    def size_bytes(self) -> int:
        whole = len(self._whole_before.counts) if self._whole_before is not None else 0
        return 256 + len(self._flips.counts) + whole

    def _flipped(self, shape: object) -> Mask:
        assert isinstance(shape, Mask)
        return Mask(shape.height, shape.width, self._flipped_counts(shape))

    def _flipped_counts(self, shape: object) -> str:
        if not isinstance(shape, Mask):
            raise ValidationError("the annotation is no longer a mask", where="shape")
        h, w = self._flips.height, self._flips.width
        if self.y + h > shape.height or self.x + w > shape.width:
            raise ValidationError("the patch does not fit the mask", where="patch")
        buffer = mask_buffer(shape)
        buffer[self.y:self.y + h, self.x:self.x + w] ^= mask_buffer(self._flips)
        return _counts(buffer)
