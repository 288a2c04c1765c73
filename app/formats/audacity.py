"""Audacity label track text (Audacity manual, "Importing and Exporting Labels"): one UTF-8
.txt per audio item, one line per label,

    start<TAB>end<TAB>text

optionally followed by a frequency line `\\<TAB>low<TAB>high` (Hz; -1 when undefined),
written when Audacity's spectral selection was set.

Written: times exact (shortest round-trip digits); text = the segment's label (tabs and
line breaks, which would break the line, become spaces: reported); attributes "freq_low"
and "freq_high" make the frequency line (-1 for a missing one). Speakers, transcripts,
channels and other attributes have no place (reported). Read: labels become segments with
the text as label and the frequencies as those two attributes; point labels (start = end)
are not segments and go to `Dataset.meta["skipped"]`; times with a decimal comma (older
Audacity in some locales) are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from app.annotators.audio.segments import Segment, sort_segments
from app.core.errors import ValidationError
from app.formats import audio_common as common
from app.formats.base import Dataset, ExportReport, Item, Progress, located_in

SUFFIX = ".txt"
FREQUENCIES = ("freq_low", "freq_high")
UNDEFINED = -1.0  # Audacity's "no frequency"
_BREAKS = re.compile(r"[\t\r\n]")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")


def _frequency(segment: Segment, name: str) -> float | None:
    value = segment.attributes.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _lost(segment: Segment) -> Iterable[str]:
    for name in ("speaker", "transcript", "channel"):
        if getattr(segment, name) not in (None, ""):
            yield name
    unwritten = [name for name in segment.attributes
                 if name not in FREQUENCIES or _frequency(segment, name) is None]
    if unwritten:
        yield "attributes other than numeric freq_low/freq_high"
    if _BREAKS.search(segment.label):
        yield "tabs and line breaks in the label (written as spaces)"


def label_lines(segment: Segment) -> str:
    t = common.format_time
    text = f"{t(segment.start)}\t{t(segment.end)}\t{_BREAKS.sub(' ', segment.label)}\n"
    low, high = (_frequency(segment, name) for name in FREQUENCIES)
    if low is not None or high is not None:
        low, high = (UNDEFINED if f is None else f for f in (low, high))
        text += f"\\\t{t(low)}\t{t(high)}\n"
    return text


def render_item(item: Item, skipped: list[str]) -> tuple[str, int]:
    skipped.extend(common.lost_fields(item, "Audacity labels", _lost))
    return "".join(label_lines(s) for s in sort_segments(item.segments)), len(item.segments)


# -- import --------------------------------------------------------------------------------


def _number(text: str, where: str, what: str) -> float:
    if _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    return common.parse_time(text, where, what)


def _frequencies(fields: list[str], where: str) -> dict[str, float]:
    if len(fields) != 3:
        raise ValidationError(f"a frequency line has 3 tab-separated fields, found {len(fields)}",
                              where=where)
    found = {}
    for name, text in zip(FREQUENCIES, fields[1:], strict=True):
        value = _number(text, f"{where}: {name}", "frequency")
        if value != UNDEFINED:
            found[name] = value
    return found


def parse_label(fields: list[str], where: str) -> tuple[float, float, str]:
    """(start, end, text) of one label line split at its tabs."""
    if len(fields) not in (2, 3):
        raise ValidationError(f"expected start, end and text separated by tabs, found "
                              f"{len(fields)} fields", where=where)
    start = _number(fields[0], f"{where}: start", "start")
    end = _number(fields[1], f"{where}: end", "end")
    if start < 0:
        raise ValidationError(f"start must not be negative, got {fields[0]}", where=where)
    if end < start:
        raise ValidationError(f"end ({fields[1]}) is before start ({fields[0]})", where=where)
    return start, end, fields[2] if len(fields) == 3 else ""


def parse_file(path: Path, item: Item, dataset: Dataset) -> None:
    """Fill `item` with the labels of the Audacity label file at `path`."""
    pending: tuple[float, float, str, str] | None = None  # the label the next line may extend
    for number, line in enumerate(common.read_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        where, fields = located_in(path, number), line.split("\t")
        if fields[0] != "\\":
            _add(pending, {}, item, dataset)
            pending = (*parse_label(fields, where), where)
        elif pending is None:
            raise ValidationError("a frequency line without a label line before it", where=where)
        else:
            _add(pending, _frequencies(fields, where), item, dataset)
            pending = None
    _add(pending, {}, item, dataset)
    item.segments[:] = sort_segments(item.segments)


def _add(label: tuple[float, float, str, str] | None, frequencies: dict[str, float],
         item: Item, dataset: Dataset) -> None:
    if label is None:
        return
    start, end, text, where = label
    if start == end:
        dataset.meta[common.SKIPPED].append(f"{where}: point label {text!r} at {start} s not "
                                            "read: a point is not a segment")
        return
    if text:
        dataset.add_label(text)
    item.segments.append(common.make_segment(where, start=start, end=end, label=text,
                                             attributes=frequencies))


def export(dataset: Dataset, out: Path, progress: Progress | None = None) -> ExportReport:
    """One .txt per audio item in the folder `out`."""
    return common.export_per_item(dataset, out, SUFFIX, render_item, progress)


def load(path: Path) -> Dataset:
    """An Audacity label file, or every .txt under a folder."""
    return common.load_per_item(path, SUFFIX, parse_file)


FORMAT = common.AudioFormat(
    name="audacity", title="Audacity labels",
    precision=("times exact (shortest round-trip digits); label and freq_low/freq_high kept;"
               " speakers, transcripts, channels and other attributes not written (reported)"),
    write=export, read=load)
