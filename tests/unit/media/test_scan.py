"""Parallel scan: same verdicts as the sequential baseline, order, progress, crashes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.media.probe import probe_file
from app.media.scan import scan_files
from tests.media_factory import write_media_set


def crashing_probe(path: Path, **options):
    """Stands in for a decoder that takes its process down on one particular file."""
    if path.name == "crash.jpg":
        os._exit(3)
    return probe_file(path, **options)


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    return list(write_media_set(tmp_path_factory.mktemp("media")).values())


def test_parallel_equals_sequential(paths):
    sequential = list(scan_files(paths, mode="sequential"))
    parallel = list(scan_files(paths, mode="parallel", workers=2, chunk_size=3))
    assert [i for i, _ in sequential] == list(range(len(paths)))
    assert parallel == sequential
    assert any(r.accepted for _, r in parallel) and any(not r.accepted for _, r in parallel)


def test_unordered_results_carry_their_index_and_progress_counts(paths):
    calls = []
    results = dict(scan_files(paths, workers=2, chunk_size=2, ordered=False,
                              progress=lambda done, total: calls.append((done, total))))
    assert sorted(results) == list(range(len(paths)))
    assert all(results[i].path == p for i, p in enumerate(paths))
    assert calls == [(k, len(paths)) for k in range(1, len(paths) + 1)]


def test_a_crashing_file_is_rejected_and_the_rest_survive(paths, tmp_path):
    crash = tmp_path / "crash.jpg"
    crash.write_bytes(paths[0].read_bytes())
    batch = paths[:6] + [crash] + paths[6:9]
    results = dict(scan_files(batch, workers=2, chunk_size=2, probe=crashing_probe))
    assert results[6].reason == "the decoder crashed (or ran out of memory) while reading this file"
    expected = dict(scan_files(batch[:6] + batch[7:], mode="sequential"))
    assert [results[i] for i in range(len(batch)) if i != 6] == list(expected.values())


def test_stopping_early_shuts_the_pool_down(paths):
    start = time.perf_counter()
    results = scan_files(paths * 4, workers=2, chunk_size=1)
    first = next(results)
    results.close()
    assert first[0] == 0 and time.perf_counter() - start < 20


def test_empty_input_and_bad_arguments():
    assert list(scan_files([])) == []
    with pytest.raises(ValueError):
        scan_files([], mode="threads")
    with pytest.raises(ValueError):
        scan_files([], chunk_size=0)
