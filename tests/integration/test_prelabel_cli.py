"""`alaya prelabel` and `alaya models` end to end: real images, a real workspace, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def alaya(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def write_scene(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(70, 130, (360, 480, 3)).astype(np.uint8), (0, 0), 1.5)
    cv2.circle(img, (150 + 40 * seed, 170), 70, (40, 180, 220), -1)
    cv2.rectangle(img, (300, 60), (420, 160), (200, 60, 40), -1)
    cv2.imwrite(str(path), img)


@pytest.fixture(scope="module")
def workspace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    media = tmp_path_factory.mktemp("media")
    for seed in (0, 1):
        write_scene(media / f"scene{seed}.png", seed)
    ws = tmp_path_factory.mktemp("ws")
    proc = alaya("-w", str(ws), "import", str(media), "--project", "shapes")
    assert proc.returncode == 0, proc.stderr
    return ws


def test_prelabel_stores_model_proposals_with_confidence(workspace_dir: Path) -> None:
    proc = alaya("-w", str(workspace_dir), "prelabel", "--project", "shapes", "--model", "grabcut",
                 "--everything", "--label", "thing")
    assert proc.returncode == 0, proc.stderr
    assert "from grabcut on 2 images" in proc.stdout
    with Workspace.open(workspace_dir) as ws:
        p = ws.projects.get("shapes")
        for asset in ws.assets.list(p.id):
            anns = ws.annotations.for_asset(asset.id)
            assert len(anns) >= 2  # the circle and the rectangle
            for a in anns:
                assert (a.source, a.author, a.label, a.shape.kind) == ("model", "grabcut", "thing", "polygon")
                assert a.confidence is not None and 0.0 <= a.confidence <= 1.0
    again = alaya("-w", str(workspace_dir), "prelabel", "--project", "shapes", "--everything")
    assert again.returncode == 0 and "2 already pre-labeled" in again.stdout


def test_models_stats_judges_submitted_tasks(workspace_dir: Path) -> None:
    with Workspace.open(workspace_dir) as ws:
        p = ws.projects.get("shapes")
        task = ws.tasks.list(p.id)[0]
        first, *rest = ws.annotations.for_asset(task.asset_id)
        ws.annotations.delete(first.id)  # the human rejects one proposal and keeps the others
        ws.tasks.transition(task.id, "in_progress")
        ws.tasks.transition(task.id, "submitted")
    proc = alaya("-w", str(workspace_dir), "models", "stats", "--project", "shapes")
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("thing"))
    assert row.split()[:6] == ["thing", "grabcut", str(1 + len(rest)), str(len(rest)), "0", "1"]
    assert "verify-only" in proc.stdout and "none yet" in proc.stdout


def test_models_list_names_the_active_one_and_sam_needs_a_checkpoint(workspace_dir: Path) -> None:
    proc = alaya("-w", str(workspace_dir), "models", "list")
    assert proc.returncode == 0, proc.stderr
    assert "* grabcut" in proc.stdout and "active: grabcut" in proc.stdout
    sam = alaya("-w", str(workspace_dir), "prelabel", "--project", "shapes", "--model", "sam")
    assert sam.returncode == 2
    assert sam.stderr.strip().splitlines() == [sam.stderr.strip()]  # one line, no traceback
    assert "checkpoint" in sam.stderr
