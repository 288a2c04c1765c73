"""MOT challenge ground truth: box tracks of videos as CSV text (export, and import).

Layout written, one sequence per video item, as in MOTChallenge (`MOT17/train/MOT17-02/`):
`OUT/<subset>/<video stem>/gt/gt.txt`, `gt/labels.txt` (class names, one a line: class id n is
line n, as datumaro's mot_seq reads it) and `seqinfo.ini` (name = the item's name, imDir,
frameRate, seqLength, imWidth, imHeight, imExt: the seven keys datumaro requires; written only
when the video's size, frame rate and frame count are known; frameRate is rounded to a whole
number, as MOT and datumaro read it).

`gt.txt` rows are `frame,id,bb_left,bb_top,bb_width,bb_height,conf,class,visibility` with
1-based frames, one row for every frame on which a box track is visible (keyframes and the
frames our interpolation fills in, via `Track.shape_at`). Track ids are 1, 2, ... in item
order; a box on one frame outside any track gets id -1 (as datumaro writes it). conf is 1 (0
when the keyframe has `ignored: true`); visibility is the keyframe's `visibility` attribute
when it has one, else 0 when occluded and 1 when not.

Reading turns each id (>= 1; lower ids are frame boxes) into a track: keyframes at the ends of
each run of consecutive frames, where occlusion or attributes change, and wherever a row lies
more than 1e-6 px off the linear motion between its kept neighbours (so our interpolation
gives every row back), and an outside keyframe after a run when the object leaves before the
sequence ends.
A row is occluded when visibility < 0.5; a fraction strictly between 0 and 1 is kept as the
`visibility` attribute and conf 0 as `ignored: true`.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.annotators.annotation import Annotation, AttrValue, Attributes
from app.annotators.shapes import Box
from app.annotators.video.tracks import Keyframe, Track, TrackState
from app.core.errors import ValidationError
from app.formats._media_files import write_atomic
from app.formats.base import DEFAULT_SUBSET, Dataset, ExportReport, Item, Progress, located_in
from app.formats.cvat_common import Tally, parse_float, safe_file_name, unique_name
from app.formats.native import read_text

PRECISION = (
    "frames exact (1-based in the file); per-frame boxes to 1e-9 px (written with repr as "
    "left, top, width, height) and to 1e-6 px after re-import, whose keyframes are where the "
    "motion changes; occluded exact (visibility 0 or 1); only box tracks and frame boxes are "
    "written; track ids are renumbered; frameRate is a whole number"
)
TOLERANCE = 1e-6  # px: a row within this of the linear motion is not a keyframe on import
MOT_CLASSES = ("pedestrian", "person on vehicle", "car", "bicycle", "motorbike",
               "non motorized vehicle", "static person", "distractor", "occluder",
               "occluder on the ground", "occluder full", "reflection")  # MOT16/17 ids 1..12


class MotFormat:
    name = "mot"
    title = "MOT challenge ground truth"
    media = frozenset({"video"})
    can_import = True
    can_export = True
    precision = PRECISION

    def export(self, dataset: Dataset, out: Path, *, progress: Progress | None = None
               ) -> ExportReport:
        out, tally = Path(out), Tally()
        videos = tally.items_of(dataset, "video", "MOT holds video sequences")
        labels = dataset.used_labels()
        taken: set[str] = set()
        for done, item in enumerate(videos, 1):
            folder = out / safe_file_name(item.subset, "subset") / unique_name(item.stem, taken)
            rows = sorted(_rows(item, {n: i + 1 for i, n in enumerate(labels)}, tally))
            write_atomic(folder / "gt" / "gt.txt", "".join(_line(r) for r in rows))
            write_atomic(folder / "gt" / "labels.txt", "".join(f"{_one_line(n)}\n" for n in labels))
            tally.files += [folder / "gt" / "gt.txt", folder / "gt" / "labels.txt"]
            if item.width and item.height and item.fps and item.frame_count:
                write_atomic(folder / "seqinfo.ini", _seqinfo(item))
                tally.files.append(folder / "seqinfo.ini")
            if progress:
                progress(done, len(videos))
        return tally.report(len(videos))

    def load(self, path: Path) -> Dataset:
        path = Path(path)
        if path.is_file():
            found = [path]
        elif path.is_dir():
            found = sorted(path.rglob("gt/gt.txt"))
        else:
            raise ValidationError("no such file or folder", where=str(path))
        if not found:
            raise ValidationError("no gt/gt.txt below this folder", where=str(path))
        dataset = Dataset()
        for gt in found:
            sequence = gt.parent.parent
            depth = sequence.relative_to(path).parts if path.is_dir() else ()
            subset = depth[0] if len(depth) == 2 else DEFAULT_SUBSET
            dataset.items.append(_read_sequence(gt, sequence, subset, dataset))
        return dataset


def _one_line(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValidationError(f"a label with a line break cannot be a MOT class: {text!r}",
                              where="labels")
    return text


def _seqinfo(item: Item) -> str:
    return (f"[Sequence]\nname={_one_line(item.name)}\nimDir=img1\n"
            f"frameRate={round(item.fps or 0)}\nseqLength={item.frame_count}\n"
            f"imWidth={item.width}\nimHeight={item.height}\nimExt=.jpg\n")


Row = tuple[int, int, float, float, float, float, int, int, float]


def _rows(item: Item, classes: dict[str, int], tally: Tally) -> Iterator[Row]:
    """Rows of the item's box tracks (every visible frame) and frame boxes (id -1)."""
    number = 0
    for track in item.tracks:
        if not track.keyframes or not all(isinstance(k.shape, Box) for k in track.keyframes):
            kind = track.keyframes[0].shape.kind if track.keyframes else "empty"
            tally.skipped.append(f"{item.name}: track {track.id}: a {kind} track (MOT holds boxes)")
            continue
        number += 1
        tally.shapes += 1
        end = max(item.frame_count or 0, track.frames[-1] + 1)
        for frame in range(track.frames[0], end):
            state = track.shape_at(frame)
            if state is not None and not state.outside:
                yield _row(frame, number, state.shape, classes[track.label], state)  # type: ignore[arg-type]
    for ann in item.annotations:
        if not isinstance(ann.shape, Box) or ann.frame is None:
            where = "no frame" if ann.frame is None else f"frame {ann.frame}"
            tally.skipped.append(f"{item.name}: a {ann.shape.kind} on {where} (MOT holds boxes "
                                 "on frames)")
            continue
        tally.shapes += 1
        occluded = ann.attributes.get("occluded") is True
        yield _row(ann.frame, -1, ann.shape, classes[ann.label],
                   TrackState(ann.frame, ann.shape, False, occluded, True, ann.attributes))


def _row(frame: int, number: int, box: Box, class_id: int, state: TrackState) -> Row:
    visibility = state.attributes.get("visibility")
    if not isinstance(visibility, (int, float)) or isinstance(visibility, bool):
        visibility = 0.0 if state.occluded else 1.0
    conf = 0 if state.attributes.get("ignored") is True else 1
    return (frame + 1, number, box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1, conf,
            class_id, float(visibility))


def _line(row: Row) -> str:
    return ",".join(_number(v) for v in row) + "\n"


def _number(value: float) -> str:
    """Whole numbers without a fraction (MOT's own files look so), others with repr."""
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


# -- reading ------------------------------------------------------------------------------------

@dataclass
class _Obs:
    """One gt.txt row, 0-based frame."""

    frame: int
    box: Box
    occluded: bool
    attributes: Attributes
    label: str
    line: int


def _read_sequence(gt: Path, sequence: Path, subset: str, dataset: Dataset) -> Item:
    info = _read_seqinfo(sequence / "seqinfo.ini")
    labels = _read_labels(gt.parent / "labels.txt")
    for name in labels:
        dataset.add_label(name)
    rows = _read_rows(gt, labels)
    last = max((o.frame for obs in rows.values() for o in obs), default=-1)
    frame_count = max(int(info.get("seqlength", 0)), last + 1)
    item = Item(name=info.get("name") or sequence.name, media="video",
                width=info.get("imwidth"), height=info.get("imheight"), frame_count=frame_count,
                fps=info.get("framerate"), subset=subset)
    for number, obs in sorted(rows.items()):
        if number < 1:
            item.annotations += [_frame_box(o) for o in obs]
            continue
        obs.sort(key=lambda o: o.frame)
        for a, b in zip(obs, obs[1:]):
            if a.frame == b.frame:
                raise ValidationError(f"id {number} twice on frame {b.frame + 1}",
                                      where=located_in(gt, b.line))
            if a.label != b.label:
                raise ValidationError(f"id {number} changes class ({a.label!r} to {b.label!r})",
                                      where=located_in(gt, b.line))
        item.tracks.append(Track(str(number), obs[0].label, tuple(_keyframes(obs, frame_count))))
    return item


def _frame_box(obs: _Obs) -> Annotation:
    attributes = dict(obs.attributes)
    if obs.occluded:
        attributes["occluded"] = True
    return Annotation.new(asset_id=0, author="", label=obs.label, shape=obs.box,
                          attributes=attributes, frame=obs.frame)


def _read_seqinfo(path: Path) -> dict[str, int | float | str]:
    """The [Sequence] keys we use, lower-cased; {} when the file is missing."""
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_text(path))
    except configparser.Error as exc:
        raise ValidationError(f"not a readable ini file: {str(exc).splitlines()[0]}",
                              where=str(path)) from None
    section = parser["Sequence"] if parser.has_section("Sequence") else {}
    info: dict[str, int | float | str] = {}
    for key, value in section.items():
        key = key.lower()
        if key in ("seqlength", "imwidth", "imheight"):
            if not value.strip().isdigit():
                raise ValidationError(f"expected a whole number, got {value!r}",
                                      where=located_in(path, None, key))
            info[key] = int(value)
        elif key == "framerate":
            number = parse_float(value)
            if number is None or number < 0:
                raise ValidationError(f"expected a frame rate, got {value!r}",
                                      where=located_in(path, None, key))
            info[key] = number
        elif key == "name":
            info[key] = value.strip()
    return info


def _read_labels(path: Path) -> list[str]:
    """Class names from labels.txt (line n is class n), else the MOT16/17 classes."""
    if not path.is_file():
        return list(MOT_CLASSES)
    text = read_text(path)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read_rows(gt: Path, labels: list[str]) -> dict[int, list[_Obs]]:
    """Rows grouped by id, in the order ids first appear."""
    by_id: dict[int, list[_Obs]] = {}
    for number, line in enumerate(read_text(gt).splitlines(), 1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        track_id, obs = _read_row(fields, labels, located_in(gt, number))
        obs.line = number
        by_id.setdefault(track_id, []).append(obs)
    return by_id


_COLUMNS = ("frame", "id", "bb_left", "bb_top", "bb_width", "bb_height", "conf", "class",
            "visibility")


def _read_row(fields: list[str], labels: list[str], where: str) -> tuple[int, _Obs]:
    if not 8 <= len(fields) <= 10:
        raise ValidationError(f"expected 8 to 10 comma-separated values ({', '.join(_COLUMNS)}),"
                              f" got {len(fields)}", where=where)
    values: list[float] = []
    for name, text in zip(_COLUMNS, fields):
        value = parse_float(text)
        if value is None:
            raise ValidationError(f"{name}: expected a number, got {text!r}", where=where)
        values.append(value)
    frame, track_id, left, top, width, height, conf, class_id = values[:8]
    visibility = values[8] if len(values) > 8 else 1.0
    if not frame.is_integer() or frame < 1 or not track_id.is_integer():
        raise ValidationError("frame must be a whole number from 1, and id a whole number",
                              where=where)
    if width < 0 or height < 0:
        raise ValidationError("bb_width and bb_height must not be negative", where=where)
    if not class_id.is_integer() or not 1 <= class_id <= len(labels):
        raise ValidationError(f"class {fields[7]} is not a known class id (1..{len(labels)})",
                              where=where)
    attributes: dict[str, AttrValue] = {}
    if 0.0 < visibility < 1.0:
        attributes["visibility"] = visibility
    if conf == 0:
        attributes["ignored"] = True
    box = Box(left, top, left + width, top + height)
    return int(track_id), _Obs(int(frame) - 1, box, visibility < 0.5, Attributes(attributes),
                               labels[int(class_id) - 1], 0)


def _keyframes(obs: list[_Obs], frame_count: int) -> Iterator[Keyframe]:
    """Keyframes of one id's rows: each run of consecutive frames gives its kept rows and,
    when the object leaves before the sequence ends, an outside keyframe after it."""
    start = 0
    for i in range(1, len(obs) + 1):
        if i < len(obs) and obs[i].frame == obs[i - 1].frame + 1:
            continue
        run = obs[start:i]
        for k in _kept(run):
            o = run[k]
            yield Keyframe(o.frame, o.box, occluded=o.occluded, attributes=o.attributes)
        after = run[-1].frame + 1
        if i < len(obs) or after < frame_count:
            yield Keyframe(after, run[-1].box, outside=True)
        start = i


def _kept(run: list[_Obs]) -> list[int]:
    """Which rows of a run must be keyframes: its ends, every change of occlusion or
    attributes, and (Douglas-Peucker) every row farther than TOLERANCE from the linear motion
    between its kept neighbours, so interpolating the kept rows gives every row back."""
    state = [(o.occluded, o.attributes) for o in run]
    kept = sorted({0, len(run) - 1} | {k for k in range(1, len(run)) if state[k] != state[k - 1]})
    boxes = np.array([(o.box.x1, o.box.y1, o.box.x2, o.box.y2) for o in run])
    spans = list(zip(kept, kept[1:]))
    while spans:
        i, j = spans.pop()
        if j - i < 2:
            continue
        t = (np.arange(i + 1, j) - i) / (j - i)  # frames of a run are consecutive
        line = boxes[i] + t[:, None] * (boxes[j] - boxes[i])
        miss = np.abs(boxes[i + 1:j] - line).max(axis=1)
        worst = int(miss.argmax())
        if miss[worst] > TOLERANCE:
            middle = i + 1 + worst
            kept.append(middle)
            spans += [(i, middle), (middle, j)]
    return sorted(kept)


FORMAT = MotFormat()
