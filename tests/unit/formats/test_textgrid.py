"""Praat TextGrid: exact round trips in the long and short text formats, praatio (and the
`textgrid` package when installed) as independent readers both ways, and bad files."""

from __future__ import annotations

import codecs
import re
import tempfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from praatio import textgrid as praat
from praatio.utilities import my_math

from app.annotators.audio.segments import Segment
from app.core.errors import ValidationError
from app.formats import registry, textgrid
from app.formats.audio_common import AudioFormat
from app.formats.base import Dataset, Item
from tests.unit.formats.strategies_audio import any_text, ascii_words, audio_datasets, segments

LONG, SHORT = textgrid.FORMATS["textgrid"], textgrid.FORMATS["textgrid-short"]
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
# labels that read back apart from their speaker: no " - ", no " (n)" of an overflow tier
labels = any_text.filter(lambda s: " - " not in s and not re.search(r" \(\d+\)$", s))
tg_segments = segments(speakers=st.none() | any_text, labels=labels, transcripts=any_text).filter(
    lambda s: textgrid.interval_text(s)
    and s.transcript != textgrid.fallback_text(s.speaker, s.label))
# text praatio keeps as it is (it strips the edges of labels)
plain = st.text("abc xyz\"'!<>-_()é漢", max_size=6).map(str.strip)
# a transcript equal to its label reads back empty (documented, reported as skipped)
praat_segments = segments(speakers=st.none() | ascii_words, labels=ascii_words, transcripts=plain,
                          min_length=1e-6).filter(lambda s: s.transcript != s.label)


def praatio_written(value: float) -> float:
    """What praatio writes: repr, except that it snaps times within 1e-14 (relative) of a
    whole number to it."""
    return float(my_math.numToStr(value))


def kept(segment: Segment) -> tuple:
    return (segment.start, segment.end, segment.speaker or "", segment.speaker is None,
            segment.label, segment.transcript)


def expected(dataset: Dataset) -> dict[str, tuple[float, list[tuple]]]:
    """Per imported item name: (xmax, segments) as a TextGrid keeps them."""
    found = {}
    for item in dataset.items:
        xmax = max([item.duration or 0.0, *(s.end for s in item.segments)])
        if xmax > 0:
            name = str(PurePosixPath(item.name).with_suffix(""))
            found[name] = (xmax, sorted(map(kept, item.segments)))
    return found


def loaded(dataset: Dataset) -> dict[str, tuple[float, list[tuple]]]:
    return {item.name: (item.duration, sorted(map(kept, item.segments))) for item in dataset.items}


def export(fmt: AudioFormat, dataset: Dataset, out: Path) -> list[Path]:
    report = fmt.export(dataset, out)
    assert [s for s in report.skipped if not s.endswith("no TextGrid written")] == []
    return list(report.files)


def fresh(tmp_path: Path) -> Path:
    """A new folder per hypothesis example (tmp_path is one folder for all of them)."""
    return Path(tempfile.mkdtemp(dir=tmp_path))


# -- round trips ---------------------------------------------------------------------------


@SETTINGS
@given(audio_datasets(tg_segments), st.sampled_from([LONG, SHORT]))
def test_round_trip_keeps_times_and_text_exactly(tmp_path: Path, dataset: Dataset,
                                                 fmt: AudioFormat) -> None:
    out = fresh(tmp_path)
    if not export(fmt, dataset, out):
        assert expected(dataset) == {}  # only items with no segments and no duration
        return
    back = fmt.load(out)
    assert loaded(back) == expected(dataset)
    assert set(back.labels) == set(dataset.labels)

def test_overlaps_go_to_extra_tiers_and_come_back(tmp_path: Path) -> None:
    item = Item("a.wav", "audio", duration=10.0, segments=[
        Segment(0, 4, speaker="ann", label="speech", transcript="one"),
        Segment(1, 2, speaker="ann", label="speech", transcript="two"),
        Segment(1.5, 3, speaker="ann", label="speech", transcript="three"),
        Segment(4, 5, speaker="ann", label="speech")])
    export(LONG, Dataset(items=[item]), tmp_path)
    grid = praat.openTextgrid(str(tmp_path / "a.TextGrid"), includeEmptyIntervals=False)
    assert list(grid.tierNames) == ["ann - speech", "ann - speech (2)", "ann - speech (3)"]
    assert [e.label for e in grid.getTier("ann - speech").entries] == ["one", "speech"]
    assert loaded(LONG.load(tmp_path)) == {"a": (10.0, sorted(map(kept, item.segments)))}


def test_a_tier_that_only_looks_like_an_extra_tier_keeps_its_name(tmp_path: Path) -> None:
    grid = praat.Textgrid()
    grid.addTier(praat.IntervalTier("take (2)", [(0.5, 1.0, "x")], 0, 2))
    grid.save(str(tmp_path / "a.TextGrid"), format="long_textgrid", includeBlankSpaces=True)
    assert [s.label for s in LONG.load(tmp_path).items[0].segments] == ["take (2)"]


def test_reports_what_a_textgrid_cannot_hold(tmp_path: Path) -> None:
    items = [Item("a.wav", "audio", segments=[
        Segment(0, 1, channel=1, label="speech", attributes={"x": 1}),
        Segment(1, 2, label="speech", transcript="speech"), Segment(2, 3),
        Segment(3, 4, label="a - b")]), Item("b.wav", "audio")]
    report = LONG.export(Dataset(items=items), tmp_path)
    text = "\n".join(report.skipped)
    for part in ("channel (1 segments)", "attributes (1 segments)",
                 "a transcript equal to its label", "a label containing ' - '",
                 "a.wav: 1 segments with no speaker, label or transcript",
                 "b.wav: no segments and no known duration"):
        assert part in text
    assert report.shapes == 3 and [p.name for p in report.files] == ["a.TextGrid"]


# -- praatio and textgrid, the independent readers -----------------------------------------


@SETTINGS
@given(audio_datasets(praat_segments), st.sampled_from([LONG, SHORT]))
def test_praatio_reads_our_export(tmp_path: Path, dataset: Dataset,
                                  fmt: AudioFormat) -> None:
    out = fresh(tmp_path)
    files = export(fmt, dataset, out)
    by_name = {str(PurePosixPath(i.name).with_suffix("")): i for i in dataset.items}
    for path in files:
        item = by_name[path.relative_to(out).with_suffix("").as_posix()]
        if fmt is SHORT and not item.segments:
            continue  # praatio fails on a short TextGrid without tiers, its own included
        grid = praat.openTextgrid(str(path), includeEmptyIntervals=True)
        for name in grid.tierNames:  # each tier tiles [0, xmax] exactly
            entries = grid.getTier(name).entries
            assert entries[0].start == 0.0 and entries[-1].end == grid.maxTimestamp
            assert all(a.end == b.start for a, b in zip(entries, entries[1:]))
        found = sorted((e.start, e.end, e.label) for name in grid.tierNames
                       for e in grid.getTier(name).entries if e.label)
        assert found == sorted((s.start, s.end, textgrid.interval_text(s)) for s in item.segments)
        names = {textgrid.tier_name(s.speaker, s.label) for s in item.segments}
        assert set(grid.tierNames) >= names


@SETTINGS
@given(audio_datasets(praat_segments, durations=False),
       st.sampled_from(["long_textgrid", "short_textgrid"]))
def test_we_read_praatio_export(tmp_path: Path, dataset: Dataset, form: str) -> None:
    folder = fresh(tmp_path)
    for item in dataset.items:
        if not item.segments:
            continue
        grid = praat.Textgrid()
        xmax = max(s.end for s in item.segments)
        for name, lane in textgrid.item_tiers(item.segments):
            grid.addTier(praat.IntervalTier(
                name, [(s.start, s.end, textgrid.interval_text(s)) for s in lane], 0, xmax))
        path = folder / PurePosixPath(item.name).with_suffix(".TextGrid")
        path.parent.mkdir(parents=True, exist_ok=True)
        # praatio merges intervals under 1e-8 s into their neighbours unless told not to
        grid.save(str(path), format=form, includeBlankSpaces=True, minimumIntervalLength=0)
    if not any(i.segments for i in dataset.items):
        return
    for item in dataset.items:
        item.segments = [Segment(praatio_written(s.start), praatio_written(s.end),
                                 label=s.label, speaker=s.speaker, transcript=s.transcript)
                         for s in item.segments]
    assert loaded(LONG.load(folder)) == expected(dataset)


def test_the_textgrid_package_reads_our_export(tmp_path: Path) -> None:
    package = pytest.importorskip("textgrid")
    item = Item("a.wav", "audio", duration=3.0, segments=[
        Segment(0.1, 0.7000000000000001, speaker="ann", label="speech", transcript='say "hi"'),
        Segment(29.115 / 20, 2.5, label="music")])
    for fmt in (LONG, SHORT):
        export(fmt, Dataset(items=[item]), tmp_path / fmt.name)
        grid = package.TextGrid()
        grid.read(str(tmp_path / fmt.name / "a.TextGrid"), round_digits=17)  # default: 5 digits
        assert [tier.name for tier in grid] == ["ann - speech", "music"]
        assert [(i.minTime, i.maxTime, i.mark) for i in grid[0]] == [
            (0.0, 0.1, ""), (0.1, 0.7000000000000001, 'say "hi"'), (0.7000000000000001, 3.0, "")]


# -- files as Praat writes them ------------------------------------------------------------


PRAAT_SHORT = """File type = "ooTextFile short"
Object class = "TextGrid"

0 2.5 <exists> 2
"IntervalTier" "words" 0 2.5 3
0 0.5 "" 0.5 1.25 "hello" 1.25 2.5 ""
"TextTier" "beats" 0 2.5 1
1.0 "beat ! not a comment"  ! a comment that mentions "quotes"
"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be"])
def test_reads_praat_encodings_comments_and_point_tiers(tmp_path: Path, encoding: str) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    path = tmp_path / "x.TextGrid"
    path.write_bytes(bom + PRAAT_SHORT.replace("hello", "héllo 漢").encode(encoding))
    dataset = LONG.load(path)
    assert dataset.items[0].segments == [Segment(0.5, 1.25, label="words", transcript="héllo 漢")]
    assert dataset.items[0].duration == 2.5 and dataset.labels == ["words"]
    assert dataset.meta["skipped"] == [f"{path}:7: point tier 'beats' (1 points) not read: a point"
                                       " is not a segment"]


def test_registry_has_the_long_format_and_the_short_one_on_request(tmp_path: Path) -> None:
    assert registry.get("textgrid") is LONG
    item = Item("a.wav", "audio", segments=[Segment(0.5, 1.0, label="x")])
    export(SHORT, Dataset(items=[item]), tmp_path)
    assert (tmp_path / "a.TextGrid").read_text().splitlines()[3:8] == [
        "0.0", "1.0", "<exists>", "1", '"IntervalTier"']


# -- bad input -----------------------------------------------------------------------------


def _valid() -> str:
    intervals = [(0.0, 0.5, ""), (0.5, 1.0, 'a "b"'), (1.0, 2.0, "")]
    return textgrid.render([("ann - speech", intervals)], 2.0, short=False)


@pytest.mark.parametrize(("change", "message", "line"), [
    (lambda t: t.replace('"TextGrid"', '"Sound"'), "not a TextGrid", 2),
    (lambda t: t.replace('"ooTextFile"', '"Other"'), "not a Praat text file", 1),
    (lambda t: t.replace("xmax = 2.0 \ntiers", 'xmax = "2" \ntiers'), "expected xmax (number)", 5),
    (lambda t: t.replace("intervals: size = 3", "intervals: size = 2.5"), "whole number", 14),
    (lambda t: t.replace("xmax = 1.0 ", "xmax = 0.25 "), "ends (0.25) before it starts (0.5)", 20),
    (lambda t: t.replace('"IntervalTier"', '"FancyTier"'), "unknown tier class 'FancyTier'", 10),
    (lambda t: t.replace("<exists>", "<maybe>"), "unknown flag <maybe>", 6),
    (lambda t: t + '"extra"\n', "unexpected content after the last tier", 27),
    # the open quote runs on to the next quote, so the one left open is on the last line
    (lambda t: t.replace('text = "a ""b"""', 'text = "a ""b'), "never closed", 26),
    (lambda t: t[:t.index("intervals [3]")], "the file ends before tier 1 interval 3 xmin", 23),
    (lambda t: t.replace("xmin = 0.5 ", "xmin = 0.5x "), "not a number: '0.5x'", 20),
])
def test_bad_files_name_the_file_and_line(tmp_path: Path, change, message: str, line: int) -> None:
    path = tmp_path / "bad.TextGrid"
    path.write_text(change(_valid()), encoding="utf-8")
    with pytest.raises(ValidationError, match=re.escape(message)) as error:
        LONG.load(path)
    assert error.value.where == f"{path}:{line}"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.floats(0, 1, exclude_max=True), st.booleans())
def test_any_truncation_is_a_clear_error(tmp_path: Path, cut: float, short: bool) -> None:
    text = textgrid.render([("a", [(0.0, 0.5, ""), (0.5, 1.0, 'x "y"'), (1.0, 2.0, "")])], 2.0,
                           short=short)
    path = tmp_path / "cut.TextGrid"
    path.write_text(text[:int(cut * (len(text) - 2))], encoding="utf-8")  # 2: ' \n' or '"\n'

    with pytest.raises(ValidationError) as error:
        LONG.load(path)
    assert error.value.where.startswith(f"{path}:")


def test_other_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "bad.TextGrid"
    path.write_bytes(_valid().replace('"b"', '"\xe9"').encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8 or UTF-16 with a byte-order mark"):
        LONG.load(path)
    path.write_bytes(b"ooBinaryFile\x08TextGrid")
    with pytest.raises(ValidationError, match="binary TextGrid"):
        LONG.load(path)
    path.write_bytes(codecs.BOM_UTF16_LE + "xmin".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(ValidationError, match="byte-order mark"):
        LONG.load(path)
