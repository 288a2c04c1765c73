"""Validate many files: a process pool over the machine's cores, or one process.

Decoding is CPU-bound and holds the GIL in places, so the parallel mode uses processes.
Files travel in chunks (default 16) so one round trip of pickling serves many files.
Workers are started by forkserver where it exists, never by a plain fork: the GUI process
has threads, and forking a threaded process can deadlock the child.
A worker that dies (a decoder crash, the kernel's OOM killer) breaks the pool; the files
it might have held are then re-run one at a time in a fresh one-worker pool, so the file
at fault is rejected and every other file still gets its own verdict.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from app.core.errors import AlayaError
from app.media.images import DEFAULT_MAX_PIXELS
from app.media.probe import ProbeResult, Rejection, probe_file

Progress = Callable[[int, int], None]  # (files done, files in total)
DEFAULT_CHUNK = 16
_AHEAD = 4  # chunks in flight per worker: keeps workers busy while results are collected
_CRASHED = "the decoder crashed (or ran out of memory) while reading this file"


def scan_files(paths: Sequence[Path | str], *, mode: str = "parallel", workers: int | None = None,
               chunk_size: int = DEFAULT_CHUNK, ordered: bool = True, progress: Progress | None = None,
               compute_phash: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS, jpeg_scale: int = 1,
               probe: Callable[..., ProbeResult] = probe_file) -> Iterator[tuple[int, ProbeResult]]:
    """Yield (index into `paths`, result) for every file.

    `ordered` yields in input order; otherwise in completion order (the index says which
    file). `mode="sequential"` runs the same `probe_file` in this process, one file after
    another: the baseline the parallel mode is measured against. `progress(done, total)`
    is called in this process as results arrive. `probe` must be a module-level function
    (workers import it by name) taking a path plus probe_file's keyword options.
    """
    if mode not in ("parallel", "sequential"):
        raise ValueError(f"unknown scan mode {mode!r}")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    paths = [Path(p) for p in paths]
    options = {"compute_phash": compute_phash, "max_pixels": max_pixels, "jpeg_scale": jpeg_scale,
               "probe": probe}
    if mode == "sequential":
        results = _sequential(paths, options)
    else:
        workers = workers or default_workers()
        window = workers * _AHEAD * chunk_size if ordered else None  # in files
        results = _parallel(paths, workers, chunk_size, options, window)
    results = _counted(results, len(paths), progress)
    return _in_order(results) if ordered else results


def default_workers() -> int:
    """The cores this process may run on (respects CPU affinity and container limits)."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _sequential(paths: list[Path], options: dict[str, Any]) -> Iterator[tuple[int, ProbeResult]]:
    for i, path in enumerate(paths):
        yield from _probe_chunk([(i, str(path))], options)


def _probe_chunk(items: list[tuple[int, str]], options: dict[str, Any]) -> list[tuple[int, ProbeResult]]:
    """Runs in a worker: probe each file of one chunk."""
    options = dict(options)
    probe = options.pop("probe")
    return [(i, probe(Path(p), **options)) for i, p in items]


def _init_worker() -> None:
    import cv2  # one OpenCV thread per process: the pool already fills every core

    cv2.setNumThreads(1)


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has imported the decoders once.
        ctx.set_forkserver_preload(["app.media.probe", "scipy.fftpack"])
        return ctx
    return multiprocessing.get_context("spawn")


def _parallel(paths: list[Path], workers: int, chunk_size: int, options: dict[str, Any],
              window: int | None) -> Iterator[tuple[int, ProbeResult]]:
    chunks = deque(list(range(s, min(s + chunk_size, len(paths))))
                   for s in range(0, len(paths), chunk_size))
    while chunks:
        crashed: list[int] = []
        pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init_worker)
        try:
            yield from _drive(pool, paths, chunks, options, workers * _AHEAD, window, crashed)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if crashed:
            yield from _isolated(paths, sorted(crashed), options)


def _drive(pool: ProcessPoolExecutor, paths: list[Path], chunks: deque, options: dict[str, Any],
           max_in_flight: int, window: int | None, crashed: list[int]) -> Iterator[tuple[int, ProbeResult]]:
    """Keep the pool fed; on a broken pool, move every unfinished file to `crashed`."""
    in_flight: dict[Future, list[int]] = {}
    while chunks or in_flight:
        # In ordered mode, stay within `window` files of the oldest unfinished chunk, so the
        # reorder buffer stays small even when one chunk is slow.
        oldest = min((c[0] for c in in_flight.values()), default=None)
        while chunks and len(in_flight) < max_in_flight and (
                window is None or oldest is None or chunks[0][0] < oldest + window):
            chunk = chunks.popleft()
            future = pool.submit(_probe_chunk, [(i, str(paths[i])) for i in chunk], options)
            in_flight[future] = chunk
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            chunk = in_flight.pop(future)
            try:
                yield from future.result()
            except BrokenProcessPool:
                crashed.extend(chunk)
            except Exception as exc:  # pickling trouble and the like: this chunk only
                yield from ((i, Rejection(paths[i], f"validation failed: {exc}")) for i in chunk)
        if crashed:
            for chunk in in_flight.values():
                crashed.extend(chunk)
            return


def _isolated(paths: list[Path], suspects: list[int],
              options: dict[str, Any]) -> Iterator[tuple[int, ProbeResult]]:
    """One file per task in a one-worker pool, so a crash names its file."""
    todo = deque(suspects)
    while todo:
        pool = ProcessPoolExecutor(1, mp_context=_context(), initializer=_init_worker)
        try:
            _check_starts(pool)
            while todo:
                i = todo.popleft()
                try:
                    yield from pool.submit(_probe_chunk, [(i, str(paths[i]))], options).result()
                except BrokenProcessPool:
                    yield i, Rejection(paths[i], _CRASHED)
                    break  # this pool is dead; the rest go to a new one
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _check_starts(pool: ProcessPoolExecutor) -> None:
    """Tell "a file crashed the decoder" apart from "no worker can run at all"."""
    try:
        pool.submit(os.getpid).result()
    except BrokenProcessPool as exc:
        raise AlayaError("media validation workers fail to start; a script that scans files "
                         "must start it under `if __name__ == '__main__':`") from exc


def _counted(results: Iterator[tuple[int, ProbeResult]], total: int,
             progress: Progress | None) -> Iterator[tuple[int, ProbeResult]]:
    for done, item in enumerate(results, 1):
        if progress is not None:
            progress(done, total)
        yield item


def _in_order(results: Iterator[tuple[int, ProbeResult]]) -> Iterator[tuple[int, ProbeResult]]:
    buffer: dict[int, ProbeResult] = {}
    expected = 0
    for i, result in results:
        buffer[i] = result
        while expected in buffer:
            yield expected, buffer.pop(expected)
            expected += 1
