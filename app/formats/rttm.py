"""RTTM (NIST Rich Transcription Time Marked, RT-09 evaluation plan, appendix A): speaker
turns as `SPEAKER` lines of ten space-separated fields,

    SPEAKER <file-id> <channel> <onset> <duration> <NA> <NA> <name> <confidence> <NA>

the layout pyannote, dscore and md-eval read. Written:
- file-id: the item's stem (its path without extension when two items share a stem);
  whitespace, which would split the field, becomes "_" (reported);
- channel: 1-based; a segment on every channel (channel None) is written as channel 1, as
  diarization tools do, and channel 1 reads back as every channel, so channel 0 comes back
  as None (reported);
- onset and duration in seconds: onset exact (shortest round-trip digits), duration the exact
  decimal difference of the written end and onset, so our reader recovers the end bit for
  bit and float readers (onset + duration in doubles) within one unit in the last place;
- name: the speaker, else the label (a segment with neither is skipped); the label of a
  segment that has a speaker, its transcript and other attributes have no field (reported);
- confidence: attribute "confidence" when it is a number, else <NA>.

One file for all items: `out` ending in ".rttm" is that file; any other `out` is a folder
with one `<subset>.rttm` per subset. Reading takes one file or every .rttm under a folder
(so one file per recording works too): `SPEAKER` lines become segments with the name as
speaker and no label; other line types (LEXEME, SPKR-INFO, ...) and ";;" comments are not
segments and are listed in `Dataset.meta["skipped"]`; 9 fields are accepted (the slat field
is often left out).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.annotators.annotation import Attributes
from app.annotators.audio.segments import Segment, sort_segments
from app.core.errors import ValidationError
from app.formats import audio_common as common
from app.formats.base import DEFAULT_SUBSET, Dataset, ExportReport, Item, Progress, located_in
from app.core.files import atomic_file

NA = "<NA>"
SUFFIX = ".rttm"
_SPACE = re.compile(r"\s+")
_CHANNEL = re.compile(r"[0-9]+")


# -- export --------------------------------------------------------------------------------


def file_ids(items: list[Item]) -> list[str]:
    """The file-id of each item: its stem, or its path without extension on a clash."""
    stems = Counter(item.stem for item in items)
    ids = []
    for item in items:
        name = item.stem if stems[item.stem] == 1 else str(PurePosixPath(item.name).with_suffix(""))
        ids.append(_SPACE.sub("_", name) or "_")
    return ids


def speaker_name(segment: Segment) -> str:
    return _SPACE.sub("_", segment.speaker or segment.label)


def _lost(segment: Segment) -> Iterable[str]:
    if segment.speaker and segment.label:
        yield "label beside a speaker"
    if segment.transcript:
        yield "transcript"
    if segment.channel == 0:
        yield "channel 0 (reads back as every channel)"
    if _SPACE.search(segment.speaker or segment.label):
        yield "whitespace in the name (written as _)"
    extra = set(segment.attributes) - {"confidence"}
    if extra or ("confidence" in segment.attributes and not _confidence(segment)):
        yield "attributes other than a numeric confidence"


def _confidence(segment: Segment) -> str:
    value = segment.attributes.get("confidence", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return common.format_time(value)
    return ""


def turn_line(file_id: str, segment: Segment) -> str:
    channel = 1 if segment.channel is None else max(segment.channel, 0) + 1
    fields = ["SPEAKER", file_id, str(channel), common.format_time(segment.start),
              common.duration_text(segment.start, segment.end), NA, NA, speaker_name(segment),
              _confidence(segment) or NA, NA]
    return " ".join(fields) + "\n"


def _item_lines(item: Item, file_id: str, skipped: list[str]) -> list[str]:
    lines = []
    if file_id != item.stem:
        skipped.append(f"{item.name}: written as file-id {file_id!r}")
    skipped.extend(common.shapes_not_carried(item))
    for segment in sort_segments(item.segments):
        if not (segment.speaker or segment.label):
            skipped.append(f"{item.name}: segment {segment.start}-{segment.end} s has no speaker"
                           " or label to name it")
            continue
        lines.append(turn_line(file_id, segment))
    skipped.extend(common.lost_fields(item, "RTTM", _lost))
    return lines


def export(dataset: Dataset, out: Path, *, progress: Progress | None = None) -> ExportReport:
    """One RTTM file (`out` ends in .rttm) or one per subset in the folder `out`."""
    single = out.suffix.lower() == SUFFIX
    subsets = [None] if single else dataset.subsets() or [DEFAULT_SUBSET]
    ids = dict(zip(map(id, dataset.items), file_ids(dataset.items), strict=True))
    files, skipped = [], []
    done = shapes = 0
    for subset in subsets:
        items = dataset.items if subset is None else dataset.items_in(subset)
        target = out if subset is None else out / f"{subset}{SUFFIX}"
        with atomic_file(target) as handle:
            for item in items:
                lines = _item_lines(item, ids[id(item)], skipped)
                handle.writelines(lines)
                shapes += len(lines)
                done += 1
                if progress is not None:
                    progress(done, len(dataset.items))
        files.append(target)
    return ExportReport(files=tuple(files), items=len(dataset.items), shapes=shapes,
                        skipped=tuple(skipped))


# -- import --------------------------------------------------------------------------------


@dataclass
class _Reader:
    dataset: Dataset
    items: dict[str, Item]  # by file-id, across every file read

    def read(self, path: Path) -> None:
        others: Counter[str] = Counter()
        for number, line in enumerate(common.read_text(path).split("\n"), start=1):
            fields = line.split()
            if not fields or fields[0].startswith(";;"):
                continue
            where = located_in(path, number)
            if len(fields) not in (9, 10):
                raise ValidationError(f"expected 10 space-separated fields (9 without the last),"
                                      f" found {len(fields)}", where=where)
            if fields[0] != "SPEAKER":
                others[fields[0]] += 1
                continue
            item = self._item(path, fields[1])
            item.segments.append(parse_turn(fields, where))
        self.dataset.meta[common.SKIPPED].extend(
            f"{path}: {n} {kind} lines not read (only SPEAKER turns are segments)"
            for kind, n in others.items())

    def _item(self, path: Path, file_id: str) -> Item:
        if file_id not in self.items:
            item = Item(name=common.item_name(path.parent, file_id), media="audio")
            self.items[file_id] = item
            self.dataset.items.append(item)
        return self.items[file_id]


def parse_turn(fields: list[str], where: str) -> Segment:
    """The segment of one SPEAKER line split into its fields."""
    channel = None
    if fields[2] != NA:
        if not _CHANNEL.fullmatch(fields[2]) or int(fields[2]) < 1:
            raise ValidationError(f"channel must be a number from 1, got {fields[2]!r}",
                                  where=f"{where}: channel")
        channel = None if int(fields[2]) == 1 else int(fields[2]) - 1
    onset = common.parse_decimal(fields[3], f"{where}: onset", "onset")
    duration = common.parse_decimal(fields[4], f"{where}: duration", "duration")
    if onset < 0:
        raise ValidationError(f"onset must not be negative, got {fields[3]}",
                              where=f"{where}: onset")
    if duration <= 0:
        raise ValidationError(f"duration must be positive, got {fields[4]}",
                              where=f"{where}: duration")
    if fields[7] == NA:
        raise ValidationError("the speaker name is missing", where=f"{where}: name")
    attributes = {}
    if fields[8] != NA:
        attributes["confidence"] = common.parse_time(fields[8], f"{where}: confidence",
                                                     "confidence")
    return common.make_segment(where, start=float(onset), end=common.end_time(onset, duration),
                               channel=channel, speaker=fields[7],
                               attributes=Attributes(attributes))


def load(path: Path) -> Dataset:
    """Every SPEAKER turn of one .rttm file, or of every .rttm file under a folder."""
    _, files = common.label_files(path, SUFFIX)
    reader = _Reader(Dataset(meta={common.SKIPPED: []}), {})
    for file in files:
        reader.read(file)
    return reader.dataset


FORMAT = common.AudioFormat(
    name="rttm", title="RTTM (NIST speaker turns)",
    precision=("onset exact; end exact through our reader, within one float ulp through readers"
               " that add onset and duration; speaker (else label), channel and a numeric"
               " confidence kept; label beside a speaker, transcripts and other attributes are"
               " not written (reported)"),
    write=lambda dataset, out, progress: export(dataset, out, progress=progress), read=load)
