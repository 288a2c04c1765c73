"""Content hashes: SHA-256 for identity, a perceptual hash for near-duplicates.

The perceptual hash is ImageHash's pHash (DCT of a 32x32 grey image, 64 bits), but the
32x32 image is made with OpenCV from the array the validator already decoded, so a file
is decoded once. Grouping compares all pairs with numpy in blocks: n = 10,000 hashes is
5e7 pairs, well under a second, and it needs no index that could miss a pair.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import cv2
import imagehash
import numpy as np
from PIL import Image

HASH_SIDE = 32  # pHash works on 32x32 (hash_size 8 x highfreq_factor 4)
DEFAULT_NEAR_THRESHOLD = 8  # bits of 64; resized or recompressed copies land at 0-4
_CHUNK = 1 << 20
_BLOCK = 512  # rows per block in the pairwise comparison: 512 x n x 8 bytes


def sha256_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk_size: int = _CHUNK) -> str:
    """Streamed, so a large video never sits in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def grey_thumbnail(pixels: np.ndarray) -> np.ndarray:
    """A 32x32 uint8 grey image of any decoded array (grey, BGR, BGRA; 8 or 16 bit, float)."""
    small = pixels
    if small.ndim == 3 and small.shape[2] > 4:  # multispectral: keep three bands
        small = np.ascontiguousarray(small[:, :, :3])
    if small.dtype not in (np.uint8, np.uint16, np.float32):
        small = small.astype(np.float32)  # cv2.resize has no 32-bit integer path
    if min(small.shape[:2]) > 8 * HASH_SIDE:
        # INTER_AREA at a fractional ratio costs more than the JPEG decode itself; a linear
        # step to 256 px followed by an exact 8x area average keeps the low frequencies pHash
        # reads and costs about a tenth.
        small = cv2.resize(small, (8 * HASH_SIDE, 8 * HASH_SIDE), interpolation=cv2.INTER_LINEAR)
    small = _grey(cv2.resize(small, (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA))
    return small if small.dtype == np.uint8 else _to_uint8(small)


def _grey(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        return a
    channels = a.shape[2]
    if channels < 3:  # grey + alpha
        return np.ascontiguousarray(a[:, :, 0])
    return cv2.cvtColor(a, cv2.COLOR_BGRA2GRAY if channels == 4 else cv2.COLOR_BGR2GRAY)


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    a = a.astype(np.float32)
    lo, hi = float(a.min()), float(a.max())
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return ((a - lo) * scale).astype(np.uint8)


def phash_thumbnail(thumb: np.ndarray) -> str:
    """pHash of a 32x32 grey uint8 image, as 16 hex digits."""
    return str(imagehash.phash(Image.fromarray(thumb)))


def phash_array(pixels: np.ndarray) -> str:
    return phash_thumbnail(grey_thumbnail(pixels))


def hamming(a: str | int, b: str | int) -> int:
    """Number of differing bits between two hashes given as hex strings or ints."""
    return (_as_int(a) ^ _as_int(b)).bit_count()


def _as_int(h: str | int) -> int:
    return int(h, 16) if isinstance(h, str) else h


def exact_duplicate_groups(digests: Sequence[str | None]) -> list[list[int]]:
    """Indices of entries with the same digest, groups of two or more, in input order."""
    by_digest: dict[str, list[int]] = {}
    for i, d in enumerate(digests):
        if d is not None:
            by_digest.setdefault(d, []).append(i)
    return [g for g in by_digest.values() if len(g) > 1]


def near_duplicate_groups(hashes: Sequence[str | int | None],
                          threshold: int = DEFAULT_NEAR_THRESHOLD) -> list[list[int]]:
    """Indices whose hashes lie within `threshold` bits, linked transitively.

    Groups are connected components (A~B and B~C put A, B and C together even if A and C
    differ more), sorted, each with at least two members, ordered by their first index.
    Entries that are None (no hash: audio, text) are ignored.
    """
    if not 0 <= threshold <= 64:
        raise ValueError("threshold must be between 0 and 64 bits")
    idx = [i for i, h in enumerate(hashes) if h is not None]
    values = np.array([_as_int(hashes[i]) for i in idx], dtype=np.uint64)
    parent = list(range(len(idx)))
    for a, b in _close_pairs(values, threshold):
        _union(parent, a, b)
    groups: dict[int, list[int]] = {}
    for k in range(len(idx)):
        groups.setdefault(_find(parent, k), []).append(idx[k])
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def _close_pairs(values: np.ndarray, threshold: int):
    n = len(values)
    for start in range(0, n, _BLOCK):
        block = values[start:start + _BLOCK]
        dist = _popcount(block[:, None] ^ values[None, :])
        rows, cols = np.nonzero(dist <= threshold)
        rows += start
        keep = cols > rows  # each unordered pair once, no self-pairs
        yield from zip(rows[keep].tolist(), cols[keep].tolist())


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    bytes_ = x.view(np.uint8).reshape(*x.shape, 8)
    return np.unpackbits(bytes_, axis=-1).sum(axis=-1)


def _find(parent: list[int], k: int) -> int:
    while parent[k] != k:
        parent[k] = parent[parent[k]]  # path halving keeps the trees flat
        k = parent[k]
    return k


def _union(parent: list[int], a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)
