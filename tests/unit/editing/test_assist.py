"""PrelabelAssist: the model built once off the caller's thread, image state per asset,
latest-wins prompts, and prefetch of the next tasks' SAM embeddings into the disk cache.

The SAM here is the tiny SAM of tests/unit/models (segment-anything's own modules, saved as a
checkpoint and loaded like a real one); GrabCut is the real classical fallback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import CancelledError
from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.errors import ValidationError
from app.editing.assist import PrelabelAssist, wait_idle
from app.models.base import Prompt
from app.models.grabcut import GrabCutPreLabeler
from app.models.sam import SamPreLabeler
from tests.unit.models.test_sam import tiny_sam


def _image(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 50, (*size, 3), dtype=np.uint8)
    img[30:70, 40:90] = (30, 200, 220)
    return img


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("assist-ckpt") / "tiny.pth"
    torch.save(tiny_sam().state_dict(), path)
    return path


class CountingSam(SamPreLabeler):
    """The real SAM pre-labeler, counting encoder runs and the threads they ran on."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.encoded: list[str] = []

    def prepare(self, image: np.ndarray):  # type: ignore[no-untyped-def]
        self.encoded.append(threading.current_thread().name)
        return super().prepare(image)


@pytest.fixture
def sam_assist(tmp_path: Path, checkpoint: Path) -> Iterator[PrelabelAssist]:
    a = PrelabelAssist(lambda: CountingSam(checkpoint, "tiny", "cpu"), tmp_path / "emb", prefetch_ahead=2)
    yield a
    a.close()


def test_grabcut_answers_on_its_own_threads_and_prepares_each_image_once(tmp_path: Path) -> None:
    prepared: list[str] = []

    class Counting(GrabCutPreLabeler):
        def prepare(self, image):  # type: ignore[no-untyped-def]
            prepared.append(threading.current_thread().name)
            return super().prepare(image)

    a = PrelabelAssist(Counting, tmp_path / "c")
    try:
        a.open("one", lambda: _image(1)).result(30)
        first = a.propose(Prompt(box=(35, 25, 95, 75))).result(30)
        again = a.propose(Prompt(positive=((60, 50),))).result(30)
        assert first and again and a.model_id == "grabcut"
        assert len(prepared) == 1 and threading.main_thread().name not in prepared
        a.open("two", lambda: _image(2)).result(30)
        a.propose(Prompt(positive=((60, 50),))).result(30)
        assert len(prepared) == 2
    finally:
        a.close()


def test_propose_without_an_open_asset_fails_cleanly(tmp_path: Path) -> None:
    a = PrelabelAssist(GrabCutPreLabeler, tmp_path / "c")
    try:
        with pytest.raises(RuntimeError, match="no asset"):
            a.propose(Prompt(positive=((1, 1),))).result(5)
    finally:
        a.close()


def test_a_bad_checkpoint_is_read_once_and_reported_on_every_request(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint at all")
    builds: list[int] = []

    def factory() -> SamPreLabeler:
        builds.append(1)
        return SamPreLabeler(bad, "tiny", "cpu")

    a = PrelabelAssist(factory, tmp_path / "c")
    try:
        with pytest.raises(ValidationError, match="not a readable PyTorch checkpoint"):
            a.open("x", lambda: _image(1)).result(30)
        for _ in range(3):
            with pytest.raises(ValidationError):
                a.propose(Prompt(positive=((5, 5),))).result(30)
        assert builds == [1]
    finally:
        a.close()


def test_sam_open_encodes_in_the_background_and_clicks_reuse_the_embedding(sam_assist: PrelabelAssist) -> None:
    sam_assist.open("img-1", lambda: _image(1)).result(30)
    proposals = sam_assist.propose(Prompt(positive=((60, 50),))).result(60)
    more = sam_assist.propose(Prompt(positive=((60, 50), (70, 55)),
                                     previous_logits=proposals[0].low_res_logits)).result(60)
    labeler = sam_assist.labeler()
    assert proposals and more
    assert len(labeler.encoded) == 1  # type: ignore[attr-defined]
    assert labeler.encoded[0] == "alaya-prefetch"  # type: ignore[attr-defined]


def test_schedule_prefetches_the_next_tasks_into_the_disk_cache(sam_assist: PrelabelAssist) -> None:
    images = {f"img-{i}": _image(i) for i in range(4)}
    sam_assist.open("img-0", lambda: images["img-0"]).result(30)
    sam_assist.schedule([(sha, (lambda s=sha: images[s])) for sha in ("img-1", "img-2", "img-3")]).result(30)
    assert wait_idle(sam_assist, 120)
    labeler = sam_assist.labeler()
    cache = sam_assist.prefetcher.cache  # type: ignore[union-attr]
    # prefetch_ahead=2: the next two tasks, in queue order; the third is left for later
    assert [cache.contains(labeler.cache_key(s)) for s in images] == [True, True, True, False]  # type: ignore[attr-defined]
    encoded = len(labeler.encoded)  # type: ignore[attr-defined]
    sam_assist.open("img-1", lambda: images["img-1"]).result(30)
    assert sam_assist.propose(Prompt(positive=((60, 50),))).result(60)
    assert len(labeler.encoded) == encoded  # type: ignore[attr-defined]  # opened from the cache


def test_prompts_are_latest_wins_never_rejected(sam_assist: PrelabelAssist) -> None:
    sam_assist.open("img-1", lambda: _image(1)).result(30)
    futures = [sam_assist.propose(Prompt(positive=((10 + i, 20),))) for i in range(30)]
    last = futures[-1].result(60)
    assert last  # the newest prompt is always answered
    outcomes = []
    for f in futures[:-1]:
        try:
            outcomes.append("answered" if f.result(60) else "empty")
        except CancelledError:
            outcomes.append("replaced")
    assert "replaced" in outcomes  # requests arriving while the model was busy were coalesced
    assert "empty" not in outcomes
