"""SHA-256, perceptual hashes and duplicate grouping."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest

from app.media.hashing import (DEFAULT_NEAR_THRESHOLD, exact_duplicate_groups, grey_thumbnail, hamming,
                               near_duplicate_groups, phash_array, sha256_file)
from app.media.probe import probe_file
from tests.media_factory import picture, write_image


def test_streamed_sha256_matches_hashlib(tmp_path):
    data = np.random.default_rng(0).bytes(3 * 1024 * 1024 + 17)  # spans several read blocks
    (tmp_path / "blob").write_bytes(data)
    assert sha256_file(tmp_path / "blob", chunk_size=1 << 20) == hashlib.sha256(data).hexdigest()


def test_hamming_accepts_hex_and_int():
    assert hamming("ff00", "0f00") == 4
    assert hamming(0b1011, 0b0001) == 2
    assert hamming("8000000000000000", 0) == 1


def test_resized_copy_is_near_and_other_picture_is_not(tmp_path):
    original = probe_file(write_image(tmp_path / "a.jpg", 640, 480, seed=1)).phash
    small = probe_file(write_image(tmp_path / "b.jpg", 200, 150, seed=1, quality=70)).phash
    other = probe_file(write_image(tmp_path / "c.jpg", 640, 480, seed=2)).phash
    assert hamming(original, small) <= DEFAULT_NEAR_THRESHOLD
    assert hamming(original, other) > DEFAULT_NEAR_THRESHOLD
    assert near_duplicate_groups([original, other, small, None]) == [[0, 2]]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_thumbnail_of_any_depth(dtype):
    img = picture(300, 200, 4, depth=16 if dtype == np.uint16 else 8).astype(dtype)
    thumb = grey_thumbnail(img)
    assert thumb.shape == (32, 32) and thumb.dtype == np.uint8
    assert hamming(phash_array(img), phash_array(picture(300, 200, 4))) <= 2
    assert grey_thumbnail(np.dstack([img[:, :, 0]] * 2)).shape == (32, 32)  # grey + alpha


def test_groups_are_connected_components():
    hashes = [0b0, 0b1, 0b11, 0xFFFF_0000_0000_0000, 0b111 << 40]
    assert near_duplicate_groups(hashes, threshold=1) == [[0, 1, 2]]
    assert near_duplicate_groups(hashes, threshold=0) == []
    with pytest.raises(ValueError):
        near_duplicate_groups(hashes, threshold=65)


def test_exact_groups():
    assert exact_duplicate_groups(["a", "b", "a", None, "b", "c"]) == [[0, 2], [1, 4]]


def test_grouping_ten_thousand_hashes_is_quick():
    rng = np.random.default_rng(1)
    hashes = [int(h) for h in rng.integers(0, 2**63, 10_000, dtype=np.uint64)]
    hashes[9_999] = hashes[5] ^ 0b101  # one planted pair, 2 bits apart
    start = time.perf_counter()
    groups = near_duplicate_groups(hashes, threshold=4)
    assert time.perf_counter() - start < 5.0
    assert [5, 9_999] in groups
