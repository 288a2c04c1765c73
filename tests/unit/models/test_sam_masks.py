"""OpenCV mask upscaling against segment-anything's own `Sam.postprocess_masks`."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from app.models.sam_masks import upscale_masks
from segment_anything.utils.transforms import ResizeLongestSide
from tests.unit.models.tiny_sam import tiny_sam


def _logits(rng: np.random.Generator, count: int, size: int, smooth: bool) -> np.ndarray:
    """Random logits; smooth ones have blobs like real masks, raw noise crosses the threshold everywhere."""
    noise = rng.standard_normal((count, size, size)).astype(np.float32)
    if not smooth:
        return noise
    return np.stack([cv2.GaussianBlur(x, (0, 0), size / 64) * 8 for x in noise])


@pytest.mark.parametrize("img_size", [64, 1024], ids=["tiny", "vit_b"])  # low-res 32 and 256
@pytest.mark.parametrize("original", [(48, 80), (768, 1024), (1024, 1024), (333, 1500), (3000, 2000)])
@pytest.mark.parametrize("smooth", [True, False], ids=["smooth", "noise"])
def test_agrees_with_sam_postprocess(img_size: int, original: tuple[int, int], smooth: bool) -> None:
    sam = tiny_sam(img_size=img_size, patch=img_size // 8 if img_size == 64 else 16)
    low = int(sam.prompt_encoder.mask_input_size[0])
    logits = _logits(np.random.default_rng(sum(original) + img_size), 3, low, smooth)
    input_size = ResizeLongestSide.get_preprocess_shape(*original, img_size)
    with torch.no_grad():
        want = (sam.postprocess_masks(torch.from_numpy(logits)[None], input_size, original)
                > sam.mask_threshold)[0].numpy()
    got = upscale_masks(logits, img_size, input_size, original, sam.mask_threshold)
    assert len(got) == 3
    for a, b in zip(got, want):
        assert a.shape == original and a.dtype == bool
        assert np.mean(a == b) >= 0.999


def test_one_mask_and_a_threshold() -> None:
    logits = np.full((1, 32, 32), 0.5, np.float32)
    logits[0, :16] = -0.5
    (mask,) = upscale_masks(logits, 64, (40, 64), (40, 64), 0.0)
    assert mask.shape == (40, 64) and not mask[:30].any() and mask[34:].all()
    assert not upscale_masks(logits, 64, (40, 64), (40, 64), 1.0)[0].any()
