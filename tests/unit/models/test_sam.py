"""SAM pre-labeler on a tiny SAM built from segment-anything's own modules.

The tiny model is saved as a checkpoint and loaded through the same path as a real one
(`load_checkpoint` -> keys/shapes check against the architecture -> `load_state_dict`);
the checks against the real vit_b/vit_h shapes run on torch's `meta` device (no weights).
"""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.errors import ValidationError
from app.models import sam as sam_mod
from app.models.base import Prompt, PreLabeler
from app.models.embedding_cache import EmbeddingCache
from app.models.sam import SamPreLabeler, load_checkpoint, pick_device
from tests.unit.models.tiny_sam import save_checkpoint, tiny_sam  # noqa: F401 - tests/unit/editing imports it from here


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("ckpt"), seed=0)


@pytest.fixture(scope="module")
def decoder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("decoders")  # never the real user's cache folder


@pytest.fixture(scope="module")
def model(checkpoint: Path, decoder_cache: Path) -> SamPreLabeler:
    return SamPreLabeler(checkpoint, "tiny", "cpu", decoder_cache=decoder_cache)


@pytest.fixture
def image() -> np.ndarray:
    img = np.full((48, 80, 3), 40, np.uint8)  # not square: exercises resize and crop back
    img[10:30, 20:50] = (200, 180, 30)
    return img


def test_loads_through_the_checkpoint_path(model: SamPreLabeler, checkpoint: Path) -> None:
    assert isinstance(model, PreLabeler)
    assert model.checkpoint.sha256 == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert model.checkpoint.size_bytes == checkpoint.stat().st_size
    assert model.device == "cpu" and model.low_res_size == (32, 32)
    assert model.cache_key("a" * 64).checkpoint_sha256 == model.checkpoint.sha256


def test_weights_come_from_the_file(model: SamPreLabeler, checkpoint: Path) -> None:
    saved = torch.load(checkpoint, weights_only=True)
    for name, tensor in model._sam.state_dict().items():
        assert torch.equal(tensor, saved[name]), name


def test_point_prompt_gives_multimask_proposals_of_image_size(model: SamPreLabeler, image: np.ndarray) -> None:
    emb = model.prepare(image)
    assert emb.features.dtype == np.float16 and emb.features.shape == (32, 8, 8)
    assert emb.original_size == (48, 80)
    props = model.propose(emb, Prompt(positive=((30, 20),)))
    assert len(props) == 3  # one ambiguous click: SAM's three candidates
    assert [p.score for p in props] == sorted((p.score for p in props), reverse=True)
    for p in props:
        assert p.mask.shape == (48, 80) and p.mask.dtype == bool and p.model == "sam_tiny"
        assert p.low_res_logits is not None and p.low_res_logits.shape == (32, 32)


@pytest.mark.parametrize("prompt", [
    Prompt(box=(15, 5, 55, 35)),
    Prompt(box=(15, 5, 55, 35), positive=((30, 20),), negative=((52, 32),)),
    Prompt(positive=((30, 20), (40, 15)), negative=((5, 5),)),
])
def test_box_and_multi_point_prompts_give_one_mask(model: SamPreLabeler, image: np.ndarray, prompt: Prompt) -> None:
    props = model.propose(model.prepare(image), prompt)
    assert len(props) == 1 and props[0].mask.shape == (48, 80) and 0.0 <= props[0].score <= 1.0


def test_multimask_can_be_forced(checkpoint: Path, decoder_cache: Path, image: np.ndarray) -> None:
    m = SamPreLabeler(checkpoint, "tiny", "cpu", multimask=True, decoder_cache=decoder_cache)
    assert len(m.propose(m.prepare(image), Prompt(box=(15, 5, 55, 35)))) == 3


def test_previous_logits_feed_back_into_the_decoder(model: SamPreLabeler, image: np.ndarray) -> None:
    emb = model.prepare(image)
    first = model.propose(emb, Prompt(positive=((30, 20),)))[0]
    again = model.propose(emb, Prompt(positive=((30, 20),), negative=((60, 40),)))
    refined = model.propose(emb, Prompt(positive=((30, 20),), negative=((60, 40),),
                                        previous_logits=first.low_res_logits))
    assert not np.allclose(again[0].low_res_logits, refined[0].low_res_logits)
    # (1, h, w) as SamPredictor returns it is accepted too
    same = model.propose(emb, Prompt(positive=((30, 20),), negative=((60, 40),),
                                     previous_logits=first.low_res_logits[None]))
    np.testing.assert_allclose(same[0].low_res_logits, refined[0].low_res_logits)


def test_wrong_logits_shape_is_a_clear_error(model: SamPreLabeler, image: np.ndarray) -> None:
    with pytest.raises(ValidationError, match="previous logits"):
        model.propose(model.prepare(image), Prompt(positive=((3, 3),), previous_logits=np.zeros((256, 256))))


def test_empty_prompt_is_rejected(model: SamPreLabeler, image: np.ndarray) -> None:
    with pytest.raises(ValidationError, match="positive point or a box"):
        model.propose(model.prepare(image), Prompt(negative=((3, 3),)))


def test_embedding_survives_the_cache(model: SamPreLabeler, image: np.ndarray, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, memory_items=0)
    emb = model.prepare(image)
    cache.put(model.cache_key("f" * 64), emb)
    cached = cache.get(model.cache_key("f" * 64))
    assert cached is not None
    prompt = Prompt(positive=((30, 20),))
    np.testing.assert_array_equal(model.propose(cached, prompt)[0].mask, model.propose(emb, prompt)[0].mask)


def test_grey_and_bgra_images(model: SamPreLabeler, image: np.ndarray) -> None:
    grey = model.prepare(image[:, :, 0])
    bgra = model.prepare(np.dstack([image, np.full(image.shape[:2], 255, np.uint8)]))
    assert grey.original_size == bgra.original_size == (48, 80)
    np.testing.assert_array_equal(bgra.features, model.prepare(image).features)
    with pytest.raises(ValidationError, match="8-bit"):
        model.prepare(image.astype(np.uint16))


def test_segment_everything(model: SamPreLabeler, image: np.ndarray) -> None:
    props = model.segment_everything(image, points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    assert all(p.mask.shape == (48, 80) for p in props)
    assert [p.score for p in props] == sorted((p.score for p in props), reverse=True)


# -- bad checkpoints ----------------------------------------------------------------------------

def test_wrong_architecture_names_both(checkpoint: Path) -> None:
    with pytest.raises(ValidationError, match=r"checkpoint is tiny, not tiny_wide") as err:
        SamPreLabeler(checkpoint, "tiny_wide", "cpu")
    assert str(checkpoint) in str(err.value)
    with pytest.raises(ValidationError, match=r"checkpoint is tiny, not vit_b"):
        load_checkpoint(checkpoint, "vit_b")


def test_real_architectures_are_told_apart() -> None:
    # the published vit_h layout, shapes only (meta tensors), checked as vit_b
    vit_h = {k: torch.empty(s, device="meta") for k, s in sam_mod._expected_shapes("vit_h").items()}
    with pytest.raises(ValidationError, match=r"checkpoint is vit_h, not vit_b"):
        sam_mod._check_architecture(vit_h, "vit_b", "sam_vit_h_4b8939.pth")
    sam_mod._check_architecture(vit_h, "vit_h", "sam_vit_h_4b8939.pth")  # and it passes as itself
    vit_l = {k: torch.empty(s, device="meta") for k, s in sam_mod._expected_shapes("vit_l").items()}
    with pytest.raises(ValidationError, match=r"checkpoint is vit_l, not vit_h"):
        sam_mod._check_architecture(vit_l, "vit_h", "x.pth")


def test_missing_and_extra_keys(checkpoint: Path, tmp_path: Path) -> None:
    state = torch.load(checkpoint, weights_only=True)
    del state["mask_decoder.iou_token.weight"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(ValidationError, match="lacks mask_decoder.iou_token.weight"):
        load_checkpoint(tmp_path / "missing.pth", "tiny")
    state = torch.load(checkpoint, weights_only=True) | {"extra.weight": torch.zeros(1)}
    torch.save(state, tmp_path / "extra.pth")
    with pytest.raises(ValidationError, match="unexpected entry extra.weight"):
        load_checkpoint(tmp_path / "extra.pth", "tiny")


def test_wrapped_state_dict_is_accepted(checkpoint: Path, tmp_path: Path) -> None:
    torch.save({"model": torch.load(checkpoint, weights_only=True), "epoch": 3}, tmp_path / "wrapped.pth")
    info, state = load_checkpoint(tmp_path / "wrapped.pth", "tiny")
    assert info.model_type == "tiny" and "mask_decoder.iou_token.weight" in state


def test_truncated_file(checkpoint: Path, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(ValidationError, match="truncated or corrupt") as err:
        SamPreLabeler(bad, "tiny", "cpu")
    assert "truncated.pth" in str(err.value)


@pytest.mark.parametrize("content", [b"<html>404 Not Found</html>", pickle.dumps({"a": 1}, protocol=2)],
                         ids=["html", "pickle"])
def test_not_a_checkpoint(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "notes.pth"
    bad.write_bytes(content)
    with pytest.raises(ValidationError, match="notes.pth"):
        load_checkpoint(bad, "tiny")


def test_code_in_a_pickle_never_runs(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    torch.save(Evil(), tmp_path / "evil.pth")
    with pytest.raises(ValidationError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(tmp_path / "evil.pth", "tiny")
    assert not (tmp_path / "pwned").exists()


def test_tensor_that_is_not_a_state_dict(tmp_path: Path) -> None:
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    with pytest.raises(ValidationError, match="holds no model state dict"):
        load_checkpoint(tmp_path / "list.pth", "tiny")


def test_missing_empty_and_no_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        SamPreLabeler(tmp_path / "nope.pth", "vit_b", "cpu")
    (tmp_path / "empty.pth").touch()
    with pytest.raises(ValidationError, match="empty"):
        SamPreLabeler(tmp_path / "empty.pth", "vit_b", "cpu")
    with pytest.raises(ValidationError, match="needs a checkpoint"):
        SamPreLabeler(None, "vit_b", "cpu")


def test_unknown_model_type(checkpoint: Path) -> None:
    with pytest.raises(ValidationError, match="unknown SAM model type 'vit_x'"):
        SamPreLabeler(checkpoint, "vit_x", "cpu")


def test_devices() -> None:
    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") in {"cuda", "mps", "cpu"}
    if torch.cuda.is_available():
        assert pick_device("auto") == "cuda"
    else:
        with pytest.raises(ValidationError, match="cuda is not available"):
            pick_device("cuda")
    with pytest.raises(ValidationError, match="unknown device"):
        pick_device("tpu")


def test_importing_the_module_does_not_import_torch() -> None:
    code = ("import sys, app.models.sam, app.models.prefetch; "
            "sys.exit(bool({'torch', 'onnxruntime', 'cv2'} & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[3]).returncode == 0
