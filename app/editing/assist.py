"""Interactive pre-labeling for the open asset: the model, its image state, and prefetch.

`PrelabelAssist` serves the canvas's smart tool. Nothing here runs on the GUI thread:
- the pre-labeler is built on first use on the assist's setup thread (loading SAM reads and
  hashes a checkpoint of hundreds of megabytes), and so is the open image's state;
- each prompt is answered on a `LatestWins` thread: a prompt that arrives while the model is
  busy replaces the one waiting (hover previews are coalesced, never rejected);
- models with cacheable embeddings (SAM: `cache_key`) get an `EmbeddingCache` on disk and a
  `Prefetcher` that encodes the next tasks' images in queue order while the human works.
Results come back as futures; the UI hands them to the GUI thread through its bridge.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.annotators.masks import encode
from app.annotators.shapes import Mask
from app.core.heap import freeze_long_lived
from app.models.base import PreLabeler, Prompt, Proposal
from app.models.embedding_cache import EmbeddingCache
from app.models.prefetch import LatestWins, Prefetcher

log = logging.getLogger(__name__)
Loader = Callable[[], np.ndarray]


@dataclass(frozen=True, eq=False)
class Candidate:
    """A proposal ready for the canvas: its mask also as RLE, encoded on the model's thread so
    the GUI thread only draws it (a 1024-px mask takes milliseconds to encode)."""

    proposal: Proposal
    region: Mask | None  # None for an empty mask

    @property
    def mask(self) -> np.ndarray:
        return self.proposal.mask

    @property
    def score(self) -> float:
        return self.proposal.score

    @property
    def low_res_logits(self) -> np.ndarray | None:
        return self.proposal.low_res_logits


def _candidates(proposals: list[Proposal]) -> list[Candidate]:
    return [Candidate(p, encode(p.mask) if p.mask.any() else None) for p in proposals]


class PrelabelAssist:
    def __init__(self, factory: Callable[[], PreLabeler], cache_folder: Path, *,
                 prefetch_ahead: int = 3, cache_bytes: int = 2 * 1024**3) -> None:
        self._factory = factory
        self._cache_folder = Path(cache_folder)
        self._cache_bytes = cache_bytes
        self.prefetch_ahead = prefetch_ahead
        self._lock = threading.Lock()
        self._labeler: PreLabeler | None = None
        self._labeler_error: BaseException | None = None  # a bad checkpoint is not re-read per click
        self._state_lock = threading.Lock()  # one image state computed at a time
        self._cache: EmbeddingCache | None = None
        self.prefetcher: Prefetcher | None = None
        self._current: tuple[str, Loader] | None = None  # (asset sha256, image loader)
        self._state: tuple[str, Any] | None = None  # memo for models without an embedding cache
        self._setup = ThreadPoolExecutor(1, thread_name_prefix="alaya-assist-setup")
        self._calls = LatestWins("alaya-assist")
        self._closed = False

    # -- called from the GUI thread: each returns at once ---------------------------------------

    def open(self, sha256: str, loader: Loader) -> Future[None]:
        """The asset now on the canvas: start its embedding (or image state) at once."""
        self._current = (sha256, loader)
        return self._setup.submit(self._warm, sha256, loader)

    def schedule(self, upcoming: Sequence[tuple[str, Loader]]) -> Future[None]:
        """The next tasks in queue order, for prefetch; replaces the previous schedule."""
        return self._setup.submit(self._schedule, list(upcoming))

    def propose(self, prompt: Prompt, *, hover: bool = False) -> Future[list[Candidate]]:
        """Proposals for `prompt` on the open asset; a newer call cancels this one if still waiting.

        A `hover` preview does not hold back prefetch (a click does, for a moment: on a CPU the
        encoder would share the cores with the decoder the human is waiting for)."""
        current = self._current
        if current is None:
            failed: Future[list[Candidate]] = Future()
            failed.set_exception(RuntimeError("no asset is open"))
            return failed
        return self._calls.submit(self._propose, current, prompt, hover)

    def preload(self) -> Future[PreLabeler]:
        """Build the model now (the tool was selected), so the first click does not wait for it."""
        return self._setup.submit(self.labeler)

    @property
    def model_id(self) -> str | None:
        return None if self._labeler is None else self._labeler.id

    def close(self) -> None:
        self._closed = True
        self._calls.close()
        self._setup.shutdown(wait=True, cancel_futures=True)
        if self.prefetcher is not None:
            self.prefetcher.close()
        if self._cache is not None:
            self._cache.close()

    # -- worker side ---------------------------------------------------------------------------

    def labeler(self) -> PreLabeler:
        with self._lock:
            if self._labeler_error is not None:
                raise self._labeler_error
            if self._labeler is None:
                try:
                    labeler = self._factory()
                except BaseException as exc:
                    self._labeler_error = exc
                    raise
                if hasattr(labeler, "cache_key"):
                    self._cache = EmbeddingCache(self._cache_folder, max_bytes=self._cache_bytes)
                    self.prefetcher = Prefetcher(labeler.prepare, self._cache,
                                                 max_ahead=max(1, self.prefetch_ahead))
                self._labeler = labeler
                freeze_long_lived()  # the model and its imports: keep full GCs off the GUI's back
            return self._labeler

    def _warm(self, sha256: str, loader: Loader) -> None:
        labeler = self.labeler()
        if self.prefetcher is not None:
            self.prefetcher.get(labeler.cache_key(sha256), loader, wait=False)  # type: ignore[attr-defined]
        else:
            self._memo_state(labeler, sha256, loader)

    def _schedule(self, upcoming: list[tuple[str, Loader]]) -> None:
        labeler = self.labeler()
        if self.prefetcher is None or self.prefetch_ahead <= 0:
            return
        key = labeler.cache_key  # type: ignore[attr-defined]
        self.prefetcher.schedule([(key(sha), loader) for sha, loader in upcoming])

    def _propose(self, current: tuple[str, Loader], prompt: Prompt, hover: bool) -> list[Candidate]:
        labeler = self.labeler()
        sha256, loader = current
        if self.prefetcher is None:
            state = self._memo_state(labeler, sha256, loader)
            return _candidates(labeler.propose(state, prompt))
        key = labeler.cache_key(sha256)  # type: ignore[attr-defined]
        state = self.prefetcher.get(key, loader, quiet=not hover)
        if state is None:  # superseded by a newer asset's request while waiting
            raise RuntimeError("the image changed before its embedding was ready")
        if hover:
            return _candidates(labeler.propose(state, prompt))
        with self.prefetcher.interactive():
            proposals = labeler.propose(state, prompt)
        return _candidates(proposals)

    def _memo_state(self, labeler: PreLabeler, sha256: str, loader: Loader) -> Any:
        with self._state_lock:
            if self._state is None or self._state[0] != sha256:
                self._state = None  # the previous image's state is not kept alive meanwhile
                self._state = (sha256, labeler.prepare(loader()))
            return self._state[1]


def wait_idle(assist: PrelabelAssist, timeout: float = 60.0) -> bool:
    """Block until background prefetch has nothing left (tests, benchmarks); True when idle."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        prefetcher = assist.prefetcher
        if prefetcher is None or prefetcher.idle:
            return True
        time.sleep(0.02)
    return False
