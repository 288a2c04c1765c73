"""The registry picks the configured pre-labeler, falling back to GrabCut without a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ValidationError
from app.core.settings_schema import PrelabelSettings
from app.models.grabcut import GrabCutPreLabeler
from app.models.registry import ENTRIES, choose, create, entry


def test_fresh_settings_use_grabcut() -> None:
    assert choose(PrelabelSettings()).entry.id == "grabcut"
    assert isinstance(create(PrelabelSettings()), GrabCutPreLabeler)


def test_sam_without_a_checkpoint_falls_back_but_an_explicit_request_is_refused() -> None:
    settings = PrelabelSettings(model="sam")
    chosen = choose(settings)
    assert chosen.entry.id == "grabcut" and "no checkpoint" in chosen.reason
    with pytest.raises(ValidationError, match="needs a checkpoint"):
        choose(settings, "sam")


def test_sam_with_a_checkpoint_is_chosen_without_importing_it(tmp_path: Path) -> None:
    settings = PrelabelSettings(model="sam_vit_l", checkpoint=tmp_path / "sam_vit_l.pth")
    assert choose(settings).entry.id == "sam_vit_l"  # choosing never loads torch


def test_entries_declare_prompts_and_outputs() -> None:
    assert {e.id for e in ENTRIES} >= {"grabcut", "sam"}
    assert all(e.outputs and e.prompt_kinds for e in ENTRIES)
    with pytest.raises(ValidationError, match="unknown pre-labeler"):
        entry("yolo")
