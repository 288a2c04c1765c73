"""The pre-labeler interface every model implements (SAM, GrabCut, ...).

A pre-labeler works in two steps so the expensive part can be cached and prefetched:
`prepare(image)` computes per-image state once (SAM's embedding; a cheap conversion for
classical methods) and `propose(state, prompt)` answers each click or box from that state.
Images are numpy arrays as `app.media` decodes them: (H, W) grey or (H, W, 3) BGR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from app.core.errors import ValidationError

Output = Literal["mask", "polygon", "box", "segments"]
OUTPUTS: tuple[str, ...] = ("mask", "polygon", "box", "segments")
XY = tuple[float, float]


class PromptKind(str, Enum):
    POINTS = "points"
    BOX = "box"
    NONE = "none"  # no prompt: "segment everything" or a whole-input model (audio VAD)


@dataclass(frozen=True)
class Prompt:
    """What the human pointed at, in image pixel coordinates (x, y).

    `previous_logits` is the low-resolution mask a model returned for the last click; SAM feeds
    it back to its decoder so each click refines the mask instead of starting over.
    """

    positive: tuple[XY, ...] = ()
    negative: tuple[XY, ...] = ()
    box: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2
    previous_logits: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "positive", tuple(_xy(p, "positive") for p in self.positive))
        object.__setattr__(self, "negative", tuple(_xy(p, "negative") for p in self.negative))
        if self.box is not None:
            x1, y1, x2, y2 = (float(v) for v in self.box)
            if not (x2 > x1 and y2 > y1):
                raise ValidationError(f"box needs x2 > x1 and y2 > y1, got {self.box}", where="box")
            object.__setattr__(self, "box", (x1, y1, x2, y2))

    @property
    def is_empty(self) -> bool:
        return not self.positive and self.box is None


@dataclass(frozen=True, eq=False)
class Proposal:
    """One candidate region: a full-size bool mask and how much the model believes in it."""

    mask: np.ndarray  # (H, W) bool, the image's size
    score: float  # predicted IoU or confidence, 0..1
    model: str
    low_res_logits: np.ndarray | None = None  # feed back as Prompt.previous_logits

    def __post_init__(self) -> None:
        mask = np.asarray(self.mask)
        if mask.ndim != 2:
            raise ValidationError(f"a proposal mask is 2-D, got shape {mask.shape}", where="mask")
        object.__setattr__(self, "mask", mask.astype(bool, copy=False))
        # Models report slightly out-of-range scores (SAM's IoU head is a regression).
        object.__setattr__(self, "score", float(min(1.0, max(0.0, float(self.score)))))


@runtime_checkable
class PreLabeler(Protocol):
    id: str
    prompt_kinds: frozenset[PromptKind]
    outputs: tuple[str, ...]

    def prepare(self, image: np.ndarray) -> Any:
        """Per-image state for `propose` (an embedding); may be slow, so run it off the GUI thread."""
        ...

    def propose(self, state: Any, prompt: Prompt) -> list[Proposal]:
        """Candidates for the prompt, best first (several when the model is multimask)."""
        ...


@runtime_checkable
class SegmentsEverything(Protocol):
    """Optional: proposals for every object in an image, with no prompt."""

    def segment_everything(self, image: np.ndarray) -> list[Proposal]: ...


def _xy(value: Sequence[float], where: str) -> XY:
    try:
        x, y = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationError(f"a point is (x, y), got {value!r}", where=where) from None
    if not (np.isfinite(x) and np.isfinite(y)):
        raise ValidationError(f"a point must be finite, got {value!r}", where=where)
    return (x, y)
