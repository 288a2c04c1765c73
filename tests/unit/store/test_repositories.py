"""Projects, schema versions, assets and tasks through their repositories."""

from __future__ import annotations

import hashlib

import pytest

from app.annotators.ontology import parse_schema
from app.core.errors import ConflictError, NotFoundError, ValidationError
from app.store.assets import NewAsset
from app.store.records import Asset, Project, Task
from app.store.workspace import Workspace


def _asset(n: int, modality: str = "image") -> NewAsset:
    return NewAsset(sha256=hashlib.sha256(str(n).encode()).hexdigest(), modality=modality, storage="managed",
                    path=f"blobs/{n}", original_name=f"{n}.jpg", size_bytes=100 + n,
                    metadata={"width": 640, "height": 480, "mime": "image/jpeg", "exif_orientation": 6})


def test_projects_are_unique_by_name(workspace: Workspace) -> None:
    p = workspace.projects.create("Birds", options={"copy_mode": "reference"})
    assert isinstance(p, Project) and p.options == {"copy_mode": "reference"}
    assert workspace.projects.get("Birds") == p == workspace.projects.get(p.id)
    with pytest.raises(ConflictError, match="already exists"):
        workspace.projects.create("Birds")
    with pytest.raises(NotFoundError):
        workspace.projects.get("Fish")
    with pytest.raises(ValidationError, match="name"):
        workspace.projects.create("   ")
    with pytest.raises(ValidationError, match="copy_mode"):
        workspace.projects.create("Fish", options={"copy_mode": "teleport"})


def test_schema_versions_are_append_only_and_skip_unchanged(workspace: Workspace) -> None:
    p = workspace.projects.create("p")
    car = {"name": "car", "colour": "#ff0000"}
    bus = {"name": "bus", "colour": "#00ff00"}
    v1 = workspace.schemas.add_version(p.id, parse_schema({"name": "s", "version": 1, "classes": [car]}))
    same = workspace.schemas.add_version(p.id, parse_schema({"name": "s", "version": 1, "classes": [car]}))
    v2 = workspace.schemas.add_version(p.id, parse_schema({"name": "s", "version": 1, "classes": [car, bus]}))
    assert (v1.version, same.version, v2.version) == (1, 1, 2)
    assert workspace.schemas.current(p.id) == v2
    assert parse_schema(workspace.schemas.get(p.id, 1).body).class_names == ["car"]
    assert workspace.schemas.count(p.id) == 2


def test_assets_are_content_addressed_with_one_task_each(workspace: Workspace) -> None:
    p = workspace.projects.create("p")
    added = workspace.assets.add_many(p.id, [_asset(1), _asset(2), _asset(1)])
    assert [a.original_name for a in added] == ["1.jpg", "2.jpg"]  # the repeated hash is skipped
    again = workspace.assets.add_many(p.id, [_asset(2), _asset(3)])
    assert [a.original_name for a in again] == ["3.jpg"]
    a = workspace.assets.get(added[0].id)
    assert isinstance(a, Asset) and (a.width, a.height, a.mime) == (640, 480, "image/jpeg")
    assert a.extra == {"exif_orientation": 6}  # non-column metadata is kept, not dropped
    assert workspace.assets.count(p.id) == 3
    assert workspace.tasks.counts(p.id) == {"pending": 3}
    with pytest.raises(ValidationError, match="modality"):
        workspace.assets.add_many(p.id, [_asset(9, modality="hologram")])
    assert workspace.assets.count(p.id) == 3  # the failed batch wrote nothing


def test_task_state_machine(workspace: Workspace) -> None:
    p = workspace.projects.create("p")
    workspace.assets.add_many(p.id, [_asset(1)])
    (task,) = workspace.tasks.list(p.id)
    assert isinstance(task, Task) and task.state == "pending"
    task = workspace.tasks.transition(task.id, "in_progress", assignee="ana")
    task = workspace.tasks.transition(task.id, "submitted")
    task = workspace.tasks.transition(task.id, "accepted")
    with pytest.raises(ConflictError, match="from accepted to in_progress"):
        workspace.tasks.transition(task.id, "in_progress")
    with pytest.raises(ConflictError, match="unknown task state"):
        workspace.tasks.transition(task.id, "teleported")
    assert workspace.tasks.get(task.id).assignee == "ana"
    assert workspace.tasks.list(p.id, state="accepted") == [workspace.tasks.get(task.id)]
