"""Text validation: the whole file must decode as UTF-8 (a BOM is allowed)."""

from __future__ import annotations

import codecs
from typing import Any

from app.core.errors import MediaError

MAX_TEXT_BYTES = 256 * 1024 * 1024  # a labeling task shows the text whole; beyond this it cannot


def probe_text(data: bytes) -> dict[str, Any]:
    """Validate one text file held in memory; the fields for MediaInfo, or MediaError."""
    check_size(len(data))
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise MediaError("UTF-16 text is not supported: save the file as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise MediaError(f"not text: binary content (NUL byte at offset {nul:,})")
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        raise MediaError(f"not UTF-8 text: invalid byte 0x{byte:02x} at offset {exc.start:,}") from exc
    return {"format": "text", "mime": "text/plain; charset=utf-8",
            "encoding": "utf-8-sig" if bom else "utf-8",
            "char_count": len(text), "line_count": _line_count(text), "warnings": []}


def check_size(size: int) -> None:
    """Refuse text too large to show, before it is read into memory."""
    if size > MAX_TEXT_BYTES:
        raise MediaError(f"text file too large: {size / 2**20:,.0f} MiB, "
                         f"over the limit of {MAX_TEXT_BYTES // 2**20} MiB")


def looks_like_text(sample: bytes) -> bool:
    """True if a leading sample is UTF-8 without NUL bytes (a cut final character is fine)."""
    if b"\x00" in sample:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _line_count(text: str) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)
