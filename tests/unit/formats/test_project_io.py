"""The store bridge: a project as a Dataset, a Dataset back onto a project's assets.

A tiny JSON format defined here (registered nowhere) carries the datasets through real files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from app.annotators.annotation import Annotation
from app.annotators.audio.segments import Segment, segment_from_dict
from app.annotators.ontology import parse_schema
from app.annotators.shapes import Box, Polygon, Tag
from app.annotators.timeline import segment_to_annotation, track_to_annotation
from app.annotators.video.tracks import Keyframe, Track, track_from_dict
from app.core.errors import ValidationError
from app.formats.base import Dataset, ExportReport, Item, count_shapes, located_in
from app.formats.project_io import (
    dataset_from_project, default_author, export_names, export_project, import_dataset,
)
from app.store.assets import NewAsset
from app.store.records import Asset, Project
from app.store.workspace import Workspace

SCHEMA = {"name": "s", "version": 1, "classes": [
    {"name": n, "colour": c} for n, c in (("person", "#ff0000"), ("car", "#00ff00"), ("speech", "#0000ff"),
                                          ("unused", "#000000"))]}
TRACK = Track("7", "car", (Keyframe(0, Box(0.1, 0.2, 10.3, 20.7)),
                           Keyframe(12, Box(1 / 3, 2 / 3, 11, 21), outside=True, attributes={"speed": 2})))
SEGMENTS = (Segment(0.1, 0.30000000000000004, 1, label="speech", speaker="A", transcript="hi"),
            Segment(0.5, 0.75))  # unlabeled


class Toy:
    """A minimal lossless format: one JSON file of items with their dicts."""

    name, title, precision = "toy", "Toy JSON", "exact"
    can_import = can_export = True

    def __init__(self, media: frozenset[str] = frozenset({"image", "video", "audio"}), keep_sha: bool = True):
        self.media, self.keep_sha = media, keep_sha

    def export(self, dataset: Dataset, out: Path, *, progress: Any = None) -> ExportReport:
        items = []
        for done, item in enumerate(dataset.items, 1):
            items.append({"name": item.name, "media": item.media, "subset": item.subset,
                          "sha256": item.sha256 if self.keep_sha else None,
                          "annotations": [a.to_dict() for a in item.annotations],
                          "tracks": [t.to_dict() for t in item.tracks],
                          "segments": [s.to_dict() for s in item.segments]})
            if progress:
                progress(done, len(dataset.items))
        out.write_text(json.dumps({"labels": dataset.labels, "items": items}))
        return ExportReport(files=(out,), items=len(items), shapes=count_shapes(dataset.items))

    def load(self, path: Path) -> Dataset:
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise ValidationError(f"not JSON: {exc}", where=located_in(path)) from None
        items = [Item(name=i["name"], media=i["media"], subset=i["subset"], sha256=i["sha256"],
                      annotations=[Annotation.from_dict(a) for a in i["annotations"]],
                      tracks=[track_from_dict(t) for t in i["tracks"]],
                      segments=[segment_from_dict(s) for s in i["segments"]]) for i in data["items"]]
        return Dataset(labels=data["labels"], items=items)


def _asset(ws: Workspace, project: Project, name: str, modality: str = "image", *, storage: str = "reference",
           source: str | None = None, **metadata: Any) -> Asset:
    sha = hashlib.sha256((source or name).encode()).hexdigest()
    path = f"blobs/{sha[:2]}/{sha}{Path(name).suffix}" if storage == "managed" else (source or f"/data/{name}")
    ws.assets.add_many(project.id, [NewAsset(sha256=sha, modality=modality, storage=storage, path=path,
                                             original_name=name, size_bytes=1,
                                             metadata={**metadata, "source_path": source or f"/data/{name}"})])
    return ws.assets.by_sha256(project.id, [sha])[sha]


def _ann(asset: Asset, label: str, shape: Any = None, **kw: Any) -> Annotation:
    return Annotation.new(asset_id=asset.id, label=label, shape=shape or Box(1, 2, 30.25, 40.5),
                          author=kw.pop("author", "ana"), **kw)


def _media_assets(ws: Workspace, project: Project) -> dict[str, Asset]:
    return {"img": _asset(ws, project, "a.jpg", storage="managed", width=100, height=80),
            "img2": _asset(ws, project, "b.png", width=10, height=10),
            "vid": _asset(ws, project, "clip.mp4", "video", frame_count=30, fps=30.0, duration=1.0),
            "aud": _asset(ws, project, "talk.wav", "audio", duration=1.0, sample_rate=16000, channels=2),
            "txt": _asset(ws, project, "notes.txt", "text")}


@pytest.fixture
def project(workspace: Workspace) -> tuple[Project, dict[str, Asset]]:
    p = workspace.projects.create("p")
    assets = _media_assets(workspace, p)
    ws = workspace
    ws.annotations.save(_ann(assets["img"], "car", attributes={"occluded": True}, confidence=0.25, source="model"))
    ws.annotations.save(_ann(assets["img"], "person", Polygon.from_rings([(0, 0), (9, 0), (9, 9)],
                                                                         [[(1, 1), (2, 1), (2, 2)]])))
    ws.annotations.delete(ws.annotations.save(_ann(assets["img"], "car")).id)
    ws.annotations.save(_ann(assets["img2"], "bike", Tag()))  # a label the schema does not have
    ws.annotations.save(_ann(assets["vid"], "car", frame=3))
    ws.annotations.save(track_to_annotation(TRACK, asset_id=assets["vid"].id, author="ana"))
    for seg in SEGMENTS:
        ws.annotations.save(segment_to_annotation(seg, asset_id=assets["aud"].id, author="ana"))
    ws.schemas.add_version(p.id, parse_schema(SCHEMA))
    return p, assets


def _comparable(dataset: Dataset) -> list[tuple[Any, ...]]:
    """What an import must preserve: everything but ids, asset ids, versions and timestamps."""
    skip = {"id", "asset_id", "version", "created_at", "updated_at"}
    return [(i.name, i.media, [{k: v for k, v in a.to_dict().items() if k not in skip} for a in i.annotations],
             i.tracks, i.segments) for i in dataset.items]


def test_a_project_becomes_a_dataset(workspace: Workspace, project) -> None:
    p, assets = project
    dataset = dataset_from_project(workspace, p)
    assert dataset.labels == ["person", "car", "speech", "unused", "bike"]  # schema order, then in use
    assert dataset.meta["skipped"] == ["notes.txt: text assets have no export format"]
    by_name = {i.name: i for i in dataset.items}
    assert list(by_name) == ["a.jpg", "b.png", "clip.mp4", "talk.wav"]
    img, vid, aud = by_name["a.jpg"], by_name["clip.mp4"], by_name["talk.wav"]
    assert (img.width, img.height, img.sha256) == (100, 80, assets["img"].sha256)
    assert img.media_path == workspace.root / assets["img"].path  # managed: inside the workspace
    assert by_name["b.png"].media_path == Path("/data/b.png")  # referenced: where it is
    assert [a.label for a in img.annotations] == ["car", "person"]  # the deleted one is gone
    assert (vid.media, vid.frame_count, vid.fps) == ("video", 30, 30.0)
    assert vid.tracks == [TRACK] and [a.frame for a in vid.annotations] == [3]
    assert (aud.media, aud.sample_rate, aud.channels, aud.duration) == ("audio", 16000, 2, 1.0)
    assert aud.segments == list(SEGMENTS) and aud.annotations == []


def test_export_names_are_unique_by_stem(workspace: Workspace) -> None:
    p = workspace.projects.create("p")
    a = [_asset(workspace, p, n, source=f"/{i}/{n}") for i, n in enumerate(("d.jpg", "D.png", "e.jpg", "d.jpg"))]
    names = export_names(a)
    assert names[a[2].id] == "e.jpg"
    assert [names[x.id] for x in (a[0], a[1], a[3])] == [f"d-{a[0].sha256[:12]}.jpg", f"D-{a[1].sha256[:12]}.png",
                                                         f"d-{a[3].sha256[:12]}.jpg"]


@pytest.mark.parametrize("keep_sha", [True, False])
def test_export_then_import_into_another_project_gives_the_same_dataset(workspace: Workspace, project,
                                                                        tmp_path: Path, keep_sha: bool) -> None:
    p, _ = project
    fmt = Toy(keep_sha=keep_sha)
    stages: list[tuple[str, int, int]] = []
    report = export_project(workspace, p, fmt, tmp_path / "out.json", progress=lambda *a: stages.append(a))
    assert (report.items, report.shapes) == (4, 7)
    assert report.skipped == ("notes.txt: text assets have no export format",)
    assert stages[-1] == ("exporting", 4, 4) and ("reading", 5, 5) in stages
    q = workspace.projects.create("q")
    _media_assets(workspace, q)
    workspace.schemas.add_version(q.id, parse_schema(SCHEMA))
    done: list[int] = []
    result = import_dataset(workspace, q, fmt.load(tmp_path / "out.json"), label_map={"bike": "car"},
                            progress=lambda d, t: done.append(d))
    assert (result.matched, result.annotations, result.tracks, result.segments) == (4, 4, 1, 2)
    assert result.skipped == [] and result.mapped == {"bike": 1} and done == [1, 2, 3, 4]
    source, copy = dataset_from_project(workspace, p), dataset_from_project(workspace, q)
    expected = _comparable(source)
    expected[1][2][0]["label"] = "car"  # mapped
    assert _comparable(copy) == expected
    assert [a.author for a in copy.items[0].annotations] == ["ana", "ana"]  # the file's authors kept


def test_reimporting_an_export_updates_annotations_and_tracks_instead_of_doubling(workspace: Workspace, project,
                                                                                  tmp_path: Path) -> None:
    p, assets = project
    fmt = Toy()
    export_project(workspace, p, fmt, tmp_path / "out.json")
    dataset = fmt.load(tmp_path / "out.json")
    dataset.items = [i for i in dataset.items if i.media != "audio"]  # segments have no identity: they add
    import_dataset(workspace, p, dataset, label_map={"bike": "car"})
    after = dataset_from_project(workspace, p)
    assert [len(i.annotations) + len(i.tracks) for i in after.items] == [2, 1, 2, 0]
    head = workspace.annotations.timeline_for_asset(assets["vid"].id)
    assert len(head) == 1 and head[0].version == 2


def test_imported_annotations_get_the_asset_the_task_and_the_author(workspace: Workspace, project) -> None:
    p, assets = project
    mine = Annotation.new(asset_id=0, label="car", shape=Box(0, 0, 1, 1), author="")
    theirs = Annotation.new(asset_id=0, label="car", shape=Box(0, 0, 2, 2), author="bob")
    item = Item(name="a.jpg", annotations=[mine, theirs], tracks=[TRACK])
    dataset = Dataset(items=[item, Item(name="talk.wav", media="audio", segments=[SEGMENTS[0]])])
    import_dataset(workspace, p, dataset, author="tester")
    stored = {a.id: a for a in workspace.annotations.for_asset(assets["img"].id)}
    assert stored[mine.id].author == "tester" and stored[theirs.id].author == "bob"
    assert stored[mine.id].asset_id == assets["img"].id
    timeline = workspace.annotations.timeline_for_asset(assets["img"].id)
    assert [t.author for t in timeline] == ["tester"]
    task = {t.asset_id: t.id for t in workspace.tasks.list(p.id)}[assets["img"].id]
    with workspace.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT task_id FROM annotations WHERE annotation_id = ?", (mine.id,)).all()
    assert rows == [(task,)]
    import_dataset(workspace, p, Dataset(items=[Item(name="b.png", annotations=[mine.replace(id="x" * 32)])]))
    assert workspace.annotations.get("x" * 32).author == default_author() != ""


def test_items_match_by_content_then_name_and_the_rest_are_reported(workspace: Workspace) -> None:
    p = workspace.projects.create("p")
    one = _asset(workspace, p, "c.jpg", source="/x/one/c.jpg")
    two = _asset(workspace, p, "c.jpg", source="/x/two/c.jpg")
    talk = _asset(workspace, p, "talk.wav", "audio")
    clip = _asset(workspace, p, "clip.mp4", "video")
    box = Annotation.new(asset_id=0, label="car", shape=Box(0, 0, 1, 1), author="")

    def item(name: str, **kw: Any) -> Item:
        return Item(name=name, annotations=[box.replace(id=f"{len(name):02d}{name}".ljust(32, "0")[:32])], **kw)

    items = [item("whatever.png", sha256=two.sha256), item("./two/c.jpg"), item(f"c-{one.sha256[:12]}.jpg"),
             item("c.jpg"), item("nope.jpg"), item("clip.mp4"),
             Item(name="talk", media="audio", segments=[SEGMENTS[0]]),  # RTTM names files by stem
             Item(name="clip.mp4", media="audio", segments=[SEGMENTS[0]])]  # a video's sound track
    report = import_dataset(workspace, p, Dataset(items=items, meta={"skipped": ["x.rttm:3: a NOISE line"]}))
    assert report.matched == 5 and (report.annotations, report.segments) == (3, 2)
    assert report.skipped == [
        "x.rttm:3: a NOISE line",
        "c.jpg: ambiguous: 2 assets have this name (/x/one/c.jpg, /x/two/c.jpg)",
        "nope.jpg: no asset in the project has this content or name",
        "clip.mp4: a image item, but the asset it names (clip.mp4) is video"]
    assert len(workspace.annotations.for_asset(two.id)) == 2 and len(workspace.annotations.for_asset(one.id)) == 1
    assert len(workspace.annotations.timeline_for_asset(talk.id)) == 1
    assert len(workspace.annotations.timeline_for_asset(clip.id)) == 1


def test_unknown_labels_stop_the_import_unless_mapped(workspace: Workspace, project) -> None:
    p, assets = project
    before = len(workspace.outbox.all())
    dataset = Dataset(items=[Item(name="a.jpg", annotations=[_ann(assets["img"], "dog"), _ann(assets["img"], "cat")]),
                             Item(name="talk.wav", media="audio", segments=[Segment(0, 1, label="noise")])])
    with pytest.raises(ValidationError, match=r"not in the project schema: cat, dog, noise; .*--map OLD=NEW"):
        import_dataset(workspace, p, dataset)
    with pytest.raises(ValidationError, match="cannot map 'dog' to 'wolf'"):
        import_dataset(workspace, p, dataset, label_map={"dog": "wolf"})
    with pytest.raises(ValidationError, match="not in the project schema: noise;"):
        import_dataset(workspace, p, dataset, label_map={"dog": "car", "cat": "person"})
    assert len(workspace.outbox.all()) == before  # nothing written
    report = import_dataset(workspace, p, dataset, label_map={"dog": "car", "cat": "person", "noise": "speech",
                                                              "emu": "car"})
    assert report.mapped == {"dog": 1, "cat": 1, "noise": 1} and report.unused_map == ["emu=car"]
    labels = sorted(a.label for a in workspace.annotations.for_asset(assets["img"].id))
    assert labels == ["car", "car", "person", "person"]


def test_without_a_schema_any_label_is_taken(workspace: Workspace) -> None:
    p = workspace.projects.create("free")
    img = _asset(workspace, p, "a.jpg")
    report = import_dataset(workspace, p, Dataset(items=[Item(name="a.jpg", annotations=[_ann(img, "zebra")])]))
    assert report.annotations == 1


def test_a_failure_halfway_writes_nothing(workspace: Workspace, project, tmp_path: Path) -> None:
    p, _ = project
    fmt = Toy()
    export_project(workspace, p, fmt, tmp_path / "out.json")
    q = workspace.projects.create("q")
    _media_assets(workspace, q)
    rows_before, outbox_before = _count(workspace, "annotations"), _count(workspace, "outbox")

    def fail_at_third(done: int, total: int) -> None:
        if done == 3:
            raise ValidationError("stopped")

    with pytest.raises(ValidationError, match="stopped"):
        import_dataset(workspace, q, fmt.load(tmp_path / "out.json"), progress=fail_at_third)
    assert (_count(workspace, "annotations"), _count(workspace, "outbox")) == (rows_before, outbox_before)
    assert dataset_from_project(workspace, q).used_labels() == []


def _count(ws: Workspace, table: str) -> int:
    with ws.db.engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)


def test_export_skips_media_the_format_cannot_carry_and_assigns_splits(workspace: Workspace, project,
                                                                      tmp_path: Path) -> None:
    p, _ = project
    report = export_project(workspace, p, Toy(frozenset({"image"})), tmp_path / "o.json", split=(0.5, 0.5, 0.0))
    assert report.items == 2
    assert report.skipped[1:] == ("clip.mp4: toy carries image, not video", "talk.wav: toy carries image, not audio")
    written = json.loads((tmp_path / "o.json").read_text())
    assert sorted(i["subset"] for i in written["items"]) == ["train", "val"]
    pics = workspace.projects.create("pics")
    assert export_project(workspace, pics, Toy(frozenset({"audio"})), tmp_path / "x.json").items == 0
    _asset(workspace, pics, "z.jpg")
    with pytest.raises(ValidationError, match="toy carries audio and video and project 'pics' has none"):
        export_project(workspace, pics, Toy(frozenset({"audio", "video"})), tmp_path / "x.json")
    read_only = Toy()
    read_only.can_export = False
    with pytest.raises(ValidationError, match="can only be imported"):
        export_project(workspace, p, read_only, tmp_path / "y.json")
