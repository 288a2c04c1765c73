"""Native JSON: lossless round trips of whole datasets, and clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.annotators.annotation import Annotation
from app.annotators.audio.segments import Segment
from app.annotators.ontology import parse_schema
from app.annotators.shapes import Box
from app.core.errors import ValidationError
from app.formats import native, registry
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies import (
    LABELS, attribute_values, audio_items, datasets, image_items, video_items,
)

FORMAT = native.FORMAT
SCHEMA = parse_schema({
    "name": "streets", "version": 3,
    "classes": [{"name": name, "colour": "#1f77b4", "hotkey": str(i + 1)}
                for i, name in enumerate(LABELS)],
    "attributes": [{"name": "occluded", "type": "bool", "default": False},
                   {"name": "kind", "type": "enum", "values": ["a", "b"]},
                   {"name": "note", "type": "text"},
                   {"name": "speed", "type": "number", "min": 0, "max": 1.5, "default": 0.1}],
})
meta = st.dictionaries(st.text(max_size=5), attribute_values() | st.lists(st.integers()),
                       max_size=3)


@st.composite
def full_datasets(draw: st.DrawFn) -> Dataset:
    found = draw(datasets(st.one_of(image_items(), video_items(), audio_items()), max_items=4))
    found.schema = draw(st.sampled_from([None, SCHEMA]))
    found.meta = draw(meta)
    for item in found.items:
        item.media_path = draw(st.none() | st.just(Path("/data") / item.name))
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(full_datasets())
def test_round_trip_is_exact(tmp_path: Path, dataset: Dataset) -> None:
    out = tmp_path / "dataset.json"
    report = FORMAT.export(dataset, out)
    back = FORMAT.load(out)
    assert back == dataset  # every item field, annotation, track, segment, schema and meta
    assert report.files == (out,) and report.items == len(dataset.items)
    assert report.skipped == ()


def test_floats_and_frames_survive_bit_for_bit(tmp_path: Path) -> None:
    ann = Annotation.new(asset_id=7, author="ana", label="car", confidence=0.1 + 0.2,
                         shape=Box(0.1, 1 / 3, 5e-324, 1e308), frame=123456789,
                         attributes={"ratio": 2 / 3, "n": 1, "f": 1.0, "flag": True})
    item = Item("v.mp4", media="video", fps=30000 / 1001, frame_count=10**9, annotations=[ann],
                duration=1 / 7)
    audio = Item("a.wav", media="audio", duration=0.1 * 3,
                 segments=[Segment(0.1 + 0.2, 0.7000000000000001, label="speech")])
    dataset = Dataset(labels=["car", "speech"], items=[item, audio])
    FORMAT.export(dataset, tmp_path / "d.json")
    back = FORMAT.load(tmp_path / "d.json")
    got = back.items[0].annotations[0]
    assert got == ann and got.shape.x2 == 0.1 and got.shape.x1 == 5e-324
    assert type(got.attributes["f"]) is float and type(got.attributes["n"]) is int
    assert back.items[0].fps == 30000 / 1001 and back.items[1].segments[0].start == 0.1 + 0.2


def test_progress_is_called_per_item_and_items_stream_one_per_line(tmp_path: Path) -> None:
    dataset = Dataset(labels=["car"], items=[Item(f"{i}.jpg", width=4, height=4) for i in range(5)])
    calls: list[tuple[int, int]] = []
    FORMAT.export(dataset, tmp_path / "d.json", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, 5) for i in range(1, 6)]
    lines = (tmp_path / "d.json").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 5 + 1  # header, one line per item, closing


def test_registry_finds_native() -> None:
    assert registry.get("native") is FORMAT
    assert FORMAT.can_import and FORMAT.can_export and FORMAT.precision.startswith("exact")


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _valid(tmp_path: Path) -> dict:
    ann = Annotation.new(asset_id=0, author="", label="car", shape=Box(0, 0, 2, 2))
    FORMAT.export(Dataset(["car"], [Item("a.jpg", annotations=[ann])]), tmp_path / "ok.json")
    return json.loads((tmp_path / "ok.json").read_text(encoding="utf-8"))


def test_a_newer_format_version_is_refused_clearly(tmp_path: Path) -> None:
    data = _valid(tmp_path)
    data["version"] = native.FORMAT_VERSION + 1
    with pytest.raises(ValidationError, match=r"d\.json: version: written by a newer Alaya"):
        FORMAT.load(_write(tmp_path, data))


@pytest.mark.parametrize("change, where", [
    (lambda d: d.pop("labels"), "dataset.labels: missing field"),
    (lambda d: d.update(extra=1), "dataset.extra: unknown field"),
    (lambda d: d.update(format="coco"), "format: not a native Alaya file"),
    (lambda d: d.update(version="1"), "version: expected an integer"),
    (lambda d: d.update(labels="car"), "labels: expected a list"),
    (lambda d: d.update(meta=[]), "meta: expected an object"),
    (lambda d: d.update(schema={"name": "x"}), "schema: "),
    (lambda d: d["items"][0].update(width="640"), "items[0].width: expected an integer"),
    (lambda d: d["items"][0].update(media="pdf"), "items[0].media: must be one of"),
    (lambda d: d["items"][0].pop("name"), "items[0].name: missing field"),
    (lambda d: d["items"][0]["annotations"][0]["shape"].update(x1="0"),
     "items[0].annotations[0].shape.x1: expected a number"),
    (lambda d: d["items"][0]["annotations"][0].pop("created_at"),
     "items[0].annotations[0].created_at: required field is missing"),
    (lambda d: d["items"][0].update(tracks=[{"id": "t", "label": "car", "keyframes": [{}]}]),
     "items[0].tracks[0].keyframes[0].frame: missing field"),
    (lambda d: d["items"][0].update(segments=[{"start": 2, "end": 1}]),
     "items[0].segments[0].end: must be after start"),
])
def test_bad_fields_are_named(tmp_path: Path, change, where: str) -> None:
    data = _valid(tmp_path)
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(ValidationError) as err:
        FORMAT.load(path)
    assert str(err.value).startswith(f"{path}: ") and where in str(err.value)


def test_truncated_and_non_utf8_files_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    FORMAT.export(Dataset(["car"], [Item("a.jpg"), Item("b.jpg")]), path)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])
    with pytest.raises(ValidationError, match=r"d\.json:\d+: invalid JSON"):
        FORMAT.load(path)
    path.write_bytes(b'{"format": "alaya-native",\n"labels": ["caf\xe9"]}')
    with pytest.raises(ValidationError, match=r"d\.json:2: not UTF-8"):
        FORMAT.load(path)
    path.write_bytes(b"[" * 100_000)
    with pytest.raises(ValidationError, match="d.json"):
        FORMAT.load(path)
    with pytest.raises(ValidationError, match="cannot read"):
        FORMAT.load(tmp_path / "missing.json")


def test_a_failed_export_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    FORMAT.export(Dataset(["car"], [Item("a.jpg")]), path)
    before = path.read_bytes()
    bad = Dataset(["car"], [Item("a.jpg"), Item("b.jpg", fps=float("nan"))])
    with pytest.raises(ValidationError, match="b.jpg: cannot be written as JSON"):
        FORMAT.export(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]
