"""Audacity labels: exact round trips with the frequency lines, our lines against the layout
Audacity writes and reads, files as Audacity writes them, and bad files."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.annotators.audio.segments import Segment
from app.core.errors import ValidationError
from app.formats import audacity, audio_common, registry
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies_audio import any_text, audio_datasets, segments

FORMAT = audacity.FORMAT
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
hertz = st.floats(0, 96_000, allow_nan=False)
frequencies = st.fixed_dictionaries({}, optional={"freq_low": hertz, "freq_high": hertz})
label_text = any_text.filter(lambda s: not re.search(r"[\t\r\n]", s))
audacity_segments = segments(labels=label_text, attributes=frequencies)
POSITIONAL = r"[0-9]+\.[0-9]+"


def kept(segment: Segment) -> tuple:
    return (segment.start, segment.end, segment.label, sorted(segment.attributes.items()))


def by_name(dataset: Dataset, *, stems: bool) -> dict[str, list[tuple]]:
    return {str(PurePosixPath(i.name).with_suffix("")) if stems else i.name:
            sorted(map(kept, i.segments)) for i in dataset.items}


# -- round trips and layout ----------------------------------------------------------------


@SETTINGS
@given(audio_datasets(audacity_segments))
def test_round_trip_keeps_times_labels_and_frequencies_exactly(tmp_path: Path,
                                                               dataset: Dataset) -> None:
    out = Path(tempfile.mkdtemp(dir=tmp_path))
    report = FORMAT.export(dataset, out)
    assert report.skipped == () and report.items == len(dataset.items)
    back = FORMAT.load(out)
    assert by_name(back, stems=False) == by_name(dataset, stems=True)
    assert set(back.labels) == set(dataset.labels)
    assert back.meta == {"skipped": []}


@SETTINGS
@given(audio_datasets(audacity_segments, max_items=1))
def test_every_line_follows_the_audacity_layout(tmp_path: Path, dataset: Dataset) -> None:
    out = Path(tempfile.mkdtemp(dir=tmp_path))
    path, = FORMAT.export(dataset, out).files
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines.pop() == ""  # every line ends with a newline
    for segment in sorted(dataset.items[0].segments, key=lambda s: (s.start, s.end)):
        start, end, text = lines.pop(0).split("\t")
        assert re.fullmatch(POSITIONAL, start) and float(start) == segment.start
        assert re.fullmatch(POSITIONAL, end) and float(end) == segment.end
        assert text == segment.label
        if segment.attributes:
            backslash, low, high = lines.pop(0).split("\t")
            assert backslash == "\\"
            assert float(low) == segment.attributes.get("freq_low", -1.0)
            assert float(high) == segment.attributes.get("freq_high", -1.0)
    assert lines == []


AUDACITY_WRITES = (  # Audacity 3 exports "%f" times; a spectral selection adds the "\" line
    "1.000000\t2.500000\tbird\n"
    "\\\t200.000000\t4000.000000\n"
    "3.000000\t3.000000\tclick\n"  # a point label
    "4.250000\t5.000000\t\n"  # no text
    "\\\t-1.000000\t8000.500000\n"  # no lower frequency
    "6,5\t7,25\tcomma locale\r\n")


def test_reads_a_file_as_audacity_writes_it(tmp_path: Path) -> None:
    (tmp_path / "song.txt").write_text(AUDACITY_WRITES, encoding="utf-8", newline="")
    (tmp_path / "song.ogg").write_bytes(b"")
    dataset = FORMAT.load(tmp_path / "song.txt")
    item, = dataset.items
    assert item.name == "song.ogg"
    assert item.segments == [
        Segment(1.0, 2.5, label="bird", attributes={"freq_low": 200.0, "freq_high": 4000.0}),
        Segment(4.25, 5.0, label="", attributes={"freq_high": 8000.5}),
        Segment(6.5, 7.25, label="comma locale")]
    assert dataset.labels == ["bird", "comma locale"]
    assert dataset.meta["skipped"] == [f"{tmp_path / 'song.txt'}:3: point label 'click' at 3.0 s"
                                       " not read: a point is not a segment"]


def test_reports_what_audacity_labels_cannot_hold(tmp_path: Path) -> None:
    item = Item("a.wav", "audio", segments=[
        Segment(0, 1, label="two\tlines\n", speaker="ann", transcript="hi", channel=0,
                attributes={"freq_low": "high", "mood": 1})])
    report = FORMAT.export(Dataset(items=[item]), tmp_path)
    text = "\n".join(report.skipped)
    for part in ("speaker (1 segments)", "transcript (1 segments)", "channel (1 segments)",
                 "attributes other than numeric freq_low/freq_high", "tabs and line breaks"):
        assert part in text
    assert (tmp_path / "a.txt").read_text() == "0.0\t1.0\ttwo lines \n"


def test_names_subsets_collisions_progress_and_registry(tmp_path: Path) -> None:
    assert registry.get("audacity") is FORMAT
    items = [Item("a.wav", "audio", subset="train", segments=[Segment(0, 1, label="x")]),
             Item("a.flac", "audio", subset="train"),
             Item("talks/b.mp3", "audio", subset="val"),
             Item("c.jpg"),  # not audio, no segments: nothing to write
             Item("../escape.wav", "audio")]
    calls: list[tuple[int, int]] = []
    report = FORMAT.export(Dataset(items=items), tmp_path / "out",
                           progress=lambda done, total: calls.append((done, total)))
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in report.files) == [
        "train/a.flac.txt", "train/a.wav.txt", "val/talks/b.txt"]
    assert report.skipped == ("../escape.wav: the name would leave the output folder",)
    assert calls == [(i, 5) for i in range(1, 6)]
    back = FORMAT.load(tmp_path / "out" / "train")
    assert sorted(i.name for i in back.items) == ["a.flac", "a.wav"]  # the whole names kept


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "line", "message"), [
    ("", "1.0\t2.0\tx\ty", "found 4 fields"),
    ("", "1.0", "found 1 fields"),
    ("", "1.0 2.0 x", "found 1 fields"),  # spaces do not separate fields
    ("", "one\t2.0\tx", "start is not a number: 'one'"),
    ("", "1.0\tinf\tx", "end is not a number: 'inf'"),
    ("", "-1.0\t2.0\tx", "start must not be negative"),
    ("", "2.0\t1.0\tx", "end (1.0) is before start (2.0)"),
    ("", "\\\t1.0\t2.0", "a frequency line without a label line before it"),
    ("0.5\t1.0\tx", "\\\t1.0", "a frequency line has 3 tab-separated fields, found 2"),
    ("0.5\t1.0\tx", "\\\tlow\t2.0", "frequency is not a number: 'low'"),
])
def test_bad_lines_name_the_file_and_line(tmp_path: Path, before: str, line: str,
                                          message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(f"{before}\n{line}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=re.escape(message)) as error:
        FORMAT.load(path)
    assert error.value.where.startswith(f"{path}:2")


def test_bad_bytes_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"0.5\t1.0\tok\n1.0\t2.0\tcaf\xe9\n")
    with pytest.raises(ValidationError, match="not UTF-8") as error:
        FORMAT.load(path)
    assert error.value.where == f"{path}:2"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="no .txt files"):
        FORMAT.load(tmp_path / "empty")


def test_time_text_is_what_format_time_writes() -> None:
    assert audio_common.format_time(1e-05) == "0.00001"
    assert audio_common.format_time(3.0) == "3.0"
    assert audio_common.format_time(-0.0) == "0.0"
