"""Segment Anything (segment-anything, torch) as a pre-labeler.

torch is imported inside functions only, so importing this module (and starting the app)
stays fast without it. The checkpoint is checked before any weights are used: the file must
load with `weights_only=True` (no code runs from a downloaded file), and its state-dict keys
and shapes must equal those of the chosen architecture, built empty on the `meta` device. A
wrong, truncated or foreign file is a `ValidationError` naming the file, never a traceback.

We drive SAM's three parts ourselves instead of `SamPredictor`, so the image embedding is a
plain value (`Embedding`) that can be cached on disk, prefetched and set back without
re-encoding, and so only the encoder (the heavy part) runs in half precision on CUDA; SAM's
prompt encoder casts point coordinates to float32, so it and the decoder stay float32.

On a CPU the mask decoder (the per-click part) runs in onnxruntime (`app.models.sam_onnx`:
well under half of torch's time, exported once per checkpoint and cached on disk); on CUDA/MPS,
or when onnxruntime or the export is unavailable, it runs in torch. Either way only the masks
returned are upscaled, with OpenCV (`app.models.sam_masks`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import ValidationError
from app.models.base import Prompt, PromptKind, Proposal
from app.models.embedding_cache import Embedding, EmbeddingKey

REAL_TYPES = ("vit_b", "vit_l", "vit_h")
DEVICES = ("auto", "cpu", "cuda", "mps")
DECODERS = ("auto", "torch")  # auto: onnxruntime on a CPU, torch elsewhere
_MODEL_IDS = {"vit_b": "sam", "vit_l": "sam_vit_l", "vit_h": "sam_vit_h"}  # ids in app.models.registry
# (encoder width, depth) of the published checkpoints, to say which one a wrong file is
_KNOWN_ENCODERS = {(768, 12): "vit_b", (1024, 24): "vit_l", (1280, 32): "vit_h"}
# Extra architectures (the tiny SAM of the tests); the real ones come from segment-anything.
_EXTRA_ARCHITECTURES: dict[str, Callable[[], Any]] = {}


def register_architecture(model_type: str, builder: Callable[[], Any]) -> None:
    """Make `builder()` (an untrained `segment_anything.modeling.Sam`) loadable as `model_type`."""
    _EXTRA_ARCHITECTURES[model_type] = builder
    _expected_shapes.cache_clear()


def _builder(model_type: str) -> Callable[[], Any]:
    if model_type in _EXTRA_ARCHITECTURES:
        return _EXTRA_ARCHITECTURES[model_type]
    if model_type in REAL_TYPES:
        from segment_anything import sam_model_registry

        return functools.partial(sam_model_registry[model_type], checkpoint=None)
    known = ", ".join([*REAL_TYPES, *_EXTRA_ARCHITECTURES])
    raise ValidationError(f"unknown SAM model type {model_type!r} (known: {known})", where="model_type")


# -- checkpoint ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    model_type: str
    sha256: str
    size_bytes: int


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def load_checkpoint(path: Path, model_type: str) -> tuple[CheckpointInfo, dict[str, Any]]:
    """The verified state dict and what identifies it; `ValidationError` for any bad file."""
    path = Path(path).expanduser()
    where = str(path)
    if not path.is_file():
        raise ValidationError("the SAM checkpoint file does not exist", where=where)
    size = path.stat().st_size
    if size == 0:
        raise ValidationError("the SAM checkpoint file is empty", where=where)
    _builder(model_type)  # an unknown type fails before reading gigabytes
    sha = sha256_file(path)
    state = _read_state_dict(path)
    _check_architecture(state, model_type, where)
    return CheckpointInfo(path, model_type, sha, size), state


def _read_state_dict(path: Path) -> dict[str, Any]:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - zip, pickle, EOF, ...: all mean "not a checkpoint"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ValidationError(f"not a readable PyTorch checkpoint (truncated or corrupt?): {reason}",
                              where=str(path)) from None
    # Training scripts often wrap the weights; SAM's own files are the bare state dict.
    for wrapper in ("model", "state_dict"):
        if isinstance(obj, Mapping) and isinstance(obj.get(wrapper), Mapping):
            obj = obj[wrapper]
    if not (isinstance(obj, Mapping) and obj and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                     for k, v in obj.items())):
        raise ValidationError("the file loads but holds no model state dict (name -> tensor)", where=str(path))
    return dict(obj)


@functools.lru_cache(maxsize=8)
def _expected_shapes(model_type: str) -> dict[str, tuple[int, ...]]:
    import torch

    builder = _builder(model_type)
    try:
        with torch.device("meta"):  # shapes only: no memory, no random init (vit_h: seconds)
            model = builder()
    except Exception:  # noqa: BLE001 - a builder that cannot run on meta: build it for real
        model = builder()
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _check_architecture(state: Mapping[str, Any], model_type: str, where: str) -> None:
    expected = _expected_shapes(model_type)
    problem = None
    for key, shape in expected.items():
        if key not in state:
            problem = f"it lacks {key}"
        elif tuple(state[key].shape) != shape:
            problem = f"{key} has shape {tuple(state[key].shape)}, {model_type} needs {shape}"
        if problem:
            break
    if problem is None:
        extra = next((k for k in state if k not in expected), None)
        if extra is None:
            return
        problem = f"it has an unexpected entry {extra}"
    guess = _guess_architecture(state)
    head = f"checkpoint is {guess}, not {model_type}" if guess and guess != model_type \
        else f"checkpoint does not match the {model_type} architecture"
    raise ValidationError(f"{head} ({problem})", where=where)


def _guess_architecture(state: Mapping[str, Any]) -> str | None:
    patch = state.get("image_encoder.patch_embed.proj.weight")
    if patch is None:
        return "not a SAM checkpoint" if not any(k.startswith("mask_decoder.") for k in state) else None
    depth = len({m.group(1) for k in state if (m := re.match(r"image_encoder\.blocks\.(\d+)\.", k))})
    width = int(patch.shape[0])
    if (width, depth) in _KNOWN_ENCODERS:
        return _KNOWN_ENCODERS[(width, depth)]
    for name in _EXTRA_ARCHITECTURES:
        shapes = _expected_shapes(name)
        if shapes.keys() == state.keys() and all(tuple(state[k].shape) == s for k, s in shapes.items()):
            return name
    return f"a SAM with a {width}-wide, {depth}-block encoder"


# -- device -------------------------------------------------------------------------------------

def pick_device(requested: str = "auto") -> str:
    """CUDA, then Apple MPS, then CPU for "auto"; an explicit device must exist."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    available = {"cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available()), "cpu": True}
    if requested == "auto":
        return next(d for d in ("cuda", "mps", "cpu") if available[d])
    if requested not in available:
        raise ValidationError(f"unknown device {requested!r} (choose {', '.join(DEVICES)})", where="device")
    if not available[requested]:
        raise ValidationError(f"{requested} is not available on this machine", where="device")
    return requested


# -- the pre-labeler ----------------------------------------------------------------------------

class SamPreLabeler:
    """`prepare` = image encoder (slow; cache its result), `propose` = prompt decoder (per click)."""

    prompt_kinds = frozenset({PromptKind.POINTS, PromptKind.BOX, PromptKind.NONE})
    outputs = ("mask", "polygon", "box")

    def __init__(self, checkpoint: Path | None, model_type: str = "vit_b", device: str = "auto", *,
                 multimask: bool | None = None, decoder: str = "auto", decoder_cache: Path | None = None) -> None:
        """`decoder_cache`: the folder for exported decoders (default: the user's cache folder)."""
        if decoder not in DECODERS:
            raise ValidationError(f"unknown decoder {decoder!r} (choose {', '.join(DECODERS)})", where="decoder")
        if checkpoint is None:
            raise ValidationError("SAM needs a checkpoint file; set prelabel.checkpoint", where="checkpoint")
        import torch
        from segment_anything.utils.transforms import ResizeLongestSide

        from app.models.sam_masks import upscale_masks  # imports OpenCV (0.05-0.2 s): not on the first click

        self._upscale_masks = upscale_masks
        self.model_type = model_type
        self.id = _MODEL_IDS.get(model_type, f"sam_{model_type}")
        # None: SAM's advice, several candidates for one ambiguous click, one otherwise
        self.multimask = multimask
        self.checkpoint, state = load_checkpoint(Path(checkpoint), model_type)
        self.device = pick_device(device)
        sam = _builder(model_type)()
        sam.load_state_dict(state, strict=True)
        del state
        self._sam = sam.eval().to(self.device)
        self._encoder_dtype = torch.float16 if self.device == "cuda" else torch.float32
        self._sam.image_encoder.to(self._encoder_dtype)
        self.image_size = int(self._sam.image_encoder.img_size)
        self._resize = ResizeLongestSide(self.image_size)
        with torch.inference_mode():  # constant per model; SAM recomputes it on every click
            self._dense_pe = self._sam.prompt_encoder.get_dense_pe()
        self.onnx_decoder = self._onnx_decoder(decoder_cache) if decoder == "auto" and self.device == "cpu" \
            else None
        self.decoder_backend = "onnxruntime" if self.onnx_decoder is not None else "torch"
        self._tokens: tuple[Embedding, np.ndarray] | None = None  # the last image's, as the graph takes them

    def _onnx_decoder(self, folder: Path | None) -> Any:
        import torch

        from app.models import sam_onnx

        path = sam_onnx.decoder_path(folder or sam_onnx.default_folder(), self.checkpoint.sha256, self.model_type)
        with torch.no_grad():  # export traces the modules: no inference-mode tensors in them
            return sam_onnx.load_decoder(self._sam, self._dense_pe.clone(), path, torch.get_num_threads())

    def cache_key(self, asset_sha256: str) -> EmbeddingKey:
        return EmbeddingKey(asset_sha256, self.model_type, self.checkpoint.sha256)

    @property
    def low_res_size(self) -> tuple[int, int]:
        """Shape of `Proposal.low_res_logits` (256x256 for the real models)."""
        h, w = self._sam.prompt_encoder.mask_input_size
        return int(h), int(w)

    def prepare(self, image: np.ndarray) -> Embedding:
        import torch

        rgb = _to_rgb(image)
        resized = self._resize.apply_image(rgb)
        x = torch.as_tensor(resized, device=self.device).permute(2, 0, 1).contiguous()[None].float()
        with torch.inference_mode():
            x = self._sam.preprocess(x).to(self._encoder_dtype)  # normalise, pad to a square
            features = self._sam.image_encoder(x)[0]
        return Embedding(features.to("cpu", torch.float16).numpy(), (rgb.shape[0], rgb.shape[1]))

    def propose(self, state: Embedding, prompt: Prompt) -> list[Proposal]:
        import torch

        if prompt.is_empty:
            raise ValidationError("SAM needs a positive point or a box", where="prompt")
        multimask = self.multimask if self.multimask is not None else \
            (prompt.box is None and len(prompt.positive) + len(prompt.negative) == 1)
        h, w = state.original_size
        mask = self._mask_input(prompt)
        with torch.inference_mode():  # onnxruntime embeds the mask prompt itself, 4x faster
            sparse, dense = self._sam.prompt_encoder(points=self._points(prompt, (h, w)),
                                                     boxes=self._box(prompt, (h, w)),
                                                     masks=mask if self.onnx_decoder is None else None)
            logits, iou = self._decode(state, sparse, dense, mask)
        chosen = slice(1, None) if multimask else slice(0, 1)  # as MaskDecoder.forward picks
        logits, iou = logits[chosen], iou[chosen]
        masks = self._upscale_masks(logits, self.image_size, self._resize.get_preprocess_shape(h, w, self.image_size),
                              (h, w), self._sam.mask_threshold)
        order = np.argsort(-iou, kind="stable")
        return [Proposal(masks[i], float(iou[i]), self.id, logits[i]) for i in order]

    def _decode(self, state: Embedding, sparse: Any, dense: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        """All candidates' low-resolution logits (M, h, w) and predicted IoUs (M,), float32."""
        import torch

        if self.onnx_decoder is None:
            features = torch.from_numpy(state.features).to(self.device, torch.float32)[None]
            logits, iou = self._sam.mask_decoder.predict_masks(
                image_embeddings=features, image_pe=self._dense_pe,
                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense)
            return logits[0].float().cpu().numpy(), iou[0].float().cpu().numpy()
        if mask is not None:
            dense = self.onnx_decoder.embed_mask(mask.numpy())  # (HW, C)
        else:  # SAM's no-mask embedding, broadcast over the grid: the graph takes one row
            dense = np.ascontiguousarray(dense[0, :, 0, :1].T.numpy())
        return self.onnx_decoder(self._image_tokens(state), dense, sparse[0].numpy())

    def _image_tokens(self, state: Embedding) -> np.ndarray:
        """(HW, C) float32, converted once per image (the clicks on one image reuse it)."""
        last = self._tokens
        if last is None or last[0] is not state:
            features = state.features
            last = (state, np.ascontiguousarray(features.reshape(features.shape[0], -1).T, dtype=np.float32))
            self._tokens = last
        return last[1]

    def segment_everything(self, image: np.ndarray, *, points_per_side: int = 32,
                           pred_iou_thresh: float = 0.88, stability_score_thresh: float = 0.95) -> list[Proposal]:
        """Every object SAM finds on a grid of points (slow: one decoder batch per grid tile)."""
        import contextlib

        import torch
        from segment_anything import SamAutomaticMaskGenerator

        generator = SamAutomaticMaskGenerator(self._sam, points_per_side=points_per_side,
                                              pred_iou_thresh=pred_iou_thresh,
                                              stability_score_thresh=stability_score_thresh)
        # The generator feeds float32 images to the (half) encoder; autocast bridges the two.
        amp = torch.autocast("cuda", torch.float16) if self._encoder_dtype == torch.float16 \
            else contextlib.nullcontext()
        with torch.inference_mode(), amp:
            found = generator.generate(_to_rgb(image))
        found.sort(key=lambda r: -r["predicted_iou"])
        return [Proposal(r["segmentation"], r["predicted_iou"], self.id) for r in found]

    # -- prompt tensors -------------------------------------------------------------------------

    def _points(self, prompt: Prompt, size: tuple[int, int]) -> tuple[Any, Any] | None:
        import torch

        pts = [*prompt.positive, *prompt.negative]
        if not pts:
            return None
        coords = self._resize.apply_coords(np.asarray(pts, dtype=np.float32), size)
        labels = [1] * len(prompt.positive) + [0] * len(prompt.negative)
        return (torch.as_tensor(coords, dtype=torch.float32, device=self.device)[None],
                torch.as_tensor(labels, dtype=torch.int64, device=self.device)[None])

    def _box(self, prompt: Prompt, size: tuple[int, int]) -> Any | None:
        import torch

        if prompt.box is None:
            return None
        box = self._resize.apply_boxes(np.asarray([prompt.box], dtype=np.float32), size)
        return torch.as_tensor(box, dtype=torch.float32, device=self.device)

    def _mask_input(self, prompt: Prompt) -> Any | None:
        import torch

        if prompt.previous_logits is None:
            return None
        logits = np.asarray(prompt.previous_logits, dtype=np.float32)
        logits = logits.reshape(logits.shape[-2:]) if logits.ndim == 3 and logits.shape[0] == 1 else logits
        if logits.shape != self.low_res_size:
            raise ValidationError(f"previous logits have shape {logits.shape}, this model returns "
                                  f"{self.low_res_size}", where="prompt.previous_logits")
        return torch.as_tensor(logits, device=self.device)[None, None]


def _to_rgb(image: np.ndarray) -> np.ndarray:
    """app.media decodes to BGR (or grey) uint8; SAM was trained on RGB."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValidationError(f"SAM takes 8-bit images, got {image.dtype}", where="image")
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image[:, :, ::-1])
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, 2::-1])
    raise ValidationError(f"SAM takes grey or 3-channel images, got shape {image.shape}", where="image")
