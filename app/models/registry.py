"""The pre-labelers this build knows, as data, and the choice of the one to use.

Heavy models are imported only by their factory, so listing the registry (or starting the
app) never imports torch. The configured model falls back to GrabCut while SAM has no
checkpoint, so pre-labeling works on a fresh machine; asking for SAM explicitly without one
is an error instead, since silently answering with another model would mislead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import AlayaError, ValidationError
from app.models.base import PreLabeler, PromptKind

FALLBACK = "grabcut"


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    prompt_kinds: frozenset[PromptKind]
    outputs: tuple[str, ...]
    factory: Callable[[Path | None, str], PreLabeler]  # (checkpoint, device) -> pre-labeler
    needs_checkpoint: bool
    everything: bool  # offers segment_everything


@dataclass(frozen=True)
class Choice:
    entry: Entry
    reason: str


def _grabcut(checkpoint: Path | None, device: str) -> PreLabeler:
    from app.models.grabcut import GrabCutPreLabeler

    return GrabCutPreLabeler()


def _sam(model_type: str) -> Callable[[Path | None, str], PreLabeler]:
    def factory(checkpoint: Path | None, device: str) -> PreLabeler:
        try:
            from app.models.sam import SamPreLabeler  # torch and segment-anything load here
        except ImportError as exc:
            raise AlayaError(f"SAM is not available in this installation ({exc}); "
                             f"use --model {FALLBACK} or install torch and segment-anything") from exc
        return SamPreLabeler(checkpoint, model_type, device)
    return factory


_SAM_KINDS = frozenset({PromptKind.POINTS, PromptKind.BOX, PromptKind.NONE})
_MASKS = ("mask", "polygon", "box")
ENTRIES: tuple[Entry, ...] = (
    Entry("grabcut", "GrabCut (classical, no weights)", frozenset({PromptKind.BOX, PromptKind.POINTS,
          PromptKind.NONE}), _MASKS, _grabcut, needs_checkpoint=False, everything=True),
    Entry("sam", "Segment Anything ViT-B", _SAM_KINDS, _MASKS, _sam("vit_b"), True, True),
    Entry("sam_vit_l", "Segment Anything ViT-L", _SAM_KINDS, _MASKS, _sam("vit_l"), True, True),
    Entry("sam_vit_h", "Segment Anything ViT-H", _SAM_KINDS, _MASKS, _sam("vit_h"), True, True),
)


def entry(model_id: str) -> Entry:
    for e in ENTRIES:
        if e.id == model_id:
            return e
    known = ", ".join(e.id for e in ENTRIES)
    raise ValidationError(f"unknown pre-labeler {model_id!r} (known: {known})", where="model")


def choose(prelabel: Any, model: str | None = None) -> Choice:
    """Which pre-labeler runs for these settings (`PrelabelSettings`) and an optional explicit id."""
    checkpoint = getattr(prelabel, "checkpoint", None)
    if model is not None:
        chosen = entry(model)
        if chosen.needs_checkpoint and checkpoint is None:
            raise ValidationError(f"{chosen.id} needs a checkpoint: set prelabel.checkpoint to the "
                                  "weights file", where="model")
        return Choice(chosen, "asked for on the command line")
    configured = entry(prelabel.model)
    if configured.needs_checkpoint and checkpoint is None:
        return Choice(entry(FALLBACK), f"prelabel.model is {configured.id} but no checkpoint is set; "
                                       f"falling back to {FALLBACK}")
    return Choice(configured, "prelabel.model in the settings")


def create(prelabel: Any, model: str | None = None) -> PreLabeler:
    """The pre-labeler `choose` picks, built with the configured checkpoint and device."""
    chosen = choose(prelabel, model).entry
    checkpoint = getattr(prelabel, "checkpoint", None)
    return chosen.factory(Path(checkpoint) if checkpoint else None, getattr(prelabel, "device", "auto"))
