"""Smart tool: point and box prompts answered by the pre-labeler (SAM, or GrabCut without weights).

Gestures:
- click: a positive point; right-click or Alt+click: a negative point;
- drag: a box prompt (replaces the previous box; the points stay, so box plus clicks works);
- hovering with no prompt yet previews the object under the pointer;
- Tab / Shift+Tab: the next / previous of the model's candidate masks (SAM gives three for an
  ambiguous single click);
- Return accepts the candidate as `accept_as` (polygon by default, holes and every part
  kept); Shift+Return as a mask, Alt+Return as a box; Backspace (or Ctrl+Z) takes back the
  last point; Escape clears the prompt.
The model runs elsewhere: `ctx.assist` (see `ProposalRequests`) answers each request later on
this thread, and an answer to a prompt that has changed since is ignored. Each new prompt
carries the chosen candidate's low-resolution logits, which SAM feeds back to its decoder so
a click refines the mask instead of starting over. An accepted shape is a human annotation
(the human chose the prompt and the result); it is one undo step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.annotators.masks import DEFAULT_TOLERANCE, encode, mask_bbox, mask_to_polygon
from app.annotators.shapes import Box, Mask, Point, Shape
from app.annotators.tools.base import KeyEvent, PointerEvent, Preview, Tool
from app.annotators.tools.drawing import (
    FINISH_KEYS,
    MIN_DRAG_PX,
    clamp,
    create_annotation,
    distance,
    is_undo_key,
)

OUTPUTS = ("polygon", "mask", "box")


class Candidate(Protocol):
    mask: Any  # (H, W) bool array
    score: float
    low_res_logits: Any  # or None
    # optional `region`: the mask as a `Mask`, when the host encoded it off this thread


class ProposalRequests(Protocol):
    """What the host offers the tool as `ctx.assist`."""

    accept_as: str  # "polygon", "mask" or "box"
    tolerance: float  # polygon simplification in pixels

    def request(self, *, positive: Sequence[Point], negative: Sequence[Point],
                box: tuple[float, float, float, float] | None, previous_logits: Any, hover: bool,
                done: Callable[[Sequence[Candidate] | BaseException], None]) -> None:
        """Ask for candidates, best first; `done` runs later on the tool's thread, or never when
        a newer request replaced this one before it ran. `hover`: a preview, not a click."""


@dataclass
class SmartTool(Tool):
    name: str = field(default="smart", init=False)
    clicks: list[tuple[Point, bool]] = field(default_factory=list, init=False)  # (point, positive)
    box: tuple[float, float, float, float] | None = field(default=None, init=False)
    candidates: list[Candidate] = field(default_factory=list, init=False)
    index: int = field(default=0, init=False)  # the candidate shown
    waiting: bool = field(default=False, init=False)  # a prompt's answer is on its way
    _version: int = field(default=0, init=False, repr=False)  # bumps on every prompt change
    _logits: Any = field(default=None, init=False, repr=False)  # of the chosen candidate
    _hover: list[Candidate] = field(default_factory=list, init=False, repr=False)
    _masks: dict[int, Mask | None] = field(default_factory=dict, init=False, repr=False)
    _press: tuple[Point, str] | None = field(default=None, init=False, repr=False)  # (pos, button)
    _drag_to: Point | None = field(default=None, init=False, repr=False)

    @property
    def positive(self) -> tuple[Point, ...]:
        return tuple(p for p, positive in self.clicks if positive)

    @property
    def negative(self) -> tuple[Point, ...]:
        return tuple(p for p, positive in self.clicks if not positive)

    @property
    def busy(self) -> bool:
        return bool(self.clicks) or self.box is not None

    def cancel(self) -> None:
        self.clicks, self.box = [], None
        self._version += 1  # answers in flight are now stale
        self.candidates, self._hover, self._masks, self._logits = [], [], {}, None
        self.index, self.waiting, self._press, self._drag_to = 0, False, None, None

    def claims_key(self, ev: KeyEvent) -> bool:
        if ev.key in FINISH_KEYS and "ctrl" in ev.modifiers:
            return False  # Ctrl+Return submits the task
        return self.busy and (ev.key in ("Tab", "Backtab", "Escape", "Backspace", *FINISH_KEYS)
                              or is_undo_key(ev))

    # -- pointer ---------------------------------------------------------------------------

    def on_pointer(self, ev: PointerEvent) -> bool:
        if ev.kind in ("press", "double_click") and ev.button in ("left", "right"):
            self._press, self._drag_to = (ev.pos, ev.button), None
            return True
        if ev.kind == "move":
            return self._move(ev)
        if ev.kind == "release" and self._press is not None:
            (start, button), self._press = self._press, None
            if self._drag_to is not None and button == "left":
                self._drag_to = None
                return self._set_box(start, ev.pos, ev.pixel_size)
            negative = button == "right" or ev.has("alt")
            self.clicks.append((clamp(self.ctx, *ev.pos), not negative))
            self._ask()
            return True
        return False

    def _move(self, ev: PointerEvent) -> bool:
        if self._press is not None:
            start, button = self._press
            if button == "left" and (self._drag_to is not None
                                     or distance(start, ev.pos) >= MIN_DRAG_PX * ev.pixel_size):
                self._drag_to = ev.pos
            return True
        if not self.busy and ev.button == "none":
            self._hover_at(clamp(self.ctx, *ev.pos))
        return False  # hover does not consume the move: the view still tracks the cursor

    def _set_box(self, a: Point, b: Point, pixel: float) -> bool:
        (x1, y1), (x2, y2) = clamp(self.ctx, *a), clamp(self.ctx, *b)
        x1, x2, y1, y2 = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        if min(x2 - x1, y2 - y1) < MIN_DRAG_PX * pixel:
            self.ctx.notify("Box too small for a prompt: drag a larger box, or click a point")
            return True
        self.box = (x1, y1, x2, y2)
        self._ask()
        return True

    # -- keys ------------------------------------------------------------------------------

    def on_key(self, ev: KeyEvent) -> bool:
        if not self.busy:
            return False
        if ev.key in ("Tab", "Backtab"):
            step = -1 if ev.key == "Backtab" or "shift" in ev.modifiers else 1
            self._choose(self.index + step)
        elif ev.key == "Escape":
            self.cancel()
        elif ev.key == "Backspace" or is_undo_key(ev):
            self._take_back()
        elif ev.key in FINISH_KEYS and "ctrl" not in ev.modifiers:
            output = "mask" if "shift" in ev.modifiers else "box" if "alt" in ev.modifiers else None
            self.accept(output)
        else:
            return False
        return True

    def _choose(self, index: int) -> None:
        if len(self.candidates) > 1:
            self.index = index % len(self.candidates)
            self._logits = self.candidates[self.index].low_res_logits
            self.ctx.notify(f"Candidate {self.index + 1} of {len(self.candidates)} "
                            f"(score {self.candidates[self.index].score:.2f})")

    def _take_back(self) -> None:
        if self.clicks:
            self.clicks.pop()
        else:
            self.box = None
        if self.busy:
            self._logits = None  # the fed-back mask came from the point now gone
            self._ask()
        else:
            self.cancel()

    # -- requests and answers -----------------------------------------------------------------

    def _ask(self) -> None:
        assist = getattr(self.ctx, "assist", None)
        if assist is None:
            self.ctx.notify("Pre-labeling is not available for this asset")
            return
        if not self.positive and self.box is None:
            self.candidates, self._masks = [], {}
            return  # only negative points: nothing to segment yet
        self._version += 1
        version, self.waiting = self._version, True
        assist.request(positive=self.positive, negative=self.negative, box=self.box,
                       previous_logits=self._logits, hover=False,
                       done=lambda result: self._answered(version, result))

    def _answered(self, version: int, result: Sequence[Candidate] | BaseException) -> None:
        if version != self._version:
            return  # the prompt changed since; a newer answer is coming
        self.waiting = False
        if isinstance(result, BaseException):
            self.ctx.notify(f"Pre-labeling failed: {result}")
            return
        self.candidates, self._masks, self.index = list(result), {}, 0
        self._logits = self.candidates[0].low_res_logits if self.candidates else None
        if not self.candidates:
            self.ctx.notify("The model found nothing there")

    def _hover_at(self, pos: Point) -> None:
        assist = getattr(self.ctx, "assist", None)
        if assist is None:
            return
        self._version += 1
        version = self._version
        assist.request(positive=(pos,), negative=(), box=None, previous_logits=None, hover=True,
                       done=lambda result: self._hovered(version, result))

    def _hovered(self, version: int, result: Sequence[Candidate] | BaseException) -> None:
        if version == self._version and not self.busy and not isinstance(result, BaseException):
            self._hover, self._masks = list(result[:1]), {}

    # -- result ----------------------------------------------------------------------------

    def shown(self) -> Candidate | None:
        """The candidate on screen: the prompt's chosen one, else the hover preview."""
        if self.busy:
            return self.candidates[self.index] if self.candidates else None
        return self._hover[0] if self._hover else None

    def _shown_mask(self) -> Mask | None:
        candidate = self.shown()
        if candidate is None:
            return None
        if hasattr(candidate, "region"):
            return candidate.region  # type: ignore[no-any-return]
        key = id(candidate)
        if key not in self._masks:  # encoded once per candidate, not per repaint
            self._masks = {key: encode(candidate.mask) if candidate.mask.any() else None}
        return self._masks[key]

    def accept(self, output: str | None = None) -> None:
        """Add the shown candidate as an annotation of the current label."""
        assist = getattr(self.ctx, "assist", None)
        mask = self._shown_mask() if self.busy else None
        if mask is None:
            self.ctx.notify("Nothing to accept yet" if not self.waiting else "Wait for the mask to appear")
            return
        output = output or getattr(assist, "accept_as", "polygon")
        shape = _as_shape(mask, output, getattr(assist, "tolerance", DEFAULT_TOLERANCE))
        if shape is None:
            self.ctx.notify("The mask is too small to keep")
            return
        if create_annotation(self.ctx, shape, f"Accept {output}") is not None:
            self.cancel()

    def preview(self) -> Preview | None:
        mask = self._shown_mask()
        points = tuple((x, y, positive) for (x, y), positive in self.clicks)
        box: Shape | None = Box(*self.box) if self.box is not None else None
        if self._press is not None and self._drag_to is not None:
            (x1, y1), (x2, y2) = self._press[0], self._drag_to
            if x1 != x2 and y1 != y2:
                box = Box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        if mask is None and box is None and not points:
            return None
        hint = ("Thinking…" if self.waiting else
                "Click to add, right-click to remove, Tab: next candidate, Return: accept, Esc: clear")
        return Preview(shape=box, mask=mask, prompt_points=points, hint=hint if self.busy else "")


def _as_shape(mask: Mask, output: str, tolerance: float) -> Shape | None:
    if output == "mask":
        return mask
    if output == "box":
        bbox = mask_bbox(mask)
        return None if bbox is None else Box(*bbox)
    return mask_to_polygon(mask, tolerance=tolerance)
