"""SAM's decoder in onnxruntime: the folded rewrite equals segment-anything's decoder, the ORT
path gives the torch path's proposals, the export is cached and repaired, and a missing
onnxruntime or a failed export falls back to torch."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer

from app.core.errors import ValidationError
from app.models import sam_onnx
from app.models.base import Prompt
from app.models.sam import SamPreLabeler
from app.models.sam_decoder import FoldedMaskDecoder, FoldedMaskEmbedding
from tests.unit.models.tiny_sam import save_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("ckpt"), seed=1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("decoders")


@pytest.fixture(scope="module")
def ort_model(checkpoint: Path, cache: Path) -> SamPreLabeler:
    return SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=cache)


@pytest.fixture(scope="module")
def torch_model(checkpoint: Path) -> SamPreLabeler:
    return SamPreLabeler(checkpoint, "tiny", "cpu", decoder="torch")


@pytest.fixture
def image() -> np.ndarray:
    img = np.full((48, 80, 3), 40, np.uint8)
    img[10:30, 20:50] = (200, 180, 30)
    img[32:44, 55:75] = (20, 90, 220)
    return img


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sam_onnx, "_warned", set())  # "warn once" is per process


@pytest.fixture(scope="module")
def vit_b() -> FoldedMaskDecoder:
    """The ViT-B/L/H decoder (the same for all three) with its positional encoding, folded."""
    torch.manual_seed(2)
    decoder = MaskDecoder(num_multimask_outputs=3, transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256,
                          transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8))
    pe = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                       mask_in_chans=16).get_dense_pe()
    return FoldedMaskDecoder(decoder.eval(), pe.detach()).eval()


@pytest.mark.parametrize("points", [1, 2, 7, 20])
def test_folded_decoder_equals_sam_decoder(vit_b: FoldedMaskDecoder, points: int) -> None:
    gen = torch.Generator().manual_seed(points)
    image, dense = torch.randn(1, 256, 64, 64, generator=gen), torch.randn(1, 256, 64, 64, generator=gen)
    sparse = torch.randn(1, points, 256, generator=gen)
    with torch.no_grad():
        want_logits, want_iou = vit_b.decoder.predict_masks(image, vit_b.image_pe.T.reshape(1, 256, 64, 64),
                                                           sparse, dense)
        logits, iou = vit_b(image[0].flatten(1).T, dense[0].flatten(1).T, sparse[0])
    assert logits.shape == (4, 256, 256)
    torch.testing.assert_close(logits, want_logits[0], atol=1e-4, rtol=0)
    torch.testing.assert_close(iou, want_iou[0], atol=1e-4, rtol=0)


def test_folded_decoder_broadcasts_one_dense_row(vit_b: FoldedMaskDecoder) -> None:
    """SAM's no-mask prompt is one embedding broadcast over the grid; the graph takes one row."""
    gen = torch.Generator().manual_seed(0)
    image, row, sparse = (torch.randn(*shape, generator=gen) for shape in ((1, 256, 64, 64), (1, 256), (1, 3, 256)))
    with torch.no_grad():
        want, _ = vit_b.decoder.predict_masks(image, vit_b.image_pe.T.reshape(1, 256, 64, 64), sparse,
                                              row.reshape(1, 256, 1, 1).expand(1, 256, 64, 64))
        got, _ = vit_b(image[0].flatten(1).T, row, sparse[0])
    torch.testing.assert_close(got, want[0], atol=1e-4, rtol=0)


@pytest.mark.parametrize("mask_in_chans", [16, 4])  # ViT-B/L/H, the tiny SAM
def test_folded_mask_embedding_equals_sam_mask_downscaling(mask_in_chans: int) -> None:
    torch.manual_seed(mask_in_chans)
    encoder = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024),
                            mask_in_chans=mask_in_chans).eval()
    mask = torch.randn(1, 1, 256, 256) * 8
    with torch.no_grad():
        want = encoder.mask_downscaling(mask)[0].flatten(1).T  # (HW, C), the decoder's layout
        got = FoldedMaskEmbedding(encoder.mask_downscaling, encoder.mask_input_size)(mask)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


PROMPTS = {
    "one point (multimask)": Prompt(positive=((30, 20),)),
    "points": Prompt(positive=((30, 20), (40, 15)), negative=((5, 5),)),
    "box": Prompt(box=(15, 5, 55, 35)),
    "box and points": Prompt(box=(15, 5, 55, 35), positive=((30, 20),), negative=((52, 32),)),
}


def _assert_same(got: list, want: list) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.mask.shape == b.mask.shape and a.model == b.model
        assert np.mean(a.mask == b.mask) >= 0.999  # logits equal to ~1e-6: only a tie at the threshold may flip
        assert a.score == pytest.approx(b.score, abs=1e-5)
        np.testing.assert_allclose(a.low_res_logits, b.low_res_logits, atol=1e-5, rtol=0)  # |logits| ~ 0.1-0.2


@pytest.mark.parametrize("name", list(PROMPTS))
def test_onnx_path_equals_torch_path(ort_model: SamPreLabeler, torch_model: SamPreLabeler,
                                     image: np.ndarray, name: str) -> None:
    assert ort_model.decoder_backend == "onnxruntime" and torch_model.decoder_backend == "torch"
    emb = ort_model.prepare(image)
    prompt = PROMPTS[name]
    first = ort_model.propose(emb, prompt)
    _assert_same(first, torch_model.propose(emb, prompt))
    # the next click feeds the best mask's logits back (dense prompt from a mask, not the broadcast row)
    refine = Prompt(positive=prompt.positive, negative=(*prompt.negative, (70, 40)), box=prompt.box,
                    previous_logits=first[0].low_res_logits)
    _assert_same(ort_model.propose(emb, refine), torch_model.propose(emb, refine))


def test_forced_multimask_matches(checkpoint: Path, cache: Path, image: np.ndarray) -> None:
    ort_m = SamPreLabeler(checkpoint, "tiny", "cpu", multimask=True, decoder_cache=cache)
    torch_m = SamPreLabeler(checkpoint, "tiny", "cpu", multimask=True, decoder="torch")
    emb = ort_m.prepare(image)
    got = ort_m.propose(emb, PROMPTS["box"])
    assert len(got) == 3
    _assert_same(got, torch_m.propose(emb, PROMPTS["box"]))


def test_image_tokens_follow_the_embedding(ort_model: SamPreLabeler, torch_model: SamPreLabeler,
                                           image: np.ndarray) -> None:
    """Clicks alternate between two images: each answer comes from its own image."""
    a, b = ort_model.prepare(image), ort_model.prepare(np.ascontiguousarray(image[:, ::-1]))
    prompt = PROMPTS["box"]
    for emb in (a, b, a):
        _assert_same(ort_model.propose(emb, prompt), torch_model.propose(emb, prompt))


def test_export_is_cached_and_reused(checkpoint: Path, tmp_path: Path) -> None:
    first = SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=tmp_path)
    assert first.onnx_decoder is not None and first.onnx_decoder.export_s is not None
    path = first.onnx_decoder.path
    assert path.parent == tmp_path and path.stat().st_size > 0
    stamp = path.stat().st_mtime_ns
    second = SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=tmp_path)
    assert second.onnx_decoder is not None and second.onnx_decoder.export_s is None  # loaded, not exported
    assert path.stat().st_mtime_ns == stamp
    # the decoder and the mask-embedding graph; no temp files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, f"{path.stem}-mask.onnx"])


def test_corrupt_cached_file_is_exported_again(checkpoint: Path, tmp_path: Path, image: np.ndarray,
                                               torch_model: SamPreLabeler, caplog: pytest.LogCaptureFixture) -> None:
    path = SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=tmp_path).onnx_decoder.path
    path.write_bytes(path.read_bytes()[:1000])  # truncated, as after a crash or a full disk
    with caplog.at_level(logging.WARNING, logger="app.models.sam_onnx"):
        again = SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=tmp_path)
    assert "discarding unloadable cached SAM decoder" in caplog.text
    assert again.decoder_backend == "onnxruntime" and again.onnx_decoder.export_s is not None
    emb = again.prepare(image)
    first = again.propose(emb, PROMPTS["points"])
    _assert_same(first, torch_model.propose(emb, PROMPTS["points"]))
    refine = Prompt(positive=((30, 20),), previous_logits=first[0].low_res_logits)  # uses the mask graph
    _assert_same(again.propose(emb, refine), torch_model.propose(emb, refine))


def test_missing_mask_graph_is_exported_again(checkpoint: Path, tmp_path: Path) -> None:
    path = SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=tmp_path).onnx_decoder.path
    path.with_name(f"{path.stem}-mask.onnx").unlink()
    again = SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=tmp_path)
    assert again.onnx_decoder.export_s is not None and len(list(tmp_path.iterdir())) == 2


def test_cache_key_covers_weights_type_and_export_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = sam_onnx.decoder_path(tmp_path, "a" * 64, "vit_b")
    assert base.parent == tmp_path and base.suffix == ".onnx"
    assert sam_onnx.decoder_path(tmp_path, "b" * 64, "vit_b") != base
    assert sam_onnx.decoder_path(tmp_path, "a" * 64, "vit_h") != base
    assert sam_onnx.decoder_path(tmp_path, "a" * 64, "../../x").parent == tmp_path
    monkeypatch.setattr(sam_onnx, "EXPORT_VERSION", sam_onnx.EXPORT_VERSION + 1)
    assert sam_onnx.decoder_path(tmp_path, "a" * 64, "vit_b") != base


def test_without_onnxruntime_torch_decodes(checkpoint: Path, tmp_path: Path, image: np.ndarray,
                                           torch_model: SamPreLabeler, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    with caplog.at_level(logging.WARNING, logger="app.models.sam_onnx"):
        models = [SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=tmp_path) for _ in range(2)]
    assert [m.decoder_backend for m in models] == ["torch", "torch"]
    assert models[0].onnx_decoder is None
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1  # once
    assert "onnxruntime is not available" in caplog.text
    emb = models[0].prepare(image)
    _assert_same(models[0].propose(emb, PROMPTS["box"]), torch_model.propose(emb, PROMPTS["box"]))
    assert not list(tmp_path.iterdir())


def test_failed_export_falls_back_to_torch(checkpoint: Path, tmp_path: Path, image: np.ndarray,
                                           monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # torch's exporter needs the onnx package
    with caplog.at_level(logging.WARNING, logger="app.models.sam_onnx"):
        model = SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=tmp_path)
    assert model.decoder_backend == "torch"
    assert "could not export SAM's decoder" in caplog.text
    assert not list(tmp_path.iterdir())  # the temp file of the failed export is gone
    assert len(model.propose(model.prepare(image), PROMPTS["one point (multimask)"])) == 3


def test_torch_decoder_can_be_chosen_and_unknown_is_an_error(checkpoint: Path, tmp_path: Path) -> None:
    assert SamPreLabeler(checkpoint, "tiny", "cpu", decoder="torch", decoder_cache=tmp_path).onnx_decoder is None
    assert not list(tmp_path.iterdir())  # nothing exported for a torch decoder
    with pytest.raises(ValidationError, match="unknown decoder 'tensorrt'"):
        SamPreLabeler(checkpoint, "tiny", "cpu", decoder="tensorrt")
