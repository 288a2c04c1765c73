"""Task-list thumbnails: a reduced decode of the image, cached as a small PNG under
`<workspace>/thumbs/<sha256>.png`. Runs on a worker thread (no Qt here: the caller turns the
PNG bytes into a pixmap on the GUI thread).

OpenCV's `IMREAD_REDUCED_*` flags let libjpeg decode at 1/2, 1/4 or 1/8 scale straight from
the DCT coefficients, so a 24-megapixel photo costs a fraction of a full decode.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

THUMB_SIZE = (64, 48)  # width, height (fits inside)
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


class ThumbnailCache:
    def __init__(self, workspace_root: Path, size: tuple[int, int] = THUMB_SIZE) -> None:
        self.workspace_root = Path(workspace_root)
        self.folder = self.workspace_root / "thumbs"
        self.size = size

    def path_for(self, sha256: str) -> Path:
        return self.folder / f"{sha256}.png"

    def source_path(self, path: str) -> Path:
        """Managed copies are stored relative to the workspace, references absolute."""
        p = Path(path)
        return p if p.is_absolute() else self.workspace_root / p

    def png(self, sha256: str, path: str, modality: str, width: int | None = None) -> bytes | None:
        """The thumbnail's PNG bytes (made and cached on first use); None when there is none
        (not an image, or the file cannot be read)."""
        cached = self.path_for(sha256)
        try:
            return cached.read_bytes()
        except OSError:
            pass
        if modality != "image":
            return None
        image = self._decode(self.source_path(path), width)
        if image is None:
            return None
        ok, buf = cv2.imencode(".png", _fit(image, self.size))
        if not ok:
            return None
        data = buf.tobytes()
        self._store(cached, data)
        return data

    def _decode(self, source: Path, width: int | None) -> np.ndarray | None:
        flag = cv2.IMREAD_COLOR
        for factor, reduced in _REDUCED:
            if width and width // factor >= self.size[0] * 2:
                flag = reduced
                break
        try:
            data = np.fromfile(source, dtype=np.uint8)  # unicode-safe, unlike cv2.imread(str)
        except OSError:
            return None
        image = cv2.imdecode(data, flag) if data.size else None
        return image if image is not None and image.size else None

    def _store(self, target: Path, data: bytes) -> None:
        """Atomic write; a failure only costs a later re-decode."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.{id(data)}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        except OSError:
            pass


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    scale = min(size[0] / w, size[1] / h, 1.0)
    out = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, out, interpolation=cv2.INTER_AREA) if out != (w, h) else image
