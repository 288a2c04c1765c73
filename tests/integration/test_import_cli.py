"""`alaya import` end to end, as a user runs it: real files, a real workspace, the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from app.store.workspace import Workspace
from tests.media_factory import write_media_set

REPO = Path(__file__).resolve().parents[2]
BAD = {"truncated_jpeg": "truncated", "empty": "empty", "text_as_png": "text",
       "truncated_mp4": "", "mp4_no_index": "", "broken_wav": "", "latin1": ""}
GOOD = {"jpeg", "png", "png16", "tiff16", "exif_jpeg", "near_dup", "other_jpeg", "mp4", "wav", "flac", "utf8"}


def alaya(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=full_env,
                          timeout=300)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_media_set(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="module")
def imported(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    ws = tmp_path_factory.mktemp("ws")
    proc = alaya("-w", str(ws), "import", str(media["jpeg"].parent), "--project", "demo", "--json")
    assert proc.returncode == 0, proc.stderr
    return ws, json.loads(proc.stdout)


def test_bad_files_are_rejected_with_a_reason_and_good_ones_imported(media, imported) -> None:
    _, report = imported
    rejected = {Path(r["path"]).name: r["reason"] for r in report["rejected"]}
    for key, word in BAD.items():
        assert media[key].name in rejected, f"{key} was not rejected"
        assert word in rejected[media[key].name].lower()
    imported_names = {Path(i["path"]).name for i in report["imported"]}
    assert imported_names == {media[k].name for k in GOOD}  # the first of two identical files wins
    assert report["found"] == len(media)


def test_duplicates_are_reported_not_silently_dropped(media, imported) -> None:
    _, report = imported
    exact = {(Path(d["path"]).name, Path(d["duplicate_of"]).name) for d in report["duplicates"]}
    pair = {media["jpeg"].name, media["exact_dup"].name}
    assert any({a, b} == pair for a, b in exact)
    near = {frozenset((Path(d["path"]).name, Path(d["similar_to"]).name)) for d in report["near_duplicates"]}
    assert frozenset((media["near_dup"].name, media["jpeg"].name)) in near
    assert all(media["other_jpeg"].name not in pair for pair in near)


def test_assets_tasks_and_managed_copies(media, imported) -> None:
    root, report = imported
    with Workspace.open(root) as ws:
        project = ws.projects.get("demo")
        assets = {a.original_name: a for a in ws.assets.list(project.id)}
        assert ws.tasks.counts(project.id) == {"pending": len(report["imported"])}
        video = next(a for a in assets.values() if a.modality == "video")
        assert video.frame_count and video.fps and video.time_base and video.duration
        audio = next(a for a in assets.values() if a.modality == "audio" and a.original_name.endswith(".wav"))
        assert audio.sample_rate and audio.channels and audio.duration
        deep = assets[media["png16"].name]
        assert deep.bit_depth == 16
        rotated = assets[media["exif_jpeg"].name]
        assert rotated.storage == "managed" and (root / rotated.path).exists()
        with Image.open(root / rotated.path) as img:  # the managed copy lost its GPS, kept its orientation
            exif = img.getexif()
            assert 0x8825 not in exif
            assert exif.get(0x0112) == rotated.extra["exif_orientation"]
        with Image.open(media["exif_jpeg"]) as original:  # the user's file is untouched
            assert 0x8825 in original.getexif()


def test_reimport_adds_nothing_and_reports_duplicates(media, imported) -> None:
    root, first = imported
    proc = alaya("-w", str(root), "import", str(media["jpeg"].parent), "--project", "demo", "--json")
    assert proc.returncode == 0, proc.stderr
    again = json.loads(proc.stdout)
    assert again["imported"] == []
    assert len(again["duplicates"]) == len(first["imported"]) + len(first["duplicates"])


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    proc = alaya("-w", str(tmp_path / "ws"), "import", str(tmp_path / "missing"), "--project", "p")
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "no such file or folder" in proc.stderr
    proc = alaya("-w", str(tmp_path / "ws"), "tasks", "--project", "nope")
    assert proc.returncode == 3 and proc.stderr.strip() == "alaya: error: no project 'nope'"


def test_help_lists_the_commands() -> None:
    proc = alaya("--help")
    assert proc.returncode == 0
    for command in ("import", "projects", "tasks", "schema"):
        assert command in proc.stdout


def test_a_locked_policy_value_wins_over_the_command_line(media, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nreason = "Managed by ACME IT"\n[locked.intake]\ncopy_mode = "reference"\n')
    env = {"ALAYA_POLICY_FILE": str(policy)}
    proc = alaya("-w", str(tmp_path / "ws"), "import", str(media["jpeg"]), "-p", "p", "--copy-mode", "copy", env=env)
    assert proc.returncode == 5, proc.stderr
    assert "ACME IT" in proc.stderr and "Traceback" not in proc.stderr
    proc = alaya("-w", str(tmp_path / "ws"), "import", str(media["jpeg"]), "-p", "p", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    with Workspace.open(tmp_path / "ws") as ws:
        (asset,) = ws.assets.list(ws.projects.get("p").id)
        assert asset.storage == "reference" and asset.path == str(media["jpeg"].resolve())


def test_schema_commands(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    schema = REPO / "resources" / "schemas" / "default.yaml"
    assert alaya("-w", ws, "projects", "create", "streets").returncode == 0
    proc = alaya("-w", ws, "schema", "validate", str(schema))
    assert proc.returncode == 0 and "ok" in proc.stdout
    assert alaya("-w", ws, "schema", "set", str(schema), "--project", "streets").returncode == 0
    shown = json.loads(alaya("-w", ws, "schema", "show", "--project", "streets").stdout)
    assert shown["version"] == 1 and shown["schema"]["name"] == "street-scenes"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\nclasses:\n  - name: car\n    colour: red\n")
    proc = alaya("-w", ws, "schema", "set", str(bad), "--project", "streets")
    assert proc.returncode == 2 and "colour" in proc.stderr and "Traceback" not in proc.stderr
    shown = json.loads(alaya("-w", ws, "schema", "show", "--project", "streets").stdout)
    assert shown["version"] == 1  # the bad file harmed nothing


def test_alaya_home_chooses_the_workspace_and_the_flag_beats_it(media, tmp_path: Path) -> None:
    env = {"ALAYA_HOME": str(tmp_path / "home-ws")}
    assert alaya("import", str(media["png"]), "-p", "p", env=env).returncode == 0
    assert (tmp_path / "home-ws" / "alaya.sqlite3").exists()
    assert alaya("-w", str(tmp_path / "flag-ws"), "projects", "create", "q", env=env).returncode == 0
    with Workspace.open(tmp_path / "flag-ws") as ws:
        assert [p.name for p in ws.projects.list()] == ["q"]
