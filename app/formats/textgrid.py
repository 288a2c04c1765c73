"""Praat TextGrid (Praat manual, "TextGrid file formats"): one .TextGrid per audio item.

Written in the long ("normal") text format, or the short one (`FORMATS["textgrid-short"]`),
UTF-8; read in both, UTF-8 or UTF-16 with a byte-order mark (what Praat writes for text
outside Latin-1), with Praat's own rule for text files: numbers, "strings" and <flags> are
the data, any other word (`xmin =`, `item [1]:`) and "!" comments are ignored.

Segments map to interval tiers:
- one IntervalTier per speaker and label, named "speaker - label" (the Montreal Forced
  Aligner's naming for several speakers), or just "label" for segments without a speaker;
  reading splits a tier name at its last " - ", so a label containing " - " is reported;
- interval text = the transcript, or, when that is empty, the label (else the speaker), so a
  segment is never an empty interval; reading turns that fallback back into an empty
  transcript (a transcript equal to its label is reported as lost);
- the gaps between segments are empty intervals, so each tier tiles [0, xmax] exactly, as
  Praat requires; xmax is the item's duration, or the last segment end when later/unknown;
- overlapping segments of one tier go to extra tiers "<name> (2)", "(3)", ...; reading merges
  a tier "<name> (n)" back into "<name>" when that tier exists in the same file;
- channels and attributes have no place (reported); point tiers (TextTier) are read into
  `Dataset.meta["skipped"]`, since a point is not a segment.
"""

from __future__ import annotations

import re
from functools import partial
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from app.annotators.audio.segments import Segment, sort_segments
from app.core.errors import ValidationError
from app.formats import audio_common as common
from app.formats.base import Dataset, ExportReport, Item, Progress, located_in

SUFFIX = ".TextGrid"
_TOKEN = re.compile(r'"([^"]*(?:""[^"]*)*)"|![^\n]*|<([^<>\s"]*)>|([^\s"!<]+)|(["<])')
_EXTRA_TIER = re.compile(r"(.*) \((\d+)\)", re.DOTALL)
Interval = tuple[float, float, str]


# -- names and texts -----------------------------------------------------------------------


def tier_name(speaker: str | None, label: str) -> str:
    return label if speaker is None else f"{speaker} - {label}"


def parse_tier_name(name: str) -> tuple[str | None, str]:
    speaker, sep, label = name.rpartition(" - ")
    return (speaker, label) if sep else (None, name)


def fallback_text(speaker: str | None, label: str) -> str:
    """What an interval says when its segment has no transcript."""
    return label or speaker or ""


def interval_text(segment: Segment) -> str:
    return segment.transcript or fallback_text(segment.speaker, segment.label)


def _lost(segment: Segment) -> Iterable[str]:
    if segment.channel is not None:
        yield "channel"
    if segment.attributes:
        yield "attributes"
    if segment.transcript and segment.transcript == fallback_text(segment.speaker, segment.label):
        yield "a transcript equal to its label (reads back empty)"
    if parse_tier_name(tier_name(segment.speaker, segment.label)) != (segment.speaker,
                                                                      segment.label):
        yield "speaker and label apart (a label containing ' - ')"


# -- export --------------------------------------------------------------------------------


def item_tiers(segments: Iterable[Segment]) -> list[tuple[str, list[Segment]]]:
    """(tier name, its segments) with no overlap inside a tier: extra tiers take overlaps."""
    groups: dict[tuple[str | None, str], list[list[Segment]]] = {}
    for segment in sort_segments(segments):
        lanes = groups.setdefault((segment.speaker, segment.label), [])
        lane = next((lane for lane in lanes if lane[-1].end <= segment.start), None)
        if lane is None:
            lanes.append([segment])
        else:
            lane.append(segment)
    return [(tier_name(*key) if i == 0 else f"{tier_name(*key)} ({i + 1})", lane)
            for key, lanes in groups.items() for i, lane in enumerate(lanes)]


def tiled(segments: list[Segment], xmax: float) -> list[Interval]:
    """The tier's intervals over [0, xmax]: segments, and empty ones in the gaps."""
    intervals: list[Interval] = []
    cursor = 0.0
    for segment in segments:
        if segment.start > cursor:
            intervals.append((cursor, segment.start, ""))
        intervals.append((segment.start, segment.end, interval_text(segment)))
        cursor = segment.end
    if cursor < xmax:
        intervals.append((cursor, xmax, ""))
    return intervals


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def render(tiers: list[tuple[str, list[Interval]]], xmax: float, *, short: bool) -> str:
    """The TextGrid text, long format (Praat's layout, trailing spaces included) or short."""
    t = common.format_time
    if short:
        lines = [t(0.0), t(xmax), "<exists>", str(len(tiers))]
        for name, intervals in tiers:
            lines += ['"IntervalTier"', _quoted(name), t(0.0), t(xmax), str(len(intervals))]
            for start, end, text in intervals:
                lines += [t(start), t(end), _quoted(text)]
    else:
        lines = [f"xmin = {t(0.0)} ", f"xmax = {t(xmax)} ", "tiers? <exists> ",
                 f"size = {len(tiers)} ", "item []: "]
        for number, (name, intervals) in enumerate(tiers, start=1):
            lines += [f"    item [{number}]:", '        class = "IntervalTier" ',
                      f"        name = {_quoted(name)} ", f"        xmin = {t(0.0)} ",
                      f"        xmax = {t(xmax)} ", f"        intervals: size = {len(intervals)} "]
            for index, (start, end, text) in enumerate(intervals, start=1):
                lines += [f"        intervals [{index}]:", f"            xmin = {t(start)} ",
                          f"            xmax = {t(end)} ", f"            text = {_quoted(text)} "]
    header = ['File type = "ooTextFile"', 'Object class = "TextGrid"', ""]
    return "\n".join(header + lines) + "\n"


def render_item(item: Item, skipped: list[str], *, short: bool) -> tuple[str, int] | None:
    segments = [s for s in item.segments if interval_text(s)]
    if len(segments) < len(item.segments):
        skipped.append(f"{item.name}: {len(item.segments) - len(segments)} segments with no "
                       "speaker, label or transcript (a TextGrid cannot tell them from gaps)")
    skipped.extend(common.lost_fields(item, "TextGrid", _lost))
    xmax = max([item.duration or 0.0, *(s.end for s in segments)])
    if xmax <= 0:
        skipped.append(f"{item.name}: no segments and no known duration, no TextGrid written")
        return None
    tiers = [(name, tiled(lane, xmax)) for name, lane in item_tiers(segments)]
    return render(tiers, xmax, short=short), len(segments)


# -- reading: Praat's text-file tokens -----------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "flag", "number"
    text: str
    line: int


def _tokens(path: Path, text: str) -> Iterator[_Token]:
    line, seen = 1, 0
    for match in _TOKEN.finditer(text):
        line += text.count("\n", seen, match.start())
        seen = match.start()
        string, flag, word, stray = match.groups()
        if string is not None:
            yield _Token("string", string.replace('""', '"'), line)
        elif flag is not None:
            yield _Token("flag", flag, line)
        elif stray is not None:
            what = "a string that is never closed" if stray == '"' else "a stray '<'"
            raise ValidationError(f"{what} (truncated file?)", where=located_in(path, line))
        elif word is not None and common.NUMBER.fullmatch(word):
            yield _Token("number", word, line)
        elif word is not None and word[0] in "+-.0123456789":  # no label word starts so
            raise ValidationError(f"not a number: {word!r}", where=located_in(path, line))


class _Reader:
    """The tokens of one file, taken in order, with errors naming file and line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.tokens = path, list(_tokens(path, text))
        self.pos, self.last_line = 0, text.count("\n") + 1

    def take(self, kind: str, what: str) -> _Token:
        if self.pos >= len(self.tokens):
            raise ValidationError(f"the file ends before {what} (truncated?)",
                                  where=located_in(self.path, self.last_line))
        token = self.tokens[self.pos]
        if token.kind != kind:
            raise ValidationError(f"expected {what} ({kind}), found {token.kind} {token.text!r}",
                                  where=self.where(token))
        self.pos += 1
        return token

    def where(self, token: _Token) -> str:
        return located_in(self.path, token.line)

    def string(self, what: str) -> str:
        return self.take("string", what).text

    def time(self, what: str) -> float:
        token = self.take("number", what)
        return common.parse_time(token.text, self.where(token), what)

    def count(self, what: str) -> int:
        token = self.take("number", what)
        value = Decimal(token.text)
        if value < 0 or value != value.to_integral_value():
            raise ValidationError(f"{what} must be a whole number, got {token.text}",
                                  where=self.where(token))
        return int(value)


@dataclass
class Tier:
    name: str
    line: int
    intervals: list[tuple[float, float, str, int]]  # start, end, text, line
    points: int = 0  # a TextTier's point count


def read_grid(path: Path) -> tuple[float, list[Tier]]:
    """(xmax, tiers) of a TextGrid in long or short text format."""
    with path.open("rb") as handle:
        if handle.read(12) == b"ooBinaryFile":
            raise ValidationError("a binary TextGrid: save it as a text file in Praat",
                                  where=str(path))
    reader = _Reader(path, common.read_text(path, utf16=True))
    if reader.string("the file type") not in ("ooTextFile", "ooTextFile short"):
        raise ValidationError("not a Praat text file", where=located_in(path, 1))
    if reader.string("the object class") != "TextGrid":
        raise ValidationError("not a TextGrid (object class)", where=located_in(path, 2))
    reader.time("xmin")
    xmax = reader.time("xmax")
    flag = reader.take("flag", "tiers? <exists>")
    if flag.text not in ("exists", "absent"):
        raise ValidationError(f"unknown flag <{flag.text}>", where=reader.where(flag))
    count = reader.count("the number of tiers") if flag.text == "exists" else 0
    tiers = [_read_tier(reader, number) for number in range(1, count + 1)]
    if reader.pos < len(reader.tokens):
        raise ValidationError("unexpected content after the last tier",
                              where=reader.where(reader.tokens[reader.pos]))
    return xmax, tiers


def _read_tier(reader: _Reader, number: int) -> Tier:
    kind = reader.take("string", f"the class of tier {number}")
    tier = Tier(reader.string(f"the name of tier {number}"), kind.line, [])
    reader.time(f"tier {number} xmin")
    reader.time(f"tier {number} xmax")
    size = reader.count(f"the size of tier {number}")
    if kind.text == "TextTier":
        for index in range(1, size + 1):
            reader.time(f"tier {number} point {index} time")
            reader.string(f"tier {number} point {index} mark")
        tier.points = size
        return tier
    if kind.text != "IntervalTier":
        raise ValidationError(f"unknown tier class {kind.text!r}", where=reader.where(kind))
    for index in range(1, size + 1):
        what = f"tier {number} interval {index}"
        start = reader.take("number", f"{what} xmin")
        xmin = common.parse_time(start.text, reader.where(start))
        xmax = reader.time(f"{what} xmax")
        if xmax < xmin:
            raise ValidationError(f"{what} ends ({xmax}) before it starts ({xmin})",
                                  where=reader.where(start))
        tier.intervals.append((xmin, xmax, reader.string(f"{what} text"), start.line))
    return tier


def _base_name(name: str, names: set[str]) -> str:
    extra = _EXTRA_TIER.fullmatch(name)
    return extra.group(1) if extra and extra.group(1) in names else name


def parse_file(path: Path, item: Item, dataset: Dataset) -> None:
    """Fill `item` with the segments of the TextGrid at `path`."""
    xmax, tiers = read_grid(path)
    item.duration = xmax if xmax > 0 else None
    names = {tier.name for tier in tiers if not tier.points}
    for tier in tiers:
        if tier.points:
            dataset.meta[common.SKIPPED].append(
                f"{located_in(path, tier.line)}: point tier {tier.name!r} ({tier.points} points)"
                " not read: a point is not a segment")
            continue
        speaker, label = parse_tier_name(_base_name(tier.name, names))
        if label:
            dataset.add_label(label)
        fallback = fallback_text(speaker, label)
        for start, end, text, line in tier.intervals:
            if text:
                item.segments.append(common.make_segment(
                    located_in(path, line), start=start, end=end, speaker=speaker,
                    label=label, transcript="" if text == fallback else text))
    item.segments[:] = sort_segments(item.segments)


# -- the format objects --------------------------------------------------------------------


def export(dataset: Dataset, out: Path, progress: Progress | None = None, *,
           short: bool = False) -> ExportReport:
    """One .TextGrid per audio item in the folder `out`."""
    return common.export_per_item(
        dataset, out, SUFFIX, lambda item, skipped: render_item(item, skipped, short=short),
        progress)


def load(path: Path) -> Dataset:
    """A .TextGrid file (long or short text format), or every one under a folder."""
    return common.load_per_item(path, SUFFIX, parse_file)


PRECISION = ("times exact (shortest round-trip digits); speaker, label and transcript kept;"
             " channels and attributes not written (reported)")
FORMAT = common.AudioFormat(name="textgrid", title="Praat TextGrid (long text)",
                            precision=PRECISION, write=export, read=load)
FORMATS = {"textgrid": FORMAT,
           "textgrid-short": common.AudioFormat(
               name="textgrid-short", title="Praat TextGrid (short text)", precision=PRECISION,
               write=partial(export, short=True), read=load)}
