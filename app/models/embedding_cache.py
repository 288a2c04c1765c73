"""SAM image embeddings cached on disk (size-bounded, LRU) with a small in-memory LRU in front.

The encoder is the slow half of SAM (seconds per image on CPU); the decoder runs per click
in milliseconds. Caching the embedding means an image is encoded once per (asset, model,
checkpoint), across sessions. Size on disk: ViT-B/L/H all produce 256x64x64 features; stored
as float16 that is 2 MiB per image (float32 would be 4 MiB), so the 2 GiB default holds
about 1,000 images. Only the embedding is stored, never the image.

Files are `<folder>/<sha256 of the key>.npz` (uncompressed: features + original size), written
to a temp file and renamed, so a reader sees a whole file or none. Access times live in a
small SQLite index used for eviction; both sides are advisory: a file that fails to load is
deleted and counted as a miss, a lost or corrupt index is rebuilt from the files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 2 * 1024**3
_SUFFIX = ".npz"


@dataclass(frozen=True)
class EmbeddingKey:
    """What an embedding depends on: the image bytes, the architecture and the exact weights."""

    asset_sha256: str
    model_type: str
    checkpoint_sha256: str

    @property
    def filename(self) -> str:
        # Hashed so no part of the key (a model name a user typed) ever becomes a path.
        joined = "\0".join((self.asset_sha256, self.model_type, self.checkpoint_sha256))
        return hashlib.sha256(joined.encode()).hexdigest() + _SUFFIX


@dataclass(frozen=True, eq=False)
class Embedding:
    """Encoder output for one image, plus what the decoder needs to map back to pixels."""

    features: np.ndarray  # (C, h, w) float16; (256, 64, 64) for the real SAM models
    original_size: tuple[int, int]  # (height, width) of the source image

    @property
    def nbytes(self) -> int:
        return int(self.features.nbytes)


class EmbeddingCache:
    """Thread-safe: the prefetch worker writes while the interactive path reads."""

    def __init__(self, folder: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, memory_items: int = 4) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.memory_items = memory_items
        self.hits = self.misses = self.discarded = 0
        self._memory: OrderedDict[EmbeddingKey, Embedding] = OrderedDict()
        self._lock = threading.RLock()
        self._db = self._open_index()

    @classmethod
    def for_workspace(cls, workspace_root: Path, **kwargs: int) -> EmbeddingCache:
        return cls(Path(workspace_root) / "cache" / "embeddings", **kwargs)

    # -- public -------------------------------------------------------------------------------

    def get(self, key: EmbeddingKey) -> Embedding | None:
        with self._lock:
            emb = self._memory.get(key)
            if emb is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                self._touch(key.filename)
                return emb
            emb = self._read(key.filename)
            if emb is None:
                self.misses += 1
                return None
            self.hits += 1
            self._touch(key.filename)
            self._remember(key, emb)
            return emb

    def put(self, key: EmbeddingKey, emb: Embedding) -> None:
        features = np.ascontiguousarray(emb.features, dtype=np.float16)
        emb = Embedding(features, (int(emb.original_size[0]), int(emb.original_size[1])))
        with self._lock:
            self._remember(key, emb)
            size = self._write(key.filename, emb)
            self._db.execute("INSERT OR REPLACE INTO entries(name, size, atime) VALUES (?, ?, ?)",
                             (key.filename, size, time.time()))
            self._evict()
            self._db.commit()

    def contains(self, key: EmbeddingKey) -> bool:
        """Cheap check (no read, no access-time update): memory, or a file on disk."""
        with self._lock:
            return key in self._memory or (self.folder / key.filename).is_file()

    def disk_bytes(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
            for (name,) in self._db.execute("SELECT name FROM entries").fetchall():
                self._unlink(name)
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- memory LRU ---------------------------------------------------------------------------

    def _remember(self, key: EmbeddingKey, emb: Embedding) -> None:
        self._memory[key] = emb
        self._memory.move_to_end(key)
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)

    # -- files --------------------------------------------------------------------------------

    def _read(self, name: str) -> Embedding | None:
        path = self.folder / name
        try:
            with np.load(path, allow_pickle=False) as data:
                features, size = data["features"], data["original_size"]
            if features.ndim != 3 or features.dtype != np.float16 or size.shape != (2,):
                raise ValueError(f"unexpected layout {features.shape} {features.dtype}")
            return Embedding(features, (int(size[0]), int(size[1])))
        except FileNotFoundError:
            self._forget(name)
            self._db.commit()
            return None
        except Exception as exc:  # noqa: BLE001 - any unreadable file is just a miss
            log.warning("discarding corrupt embedding cache file %s: %s", path, exc)
            self.discarded += 1
            self._unlink(name)
            self._db.commit()
            return None

    def _write(self, name: str, emb: Embedding) -> int:
        # Temp file in the same folder so the rename is atomic; no fsync: after a power cut
        # a torn file fails to load and is discarded, which costs one re-encode.
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, features=emb.features, original_size=np.asarray(emb.original_size, np.int64))
            os.replace(tmp, self.folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return (self.folder / name).stat().st_size

    def _unlink(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)
        self._forget(name)

    def _forget(self, name: str) -> None:
        self._db.execute("DELETE FROM entries WHERE name = ?", (name,))
        for key in [k for k in self._memory if k.filename == name]:
            del self._memory[key]

    # -- index --------------------------------------------------------------------------------

    def _touch(self, name: str) -> None:
        self._db.execute("UPDATE entries SET atime = ? WHERE name = ?", (time.time(), name))
        self._db.commit()

    def _evict(self) -> None:
        total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        if total <= self.max_bytes:
            return
        for name, size in self._db.execute("SELECT name, size FROM entries ORDER BY atime").fetchall():
            if total <= self.max_bytes:
                break
            self._unlink(name)
            total -= size

    def _open_index(self) -> sqlite3.Connection:
        path = self.folder / "index.sqlite"
        try:
            return self._connect(path)
        except sqlite3.DatabaseError as exc:
            log.warning("embedding cache index %s is unreadable (%s); rebuilding it", path, exc)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return self._connect(path)

    def _connect(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level="DEFERRED")
        try:
            # Access times are advisory: losing the last few to a crash only skews eviction.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE IF NOT EXISTS entries (name TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                       " atime REAL NOT NULL)")
            self._reconcile(db)
            db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _reconcile(self, db: sqlite3.Connection) -> None:
        """Index what is on disk: files renamed in just before a crash, or a rebuilt index."""
        on_disk = {p.name: p for p in self.folder.glob(f"*{_SUFFIX}") if not p.name.startswith(".tmp-")}
        indexed = {name for (name,) in db.execute("SELECT name FROM entries")}
        for name in indexed - on_disk.keys():
            db.execute("DELETE FROM entries WHERE name = ?", (name,))
        for name in on_disk.keys() - indexed:
            st = on_disk[name].stat()
            db.execute("INSERT INTO entries(name, size, atime) VALUES (?, ?, ?)", (name, st.st_size, st.st_mtime))
        for tmp in self.folder.glob(f".tmp-*{_SUFFIX}"):  # left by a crash mid-write
            tmp.unlink(missing_ok=True)
