"""Formats by CLI name. Each lives in its own module exposing `FORMAT`, imported on first use
so `alaya --help` does not load XML and YAML parsers it does not need."""

from __future__ import annotations

import importlib

from app.core.errors import ValidationError
from app.formats.base import Format

# CLI name -> module under app.formats
_MODULES: dict[str, str] = {
    "native": "native",
    "coco": "coco",
    "coco-keypoints": "coco",
    "yolo": "yolo",
    "voc": "voc",
    "cvat-images": "cvat_images",
    "cvat-video": "cvat_video",
    "mot": "mot",
    "labelme": "labelme",
    "rttm": "rttm",
    "textgrid": "textgrid",
    "textgrid-short": "textgrid",
    "audacity": "audacity",
}


def names() -> list[str]:
    return list(_MODULES)


def get(name: str) -> Format:
    module = _MODULES.get(name)
    if module is None:
        raise ValidationError(f"unknown format {name!r} (known: {', '.join(_MODULES)})", where="format")
    found = importlib.import_module(f"app.formats.{module}")
    formats = getattr(found, "FORMATS", None) or {found.FORMAT.name: found.FORMAT}
    return formats[name]
