"""The sample project: generated locally, imported like a folder, idempotent."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.sample import SAMPLE_COUNT, SAMPLE_PROJECT, ensure_sample_project, street_scene
from app.store.workspace import Workspace


def test_sample_project_has_assets_tasks_and_schema(workspace: Workspace) -> None:
    project = ensure_sample_project(workspace)
    assert project.name == SAMPLE_PROJECT
    assets = workspace.assets.list(project.id)
    assert len(assets) == SAMPLE_COUNT
    assert all(a.modality == "image" and (a.width, a.height) == (1024, 768) for a in assets)
    assert all((workspace.root / a.path).is_file() for a in assets)  # managed copies
    assert workspace.tasks.counts(project.id) == {"pending": SAMPLE_COUNT}
    schema = workspace.schemas.current(project.id)
    assert schema is not None and schema.version == 1
    assert {c["name"] for c in schema.body["classes"]} == {"car", "person", "bicycle", "traffic-light"}

    again = ensure_sample_project(workspace)  # idempotent: nothing new
    assert again.id == project.id
    assert workspace.assets.count(project.id) == SAMPLE_COUNT
    assert workspace.schemas.count(project.id) == 1


def test_scenes_are_deterministic_and_distinct(tmp_path: Path) -> None:
    a, b = street_scene(0, (320, 240)), street_scene(1, (320, 240))
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, street_scene(0, (320, 240)))
    assert not np.array_equal(a, b)
