"""Hypothesis strategies for the audio label formats: times that stress exact decimal writing
(any double, and the millisecond values people type), segments whose text fields each format
chooses, and audio items and datasets with distinct stems.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from app.annotators.audio.segments import Segment
from app.formats.base import Dataset, Item

MAX_TIME = 1e4  # seconds: almost three hours
FOLDERS = ("", "talks/", "a b/")
SUFFIXES = (".wav", ".flac", ".mp3")

# Text a format must carry: any character that UTF-8 encodes (no lone surrogates).
any_text = st.text(st.characters(codec="utf-8"), max_size=8)
# Names without whitespace (RTTM fields are space-separated) and never the <NA> placeholder.
words = st.text(st.characters(codec="utf-8").filter(lambda c: not c.isspace()),
                min_size=1, max_size=6).filter(lambda s: s != "<NA>")
ascii_words = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_", min_size=1, max_size=6)


def times(max_time: float = MAX_TIME) -> st.SearchStrategy[float]:
    """Any double in [0, max_time], or a whole number of milliseconds."""
    return st.one_of(st.floats(0.0, max_time, allow_nan=False, allow_infinity=False),
                     st.integers(0, int(max_time * 1000)).map(lambda n: n / 1000))


@st.composite
def spans(draw: st.DrawFn, *, min_length: float = 0.0, max_time: float = MAX_TIME
          ) -> tuple[float, float]:
    """(start, end) with end > start (by at least `min_length`), down to one ulp apart."""
    start = draw(times(max_time))
    low = math.nextafter(start + min_length, math.inf)
    end = draw(st.one_of(st.floats(low, low + 600.0),
                         st.integers(1, 600_000).map(lambda n: start + max(n / 1000, low - start)),
                         st.just(low)))
    return start, max(end, low)


@st.composite
def segments(draw: st.DrawFn, *, speakers: st.SearchStrategy[Any] = st.none(),
             labels: st.SearchStrategy[str] = st.just(""),
             transcripts: st.SearchStrategy[str] = st.just(""),
             channels: st.SearchStrategy[int | None] = st.none(),
             attributes: st.SearchStrategy[Mapping[str, Any]] = st.just({}),
             min_length: float = 0.0) -> Segment:
    start, end = draw(spans(min_length=min_length))
    return Segment(start, end, channel=draw(channels), label=draw(labels),
                   speaker=draw(speakers), transcript=draw(transcripts),
                   attributes=draw(attributes))


@st.composite
def audio_datasets(draw: st.DrawFn, segment: st.SearchStrategy[Segment], *, max_items: int = 3,
                   max_segments: int = 6, durations: bool = True) -> Dataset:
    """Audio items named "<folder>clip<i><suffix>" (distinct stems), in file order labels."""
    items = []
    for index in range(draw(st.integers(1, max_items))):
        found = draw(st.lists(segment, max_size=max_segments))
        end = max((s.end for s in found), default=0.0)
        duration = draw(st.none() | st.floats(end, end + 100.0).filter(lambda d: d > 0)) \
            if durations else None
        name = f"{draw(st.sampled_from(FOLDERS))}clip{index}{draw(st.sampled_from(SUFFIXES))}"
        items.append(Item(name=name, media="audio", duration=duration, segments=found))
    dataset = Dataset(items=items)
    for item in items:
        for s in item.segments:
            if s.label:
                dataset.add_label(s.label)
    return dataset
