"""RTTM: exact round trips, every field of our lines against the NIST layout, pyannote as the
independent reader (both ways), clear errors for bad files. Also the shared time writing of
the audio formats (app.formats.audio_common)."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.annotators.audio.segments import Segment, sort_segments
from app.annotators.shapes import Tag
from app.annotators.annotation import Annotation
from app.core.errors import ValidationError
from app.formats import audio_common, registry, rttm
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies_audio import (
    ascii_words, audio_datasets, segments, spans, times, words,
)

FORMAT = rttm.FORMAT
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
confidences = st.one_of(st.just({}), st.floats(0, 1).map(lambda c: {"confidence": c}))
rttm_segments = segments(speakers=st.none() | words, labels=words,
                         channels=st.none() | st.integers(1, 7), attributes=confidences)
POSITIONAL = re.compile(r"[0-9]+\.[0-9]+")  # what our times look like: no sign, no exponent


def kept(segment: Segment) -> tuple:
    """What RTTM keeps of a segment (see the module note)."""
    return (segment.start, segment.end, segment.channel or -1,  # 0 and None: channel 1
            segment.speaker or segment.label, segment.attributes.get("confidence", -1.0))


def by_file_id(dataset: Dataset) -> dict[str, list[tuple]]:
    return {item.stem: sorted(map(kept, item.segments)) for item in dataset.items
            if item.segments}


# -- the shared time writing ---------------------------------------------------------------


@given(st.floats(0, 1e300, allow_nan=False, allow_infinity=False) | times())
def test_times_are_written_positionally_and_read_back_exactly(value: float) -> None:
    text = audio_common.format_time(value)
    assert re.fullmatch(r"[0-9]+\.[0-9]+", text)
    assert float(text) == value


@given(spans())
def test_duration_plus_onset_is_the_end_exactly(span: tuple[float, float]) -> None:
    start, end = span
    duration = audio_common.duration_text(start, end)
    onset = Decimal(audio_common.format_time(start))
    assert audio_common.end_time(onset, Decimal(duration)) == end
    naive = float(onset) + float(duration)  # what float readers compute: one ulp at most
    assert abs(naive - end) <= math.ulp(end)


def test_a_duration_is_the_short_decimal_a_person_would_write() -> None:
    # 29.115 + (63.639 - 29.115) is not 63.639 in doubles: the decimal difference is written
    assert audio_common.duration_text(29.115, 63.639) == "34.524"
    assert audio_common.end_time(Decimal("29.115"), Decimal("34.524")) == 63.639


# -- round trips ---------------------------------------------------------------------------


@SETTINGS
@given(audio_datasets(rttm_segments))
def test_round_trip_keeps_times_exactly(tmp_path: Path, dataset: Dataset) -> None:
    out = tmp_path / "all.rttm"
    out.unlink(missing_ok=True)
    report = FORMAT.export(dataset, out)
    assert report.files == (out,)
    assert report.shapes == sum(len(i.segments) for i in dataset.items)
    back = FORMAT.load(out)
    assert by_file_id(back) == by_file_id(dataset)
    assert all(s.label == "" for item in back.items for s in item.segments)


def test_one_file_per_subset_when_out_is_a_folder(tmp_path: Path) -> None:
    items = [Item(f"clip{i}.wav", "audio", subset=subset,
                  segments=[Segment(i, i + 1.5, speaker="s")])
             for i, subset in enumerate(["train", "val", "train"])]
    report = FORMAT.export(Dataset(items=items), tmp_path / "out")
    assert [p.name for p in report.files] == ["train.rttm", "val.rttm"]
    assert (tmp_path / "out" / "train.rttm").read_text().count("\n") == 2
    back = FORMAT.load(tmp_path / "out")  # a folder of RTTM files reads as one dataset
    assert sorted(i.name for i in back.items) == ["clip0", "clip1", "clip2"]


def test_file_ids_are_stems_and_paths_when_stems_clash(tmp_path: Path) -> None:
    items = [Item(name, "audio", segments=[Segment(0, 1, speaker="x")])
             for name in ("a/talk.wav", "b/talk.wav", "other one.flac")]
    report = FORMAT.export(Dataset(items=items), tmp_path / "x.rttm")
    ids = [line.split()[1] for line in (tmp_path / "x.rttm").read_text().splitlines()]
    assert ids == ["a/talk", "b/talk", "other_one"]
    assert sum("written as file-id" in s for s in report.skipped) == 3


def test_item_names_take_the_extension_of_the_audio_beside_the_file(tmp_path: Path) -> None:
    (tmp_path / "talk.flac").write_bytes(b"")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "talk.WAV").write_bytes(b"")
    (tmp_path / "x.rttm").write_text("SPEAKER talk 1 0.5 1.25 <NA> <NA> ann <NA> <NA>\n"
                                     "SPEAKER gone 1 0.5 1.25 <NA> <NA> ann <NA> <NA>\n"
                                     "SPEAKER b/talk 1 0.5 1.25 <NA> <NA> ann <NA> <NA>\n")
    assert [i.name for i in FORMAT.load(tmp_path / "x.rttm").items] == [
        "talk.flac", "gone", "b/talk.WAV"]


# -- the NIST layout, field by field -------------------------------------------------------


@SETTINGS
@given(audio_datasets(rttm_segments))
def test_every_field_follows_the_nist_layout(tmp_path: Path, dataset: Dataset) -> None:
    FORMAT.export(dataset, tmp_path / "all.rttm")
    lines = (tmp_path / "all.rttm").read_text(encoding="utf-8").splitlines()
    expected = [(item, s) for item in dataset.items for s in sorted(
        item.segments, key=lambda s: (s.start, s.end, -1 if s.channel is None else s.channel))]
    assert len(lines) == len(expected)
    for line, (item, segment) in zip(lines, expected, strict=True):
        fields = line.split(" ")
        assert len(fields) == 10 and all(fields)  # ten fields, single spaces
        assert fields[0] == "SPEAKER"
        assert fields[1] == item.stem
        assert fields[2] == str(1 if segment.channel is None else segment.channel + 1)
        assert POSITIONAL.fullmatch(fields[3]) and float(fields[3]) == segment.start
        assert POSITIONAL.fullmatch(fields[4]) and float(fields[4]) > 0
        assert fields[5] == fields[6] == fields[9] == "<NA>"  # orthography, subtype, lookahead
        assert fields[7] == (segment.speaker or segment.label)
        confidence = segment.attributes.get("confidence")
        assert fields[8] == ("<NA>" if confidence is None else audio_common.format_time(confidence))


def test_reports_what_rttm_cannot_write(tmp_path: Path) -> None:
    tag = Annotation.new(asset_id=0, author="", label="x", shape=Tag())
    items = [Item("a.wav", "audio", segments=[
        Segment(0, 1, speaker="ann", label="speech", transcript="hello"),
        Segment(1, 2, label="two words", channel=0, attributes={"mood": "calm"}),
        Segment(2, 3)]),
        Item("b.jpg", annotations=[tag])]
    report = FORMAT.export(Dataset(items=items), tmp_path / "x.rttm")
    text = "\n".join(report.skipped)
    for expected in ("label beside a speaker (1 segments)", "transcript (1 segments)",
                     "channel 0", "whitespace in the name", "attributes other than",
                     "a.wav: segment 2.0-3.0 s has no speaker or label",
                     "b.jpg: 1 shapes and tracks not written"):
        assert expected in text
    assert report.shapes == 2
    assert (tmp_path / "x.rttm").read_text().splitlines()[1].split()[7] == "two_words"


# -- pyannote, the independent reader ------------------------------------------------------


# pandas (under pyannote's reader) reads its default NA strings (read_csv's `na_values`
# documentation) as NaN, not as a speaker's name
_PANDAS_NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
              "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
_speakers = ascii_words.filter(lambda w: w not in _PANDAS_NA)


@SETTINGS
@given(audio_datasets(segments(speakers=_speakers, min_length=1e-5,
                               channels=st.none() | st.integers(1, 3))))
def test_pyannote_reads_our_export(tmp_path: Path, dataset: Dataset) -> None:
    util = pytest.importorskip("pyannote.database.util")
    FORMAT.export(dataset, tmp_path / "all.rttm")
    found = util.load_rttm(str(tmp_path / "all.rttm"))
    lines = [(item.stem, s) for item in dataset.items for s in sort_segments(item.segments)]
    assert set(found) == {stem for stem, _ in lines}
    # pyannote names each track by its line number in the file
    turns = {line: (uri, turn, who) for uri, annotation in found.items()
             for turn, line, who in annotation.itertracks(yield_label=True)}
    assert sorted(turns) == list(range(len(lines)))
    for line, (stem, segment) in enumerate(lines):
        uri, turn, who = turns[line]
        assert (uri, who) == (stem, segment.speaker)
        # pandas parses our digits (not always to the nearest double), then pyannote adds
        # onset and duration: within a nanosecond, which is what float readers get
        assert abs(turn.start - segment.start) <= 1e-9 and abs(turn.end - segment.end) <= 1e-9


def test_we_read_pyannote_export(tmp_path: Path) -> None:
    core = pytest.importorskip("pyannote.core")
    annotation = core.Annotation(uri="meeting")
    turns = [(0.0, 1.2345, "alice"), (1.0, 3.5, "bob"), (3.25, 7.125, "alice")]
    for start, end, who in turns:
        annotation[core.Segment(start, end)] = who
    with (tmp_path / "ref.rttm").open("w") as handle:
        annotation.write_rttm(handle)
    item, = FORMAT.load(tmp_path / "ref.rttm").items
    assert item.name == "meeting"
    # pyannote writes three decimals: what we read is exactly what it wrote
    assert [(s.start, s.end, s.speaker, s.channel) for s in item.segments] == [
        (0.0, 1.234, "alice", None), (1.0, 3.5, "bob", None), (3.25, 7.125, "alice", None)]


# -- other line types and bad input --------------------------------------------------------


def test_other_line_types_and_comments_are_listed_not_read(tmp_path: Path) -> None:
    (tmp_path / "x.rttm").write_text(
        ";; a comment\n\nSPKR-INFO f 1 <NA> <NA> <NA> adult_male ann <NA> <NA>\n"
        "SPEAKER f 1 0.5 1 <NA> <NA> ann 0.75\n"  # nine fields: the lookahead left out
        "LEXEME f 1 0.5 0.25 hello lex ann <NA> <NA>\nLEXEME f 1 0.75 0.25 you lex ann 0.9 <NA>\n")
    dataset = FORMAT.load(tmp_path / "x.rttm")
    assert dataset.items[0].segments == [Segment(0.5, 1.5, speaker="ann",
                                                 attributes={"confidence": 0.75})]
    assert dataset.meta["skipped"] == [f"{tmp_path / 'x.rttm'}: 1 SPKR-INFO lines not read"
                                       " (only SPEAKER turns are segments)",
                                       f"{tmp_path / 'x.rttm'}: 2 LEXEME lines not read"
                                       " (only SPEAKER turns are segments)"]


GOOD = "SPEAKER f 1 0.5 1.0 <NA> <NA> ann <NA> <NA>"


@pytest.mark.parametrize(("line", "message"), [
    ("SPEAKER f 1 0.5 1.0 <NA> <NA> ann", "expected 10 space-separated fields"),
    (GOOD + " extra", "found 11"),
    ("SPEAKER f 1 abc 1.0 <NA> <NA> ann <NA> <NA>", "onset is not a number: 'abc'"),
    ("SPEAKER f 1 nan 1.0 <NA> <NA> ann <NA> <NA>", "onset is not a number"),
    ("SPEAKER f 1 1_0 1.0 <NA> <NA> ann <NA> <NA>", "onset is not a number"),
    ("SPEAKER f 1 0.5 1e999 <NA> <NA> ann <NA> <NA>", "duration is out of range"),
    ("SPEAKER f 1 -0.5 1.0 <NA> <NA> ann <NA> <NA>", "onset must not be negative"),
    ("SPEAKER f 1 0.5 -1.0 <NA> <NA> ann <NA> <NA>", "duration must be positive"),
    ("SPEAKER f 1 0.5 0 <NA> <NA> ann <NA> <NA>", "duration must be positive"),
    ("SPEAKER f 0 0.5 1.0 <NA> <NA> ann <NA> <NA>", "channel must be a number from 1"),
    ("SPEAKER f ² 0.5 1.0 <NA> <NA> ann <NA> <NA>", "channel must be a number from 1"),
    ("SPEAKER f 1 0.5 1.0 <NA> <NA> <NA> <NA> <NA>", "speaker name is missing"),
    ("SPEAKER f 1 0.5 1.0 <NA> <NA> ann high <NA>", "confidence is not a number"),
])
def test_bad_lines_name_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.rttm"
    path.write_text(f"{GOOD}\n{line}\n")
    with pytest.raises(ValidationError, match=re.escape(message)) as error:
        FORMAT.load(path)
    assert error.value.where.startswith(f"{path}:2")


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.rttm"
    path.write_bytes(GOOD.encode() + b"\nSPEAKER f 1 0 1 <NA> <NA> J\xe9r\xf4me <NA> <NA>\n")
    with pytest.raises(ValidationError, match="not UTF-8") as error:
        FORMAT.load(path)
    assert error.value.where == f"{path}:2"


def test_missing_paths_and_empty_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no .rttm files"):
        FORMAT.load(tmp_path)
    with pytest.raises(ValidationError, match="no such file"):
        FORMAT.load(tmp_path / "missing.rttm")


# -- the format object ---------------------------------------------------------------------


def test_registry_progress_and_atomic_replace(tmp_path: Path) -> None:
    assert registry.get("rttm") is FORMAT
    out = tmp_path / "x.rttm"
    out.write_text("old content\n")
    items = [Item(f"c{i}.wav", "audio", segments=[Segment(0, 1, speaker="s")]) for i in range(3)]
    calls: list[tuple[int, int]] = []
    FORMAT.export(Dataset(items=items), out,
                  progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert "old" not in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["x.rttm"]  # no temp file left behind
