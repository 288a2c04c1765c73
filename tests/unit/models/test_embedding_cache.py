"""On-disk embedding cache: hits, misses, LRU eviction by size, corrupt files, key parts."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from app.models.embedding_cache import Embedding, EmbeddingCache, EmbeddingKey


def emb(seed: int, size: tuple[int, int] = (480, 640)) -> Embedding:
    rng = np.random.default_rng(seed)
    return Embedding(rng.normal(size=(8, 16, 16)).astype(np.float16), size)


def key(asset: str, model: str = "vit_b", ckpt: str = "c" * 64) -> EmbeddingKey:
    return EmbeddingKey(asset, model, ckpt)


def test_miss_then_hit_from_disk_in_a_new_cache(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, memory_items=1)
    assert cache.get(key("a")) is None and cache.misses == 1
    original = emb(1)
    cache.put(key("a"), original)
    cache.close()

    reopened = EmbeddingCache(tmp_path)
    got = reopened.get(key("a"))
    assert got is not None and reopened.hits == 1
    assert got.features.dtype == np.float16 and got.original_size == (480, 640)
    np.testing.assert_array_equal(got.features, original.features)


def test_float32_input_is_stored_as_float16(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, memory_items=0)
    cache.put(key("a"), Embedding(np.ones((4, 8, 8), np.float32), (10, 20)))
    got = cache.get(key("a"))
    assert got is not None and got.features.dtype == np.float16 and got.nbytes == 4 * 8 * 8 * 2


def test_key_includes_model_and_checkpoint_hash(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put(key("a"), emb(1))
    assert cache.get(key("a", ckpt="d" * 64)) is None  # other weights: other embedding
    assert cache.get(key("a", model="vit_h")) is None
    assert cache.get(key("a")) is not None
    assert len({key("a").filename, key("a", ckpt="d" * 64).filename, key("a", model="vit_h").filename}) == 3


def test_lru_eviction_by_size_keeps_recently_used(tmp_path: Path) -> None:
    one = EmbeddingCache(tmp_path / "probe")
    one.put(key("x"), emb(0))
    file_size = one.disk_bytes()
    cache = EmbeddingCache(tmp_path / "c", max_bytes=3 * file_size, memory_items=0)
    for name in "abc":
        cache.put(key(name), emb(ord(name)))
        time.sleep(0.01)
    assert cache.get(key("a")) is not None  # a is now the most recent; b the least
    time.sleep(0.01)
    cache.put(key("d"), emb(4))
    assert cache.disk_bytes() <= 3 * file_size
    assert cache.get(key("b")) is None
    assert all(cache.get(key(n)) is not None for n in "acd")
    assert len(list((tmp_path / "c").glob("*.npz"))) == 3


def test_memory_lru_answers_without_disk(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, memory_items=2)
    cache.put(key("a"), emb(1))
    (tmp_path / key("a").filename).unlink()
    assert cache.get(key("a")) is not None  # still in memory
    cache.put(key("b"), emb(2))
    cache.put(key("c"), emb(3))  # pushes a out of memory, and its file is gone
    assert cache.get(key("a")) is None


def test_corrupt_file_is_discarded_not_fatal(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, memory_items=0)
    cache.put(key("a"), emb(1))
    path = tmp_path / key("a").filename
    path.write_bytes(path.read_bytes()[:100])  # torn write
    assert cache.get(key("a")) is None
    assert cache.discarded == 1 and not path.exists()
    cache.put(key("a"), emb(1))  # and the slot is usable again
    assert cache.get(key("a")) is not None


def test_wrong_layout_file_is_discarded(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, memory_items=0)
    cache.put(key("a"), emb(1))
    np.savez(tmp_path / key("a").filename, features=np.zeros(5, np.float64), original_size=np.zeros(2))
    assert cache.get(key("a")) is None and cache.discarded == 1


def test_corrupt_index_is_rebuilt_from_files(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put(key("a"), emb(1))
    cache.close()
    for p in tmp_path.glob("index.sqlite*"):
        p.unlink()
    (tmp_path / "index.sqlite").write_bytes(b"this is not a database" * 100)
    (tmp_path / ".tmp-leftover.npz").write_bytes(b"half")
    reopened = EmbeddingCache(tmp_path)
    assert reopened.get(key("a")) is not None
    assert reopened.disk_bytes() > 0
    assert not (tmp_path / ".tmp-leftover.npz").exists()


def test_for_workspace_uses_cache_folder(tmp_path: Path) -> None:
    cache = EmbeddingCache.for_workspace(tmp_path)
    assert cache.folder == tmp_path / "cache" / "embeddings" and cache.folder.is_dir()


def test_clear_removes_files(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put(key("a"), emb(1))
    cache.clear()
    assert cache.get(key("a")) is None and cache.disk_bytes() == 0
    assert not list(tmp_path.glob("*.npz"))


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/b"])
def test_key_never_becomes_a_path(tmp_path: Path, bad: str) -> None:
    cache = EmbeddingCache(tmp_path / "c")
    cache.put(key("a", model=bad), emb(1))
    assert [p.parent for p in (tmp_path / "c").glob("*.npz")] == [tmp_path / "c"]
