"""SAM's mask decoder run by onnxruntime on the CPU, exported once per checkpoint and cached.

On a CPU, onnxruntime runs the decoder in well under half of torch's time (ViT-B on 2 AVX2
cores: ~35 ms against ~95 ms), helped by `FoldedMaskDecoder`, the exact rewrite that is
exported (onnxruntime on SAM's own decoder: ~55 ms).
The graph takes the image tokens, the dense prompt embedding and the sparse prompt tokens. A
second, small graph is SAM's `mask_downscaling` (the dense embedding of the previous click's
logits), as `FoldedMaskEmbedding`: about 1 ms against 6 ms in torch. The point and box embeddings stay in
torch (0.3 ms). The exported files depend on the weights, the architecture and the way we
export, so they are cached on disk under a hash of (checkpoint SHA-256, model type,
`EXPORT_VERSION`): export takes about a second, cached files load in 0.1 s. A new export is
checked against segment-anything's own modules before it is cached; cached files that do not
load are deleted and exported again. Files are written to a temp file and renamed, so a reader
sees a whole file or none.

onnxruntime is imported here only, and this module only when a decoder is built: importing
`app.models.sam` stays fast. Anything that stops the export (onnxruntime or onnx missing, an
exporter error, a mismatch) returns None and the caller keeps the torch decoder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Bump when FoldedMaskDecoder or the export arguments change: old files are then ignored
# (they stay until the user clears the cache folder; a few MB each).
EXPORT_VERSION = 1
_SPARSE_ROWS = 3  # traced prompt length; the graph's is dynamic (a length of 1 could be baked in)
_warned: set[str] = set()


def default_folder() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("alaya", appauthor=False) / "sam-decoder"


def decoder_path(folder: Path, checkpoint_sha256: str, model_type: str) -> Path:
    # Hashed so a model type a user typed never becomes part of a path.
    key = "\0".join((checkpoint_sha256, model_type, str(EXPORT_VERSION)))
    return Path(folder) / f"decoder-{hashlib.sha256(key.encode()).hexdigest()}.onnx"


class OnnxDecoder:
    """(image (HW, C), dense (HW or 1, C), sparse (n, C)) float32 -> (logits (M, h, w), iou (M,)):
    every candidate mask, as `MaskDecoder.predict_masks` returns them."""

    def __init__(self, sessions: dict[str, Any], path: Path, export_s: float | None) -> None:
        self._decoder, self._mask = sessions["decoder"], sessions["mask"]
        self.path = path
        self.export_s = export_s  # None: loaded from the cache

    def __call__(self, image: np.ndarray, dense: np.ndarray, sparse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, iou = self._decoder.run(None, {"image": image, "dense": dense, "sparse": sparse})
        return logits, iou

    def warm_up(self) -> None:
        """One run of each graph on zeros: a session's first run plans and allocates its buffers
        (measured: 48 ms against 30 for the next ones), so the human's first click does not."""
        for session in (self._decoder, self._mask):
            session.run(None, {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
                               for i in session.get_inputs()})

    def embed_mask(self, mask: np.ndarray) -> np.ndarray:
        """Low-resolution logits (1, 1, 4h, 4w) -> the dense prompt embedding, (HW, C)."""
        (dense,) = self._mask.run(None, {"mask": np.ascontiguousarray(mask, dtype=np.float32)})
        return dense


def load_decoder(sam: Any, image_pe: Any, path: Path, threads: int) -> OnnxDecoder | None:
    """The cached export at `path`, or a new one; None (with a warning, once) if that cannot be."""
    try:
        import onnxruntime  # noqa: F401 - only to know it is there before exporting
    except ImportError as exc:
        _warn_once("onnxruntime", f"onnxruntime is not available ({exc}); SAM decodes with torch (slower)")
        return None
    paths = _paths(path)
    if all(p.is_file() for p in paths.values()):
        try:
            decoder = OnnxDecoder({name: _session(p, threads) for name, p in paths.items()}, path, None)
            decoder.warm_up()  # (a new export is run once by its check)
            return decoder
        except Exception as exc:  # noqa: BLE001 - truncated, corrupt, or from an older runtime
            log.warning("discarding unloadable cached SAM decoder %s: %s", path, exc)
    for p in paths.values():
        p.unlink(missing_ok=True)
    try:
        t0 = time.perf_counter()
        sessions = _export(sam, image_pe, paths, threads)
        return OnnxDecoder(sessions, path, time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - exporter errors have many types; torch still works
        _warn_once(f"export:{type(exc).__name__}", f"could not export SAM's decoder for onnxruntime "
                                                    f"({type(exc).__name__}: {exc}); SAM decodes with torch")
        return None


def _paths(path: Path) -> dict[str, Path]:
    return {"decoder": path, "mask": path.with_name(f"{path.stem}-mask{path.suffix}")}


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads block instead of spinning: torch's prompt encoder (and a background encode)
    # share the same cores between two runs. Measured on 2 shared cores: p50 47 ms against 53 ms.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # its warnings would reach the user's console, not our log
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _export(sam: Any, image_pe: Any, paths: dict[str, Path], threads: int) -> dict[str, Any]:
    """Export both graphs to temp files, check them, then rename them into place."""
    import torch

    from app.models.sam_decoder import FoldedMaskDecoder, FoldedMaskEmbedding

    channels, h, w = image_pe.shape[1:]
    gen = torch.Generator().manual_seed(0)
    image, dense = (torch.randn(1, channels, h, w, generator=gen) for _ in range(2))
    sparse = torch.randn(1, _SPARSE_ROWS + 1, channels, generator=gen)
    mask_size = sam.prompt_encoder.mask_input_size
    mask = torch.randn(1, 1, *mask_size, generator=gen)
    with torch.no_grad():
        want = {"decoder": [t[0] for t in sam.mask_decoder.predict_masks(image, image_pe, sparse, dense)],
                "mask": [sam.prompt_encoder.mask_downscaling(mask)[0].flatten(1).T]}
    # (module, trace inputs, check inputs, outputs, dynamic axes); traced with other shapes than
    # checked, so the check also proves the dynamic axes
    tokens = image[0].flatten(1).T
    specs = {
        "decoder": (FoldedMaskDecoder(sam.mask_decoder, image_pe).eval(),
                    {"image": tokens, "dense": dense[0, :, 0, :1].T, "sparse": sparse[0, :-1]},
                    {"image": tokens, "dense": dense[0].flatten(1).T, "sparse": sparse[0]},
                    ("logits", "iou"), {"dense": {0: "dense_rows"}, "sparse": {0: "points"}}),
        "mask": (FoldedMaskEmbedding(sam.prompt_encoder.mask_downscaling, mask_size).eval(),
                 {"mask": mask}, {"mask": mask}, ("dense",), {}),
    }
    folder = paths["decoder"].parent
    folder.mkdir(parents=True, exist_ok=True)
    tmps = {name: _temp_file(folder) for name in specs}
    try:
        sessions = {}
        for name, (module, trace, check, outputs, dynamic) in specs.items():
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer and deprecation notes about code we do not own
                torch.onnx.export(module, tuple(trace.values()), str(tmps[name]), input_names=list(trace),
                                  output_names=list(outputs), dynamic_axes=dynamic, opset_version=17, dynamo=False)
            sessions[name] = _session(tmps[name], threads)
            got = sessions[name].run(None, {k: np.ascontiguousarray(v.numpy()) for k, v in check.items()})
            _check(name, outputs, got, [t.numpy() for t in want[name]])
        for name, tmp in tmps.items():
            os.replace(tmp, paths[name])
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
    return sessions


def _temp_file(folder: Path) -> Path:
    """A new empty file beside the final one, so that the rename is atomic."""
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=folder)
    os.close(fd)
    return Path(name)


def _check(graph: str, names: tuple[str, ...], got: list[np.ndarray], want: list[np.ndarray]) -> None:
    """Raise unless the exported graph gives segment-anything's results (up to float32 rounding)."""
    for name, a, b in zip(names, got, want):
        tol = 1e-4 * max(1.0, float(np.abs(b).max()))
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-3, atol=tol):
            worst = float(np.abs(a - b).max()) if a.shape == b.shape else f"shape {a.shape} != {b.shape}"
            raise ValueError(f"the exported {graph} graph's {name} differ from SAM's (max difference {worst})")
