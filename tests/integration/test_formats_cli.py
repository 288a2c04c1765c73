"""`alaya export` and `alaya import-annotations` end to end: real media, real workspaces, the real CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.annotators.annotation import Annotation
from app.annotators.audio.segments import Segment
from app.annotators.shapes import Box, Polygon
from app.annotators.timeline import segment_to_annotation, track_to_annotation
from app.annotators.video.tracks import Keyframe, Track
from app.formats.native import FORMAT as NATIVE
from app.formats.project_io import dataset_from_project
from app.store.workspace import DB_NAME, Workspace
from tests.media_factory import write_audio, write_image, write_video

REPO = Path(__file__).resolve().parents[2]
SCHEMA = "name: streets\nversion: 1\nclasses:\n" + "".join(
    f"  - name: {n}\n    colour: '{c}'\n" for n, c in (("car", "#ff0000"), ("person", "#00ff00"),
                                                         ("speech", "#0000ff")))
TRACK = Track("1", "car", (Keyframe(0, Box(10, 10, 40, 30)), Keyframe(20, Box(60.5, 10.25, 90, 30), occluded=True),
                           Keyframe(25, Box(60.5, 10.25, 90, 30), outside=True)))
SEGMENTS = (Segment(0.1, 0.30000000000000004, label="speech", speaker="A", transcript="hello"),
            Segment(0.5, 0.875, channel=1))


def alaya(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    proc = alaya(*args)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    write_image(folder / "street1.jpg", 320, 240, seed=1)
    write_image(folder / "street2.png", 200, 150, seed=2)
    write_video(folder / "clip.mp4")
    write_audio(folder / "tone.wav", subtype="PCM_16")
    (folder.parent / "schema.yaml").write_text(SCHEMA)
    return folder


def _new_project(ws: Path, name: str, media: Path) -> None:
    ok("-w", str(ws), "import", str(media), "--project", name)
    ok("-w", str(ws), "schema", "set", str(media.parent / "schema.yaml"), "--project", name)


@pytest.fixture(scope="module")
def source(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose project "src" holds boxes, a polygon with a hole, a track and segments."""
    ws_dir = tmp_path_factory.mktemp("src-ws")
    _new_project(ws_dir, "src", media)
    with Workspace.open(ws_dir) as ws:
        assets = {a.original_name: a for a in ws.assets.list(ws.projects.get("src").id)}
        img1, img2 = assets["street1.jpg"], assets["street2.png"]
        ws.annotations.save_many([
            Annotation.new(asset_id=img1.id, label="car", shape=Box(10.5, 20.25, 100, 80.125), author="ana",
                           attributes={"occluded": True}),
            Annotation.new(asset_id=img1.id, label="person", author="ana", shape=Polygon.from_rings(
                [(150, 50), (250, 50), (250, 200), (150, 200)], [[(180, 80), (220, 80), (220, 150)]]))])
        ws.annotations.save(Annotation.new(asset_id=img2.id, label="person", shape=Box(1, 2, 3, 4), author="sam",
                                           source="model", confidence=0.75))
        ws.annotations.save(Annotation.new(asset_id=assets["clip.mp4"].id, label="car", shape=Box(1, 1, 9, 9),
                                           author="ana", frame=4))
        ws.annotations.save(track_to_annotation(TRACK, asset_id=assets["clip.mp4"].id, author="ana"))
        for seg in SEGMENTS:
            ws.annotations.save(segment_to_annotation(seg, asset_id=assets["tone.wav"].id, author="ana"))
    return ws_dir


@pytest.fixture(scope="module")
def target(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another workspace with the same media in fresh projects and no annotations."""
    ws_dir = tmp_path_factory.mktemp("dst-ws")
    for name in ("native", "coco", "bad"):
        _new_project(ws_dir, name, media)
    return ws_dir


def _dataset(ws_dir: Path, project: str) -> Any:
    with Workspace.open(ws_dir) as ws:
        return dataset_from_project(ws, ws.projects.get(project))


def _lossless_view(dataset: Any) -> list[Any]:
    volatile = {"asset_id", "version", "updated_at"}  # what a store sets on every save
    return [(item.name, item.sha256, [{k: v for k, v in a.to_dict().items() if k not in volatile}
                                      for a in item.annotations], item.tracks, item.segments)
            for item in dataset.items]


def _rows(ws_dir: Path) -> tuple[int, int]:
    with sqlite3.connect(ws_dir / DB_NAME) as conn:
        return (conn.execute("SELECT count(*) FROM annotations").fetchone()[0],
                conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_native_export_imports_back_exactly(source: Path, target: Path, tmp_path: Path) -> None:
    out = tmp_path / "src.json"
    proc = ok("-w", str(source), "export", "--project", "src", "--format", "native", "--out", str(out))
    assert proc.stdout.splitlines()[0] == f"src: exported 4 items, 7 shapes as native to {out}; 0 skipped"
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    proc = ok("-w", str(target), "import-annotations", "--project", "native", "--format", "native", str(out))
    assert proc.stdout.startswith("native: imported 7 shapes (4 annotations, 1 tracks, 2 segments) onto 4 of 4 "
                                  "items")
    assert _lossless_view(_dataset(target, "native")) == _lossless_view(_dataset(source, "src"))


def test_coco_export_imports_back_within_its_precision(source: Path, target: Path, tmp_path: Path) -> None:
    out = tmp_path / "coco"
    proc = ok("-w", str(source), "export", "-p", "src", "-f", "coco", "-o", str(out), "--json")
    report = json.loads(proc.stdout)
    assert (report["items"], report["shapes"]) == (2, 3)
    assert any(s.startswith("clip.mp4: coco carries image") for s in report["skipped"])
    proc = ok("-w", str(target), "import-annotations", "-p", "coco", "-f", "coco", str(out), "--json")
    assert json.loads(proc.stdout)["annotations"] == 3
    got = {i.name: i.annotations for i in _dataset(target, "coco").items}
    want = {i.name: i.annotations for i in _dataset(source, "src").items if i.media == "image"}
    for name, anns in want.items():
        assert [a.label for a in got[name]] == [a.label for a in anns]
        for mine, theirs in zip(anns, got[name]):
            if mine.shape.kind == "box":
                assert theirs.shape.kind == "box" and theirs.attributes == mine.attributes
                assert all(abs(a - b) < 1e-9 for a, b in zip(mine.shape.to_dict().values(),
                                                                theirs.shape.to_dict().values())
                           if isinstance(a, float))
            else:  # COCO polygons cannot hold holes: the pixels come back as a mask
                assert theirs.shape.kind == "mask"


def test_split_assigns_every_item_once_and_the_same_way_every_time(source: Path, tmp_path: Path) -> None:
    subsets = []
    for n in (1, 2):
        out = tmp_path / f"split{n}.json"
        ok("-w", str(source), "export", "-p", "src", "-f", "native", "-o", str(out), "--split", "0.5/0.25/0.25")
        subsets.append({i.name: i.subset for i in NATIVE.load(out).items})
    assert subsets[0] == subsets[1]
    assert sorted(subsets[0].values()) == ["test", "train", "train", "val"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["export", "-p", "src", "-f", "nope", "-o", "x"], 2, "unknown format 'nope' (known: native, coco"),
    (["export", "-p", "src", "-f", "native", "-o", "x", "--split", "0.8/0.3"], 2, "--split: the ratios must sum to 1"),
    (["export", "-p", "ghost", "-f", "native", "-o", "x"], 3, "no project 'ghost'"),
    (["import-annotations", "-p", "src", "-f", "native", "missing.json"], 3, "no such file or folder: missing.json"),
    (["import-annotations", "-p", "src", "-f", "coco", "--map", "lorry", "x"], 2, "--map: expected OLD=NEW"),
])
def test_bad_commands_are_one_line_and_an_exit_code(source: Path, args: list[str], code: int, message: str) -> None:
    proc = alaya("-w", str(source), *args)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr


def test_a_malformed_file_names_where_and_writes_nothing(source: Path, target: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    ok("-w", str(source), "export", "-p", "src", "-f", "native", "-o", str(good))
    broken = tmp_path / "broken.json"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) * 2 // 3])
    before = _rows(target)
    proc = alaya("-w", str(target), "import-annotations", "-p", "bad", "-f", "native", str(broken))
    assert proc.returncode == 2 and str(broken) in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert _rows(target) == before


def _coco_file(path: Path, labels: list[str]) -> Path:
    path.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "photos/street1.jpg", "width": 320, "height": 240},
                   {"id": 2, "file_name": "unknown.jpg", "width": 10, "height": 10}],
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(labels)],
        "annotations": [{"id": i + 1, "image_id": 1, "category_id": i + 1, "bbox": [5, 5, 20, 10], "area": 200,
                         "iscrowd": 0, "segmentation": []} for i in range(len(labels))]}))
    return path


def test_unknown_labels_are_listed_and_taken_only_through_map(target: Path, tmp_path: Path) -> None:
    coco = _coco_file(tmp_path / "instances_default.json", ["car", "lorry", "pedestrian"])
    before = _rows(target)
    proc = alaya("-w", str(target), "import-annotations", "-p", "bad", "-f", "coco", str(coco))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "labels not in the project schema: lorry, pedestrian" in proc.stderr
    assert _rows(target) == before
    proc = ok("-w", str(target), "import-annotations", "-p", "bad", "-f", "coco", str(coco), "-q",
              "--map", "lorry=car", "--map", "pedestrian=person", "--map", "bus=car")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("bad: imported 3 shapes (3 annotations, 0 tracks, 0 segments) onto 1 of 2 items")
    assert "1 skipped" in lines[0]
    assert "  mapped    lorry -> car (1)" in lines and "  mapped    pedestrian -> person (1)" in lines
    assert "  unused    --map bus=car: no such label in the file" in lines
    assert "  skipped   unknown.jpg: no asset in the project has this content or name" in lines
    got = {i.name: sorted(a.label for a in i.annotations) for i in _dataset(target, "bad").items}
    assert got["street1.jpg"] == ["car", "car", "person"]
    proc = alaya("-w", str(target), "import-annotations", "-p", "bad", "-f", "coco", str(coco), "--map",
                 "lorry=truck")
    assert proc.returncode == 2 and "cannot map 'lorry' to 'truck'" in proc.stderr


def _stderr_on_a_terminal(*args: str) -> str:
    """Run alaya with stderr on a pseudo-terminal; what it drew there."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm", "COLUMNS": "100"}
    proc = subprocess.run([sys.executable, "-m", "app", *args], stdout=subprocess.PIPE, stderr=slave, env=env,
                          timeout=300)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.returncode == 0
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_a_progress_bar_unless_quiet(source: Path, tmp_path: Path) -> None:
    args = ("-w", str(source), "export", "-p", "src", "-f", "native", "-o", str(tmp_path / "p.json"))
    assert "exporting" in _stderr_on_a_terminal(*args)
    assert _stderr_on_a_terminal(*args, "--quiet") == ""
