"""Prefetch: queue order, cancellation, coalescing (latest wins), bounded work in flight."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.models.embedding_cache import Embedding, EmbeddingCache, EmbeddingKey
from app.models.prefetch import BACKGROUND_NICENESS, LatestWins, Prefetcher


class FakeEncoder:
    """Records the order of encodes; each waits for `gate` so tests control timing."""

    def __init__(self) -> None:
        self.order: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.alive = 0
        self.max_alive = 0
        self._lock = threading.Lock()

    def loader(self, n: int):
        def load() -> np.ndarray:
            with self._lock:
                self.alive += 1
                self.max_alive = max(self.max_alive, self.alive)
            return np.full((4, 4, 3), n, np.uint8)
        return load

    def __call__(self, image: np.ndarray) -> Embedding:
        n = int(image[0, 0, 0])
        self.order.append(n)
        self.started.set()
        assert self.gate.wait(10)
        with self._lock:
            self.alive -= 1
        return Embedding(np.full((2, 2, 2), n, np.float16), (4, 4))


def k(n: int) -> EmbeddingKey:
    return EmbeddingKey(f"asset{n}", "tiny", "ckpt")


@pytest.fixture
def enc() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def pf(tmp_path: Path, enc: FakeEncoder) -> Iterator[Prefetcher]:
    p = Prefetcher(enc, EmbeddingCache(tmp_path), max_ahead=3)
    yield p
    enc.gate.set()
    p.close()


def wait_until(cond, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_encodes_next_n_in_queue_order(pf: Prefetcher, enc: FakeEncoder) -> None:
    pf.schedule((k(n), enc.loader(n)) for n in range(10))
    wait_until(lambda: len(enc.order) == 3 and pf.idle)
    time.sleep(0.05)
    assert enc.order == [0, 1, 2]  # max_ahead=3: nothing beyond
    assert all(pf.cache.contains(k(n)) for n in range(3))
    got = pf.get(k(1), wait=False)
    assert got is not None and got.features[0, 0, 0] == 1


def test_already_cached_is_not_encoded_again(pf: Prefetcher, enc: FakeEncoder) -> None:
    pf.cache.put(k(0), Embedding(np.zeros((2, 2, 2), np.float16), (4, 4)))
    pf.schedule([(k(0), enc.loader(0)), (k(1), enc.loader(1))])
    wait_until(lambda: enc.order == [1] and pf.idle)  # idle: the encode is counted too
    assert pf.encoded == 1


def test_schedule_replaces_queue_latest_wins(pf: Prefetcher, enc: FakeEncoder) -> None:
    enc.gate.clear()
    pf.schedule([(k(0), enc.loader(0)), (k(1), enc.loader(1)), (k(2), enc.loader(2))])
    assert enc.started.wait(5)
    pf.schedule([(k(7), enc.loader(7)), (k(8), enc.loader(8))])  # the human jumped ahead
    enc.gate.set()
    wait_until(lambda: not pf.pending and len(enc.order) == 3)
    time.sleep(0.05)
    assert enc.order == [0, 7, 8]  # 0 was running; 1 and 2 were dropped


def test_cancel_drops_queue_running_one_finishes(pf: Prefetcher, enc: FakeEncoder) -> None:
    enc.gate.clear()
    pf.schedule((k(n), enc.loader(n)) for n in range(3))
    assert enc.started.wait(5)
    pf.cancel()
    assert pf.pending == []
    enc.gate.set()
    wait_until(lambda: pf.cache.contains(k(0)))
    time.sleep(0.05)
    assert enc.order == [0]


def test_get_jumps_the_queue(pf: Prefetcher, enc: FakeEncoder) -> None:
    enc.gate.clear()
    pf.schedule((k(n), enc.loader(n)) for n in range(3))
    assert enc.started.wait(5)
    result: list[Embedding | None] = []
    t = threading.Thread(target=lambda: result.append(pf.get(k(9), enc.loader(9), timeout=10)))
    t.start()
    wait_until(lambda: pf._urgent is not None)
    enc.gate.set()
    t.join(10)
    assert result and result[0] is not None and result[0].features[0, 0, 0] == 9
    wait_until(lambda: len(enc.order) == 4)
    assert enc.order[:2] == [0, 9]  # 9 right after the running one, before 1 and 2


def test_get_of_queued_item_needs_no_loader(pf: Prefetcher, enc: FakeEncoder) -> None:
    enc.gate.clear()
    pf.schedule((k(n), enc.loader(n)) for n in range(3))
    assert enc.started.wait(5)
    enc.gate.set()
    got = pf.get(k(2), timeout=10)
    assert got is not None and got.features[0, 0, 0] == 2


def test_get_waits_for_the_running_encode(pf: Prefetcher, enc: FakeEncoder) -> None:
    enc.gate.clear()
    pf.schedule([(k(0), enc.loader(0))])
    assert enc.started.wait(5)
    threading.Timer(0.1, enc.gate.set).start()
    got = pf.get(k(0), timeout=10)
    assert got is not None and enc.order == [0]


def test_interactive_gets_coalesce_latest_wins(pf: Prefetcher, enc: FakeEncoder) -> None:
    enc.gate.clear()
    pf.schedule([(k(0), enc.loader(0))])
    assert enc.started.wait(5)
    results: dict[int, Embedding | None] = {}
    threads = []
    for n in (1, 2, 3):  # the human flips through three images while 0 encodes
        t = threading.Thread(target=lambda n=n: results.__setitem__(n, pf.get(k(n), enc.loader(n), timeout=10)))
        t.start()
        threads.append(t)
        wait_until(lambda n=n: pf._urgent is not None and pf._urgent[0] == k(n))
    enc.gate.set()
    for t in threads:
        t.join(10)
    assert results[1] is None and results[2] is None  # dropped, not errors
    assert results[3] is not None and results[3].features[0, 0, 0] == 3
    assert enc.order == [0, 3]


def test_get_without_loader_for_unknown_image_is_none(pf: Prefetcher) -> None:
    assert pf.get(k(5), timeout=0.1) is None


def test_bounded_in_flight(pf: Prefetcher, enc: FakeEncoder) -> None:
    pf.schedule((k(n), enc.loader(n)) for n in range(50))
    wait_until(lambda: len(enc.order) == 3)
    assert enc.max_alive == 1  # images are loaded one at a time, just before encoding
    assert len(pf.cache._memory) <= pf.cache.memory_items


def test_loader_error_reaches_the_caller_and_worker_survives(pf: Prefetcher, enc: FakeEncoder) -> None:
    def broken() -> np.ndarray:
        raise ValueError("truncated image")

    with pytest.raises(ValueError, match="truncated"):
        pf.get(k(1), broken, timeout=10)
    assert pf.get(k(2), enc.loader(2), timeout=10) is not None


def test_runs_off_the_calling_thread(tmp_path: Path) -> None:
    threads: list[str] = []

    def encode(image: np.ndarray) -> Embedding:
        threads.append(threading.current_thread().name)
        return Embedding(np.zeros((1, 1, 1), np.float16), (1, 1))

    p = Prefetcher(encode, EmbeddingCache(tmp_path))
    try:
        assert p.get(k(0), lambda: np.zeros((1, 1, 3), np.uint8), timeout=10) is not None
    finally:
        p.close()
    assert threads == ["alaya-prefetch"]


def test_latest_wins_runs_latest_and_cancels_replaced() -> None:
    runner = LatestWins()
    gate = threading.Event()
    ran: list[int] = []

    def job(n: int) -> int:
        if n == 0:
            gate.wait(10)
        ran.append(n)
        return n * 10

    try:
        first = runner.submit(job, 0)
        wait_until(first.running)
        replaced = [runner.submit(job, n) for n in (1, 2, 3)]
        last = runner.submit(job, 4)
        gate.set()
        assert first.result(10) == 0 and last.result(10) == 40
        assert all(f.cancelled() for f in replaced)
        assert ran == [0, 4]
    finally:
        runner.close()


def test_latest_wins_delivers_exceptions() -> None:
    runner = LatestWins()
    try:
        with pytest.raises(ZeroDivisionError):
            runner.submit(lambda: 1 / 0).result(10)
        assert runner.submit(lambda: 5).result(10) == 5
    finally:
        runner.close()


def test_background_encode_waits_for_interactive_work(tmp_path: Path, enc: FakeEncoder) -> None:
    p = Prefetcher(enc, EmbeddingCache(tmp_path), max_ahead=2, idle_s=0.2)
    try:
        with p.interactive():  # the human is clicking: the CPU is theirs
            p.schedule([(k(0), enc.loader(0))])
            time.sleep(0.3)
            assert enc.order == []
        t_end = time.monotonic()
        wait_until(lambda: enc.order == [0])
        assert time.monotonic() - t_end >= 0.15  # and only after the idle delay
    finally:
        p.close()


def test_get_is_never_delayed_by_the_idle_rule(tmp_path: Path, enc: FakeEncoder) -> None:
    p = Prefetcher(enc, EmbeddingCache(tmp_path), idle_s=30)
    try:
        with p.interactive():
            t0 = time.monotonic()
            assert p.get(k(0), enc.loader(0), timeout=10) is not None
            assert time.monotonic() - t0 < 5
    finally:
        p.close()


def test_a_hover_get_does_not_hold_back_background_work(tmp_path: Path, enc: FakeEncoder) -> None:
    p = Prefetcher(enc, EmbeddingCache(tmp_path), max_ahead=2, idle_s=0.2)
    try:
        p.schedule([(k(2), enc.loader(2))])
        deadline = time.monotonic() + 10
        while 2 not in enc.order and time.monotonic() < deadline:
            p.get(k(9), None, wait=False, quiet=False)  # a pointer sweeping: hover previews
            time.sleep(0.02)
        assert 2 in enc.order  # the sweep never starved the prefetch
        p.schedule([(k(3), enc.loader(3))])
        for _ in range(20):  # clicks every 20 ms (quiet by default) do hold it back
            p.get(k(9), None, wait=False)
            time.sleep(0.02)
        assert 3 not in enc.order
    finally:
        p.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_encoder_thread_yields_the_cpu_to_interactive_threads(tmp_path: Path, enc: FakeEncoder) -> None:
    p = Prefetcher(enc, EmbeddingCache(tmp_path))
    try:
        seen: list[int] = []
        enc_call = enc.__call__

        def encode(image: np.ndarray) -> Embedding:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return enc_call(image)

        p.encode_fn = encode
        assert p.get(k(0), enc.loader(0), timeout=10) is not None
        assert seen and seen[0] >= min(19, os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < seen[0]  # only that thread
    finally:
        p.close()
